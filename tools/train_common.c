/* Shared pieces of the training loops (tools/train_common.h). */
#include "train_common.h"
#include "report.h"
#include "dist_mpi.h"

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

void train_catch_sigint(void)
{
    signal(SIGINT, on_sigint);
    fflush(stdout); /* the run's header shows once Ctrl-C is caught (a followed log; cli-train-classifier) */
}
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

int train_init_from(gan_ctx *c, const tool_opts *o, gan_params *const *regs, int nregs)
{
    if (!o->init) return 0;
    if (o->resume) {
        fprintf(stderr, "gancl train: --init and --resume exclude each other (--resume continues a run; --init "
                        "starts one from a network's weights)\n");
        return 1;
    }
    if (gan_params_init_from(c, o->init, regs, nregs)) return train_fail(c, "--init");
    printf("initialised from %s\n", o->init);
    return 0;
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
    if (tool_dist_rank() > 0) return; /* under mpirun rank 0 writes the curves and the report */
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
        if (r->have_checkpoint)
            fprintf(stderr, "); stopped, the last good checkpoint is %s\n", r->checkpoint);
        else
            fprintf(stderr, "); stopped before any checkpoint was written (none in the --outdir)\n");
        return 1;
    case GAN_LOOP_DONE:
        break;
    }
    return 0;
}

void train_dcgan_opts(const tool_opts *o, int *batch, uint64_t *seed, gan_dcgan_config *model,
                      gan_adam_params *adam)
{
    *batch = o->batch;
    *seed = o->seed;
    adam->lr = o->lr;
    adam->beta1 = o->beta1;
    if (o->ngf) model->ngf = o->ngf;
    if (o->ndf) model->ndf = o->ndf;
    if (o->arch) gan_arch_parse(o->arch, &model->arch);
}

int train_init_gd(gan_ctx *c, const tool_opts *o, const gan_gen *g, gan_dcgan_d *d)
{
    gan_params *regs[] = {gan_gen_params(g), &d->params};
    return train_init_from(c, o, regs, 2);
}

size_t train_count_gd(const gan_gen *g, const gan_dcgan_d *d)
{
    return gan_params_count(gan_gen_params(g)) + gan_params_count(&d->params);
}

gan_ctx *train_open_ctx(const tool_opts *o, tool_opts *ro)
{
    gan_ctx *c = tool_ctx(o->device);
    if (!c) return NULL;
    *ro = *o;
    if (train_resume_config(c, ro)) {
        gan_ctx_free(c);
        return NULL;
    }
    return c;
}

gan_loop_run train_run_init(const tool_opts *o, const gan_loop_mode *mode, void *model,
                            void (*on_event)(void *user, const gan_loop_event *e), void *user)
{
    return (gan_loop_run){.mode = mode, .model = model, .epochs = o->epochs, .log_every = o->log_every,
                          .steps_per_epoch = o->steps_per_epoch, .outdir = o->outdir, .overwrite = o->overwrite,
                          .interrupt = train_interrupt_flag(), .on_event = on_event, .user = user};
}

int train_resume_run(gan_ctx *c, gan_loop_run *run, const char *resume, const char *phase)
{
    if (!resume) return 0;
    if (gan_loop_resume(c, run, resume)) return train_fail(c, "--resume");
    int step = run->mode->steps(run->model);
    if (phase)
        printf("resumed the %s run from %s at epoch %d, step %d\n", phase, resume, run->epoch0, step);
    else
        printf("resumed from %s at epoch %d, step %d\n", resume, run->epoch0, step);
    return 0;
}

int train_loop(gan_ctx *c, gan_loop_run *run, gan_loop_result *res, const char *who)
{
    train_catch_sigint();
    gan_status st = gan_loop_train(c, run, res);
    return train_loop_end(c, st, res, who);
}

int train_run(gan_ctx *c, gan_loop_run *run, const tool_opts *o, const char *title, const char *const *curves,
              int ncurves)
{
    gan_loop_result res;
    int rc = train_loop(c, run, &res, NULL);
    if (rc) return rc;
    gan_jsonl *log = NULL;
    train_finish(c, &log, o, run->outdir, title, curves, ncurves);
    printf("done: %d steps in %.1f s\n", res.steps, res.seconds);
    return 0;
}

typedef enum { RC_INT, RC_SEED, RC_FLOAT, RC_STR, RC_LOSS } rc_kind;
typedef struct rc_item {
    const char *flag, *key;
    rc_kind kind;
    int given;
    void *v;
    int *set; /* marked given when the checkpoint's value is taken (lr, beta1) */
} rc_item;

int train_resume_config(gan_ctx *c, tool_opts *o)
{
    /* the checkpoint's --arch, --generator, --imbalance, --discriminator for the rest of the run */
    static char str[4][1100];
    int nstr = 0;
    int gan = !strcmp(o->mode, "gan"), cgan = !strcmp(o->mode, "cgan"), cls = !strcmp(o->mode, "classifier");
    int semi = !strcmp(o->mode, "semi"), aug = !strcmp(o->mode, "augment"), feat = !strcmp(o->mode, "features");
    if (!o->resume || !(gan || cgan || cls || semi || aug || feat)) return 0;
    gan_ckpt *k = NULL;
    if (gan_ckpt_load(c, o->resume, &k)) return train_fail(c, "--resume");
    if (gan_ckpt_imported(k)) { /* weights only: no step, Adam moments, RNG position or data order to continue */
        fprintf(stderr, "gancl train: --resume %s: a PyTorch state_dict (%s), not a training checkpoint: start from "
                        "its weights with --init\n", o->resume, gan_ckpt_meta(k, "imported"));
        gan_ckpt_free(k);
        return 1;
    }
    rc_item t[16];
    int n = 0;
    /* augment: "batch" is the step's real + generated rows (below) */
    if (!aug) t[n++] = (rc_item){"--batch-size", "batch", RC_INT, o->batch_set, &o->batch, NULL};
    t[n++] = (rc_item){"--seed", "rng_seed", RC_SEED, o->seed_set, &o->seed, NULL};
    if (gan || cgan) {
        t[n++] = (rc_item){"--ngf", "ngf", RC_INT, o->ngf != 0, &o->ngf, NULL};
        t[n++] = (rc_item){"--ndf", "ndf", RC_INT, o->ndf != 0, &o->ndf, NULL};
        t[n++] = (rc_item){"--arch", "arch", RC_STR, o->arch != NULL, &o->arch, NULL};
        t[n++] = (rc_item){"--lr", "lr", RC_FLOAT, o->lr_set, &o->lr, &o->lr_set};
        if (gan) t[n++] = (rc_item){"--loss", "loss", RC_LOSS, o->loss_set, &o->lsgan, NULL};
    } else if (semi) {
        t[n++] = (rc_item){"--labels", "labels", RC_INT, o->labels != 0, &o->labels, NULL};
        t[n++] = (rc_item){"--lr", "lr", RC_FLOAT, o->lr_set, &o->lr, &o->lr_set};
        t[n++] = (rc_item){"--beta1", "beta1", RC_FLOAT, o->beta1_set, &o->beta1, &o->beta1_set};
        t[n++] = (rc_item){"--beta2", "beta2", RC_FLOAT, o->beta2_set, &o->beta2, &o->beta2_set};
        t[n++] = (rc_item){"--g-lr", "g_lr", RC_FLOAT, o->g_lr_set, &o->g_lr, &o->g_lr_set};
        t[n++] = (rc_item){"--g-beta1", "g_beta1", RC_FLOAT, o->g_beta1_set, &o->g_beta1, &o->g_beta1_set};
        t[n++] = (rc_item){"--g-beta2", "g_beta2", RC_FLOAT, o->g_beta2_set, &o->g_beta2, &o->g_beta2_set};
        t[n++] = (rc_item){"--ema", "ema", RC_FLOAT, o->ema_set, &o->ema, &o->ema_set};
        t[n++] = (rc_item){"--unl-weight", "unl_weight", RC_FLOAT, o->unl_weight_set, &o->unl_weight,
                           &o->unl_weight_set};
        t[n++] = (rc_item){"--consistency", "consistency", RC_FLOAT, o->consistency_set, &o->consistency,
                           &o->consistency_set};
        t[n++] = (rc_item){"--lr-decay-from", "lr_decay_from", RC_INT, o->lr_decay_set, &o->lr_decay_from,
                           &o->lr_decay_set};
    } else {
        t[n++] = (rc_item){"--labels-per-class", "labels_per_class", RC_INT, o->labels_per_class != 0,
                                &o->labels_per_class, NULL};
        if (aug) {
            t[n++] = (rc_item){"--generator", "generator", RC_STR, o->generator != NULL, &o->generator, NULL};
            t[n++] = (rc_item){"--imbalance", "imbalance", RC_STR, o->imbalance != NULL, &o->imbalance, NULL};
            t[n++] = (rc_item){"--ratio", "ratio", RC_FLOAT, o->ratio > 0, &o->ratio, NULL};
        }
        t[n++] = (rc_item){"--lr", "lr", RC_FLOAT, o->lr_set, &o->lr, &o->lr_set};
        t[n++] = (rc_item){"--beta1", "beta1", RC_FLOAT, o->beta1_set, &o->beta1, &o->beta1_set};
        if (feat) {
            t[n++] = (rc_item){"--weight-decay", "weight_decay", RC_FLOAT, o->weight_decay_set, &o->weight_decay,
                               &o->weight_decay_set};
            t[n++] = (rc_item){"--standardize", "standardize", RC_INT, o->standardize, &o->standardize, NULL};
            t[n++] = (rc_item){"--discriminator", "discriminator", RC_STR, o->discriminator != NULL,
                               &o->discriminator, NULL};
        }
    }
    char msg[2048] = "";
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        const char *kv = gan_ckpt_meta(k, t[i].key);
        if (!kv) continue; /* an older checkpoint without the key: the loop's check decides */
        char run[1100] = "";
        int same = 1;
        switch (t[i].kind) {
        case RC_INT: {
            int *v = t[i].v;
            if (!t[i].given) {
                *v = atoi(kv);
                if (t[i].set) *t[i].set = 1;
            }
            snprintf(run, sizeof run, "%d", *v);
            same = atoi(kv) == *v;
            break;
        }
        case RC_SEED: {
            uint64_t *v = t[i].v;
            if (!t[i].given) *v = strtoull(kv, NULL, 10);
            snprintf(run, sizeof run, "%llu", (unsigned long long)*v);
            same = strtoull(kv, NULL, 10) == *v;
            break;
        }
        case RC_FLOAT: {
            float *v = t[i].v;
            if (!t[i].given) {
                *v = strtof(kv, NULL);
                if (t[i].set) *t[i].set = 1;
            }
            snprintf(run, sizeof run, "%.9g", *v);
            same = strtof(kv, NULL) == *v;
            break;
        }
        case RC_STR: { /* augment's --imbalance is "none" when not given */
            const char **v = t[i].v;
            if (!t[i].given && strcmp(kv, "none") && nstr < 4) {
                snprintf(str[nstr], sizeof str[nstr], "%s", kv);
                *v = str[nstr++];
            }
            snprintf(run, sizeof run, "%s", *v ? *v : "none");
            same = !strcmp(kv, *v ? *v : "none");
            break;
        }
        case RC_LOSS: {
            int *v = t[i].v;
            if (!t[i].given) *v = !strcmp(kv, "lsgan");
            snprintf(run, sizeof run, "%s", *v ? "lsgan" : "bce");
            same = !strcmp(kv, run);
            break;
        }
        }
        if (!same && at < sizeof msg)
            at += (size_t)snprintf(msg + at, sizeof msg - at, "%s%s: checkpoint %s, run %s (%s)", at ? "; " : "",
                                   t[i].key, kv, run, t[i].flag);
    }
    const char *kb = gan_ckpt_meta(k, "batch"), *ph = gan_ckpt_meta(k, "phase");
    if (aug && kb && ph && !at) {
        /* the augmented run's step takes B real and gan_augment_generated
         * rows, the baseline's B */
        int rows = atoi(kb), phase = !strcmp(ph, "augmented"), b = o->batch;
        for (int B = 1; !o->batch_set && B <= rows; B++)
            if (B + (phase ? gan_augment_generated(o->ratio, B) : 0) == rows) b = B;
        int want = b + (phase ? gan_augment_generated(o->ratio, b) : 0);
        if (want == rows)
            o->batch = b;
        else
            at += (size_t)snprintf(msg, sizeof msg, "batch: checkpoint %d rows a step (%s run), run %d (--batch-size %d)",
                                   rows, ph, want, b);
    }
    gan_ckpt_free(k);
    if (!at) return 0;
    train_progress_end();
    fprintf(stderr,
            "gancl train: --resume %s: the run's settings differ from the checkpoint's: %s; leave a flag out to "
            "continue with the checkpoint's value\n",
            o->resume, msg);
    return 1;
}
