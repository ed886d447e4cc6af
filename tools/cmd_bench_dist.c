/* `gancl bench dist` (alone or under mpirun -np P): the training step of
 * each data-parallel mode (gan, cgan, classifier, semi) at the global batch
 * --batch-size, each rank taking its slice of the rows (include/gancl/
 * dist.h), warm, median of --reps steps; per mode the step time, global
 * images/s, the bytes every rank all-reduces per step (the fused gradient
 * buffer of each network, 4 bytes a parameter; the loop's per-step scalars
 * are not included), the host's time staging and summing them ("reduce
 * ms", waits for the device excluded) and the part of it after the device
 * had finished the backward ("exposed ms": what the step pays; the rest
 * ran beside the backward), the time waiting for the device ("wait ms")
 * and the share of the gradient bytes whose copies the backward started
 * ("overlap"; semi's feature means, 2 x 250 doubles, are not counted),
 * and the bytes the layers' hooks copy between device and host per step
 * and rank (batch norm's per-channel statistics, semi's feature means;
 * 0 in one process).
 * --mode picks one mode; --ngf/--ndf size the DCGAN (default 64); semi
 * runs the default Salimans MLP, batch --batch-size for each of labeled,
 * unlabeled and generated.
 * Rank 0 prints. */
#include "dist_mpi.h"
#include "tool.h"
#include "gancl/classifier.h"
#include "gancl/dist.h"
#include "gancl/semi.h"
#include "gancl/train.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

typedef struct bench_model {
    const char *mode;
    gan_gan gan;
    gan_cgan cgan;
    gan_cls cls;
    gan_semi semi;
    gan_tensor semi_y;  /* [B] labels of semi's labeled batch */
    gan_tensor real; /* [B,1,28,28] in the mode's range; semi: its labeled, unlabeled and G-step batch */
    int32_t *labels;
    size_t params;
} bench_model;

static gan_status model_init(gan_ctx *c, const tool_opts *o, bench_model *b)
{
    int B = o->batch;
    gan_status st;
    if (!strcmp(b->mode, "gan")) {
        gan_gan_config cfg = gan_gan_default();
        cfg.batch = B;
        cfg.seed = o->seed;
        if (o->ngf) cfg.model.ngf = o->ngf;
        if (o->ndf) cfg.model.ndf = o->ndf;
        if ((st = gan_gan_init(c, &b->gan, &cfg))) return st;
        b->params = gan_params_count(gan_gen_params(&b->gan.gen)) + gan_params_count(&b->gan.d.params);
    } else if (!strcmp(b->mode, "cgan")) {
        gan_cgan_config cfg = gan_cgan_default();
        cfg.batch = B;
        cfg.seed = o->seed;
        if (o->ngf) cfg.model.ngf = o->ngf;
        if (o->ndf) cfg.model.ndf = o->ndf;
        if ((st = gan_cgan_init(c, &b->cgan, &cfg))) return st;
        b->params = gan_params_count(gan_gen_params(&b->cgan.gen)) + gan_params_count(&b->cgan.d.params);
    } else if (!strcmp(b->mode, "semi")) {
        gan_semi_config cfg = gan_semi_default();
        cfg.batch = B;
        cfg.seed = o->seed;
        if ((st = gan_semi_init(c, &b->semi, &cfg)) ||
            (st = gan_tensor_alloc4(c, &b->semi_y, GAN_I32, 1, B, 0, 0, 0)))
            return st;
        b->params = gan_params_count(&b->semi.g.params) + gan_params_count(&b->semi.d.params);
    } else {
        gan_cls_config cfg = gan_cls_default();
        cfg.batch = B;
        cfg.seed = o->seed;
        if ((st = gan_cls_init(c, &b->cls, &cfg))) return st;
        b->params = gan_params_count(&b->cls.net.params);
    }
    if ((st = gan_tensor_alloc4(c, &b->real, GAN_F32, 4, B, 1, 28, 28))) return st;
    float *h = malloc((size_t)B * 784 * sizeof *h);
    b->labels = malloc((size_t)B * sizeof *b->labels);
    if (!h || !b->labels) {
        free(h);
        return GAN_ERR_NOMEM;
    }
    uint64_t s = o->seed;
    for (size_t i = 0; i < (size_t)B * 784; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        double u = (double)(s >> 11) / 9007199254740992.0;
        h[i] = (float)(strcmp(b->mode, "classifier") && strcmp(b->mode, "semi") ? 2 * u - 1 : u);
    }
    for (int i = 0; i < B; i++) b->labels[i] = i % 10;
    st = gan_tensor_write(c, &b->real, h);
    if (!st && !strcmp(b->mode, "semi")) st = gan_tensor_write(c, &b->semi_y, b->labels);
    free(h);
    return st;
}

static void model_free(gan_ctx *c, bench_model *b)
{
    if (!strcmp(b->mode, "gan")) gan_gan_free(c, &b->gan);
    else if (!strcmp(b->mode, "cgan")) gan_cgan_free(c, &b->cgan);
    else if (!strcmp(b->mode, "semi")) {
        gan_semi_free(c, &b->semi);
        gan_tensor_free(c, &b->semi_y);
    } else gan_cls_free(c, &b->cls);
    gan_tensor_free(c, &b->real);
    free(b->labels);
}

/* One step on this rank's rows of the global batch. */
static gan_status step(gan_ctx *c, bench_model *b, int B)
{
    int r0, n;
    gan_tensor x, y;
    gan_status st = gan_dist_shard(c, B, &r0, &n);
    if (st) return st;
    /* every rank steps on the first n rows: the cost does not depend on which */
    if (!(st = gan_tensor_narrow(c, &b->real, n, &x))) {
        if (!strcmp(b->mode, "gan"))
            st = gan_gan_step(c, &b->gan, &x, NULL);
        else if (!strcmp(b->mode, "cgan"))
            st = gan_cgan_step(c, &b->cgan, &x, b->labels, NULL);
        else if (!strcmp(b->mode, "semi")) {
            gan_tensor xf;
            int d[2] = {n, 784};
            if (!(st = gan_tensor_view(c, &x, 2, d, &xf)) && !(st = gan_tensor_narrow(c, &b->semi_y, n, &y)))
                st = gan_semi_step(c, &b->semi, &xf, &y, &xf, &xf, NULL);
        }
        else if (!(st = gan_tensor_narrow(c, &b->cls.labels, n, &y)) && !(st = gan_tensor_write(c, &y, b->labels)))
            st = gan_cls_step(c, &b->cls, &x, &y, NULL);
    }
    if (!st) st = gan_ctx_finish(c);
    gan_dist_shard_end(c);
    return st;
}

int cmd_bench_dist(const tool_opts *o)
{
    static const char *modes[] = {"gan", "cgan", "classifier", "semi"};
    gan_ctx *c = tool_ctx(o->device);
    if (!c) return 1;
    int P = gan_dist_size(c), reps = o->reps > 64 ? 64 : o->reps, rc = 0;
    printf("%s; %d rank%s, global batch %d (%d-%d rows a rank)\n", gan_ctx_device_name(c), P, P > 1 ? "s" : "",
           o->batch, o->batch / P, (o->batch + P - 1) / P);
    printf("%-10s %10s %10s %12s %14s %12s %10s %14s %9s %9s\n", "mode", "params", "ms/step", "images/s",
           "bytes/step", "reduce ms", "exposed ms", "staged/step", "wait ms", "overlap");
    for (size_t k = 0; k < sizeof modes / sizeof modes[0]; k++) {
        if (o->mode && strcmp(o->mode, modes[k])) continue;
        bench_model b;
        memset(&b, 0, sizeof b);
        b.mode = modes[k];
        double t[64];
        gan_dist_stats s0, s1;
        gan_status st = model_init(c, o, &b);
        if (!st) st = step(c, &b, o->batch); /* warm */
        gan_dist_get_stats(c, &s0);
        for (int i = 0; !st && i < reps; i++) {
            double a = now();
            st = step(c, &b, o->batch);
            t[i] = now() - a;
        }
        gan_dist_get_stats(c, &s1);
        if (st) {
            fprintf(stderr, "gancl bench dist: %s: %s\n", modes[k], gan_ctx_error(c));
            gan_dist_fail(c); /* the other ranks wait in a collective */
            rc = 1;
        } else {
            qsort(t, (size_t)reps, sizeof t[0], cmp);
            double med = t[reps / 2], per = (double)(s1.grad_bytes - s0.grad_bytes) / reps,
                   wait = (s1.grad_wait_s - s0.grad_wait_s) / reps,
                   red = (s1.grad_s - s0.grad_s) / reps - wait,
                   exposed = (s1.grad_exposed_s - s0.grad_exposed_s) / reps,
                   ov = s1.grad_bytes > s0.grad_bytes ? (double)(s1.overlap_bytes - s0.overlap_bytes) /
                                                            (double)(s1.grad_bytes - s0.grad_bytes)
                                                      : 0.0;
            /* one process all-reduces nothing; the bytes it would are 4 a parameter */
            if (P == 1) per = 4.0 * (double)b.params;
            double staged = (double)(s1.stage_bytes - s0.stage_bytes) / reps;
            printf("%-10s %10zu %10.2f %12.1f %14.0f %12.2f %10.2f %14.0f %9.2f %8.0f%%%s\n", modes[k], b.params,
                   med * 1e3, o->batch / med, per, red * 1e3, exposed * 1e3, staged, wait * 1e3, 100 * ov,
                   P == 1 ? "  (bytes: what P > 1 would reduce)" : "");
        }
        model_free(c, &b);
        if (st) break;
    }
    gan_ctx_free(c);
    return rc;
}
