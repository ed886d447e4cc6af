/* `gancl bench gan`: the DCGAN training step (D on real+fake, G through D,
 * Adam on both) at the given batch size, warm, median of --reps steps, in
 * ms/step and images/s. Real images are random in [-1, 1]: the cost of a
 * step does not depend on the pixels. Also times generator inference
 * (forward with running BN statistics) at the same batch size. */
#include "tool.h"
#include "gancl/classifier.h"
#include "gancl/train.h"
#include "gancl/tune.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int cmd_bench_gan(const tool_opts *o)
{
    static char prof[8192];
    double t_ctx = now();
    gan_ctx *c = tool_ctx(o->device);
    if (!c) return 1;
    t_ctx = now() - t_ctx;
    gan_gan_config cfg = gan_gan_default();
    cfg.batch = o->batch;
    cfg.seed = o->seed;
    gan_gan m;
    gan_tensor real = {0};
    float *h = NULL;
    double t[64];
    int reps = o->reps > 64 ? 64 : o->reps, rc = 1;
    double t0 = now();
    gan_status st = gan_gan_init(c, &m, &cfg);
    if (!st) st = gan_tensor_alloc4(c, &real, GAN_F32, 4, cfg.batch, 1, 28, 28);
    if (!st && !(h = malloc(real.numel * sizeof *h))) st = GAN_ERR_NOMEM;
    if (!st) {
        uint64_t s = o->seed;
        for (size_t i = 0; i < real.numel; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            h[i] = (float)((double)(s >> 11) / 4503599627370496.0 - 1.0);
        }
        st = gan_tensor_write(c, &real, h);
    }
    double t_init = now() - t0, t_first = 0;
    for (int i = -1; !st && i < reps; i++) {
        double a = now();
        st = gan_gan_step(c, &m, &real, NULL);
        if (!st) st = gan_ctx_finish(c);
        if (i < 0) {
            t_first = now() - a;
            gan_ctx_profile(c, prof, sizeof prof, 1);
        } else {
            t[i] = now() - a;
        }
    }
    double med = 0;
    if (!st) {
        qsort(t, (size_t)reps, sizeof t[0], cmp);
        med = t[reps / 2];
        printf("%s\nDCGAN step, batch %d: %.1f ms/step, %.1f images/s (median of %d; min %.1f ms, max %.1f ms; "
               "context %.2f s, init %.2f s, first step %.2f s)\n",
               gan_ctx_device_name(c), cfg.batch, med * 1e3, cfg.batch / med, reps, t[0] * 1e3, t[reps - 1] * 1e3,
               t_ctx, t_init, t_first);
        if (getenv("GANCL_PROFILE")) {
            gan_ctx_profile(c, prof, sizeof prof, 0);
            printf("device time by kernel over the %d timed steps (GANCL_PROFILE=1):\n%s", reps, prof);
        }
    }
    for (int i = -1; !st && i < reps; i++) {
        double a = now();
        st = gan_dcgan_g_forward(c, &m.g, &m.z, 0);
        if (!st) st = gan_ctx_finish(c);
        if (i >= 0) t[i] = now() - a;
    }
    if (st) {
        fprintf(stderr, "gancl bench gan: %s\n", gan_ctx_error(c));
    } else {
        qsort(t, (size_t)reps, sizeof t[0], cmp);
        med = t[reps / 2];
        printf("generator inference, batch %d: %.1f ms, %.1f images/s (median of %d)\n", cfg.batch, med * 1e3,
               cfg.batch / med, reps);
        size_t mem_now, mem_peak;
        gan_ctx_memory(c, &mem_now, &mem_peak);
        struct rusage ru;
        getrusage(RUSAGE_SELF, &ru);
        printf("memory: %.1f MiB peak in device tensors and workspace, %.1f MiB peak host RSS of the process\n",
               mem_peak / 1048576.0, ru.ru_maxrss / 1024.0);
        rc = 0;
    }
    free(h);
    gan_tensor_free(c, &real);
    gan_gan_free(c, &m);
    gan_ctx_free(c);
    return rc;
}

/* `gancl bench classifier`: the MNIST CNN's training step (forward with
 * dropout, cross-entropy, backward, Adam) at the given batch size, warm,
 * median of --reps steps. */
int cmd_bench_classifier(const tool_opts *o)
{
    static char prof[8192];
    gan_ctx *c = tool_ctx(o->device);
    if (!c) return 1;
    gan_cls_config cfg = gan_cls_default();
    cfg.batch = o->batch;
    cfg.seed = o->seed;
    gan_cls m;
    double t[64];
    int reps = o->reps > 64 ? 64 : o->reps, rc = 1;
    gan_status st = gan_cls_init(c, &m, &cfg);
    if (!st) {
        uint64_t s = o->seed;
        for (int i = 0; i < cfg.batch; i++) m.h_labels[i] = i % 10;
        for (size_t i = 0; i < (size_t)cfg.batch * 784; i++) {
            s = s * 6364136223846793005ull + 1442695040888963407ull;
            m.h_x[i] = (float)((double)(s >> 11) / 9007199254740992.0);
        }
        st = gan_tensor_write(c, &m.x, m.h_x);
        if (!st) st = gan_tensor_write(c, &m.labels, m.h_labels);
    }
    for (int i = -1; !st && i < reps; i++) {
        double a = now();
        st = gan_cls_step(c, &m, &m.x, &m.labels, NULL);
        if (!st) st = gan_ctx_finish(c);
        if (i >= 0) t[i] = now() - a;
        else gan_ctx_profile(c, prof, sizeof prof, 1);
    }
    if (st) {
        fprintf(stderr, "gancl bench classifier: %s\n", gan_ctx_error(c));
    } else {
        qsort(t, (size_t)reps, sizeof t[0], cmp);
        double med = t[reps / 2];
        printf("%s\nclassifier step, batch %d: %.1f ms/step, %.1f images/s (median of %d)\n", gan_ctx_device_name(c),
               cfg.batch, med * 1e3, cfg.batch / med, reps);
        if (getenv("GANCL_PROFILE")) {
            gan_ctx_profile(c, prof, sizeof prof, 0);
            printf("device time by kernel over the %d timed steps (GANCL_PROFILE=1):\n%s", reps, prof);
        }
        rc = 0;
    }
    gan_cls_free(c, &m);
    gan_ctx_free(c);
    return rc;
}
