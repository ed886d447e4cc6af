/* Shared pieces of the training loops (tools/train_common.h). */
#include "train_common.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t interrupted;
static int in_line;

static void on_sigint(int sig)
{
    (void)sig;
    interrupted = 1;
}

double train_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

int train_outdir(const char *dir)
{
    char tmp[1024];
    snprintf(tmp, sizeof tmp, "%s", dir);
    for (char *p = tmp + 1;; p++) {
        if (*p == '/' || !*p) {
            char save = *p;
            *p = 0;
            if (mkdir(tmp, 0777) && errno != EEXIST) {
                fprintf(stderr, "gancl train: cannot create --outdir %s: %s\n", dir, strerror(errno));
                return -1;
            }
            *p = save;
            if (!save) break;
        }
    }
    return 0;
}

void train_catch_sigint(void) { signal(SIGINT, on_sigint); }
int train_interrupted(void) { return interrupted; }

void train_progress(const char *fmt, ...)
{
    int tty = isatty(STDOUT_FILENO);
    va_list ap;
    va_start(ap, fmt);
    if (tty) printf("\r");
    vprintf(fmt, ap);
    printf(tty ? "  " : "\n");
    va_end(ap);
    fflush(stdout);
    in_line = tty;
}

void train_progress_end(void)
{
    if (in_line) printf("\n");
    in_line = 0;
}

int train_fail(gan_ctx *c, const char *what)
{
    train_progress_end();
    fprintf(stderr, "gancl train: %s: %s\n", what, gan_ctx_error(c));
    return 1;
}

void train_finish_curves(gan_ctx *c, gan_jsonl **log, const char *outdir, const char *title,
                         const char *const *names, int n)
{
    char path[1200], png[1200];
    gan_jsonl_close(c, *log);
    *log = NULL;
    snprintf(path, sizeof path, "%s/metrics.jsonl", outdir);
    snprintf(png, sizeof png, "%s/curves.png", outdir);
    gan_metrics mt;
    if (gan_metrics_load(c, path, &mt) != GAN_OK) return;
    gan_plot_opts po = {.width = 800, .height = 480, .title = title, .xlabel = "step"};
    if (gan_plot_metrics(c, png, &mt, names, (size_t)n, &po) == GAN_OK) printf("curves: %s\n", png);
    gan_metrics_free(&mt);
}
