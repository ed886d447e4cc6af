/* `gancl bench semi`: the semi-supervised GAN's training step (Salimans et
 * al. 2016, include/gancl/semi.h) at the default configuration: a D step
 * on batch N labeled + N unlabeled + N generated images (weight norm,
 * Gaussian noise, the K+1-class loss), a G step by feature matching on
 * another N unlabeled images, Adam on both and D's parameter average. Each
 * timed step also uploads its three image batches and labels from host
 * memory, as `gancl train --mode semi` does, so 600 steps of N = 100 are
 * an epoch's training time. Images are random in [0, 1]: the cost of a
 * step does not depend on the pixels. Warm, median of --reps steps; also
 * the process CPU time per step (the device threads included on PoCL),
 * steadier than wall time on a shared machine, and with GANCL_PROFILE=1
 * the device time per kernel. */
#include "tool.h"
#include "gancl/semi.h"
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

static double cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static int cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int cmd_bench_semi(const tool_opts *o)
{
    static char prof[8192];
    gan_ctx *c = tool_ctx(o->device);
    if (!c) return 1;
    gan_semi_config cfg = gan_semi_default();
    cfg.batch = o->batch;
    cfg.seed = o->seed;
    int N = cfg.batch, reps = o->reps > 64 ? 64 : o->reps, rc = 1;
    gan_semi m;
    gan_tensor x[3] = {{0}}, y = {0};
    float *h[3] = {NULL, NULL, NULL};
    int32_t *lab = malloc((size_t)N * sizeof *lab);
    double t[64], cpu[64], enq[64];
    gan_status st = gan_semi_init(c, &m, &cfg);
    for (int k = 0; k < 3; k++) {
        if (!st) st = gan_tensor_alloc4(c, &x[k], GAN_F32, 2, N, 784, 0, 0);
        if (!st && !(h[k] = malloc((size_t)N * 784 * sizeof *h[k]))) st = GAN_ERR_NOMEM;
    }
    if (!st && !lab) st = GAN_ERR_NOMEM;
    if (!st) st = gan_tensor_alloc4(c, &y, GAN_I32, 1, N, 0, 0, 0);
    if (!st) {
        uint64_t s = o->seed;
        for (int k = 0; k < 3; k++)
            for (size_t i = 0; i < (size_t)N * 784; i++) {
                s = s * 6364136223846793005ull + 1442695040888963407ull;
                h[k][i] = (float)((double)(s >> 11) / 9007199254740992.0);
            }
        for (int i = 0; i < N; i++) lab[i] = i % cfg.nclass;
        /* the data-dependent initialisation, as training starts */
        gan_tensor xi;
        if (!(st = gan_tensor_write(c, &x[0], h[0]))) st = gan_tensor_narrow(c, &x[0], N < 2 ? 1 : N, &xi);
        if (!st && N >= 2) st = gan_semi_data_init(c, &m, &xi);
    }
    /* two warm-up steps (the first builds nothing, but pages in buffers),
     * one with statistics as the training loop logs them */
    for (int i = -2; !st && i < reps; i++) {
        double a = now(), ac = cpu_now();
        for (int k = 0; k < 3 && !st; k++) st = gan_tensor_write(c, &x[k], h[k]);
        if (!st) st = gan_tensor_write(c, &y, lab);
        gan_semi_stats s;
        double e = now();
        if (!st) st = gan_semi_step(c, &m, &x[0], &y, &x[1], &x[2], i == -2 ? &s : NULL);
        e = now() - e;
        if (!st) st = gan_ctx_finish(c);
        if (i >= 0) {
            t[i] = now() - a;
            cpu[i] = cpu_now() - ac;
            enq[i] = e;
        } else {
            gan_ctx_profile(c, prof, sizeof prof, 1);
        }
    }
    if (st) {
        fprintf(stderr, "gancl bench semi: %s\n", gan_ctx_error(c));
    } else {
        qsort(t, (size_t)reps, sizeof t[0], cmp);
        qsort(cpu, (size_t)reps, sizeof cpu[0], cmp);
        qsort(enq, (size_t)reps, sizeof enq[0], cmp);
        double med = t[reps / 2];
        printf("%s\nsemi step, batch %d: %.1f ms/step, %.1f images/s (median of %d; min %.1f ms, max %.1f ms); "
               "CPU %.1f ms/step (queueing the step: %.1f ms); 600 steps (an epoch at batch 100): %.1f s\n",
               gan_ctx_device_name(c), N, med * 1e3, N / med, reps, t[0] * 1e3, t[reps - 1] * 1e3,
               cpu[reps / 2] * 1e3, enq[reps / 2] * 1e3, 600 * med);
        if (getenv("GANCL_PROFILE")) {
            gan_ctx_profile(c, prof, sizeof prof, 0);
            printf("device time by kernel over the %d timed steps (GANCL_PROFILE=1):\n%s", reps, prof);
        }
        rc = 0;
    }
    for (int k = 0; k < 3; k++) {
        gan_tensor_free(c, &x[k]);
        free(h[k]);
    }
    gan_tensor_free(c, &y);
    free(lab);
    gan_semi_free(c, &m);
    gan_ctx_free(c);
    return rc;
}
