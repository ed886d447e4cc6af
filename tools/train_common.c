/* Shared pieces of the training loops (tools/train_common.h). */
#include "train_common.h"
#include "report.h"

#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
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

int train_open_data(gan_ctx *c, const tool_opts *o, gan_dataset *train, gan_dataset *test)
{
    if (train_outdir(o->outdir)) return 1;
    if (gan_mnist_load(c, o->data, GAN_MNIST_TRAIN, train) ||
        (test && gan_mnist_load(c, o->data, GAN_MNIST_TEST, test)))
        return train_fail(c, test ? "data" : "training data");
    return 0;
}

int train_batch_too_big(int batch, size_t n)
{
    if ((size_t)batch <= n) return 0;
    fprintf(stderr, "gancl train: --batch-size %d is larger than the %zu training images\n", batch, n);
    return 1;
}

size_t train_cap_steps(size_t n, int steps_per_epoch)
{
    return steps_per_epoch && (size_t)steps_per_epoch < n ? (size_t)steps_per_epoch : n;
}

gan_status train_open_log(gan_ctx *c, const char *dir, int append, gan_jsonl **log)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);
    return gan_jsonl_open(c, path, append, log);
}

gan_status train_resume_check(gan_ctx *c, const gan_ckpt *k, int batch, const gan_ckpt_kv *more, int n)
{
    char b[32];
    gan_ckpt_kv run[8] = {{"batch", b}};
    snprintf(b, sizeof b, "%d", batch);
    for (int i = 0; i < n && i < 7; i++) run[1 + i] = more[i];
    return gan_ckpt_compare_config(c, k, run, 1 + (size_t)(n < 7 ? n : 7));
}

void train_resume_meta(const gan_ckpt *k, int *epoch0, size_t *pos0)
{
    const char *e = gan_ckpt_meta(k, "epoch"), *p = gan_ckpt_meta(k, "data_pos");
    *epoch0 = e ? atoi(e) : 0;
    *pos0 = p ? (size_t)strtoull(p, NULL, 10) : 0;
}

void train_resumed(gan_ckpt *k, const char *path, int step, int *epoch0, size_t *pos0)
{
    train_resume_meta(k, epoch0, pos0);
    gan_ckpt_free(k);
    printf("resumed from %s at epoch %d, step %d\n", path, *epoch0, step);
}

void train_clock_start(train_clock *k)
{
    double t = train_now();
    *k = (train_clock){.start = t, .mark = t};
}

void train_clock_count(train_clock *k, size_t images)
{
    k->images += images;
    k->steps++;
    k->total++;
}

double train_clock_mark(train_clock *k)
{
    double t = train_now();
    k->ips = (double)k->images / (t - k->mark);
    k->sps = (double)k->steps / (t - k->mark);
    k->mark = t;
    k->images = k->steps = 0;
    return t - k->start;
}

double train_clock_eta(const train_clock *k, int epochs, int epoch, size_t per_epoch, size_t b)
{
    return ((double)(epochs - epoch) * (double)per_epoch - (double)(b + 1)) / k->sps;
}

void train_catch_sigint(void) { signal(SIGINT, on_sigint); }
int train_interrupted(void) { return interrupted; }

int train_interrupt_exit(gan_ctx *c, gan_status saved, const char *ckpt)
{
    if (saved) return train_fail(c, "checkpoint");
    train_progress_end();
    printf("interrupted: checkpoint %s (resume with --resume %s)\n", ckpt, ckpt);
    return 130;
}

int train_stop_nonfinite(const char *who, int step, const char *ckpt, int n, const char *fmt, ...)
{
    va_list ap;
    int finite = 1;
    va_start(ap, fmt);
    for (int i = 0; i < n; i++) finite &= isfinite(va_arg(ap, double)) != 0;
    va_end(ap);
    if (finite) return 0;
    train_progress_end();
    fprintf(stderr, "gancl train: %s%snon-finite loss at step %d (", who ? who : "", who ? ": " : "", step);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "); stopped%s%s\n", ckpt ? ", the last good checkpoint is " : "", ckpt ? ckpt : "");
    return 1;
}

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

void train_finish(gan_ctx *c, gan_jsonl **log, const tool_opts *o, const char *dir, const char *title,
                  const char *const *names, int n)
{
    train_finish_curves(c, log, dir, title, names, n);
    report_write(c, o, dir);
}

const volatile sig_atomic_t *train_interrupt_flag(void) { return &interrupted; }

int train_loop_end(gan_ctx *c, gan_status st, const gan_loop_result *r, const char *who)
{
    if (st) return train_fail(c, "training");
    switch (r->end) {
    case GAN_LOOP_INTERRUPTED:
        return train_interrupt_exit(c, GAN_OK, r->checkpoint);
    case GAN_LOOP_NONFINITE:
        train_progress_end();
        fprintf(stderr, "gancl train: %s%snon-finite loss at step %d (", who ? who : "", who ? ": " : "", r->step);
        for (int i = 0; i < r->nloss; i++) fprintf(stderr, "%s%s %g", i ? ", " : "", r->loss[i].name, r->loss[i].value);
        fprintf(stderr, "); stopped%s%s\n", r->have_checkpoint ? ", the last good checkpoint is " : "",
                r->have_checkpoint ? r->checkpoint : "");
        return 1;
    case GAN_LOOP_DONE:
        break;
    }
    return 0;
}

