/* `gancl bench ops` (time and GFLOP/s of the DCGAN layers, forward and
 * backward, on the device and the reference) and `gancl check` (the same
 * layers on the device compared element-wise against the reference). */
#include "tool.h"
#include "layers.h"
#include "gancl/tune.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median seconds of `reps` runs of forward (bwd=0) or backward (bwd=1),
 * after one untimed warm-up run (kernel compilation, caches). */
static gan_status time_pass(gan_ctx *c, layer_run *r, int bwd, int reps, double *median)
{
    double t[64];
    if (reps > 64) reps = 64;
    gan_status st;
    for (int i = -1; i < reps; i++) {
        double t0 = now();
        st = bwd ? layer_backward(c, r) : layer_forward(c, r);
        if (st == GAN_OK) st = gan_ctx_finish(c);
        if (st) return st;
        if (i >= 0) t[i] = now() - t0;
    }
    qsort(t, (size_t)reps, sizeof t[0], cmp_double);
    *median = t[reps / 2];
    return GAN_OK;
}

static int bench_ctx(gan_ctx *c, const tool_opts *o, int reps)
{
    printf("\n%s, batch %d, median of %d (after 1 warm-up)\n", gan_ctx_device_name(c), o->batch, reps);
    printf("%-26s %10s %9s %10s %9s\n", "layer", "fwd ms", "GFLOP/s", "bwd ms", "GFLOP/s");
    double tf_all = 0, tb_all = 0, fl_all = 0;
    for (int i = 0; i < dcgan_nlayers; i++) {
        const layer_spec *L = &dcgan_layers[i];
        layer_run r;
        double tf = 0, tb = 0;
        gan_status st = layer_init(c, &r, L, o->batch, o->seed);
        if (!st) st = time_pass(c, &r, 0, reps, &tf);
        if (!st) st = time_pass(c, &r, 1, reps, &tb);
        layer_free(c, &r);
        if (st) {
            fprintf(stderr, "gancl bench ops: %s: %s\n", L->name, gan_ctx_error(c));
            return 1;
        }
        double fl = layer_flops(L, o->batch);
        printf("%-26s %10.2f %9.2f %10.2f %9.2f\n", L->name, tf * 1e3, fl / tf * 1e-9, tb * 1e3, 2 * fl / tb * 1e-9);
        tf_all += tf;
        tb_all += tb;
        fl_all += fl;
    }
    printf("%-26s %10.2f %9.2f %10.2f %9.2f\n", "all layers", tf_all * 1e3, fl_all / tf_all * 1e-9, tb_all * 1e3,
           2 * fl_all / tb_all * 1e-9);
    return 0;
}

int cmd_bench_ops(const tool_opts *o)
{
    int rc = 0;
    gan_ctx *dev = tool_ctx(o->device);
    if (!dev) return 1;
    rc |= bench_ctx(dev, o, o->reps);
    int dev_is_ref = gan_ctx_backend(dev) == GAN_BACKEND_REF;
    gan_ctx_free(dev);
    if (!o->skip_ref && !dev_is_ref) {
        gan_ctx *ref = tool_ctx("cpu");
        if (!ref) return 1;
        rc |= bench_ctx(ref, o, 1); /* plain loops: one timed run is plenty */
        gan_ctx_free(ref);
    }
    return rc;
}

/* Largest |d - r| / (atol + rtol |r|) over a tensor pair; > 1 fails. */
static double worst_ratio(gan_ctx *dc, const gan_tensor *d, gan_ctx *rc, const gan_tensor *r, double atol,
                          double rtol, double *max_abs)
{
    float *hd = malloc(d->numel * sizeof *hd), *hr = malloc(r->numel * sizeof *hr);
    double worst = INFINITY;
    *max_abs = INFINITY;
    if (hd && hr && !gan_tensor_read(dc, d, hd) && !gan_tensor_read(rc, r, hr)) {
        worst = 0;
        *max_abs = 0;
        for (size_t i = 0; i < d->numel; i++) {
            double e = fabs((double)hd[i] - hr[i]);
            double q = e / (atol + rtol * fabs((double)hr[i]));
            if (!(q <= worst)) worst = q; /* NaN propagates as a failure */
            if (e > *max_abs) *max_abs = e;
        }
    }
    free(hd);
    free(hr);
    return worst;
}

int cmd_check(const tool_opts *o)
{
    gan_ctx *dev = tool_ctx(o->device), *ref = tool_ctx("cpu");
    if (!dev || !ref) {
        gan_ctx_free(dev);
        gan_ctx_free(ref);
        return 1;
    }
    char desc[512], ran[64];
    printf("%s against the cpu reference, batch %d\n", gan_ctx_device_name(dev), o->batch);
    printf("GEMM: %s\nother ops: gancl's kernels (cl/*.cl); convolutions as im2col/col2im around the GEMM\n",
           gan_gemm_describe(dev, desc, sizeof desc));
    printf("%-26s %-4s %12s %8s  %s\n", "layer", "out", "max |diff|", "verdict", "GEMMs run (y: forward, dx: backward)");
    int failures = 0;
    for (int i = 0; i < dcgan_nlayers; i++) {
        const layer_spec *L = &dcgan_layers[i];
        layer_run rd, rr;
        gan_status st = layer_init(dev, &rd, L, o->batch, o->seed);
        unsigned fw = 0, bw = 0;
        gan_gemm_ran(dev);
        if (!st) st = layer_forward(dev, &rd);
        fw = gan_gemm_ran(dev);
        if (!st) st = layer_backward(dev, &rd);
        bw = gan_gemm_ran(dev);
        gan_status sr = layer_init(ref, &rr, L, o->batch, o->seed);
        if (!sr) sr = layer_forward(ref, &rr);
        if (!sr) sr = layer_backward(ref, &rr);
        if (st || sr) {
            fprintf(stderr, "gancl check: %s: %s\n", L->name, st ? gan_ctx_error(dev) : gan_ctx_error(ref));
            failures++;
        } else {
            /* fp32 sums over up to 12544 terms of O(0.25) products */
            const double atol = 1e-4, rtol = 1e-3;
            struct { const char *n; gan_tensor *d, *r; } outs[] = {
                {"y", &rd.y, &rr.y}, {"dx", &rd.dx, &rr.dx}, {"dw", &rd.dw, &rr.dw}, {"db", &rd.db, &rr.db}};
            for (int k = 0; k < 4; k++) {
                if (k == 3 && !L->bias) continue;
                double ma, q = worst_ratio(dev, outs[k].d, ref, outs[k].r, atol, rtol, &ma);
                int ok = q <= 1.0;
                failures += !ok;
                printf("%-26s %-4s %12.3g %8s  %s\n", k ? "" : L->name, outs[k].n, ma, ok ? "ok" : "MISMATCH",
                       k == 0 ? gan_gemm_ran_name(fw, ran, sizeof ran) : k == 1 ? gan_gemm_ran_name(bw, ran, sizeof ran) : "");
            }
        }
        layer_free(dev, &rd);
        layer_free(ref, &rr);
    }
    printf("%s: %d mismatch%s (tolerance |d - r| <= 1e-4 + 1e-3 |r|)\n", failures ? "FAILED" : "PASSED", failures,
           failures == 1 ? "" : "es");
    gan_ctx_free(dev);
    gan_ctx_free(ref);
    return failures ? 1 : 0;
}
