/* `gancl bench gemm`: the GEMMs the DCGAN layers run at a batch size, timed
 * through both device paths of src/ocl/gemm.c (CLBlast and cl/gemm.cl),
 * side by side. This is the evidence for the per-device choice of path, so
 * the shapes mirror what src/ocl/conv.c and src/ocl/linear.c ask for. */
#include "gancl.h"
#include "layers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct gemm_shape {
    char what[48];
    int ta, tb, M, N, K;
} gemm_shape;

/* The GEMMs of one layer at batch N. Convolutions (src/ocl/conv.c) run as
 * one correlation between an image side (Ci channels) and a column side (Co
 * channels, L = OH*OW positions per image), both over the whole minibatch:
 *   forward  out'[Co, N*L] = Wm[Co, CK] col[CK, N*L]            NN
 *   data     dcol[CK, N*L] = Wm^T out'                           TN
 *   weights  dWm[Co, CK]   = out'[Co, N*L] colT[N*L, CK]         NN
 * with CK = Ci*KH*KW. conv2d: image x, columns y; deconv2d the reverse, and
 * its forward is the data step. Dense (src/ocl/linear.c): y = x W^T (NT),
 * dx = dy W (NN), dW = dy^T x (TN). */
static int layer_gemms(const layer_spec *L, int N, gemm_shape *out)
{
    if (L->kind == LAYER_DENSE) {
        gemm_shape s[3] = {{"fwd", 0, 1, N, L->O, L->C}, {"dx", 0, 0, N, L->C, L->O}, {"dW", 1, 0, L->O, L->C, N}};
        for (int i = 0; i < 3; i++) out[i] = s[i];
        return 3;
    }
    int conv = L->kind == LAYER_CONV;
    int oh = conv ? (L->H + 2 * L->P - L->K) / L->S + 1 : (L->H - 1) * L->S - 2 * L->P + L->K + L->OP;
    int Ci = conv ? L->C : L->O, Co = conv ? L->O : L->C, Lpos = (conv ? oh : L->H) * (conv ? oh : L->H);
    int CK = Ci * L->K * L->K, NL = N * Lpos;
    gemm_shape f = {"", 0, 0, Co, NL, CK}, d = {"", 1, 0, CK, NL, Co}, w = {"", 0, 0, Co, CK, NL};
    snprintf(f.what, sizeof f.what, "%s", conv ? "fwd" : "dx");
    snprintf(d.what, sizeof d.what, "%s", conv ? "dx" : "fwd");
    snprintf(w.what, sizeof w.what, "dW");
    out[0] = conv ? f : d;
    out[1] = conv ? d : f;
    out[2] = w;
    return 3;
}

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

static gan_status fill(gan_ctx *c, gan_tensor *t, uint64_t *s)
{
    float *h = malloc(t->numel * sizeof *h);
    if (!h) return GAN_ERR_NOMEM;
    for (size_t i = 0; i < t->numel; i++) {
        *s = *s * 6364136223846793005ull + 1442695040888963407ull;
        h[i] = (float)((double)(*s >> 11) / 9007199254740992.0 * 2.0 - 1.0);
    }
    gan_status st = gan_tensor_write(c, t, h);
    free(h);
    return st;
}

/* Median seconds of `reps` GEMMs after one untimed warm-up. */
static gan_status time_gemm(gan_ctx *c, const gemm_shape *s, int reps, uint64_t seed, double *median)
{
    gan_tensor A = {0}, B = {0}, C = {0};
    double t[64];
    if (reps > 64) reps = 64;
    uint64_t r = seed;
    gan_status st = gan_tensor_alloc4(c, &A, GAN_F32, 2, s->ta ? s->K : s->M, s->ta ? s->M : s->K, 0, 0);
    if (!st) st = gan_tensor_alloc4(c, &B, GAN_F32, 2, s->tb ? s->N : s->K, s->tb ? s->K : s->N, 0, 0);
    if (!st) st = gan_tensor_alloc4(c, &C, GAN_F32, 2, s->M, s->N, 0, 0);
    if (!st) st = fill(c, &A, &r);
    if (!st) st = fill(c, &B, &r);
    for (int i = -1; i < reps && !st; i++) {
        double t0 = now();
        st = gan_gemm(c, s->ta, s->tb, 1.f, &A, &B, 0.f, &C);
        if (!st) st = gan_ctx_finish(c);
        if (i >= 0) t[i] = now() - t0;
    }
    if (!st) {
        qsort(t, (size_t)reps, sizeof t[0], cmp_double);
        *median = t[reps / 2];
    }
    gan_tensor_free(c, &A);
    gan_tensor_free(c, &B);
    gan_tensor_free(c, &C);
    return st;
}

/* A device context whose GEMM path is forced through $GANCL_GEMM. */
static gan_ctx *path_ctx(const char *device, const char *path)
{
    const char *old = getenv("GANCL_GEMM");
    char *saved = old ? strdup(old) : NULL;
    setenv("GANCL_GEMM", path, 1);
    gan_ctx *c = tool_ctx(device);
    if (saved)
        setenv("GANCL_GEMM", saved, 1);
    else
        unsetenv("GANCL_GEMM");
    free(saved);
    return c;
}

int cmd_bench_gemm(const tool_opts *o)
{
    gan_ctx *cb = path_ctx(o->device, "clblast"), *own = cb ? path_ctx(o->device, "own") : NULL;
    int rc = 0;
    if (!cb || !own) {
        rc = 1;
        goto done;
    }
    if (gan_ctx_backend(own) == GAN_BACKEND_REF) {
        fprintf(stderr, "gancl bench gemm: needs an OpenCL device (--device), not the cpu reference\n");
        rc = 2;
        goto done;
    }
    printf("%s, DCGAN GEMMs at batch %d, median of %d (after 1 warm-up)\n", gan_ctx_device_name(own), o->batch,
           o->reps);
    printf("%-26s %-4s %-2s %6s %6s %6s %10s %8s %10s %8s %7s\n", "layer", "pass", "op", "M", "N", "K",
           "clblast ms", "GFLOP/s", "own ms", "GFLOP/s", "speedup");
    double tc_all = 0, to_all = 0, fl_all = 0;
    for (int i = 0; i < dcgan_nlayers; i++) {
        gemm_shape s[3];
        int n = layer_gemms(&dcgan_layers[i], o->batch, s);
        for (int j = 0; j < n; j++) {
            double tc = 0, to = 0, fl = 2.0 * s[j].M * s[j].N * s[j].K;
            gan_status st = time_gemm(cb, &s[j], o->reps, o->seed, &tc);
            gan_ctx *bad = cb;
            if (!st) {
                st = time_gemm(own, &s[j], o->reps, o->seed, &to);
                bad = own;
            }
            if (st) {
                fprintf(stderr, "gancl bench gemm: %s %s: %s\n", dcgan_layers[i].name, s[j].what, gan_ctx_error(bad));
                rc = 1;
                goto done;
            }
            char op[3] = {s[j].ta ? 'T' : 'N', s[j].tb ? 'T' : 'N', 0};
            printf("%-26s %-4s %-2s %6d %6d %6d %10.3f %8.1f %10.3f %8.1f %7.2f\n", j ? "" : dcgan_layers[i].name,
                   s[j].what, op, s[j].M, s[j].N, s[j].K, tc * 1e3, fl / tc * 1e-9, to * 1e3, fl / to * 1e-9, tc / to);
            tc_all += tc;
            to_all += to;
            fl_all += fl;
        }
    }
    printf("%-26s %-4s %-2s %6s %6s %6s %10.3f %8.1f %10.3f %8.1f %7.2f\n", "all", "", "", "", "", "", tc_all * 1e3,
           fl_all / tc_all * 1e-9, to_all * 1e3, fl_all / to_all * 1e-9, tc_all / to_all);
done:
    gan_ctx_free(cb);
    gan_ctx_free(own);
    return rc;
}
