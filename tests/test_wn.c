/* weightnorm and batch_mean: device vs reference over awkward shapes,
 * finite differences of both backwards on the reference, and the argument
 * checks.
 * Tolerances (fp32 device against double-accumulating reference):
 *   weightnorm w     atol 1e-6, rtol 1e-5: one tree-reduced norm per row,
 *                    then one multiply per element.
 *   weightnorm dv    atol 1e-6, rtol 1e-4: g/n * dw minus a small
 *                    correction along v carrying the error of a C-term dot
 *                    product.
 *   weightnorm dg    atol 1e-5 * sqrt(C) + 1e-6, rtol 1e-4: a C-term dot
 *                    product of O(1) values, divided by the norm.
 *   batch_mean y     atol 1e-6, rtol 1e-5: a serial float sum of N values
 *                    in [-1, 1], divided by N.
 *   batch_mean dx    atol 1e-7, rtol 1e-6: one division per element.
 * Finite differences: step 1e-2, atol 1e-3, rtol 1e-3 on L = sum(y .* R);
 * v entries are kept at |v| >= 0.1 so a one-element row never crosses 0
 * (where its direction, and so w, jumps). */
#include "registry.h"

#include <math.h>
#include <string.h>

static double tol_k(int K) { return 1e-5 * sqrt((double)K) + 1e-6; }

/* O (rows), C (row length) */
static const int wn_shapes[][2] = {{1, 1}, {3, 7}, {7, 33}, {13, 1}, {1, 257}, {37, 131},
                                   {10, 250}, {250, 500}, {1000, 784}, {784, 500}};

/* v uniform in +-[0.1, 1], g in +-[0.5, 2] (a negative g flips the row). */
static void wn_inputs(th *t, tpair *v, tpair *g, int O, int C)
{
    float *hv = malloc((size_t)O * C * sizeof *hv), *hg = malloc((size_t)O * sizeof *hg);
    for (size_t i = 0; i < (size_t)O * C; i++) hv[i] = (float)(th_uniform(t, 0.1, 1) * (th_uniform(t, 0, 1) < 0.5 ? -1 : 1));
    for (int o = 0; o < O; o++) hg[o] = (float)(th_uniform(t, 0.5, 2) * (o % 3 == 2 ? -1 : 1));
    tp_alloc(t, v, GAN_F32, 2, O, C, 0, 0);
    tp_alloc(t, g, GAN_F32, 1, O, 0, 0, 0);
    tp_set(t, v, hv);
    tp_set(t, g, hg);
    free(hv);
    free(hg);
}

typedef struct wn_fd {
    gan_ctx *c;
    gan_tensor *v, *g, *w, *R;
} wn_fd;

static double wn_loss(void *u)
{
    wn_fd *f = u;
    gan_weightnorm_forward(f->c, f->v, f->g, f->w);
    return th_dot(f->w, f->R);
}

void test_weightnorm_forward(th *t)
{
    for (size_t s = 0; s < sizeof wn_shapes / sizeof wn_shapes[0]; s++) {
        int O = wn_shapes[s][0], C = wn_shapes[s][1];
        tpair v, g, w;
        wn_inputs(t, &v, &g, O, C);
        tp_alloc(t, &w, GAN_F32, 2, O, C, 0, 0);
        TH_OK(t, t->ref, gan_weightnorm_forward(t->ref, &v.r, &g.r, &w.r));
        if (t->dev) TH_OK(t, t->dev, gan_weightnorm_forward(t->dev, &v.d, &g.d, &w.d));
        char what[96];
        snprintf(what, sizeof what, "weightnorm w O%d C%d", O, C);
        th_compare(t, what, &w, 1e-6, 1e-5);
        if (s == 2) {
            /* each row of w has norm |g|: the reference is right, not just
             * equal to the device */
            float *hw = th_read(t, t->ref, &w.r), *hg = th_read(t, t->ref, &g.r);
            for (int o = 0; o < O; o++) {
                double ss = 0;
                for (int k = 0; k < C; k++) ss += (double)hw[o * C + k] * hw[o * C + k];
                if (fabs(sqrt(ss) - fabs(hg[o])) > 1e-6 * fabs(hg[o]))
                    th_fail(t, "%s: row %d has norm %.9g, want |g| = %.9g", what, o, sqrt(ss), fabs(hg[o]));
            }
            free(hw);
            free(hg);
            tpair bad;
            tp_alloc(t, &bad, GAN_F32, 1, O + 1, 0, 0, 0);
            th_expect_error(t, t->ref, gan_weightnorm_forward(t->ref, &v.r, &bad.r, &w.r), GAN_ERR_SHAPE,
                            "weightnorm with g of O+1 entries");
            if (t->dev)
                th_expect_error(t, t->dev, gan_weightnorm_forward(t->dev, &v.d, &g.d, &bad.d), GAN_ERR_SHAPE,
                                "weightnorm with w of the wrong shape");
            tp_free(t, &bad);
        }
        tp_free(t, &v);
        tp_free(t, &g);
        tp_free(t, &w);
    }
}

void test_weightnorm_backward(th *t)
{
    for (size_t s = 0; s < sizeof wn_shapes / sizeof wn_shapes[0]; s++) {
        int O = wn_shapes[s][0], C = wn_shapes[s][1];
        tpair v, g, w, dw, dv, dg;
        wn_inputs(t, &v, &g, O, C);
        tp_alloc(t, &w, GAN_F32, 2, O, C, 0, 0);
        tp_rand(t, &dw, 2, O, C, 0, 0, -1, 1);
        tp_alloc(t, &dv, GAN_F32, 2, O, C, 0, 0);
        tp_alloc(t, &dg, GAN_F32, 1, O, 0, 0, 0);
        TH_OK(t, t->ref, gan_weightnorm_backward(t->ref, &v.r, &g.r, &dw.r, &dv.r, &dg.r));
        if (t->dev) TH_OK(t, t->dev, gan_weightnorm_backward(t->dev, &v.d, &g.d, &dw.d, &dv.d, &dg.d));
        char what[96];
        snprintf(what, sizeof what, "weightnorm O%d C%d dv", O, C);
        th_compare(t, what, &dv, 1e-6, 1e-4);
        snprintf(what, sizeof what, "weightnorm O%d C%d dg", O, C);
        th_compare(t, what, &dg, tol_k(C), 1e-4);
        if (t->dev && s == 3) {
            /* either gradient alone matches the pair's */
            tpair dv2, dg2;
            tp_alloc(t, &dv2, GAN_F32, 2, O, C, 0, 0);
            tp_alloc(t, &dg2, GAN_F32, 1, O, 0, 0, 0);
            TH_OK(t, t->ref, gan_weightnorm_backward(t->ref, &v.r, &g.r, &dw.r, &dv2.r, NULL));
            TH_OK(t, t->dev, gan_weightnorm_backward(t->dev, &v.d, &g.d, &dw.d, &dv2.d, NULL));
            TH_OK(t, t->ref, gan_weightnorm_backward(t->ref, &v.r, &g.r, &dw.r, NULL, &dg2.r));
            TH_OK(t, t->dev, gan_weightnorm_backward(t->dev, &v.d, &g.d, &dw.d, NULL, &dg2.d));
            th_compare(t, "weightnorm dv alone", &dv2, 1e-6, 1e-4);
            th_compare(t, "weightnorm dg alone", &dg2, tol_k(C), 1e-4);
            tp_free(t, &dv2);
            tp_free(t, &dg2);
        }
        if ((size_t)O * C <= 20000) {
            wn_fd f = {t->ref, &v.r, &g.r, &w.r, &dw.r};
            float *gv = th_read(t, t->ref, &dv.r), *gg = th_read(t, t->ref, &dg.r);
            snprintf(what, sizeof what, "weightnorm O%d C%d", O, C);
            th_fd_check(t, what, wn_loss, &f, &v.r, gv, 1e-2, 1e-3, 1e-3, 64);
            th_fd_check(t, what, wn_loss, &f, &g.r, gg, 1e-2, 1e-3, 1e-3, 64);
            free(gv);
            free(gg);
        }
        tpair *all[] = {&v, &g, &w, &dw, &dv, &dg};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) tp_free(t, all[i]);
    }
}

/* N (batch), C (features) */
static const int bm_shapes[][2] = {{1, 1}, {3, 7}, {7, 33}, {100, 250}, {257, 3}, {1, 1000}, {33, 13}, {300, 784}};

typedef struct bm_fd {
    gan_ctx *c;
    gan_tensor *x, *y, *R;
} bm_fd;

static double bm_loss(void *u)
{
    bm_fd *f = u;
    gan_batch_mean_forward(f->c, f->x, f->y);
    return th_dot(f->y, f->R);
}

void test_batch_mean_forward(th *t)
{
    for (size_t s = 0; s < sizeof bm_shapes / sizeof bm_shapes[0]; s++) {
        int N = bm_shapes[s][0], C = bm_shapes[s][1];
        tpair x, y;
        tp_rand(t, &x, 2, N, C, 0, 0, -1, 1);
        tp_alloc(t, &y, GAN_F32, 1, C, 0, 0, 0);
        TH_OK(t, t->ref, gan_batch_mean_forward(t->ref, &x.r, &y.r));
        if (t->dev) TH_OK(t, t->dev, gan_batch_mean_forward(t->dev, &x.d, &y.d));
        char what[96];
        snprintf(what, sizeof what, "batch_mean y N%d C%d", N, C);
        th_compare(t, what, &y, 1e-6, 1e-5);
        if (s == 1) {
            /* a hand-checked column: the reference is a mean, not just the
             * device's equal */
            float *hx = th_read(t, t->ref, &x.r), *hy = th_read(t, t->ref, &y.r);
            double m = ((double)hx[0 * C + 2] + hx[1 * C + 2] + hx[2 * C + 2]) / 3;
            if (fabs(hy[2] - m) > 1e-7) th_fail(t, "%s: y[2] = %.9g, want %.9g", what, hy[2], m);
            free(hx);
            free(hy);
            tpair bad;
            tp_alloc(t, &bad, GAN_F32, 1, C + 1, 0, 0, 0);
            th_expect_error(t, t->ref, gan_batch_mean_forward(t->ref, &x.r, &bad.r), GAN_ERR_SHAPE,
                            "batch_mean into y of C+1 entries");
            tp_free(t, &bad);
        }
        tp_free(t, &x);
        tp_free(t, &y);
    }
}

void test_batch_mean_backward(th *t)
{
    for (size_t s = 0; s < sizeof bm_shapes / sizeof bm_shapes[0]; s++) {
        int N = bm_shapes[s][0], C = bm_shapes[s][1];
        tpair x, y, dy, dx;
        tp_rand(t, &x, 2, N, C, 0, 0, -1, 1);
        tp_alloc(t, &y, GAN_F32, 1, C, 0, 0, 0);
        tp_rand(t, &dy, 1, C, 0, 0, 0, -1, 1);
        tp_alloc(t, &dx, GAN_F32, 2, N, C, 0, 0);
        TH_OK(t, t->ref, gan_batch_mean_backward(t->ref, &dy.r, &dx.r));
        if (t->dev) TH_OK(t, t->dev, gan_batch_mean_backward(t->dev, &dy.d, &dx.d));
        char what[96];
        snprintf(what, sizeof what, "batch_mean dx N%d C%d", N, C);
        th_compare(t, what, &dx, 1e-7, 1e-6);
        if ((size_t)N * C <= 20000) {
            bm_fd f = {t->ref, &x.r, &y.r, &dy.r};
            float *gx = th_read(t, t->ref, &dx.r);
            snprintf(what, sizeof what, "batch_mean N%d C%d", N, C);
            th_fd_check(t, what, bm_loss, &f, &x.r, gx, 1e-2, 1e-3, 1e-3, 64);
            free(gx);
        }
        if (s == 2)
            th_expect_error(t, t->ref, gan_batch_mean_backward(t->ref, &x.r, &dx.r), GAN_ERR_SHAPE,
                            "batch_mean backward with dy of shape [N, C]");
        tpair *all[] = {&x, &y, &dy, &dx};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) tp_free(t, all[i]);
    }
}

/* ---- wn_dense ----
 * Tolerances (fp32 device against the double-accumulating reference):
 *   norm      atol 1e-6, rtol 1e-5: a float sum of C squares, one sqrt.
 *   t         the dense layer's: atol 1e-5 * sqrt(C) + 1e-6, rtol 1e-4.
 *   y         atol 2e-5, rtol 1e-4: t's error times g/norm (|g| <= 2,
 *             norm >= 0.1 sqrt(C)), then one activation.
 *   h         y's plus the noise op's 1e-5: atol 3e-5, rtol 1e-4.
 *   dt, db, dg, dx, dv (the backward runs on the reference's norm, t and y
 *             on both backends): dt atol 1e-6, rtol 1e-5 (one product);
 *             db and dg sums of N terms of O(1): atol 1e-5 * sqrt(N) + 1e-6,
 *             rtol 1e-4; dx a sum of O terms: atol 1e-5 * sqrt(O) + 1e-6,
 *             rtol 1e-4; dv a sum of N terms less its part along v:
 *             atol 1e-5 * sqrt(N) + 1e-6, rtol 1e-4.
 * Finite differences on L = sum(y .* R) (std 0) for the smooth
 * activations: step 1e-2, atol 1e-3, rtol 1e-3; relu and leaky relu are
 * checked against dt by hand instead (their kinks break differences). */

/* N, C, O, act, bias, std (x 1/10) */
static const int wd_cases[][6] = {
    {1, 1, 1, GAN_ACT_RELU, 1, 5},       {3, 7, 5, GAN_ACT_LEAKY_RELU, 0, 0}, {7, 33, 13, GAN_ACT_TANH, 1, 10},
    {5, 17, 33, GAN_ACT_SIGMOID, 1, 5},  {2, 31, 37, GAN_WN_LINEAR, 1, 3},    {9, 3, 1, GAN_ACT_TANH, 0, 5},
    {100, 250, 250, GAN_ACT_RELU, 1, 5}, {300, 250, 10, GAN_WN_LINEAR, 1, 0}, {33, 784, 100, GAN_ACT_RELU, 1, 3},
};
#define WD_NCASES (sizeof wd_cases / sizeof wd_cases[0])

static const char *wd_act_name(int act)
{
    return act == GAN_ACT_RELU ? "relu" : act == GAN_ACT_LEAKY_RELU ? "leaky" : act == GAN_ACT_TANH ? "tanh"
           : act == GAN_ACT_SIGMOID                               ? "sigmoid"
                                                                  : "linear";
}

typedef struct wd_io {
    tpair x, v, g, b, norm, t, y, h;
} wd_io;

static void wd_alloc(th *t, wd_io *io, int N, int C, int O)
{
    tp_rand(t, &io->x, 2, N, C, 0, 0, -1, 1);
    wn_inputs(t, &io->v, &io->g, O, C);
    tp_rand(t, &io->b, 1, O, 0, 0, 0, -1, 1);
    tp_alloc(t, &io->norm, GAN_F32, 1, O, 0, 0, 0);
    tp_alloc(t, &io->t, GAN_F32, 2, N, O, 0, 0);
    tp_alloc(t, &io->y, GAN_F32, 2, N, O, 0, 0);
    tp_alloc(t, &io->h, GAN_F32, 2, N, O, 0, 0);
}

static void wd_free(th *t, wd_io *io)
{
    tpair *all[] = {&io->x, &io->v, &io->g, &io->b, &io->norm, &io->t, &io->y, &io->h};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) tp_free(t, all[i]);
}

static const float WD_SLOPE = 0.2f;

void test_wn_dense_forward(th *t)
{
    for (size_t s = 0; s < WD_NCASES; s++) {
        const int *cs = wd_cases[s];
        int N = cs[0], C = cs[1], O = cs[2], act = cs[3], bias = cs[4];
        float sd = (float)cs[5] / 10;
        gan_rng rng = {7 + s, 11 * s};
        wd_io io;
        wd_alloc(t, &io, N, C, O);
        TH_OK(t, t->ref, gan_wn_dense_forward(t->ref, &io.x.r, &io.v.r, &io.g.r, bias ? &io.b.r : NULL, act, WD_SLOPE,
                                              sd, rng, &io.norm.r, &io.t.r, &io.y.r, &io.h.r));
        if (t->dev)
            TH_OK(t, t->dev, gan_wn_dense_forward(t->dev, &io.x.d, &io.v.d, &io.g.d, bias ? &io.b.d : NULL, act,
                                                  WD_SLOPE, sd, rng, &io.norm.d, &io.t.d, &io.y.d, &io.h.d));
        char what[128];
        snprintf(what, sizeof what, "wn_dense N%d C%d O%d %s bias%d std%g", N, C, O, wd_act_name(act), bias, sd);
        char w2[256];
        snprintf(w2, sizeof w2, "%s norm", what);
        th_compare(t, w2, &io.norm, 1e-6, 1e-5);
        snprintf(w2, sizeof w2, "%s t", what);
        th_compare(t, w2, &io.t, tol_k(C), 1e-4);
        snprintf(w2, sizeof w2, "%s y", what);
        th_compare(t, w2, &io.y, 2e-5, 1e-4);
        snprintf(w2, sizeof w2, "%s h", what);
        th_compare(t, w2, &io.h, 3e-5, 1e-4);

        /* The parts, on each backend: t is dense_forward(x, v) bit for bit
         * (the same GEMM), h is noise_forward(y) with the same stream (to
         * 1e-6: the device may draw its noise in another vector width),
         * and on the reference y is act(t * g/norm + b) and norm the row
         * norm, by hand in double. */
        gan_ctx *ctxs[2] = {t->ref, t->dev};
        for (int k = 0; k < 2 && ctxs[k]; k++) {
            gan_ctx *c = ctxs[k];
            const char *where = k ? "device" : "reference";
            gan_tensor *x = k ? &io.x.d : &io.x.r, *v = k ? &io.v.d : &io.v.r;
            gan_tensor tt, hh;
            TH_OK(t, c, gan_tensor_alloc4(c, &tt, GAN_F32, 2, N, O, 0, 0));
            TH_OK(t, c, gan_tensor_alloc4(c, &hh, GAN_F32, 2, N, O, 0, 0));
            TH_OK(t, c, gan_dense_forward(c, x, v, NULL, &tt));
            TH_OK(t, c, gan_noise_forward(c, sd, rng, k ? &io.y.d : &io.y.r, &hh));
            float *a = th_read(t, c, &tt), *b = th_read(t, c, k ? &io.t.d : &io.t.r);
            snprintf(w2, sizeof w2, "%s (%s): t vs dense_forward", what, where);
            th_compare_bits(t, w2, b, a, (size_t)N * O);
            free(a);
            free(b);
            a = th_read(t, c, &hh);
            b = th_read(t, c, k ? &io.h.d : &io.h.r);
            snprintf(w2, sizeof w2, "%s (%s): h vs noise_forward(y)", what, where);
            th_compare_host(t, w2, b, a, (size_t)N * O, 1e-6, 1e-6);
            free(a);
            free(b);
            gan_tensor_free(c, &tt);
            gan_tensor_free(c, &hh);
        }
        float *hv = th_read(t, t->ref, &io.v.r), *hg = th_read(t, t->ref, &io.g.r), *hb = th_read(t, t->ref, &io.b.r);
        float *ht = th_read(t, t->ref, &io.t.r), *hy = th_read(t, t->ref, &io.y.r), *hn = th_read(t, t->ref, &io.norm.r);
        float *want = malloc((size_t)N * O * sizeof *want), wantn[1024];
        for (int o = 0; o < O && o < 1024; o++) {
            double ss = 0;
            for (int k = 0; k < C; k++) ss += (double)hv[o * C + k] * hv[o * C + k];
            wantn[o] = (float)sqrt(ss);
        }
        for (int i = 0; i < N * O; i++) {
            int o = i % O;
            double z = (double)ht[i] * hg[o] / hn[o] + (bias ? hb[o] : 0);
            double r = act == GAN_ACT_RELU         ? (z > 0 ? z : 0)
                       : act == GAN_ACT_LEAKY_RELU ? (z > 0 ? z : WD_SLOPE * z)
                       : act == GAN_ACT_TANH       ? tanh(z)
                       : act == GAN_ACT_SIGMOID    ? 1 / (1 + exp(-z))
                                                   : z;
            want[i] = (float)r;
        }
        snprintf(w2, sizeof w2, "%s (reference): norm by hand", what);
        th_compare_host(t, w2, hn, wantn, (size_t)O, 0, 1e-7);
        snprintf(w2, sizeof w2, "%s (reference): y by hand", what);
        th_compare_host(t, w2, hy, want, (size_t)N * O, 1e-7, 1e-6);
        free(want);
        free(hv);
        free(hg);
        free(hb);
        free(ht);
        free(hy);
        free(hn);

        if (s == 2) {
            gan_ctx *c = t->dev ? t->dev : t->ref;
            wd_io *q = &io;
            int d = t->dev != NULL;
            gan_tensor *x = d ? &q->x.d : &q->x.r, *v = d ? &q->v.d : &q->v.r, *g = d ? &q->g.d : &q->g.r;
            gan_tensor *nm = d ? &q->norm.d : &q->norm.r, *tt = d ? &q->t.d : &q->t.r, *y = d ? &q->y.d : &q->y.r;
            th_expect_error(t, c, gan_wn_dense_forward(c, x, v, g, NULL, GAN_ACT_SOFTPLUS, 0, 0, rng, nm, tt, y, NULL),
                            GAN_ERR_ARG, "wn_dense with softplus (its derivative needs the input)");
            th_expect_error(t, c, gan_wn_dense_forward(c, x, v, g, NULL, GAN_ACT_LEAKY_RELU, -0.1f, 0, rng, nm, tt, y,
                                                       NULL),
                            GAN_ERR_ARG, "wn_dense with a negative leaky slope");
            th_expect_error(t, c, gan_wn_dense_forward(c, x, v, g, NULL, GAN_ACT_RELU, 0, 0, rng, nm, tt, tt, NULL),
                            GAN_ERR_ARG, "wn_dense with y on t's data");
            th_expect_error(t, c, gan_wn_dense_forward(c, x, v, g, NULL, GAN_ACT_RELU, 0, 0, rng, x, tt,
                                                       y, NULL),
                            GAN_ERR_SHAPE, "wn_dense with norm of shape [N, C]");
            th_expect_error(t, c, gan_wn_dense_forward(c, v, v, g, NULL, GAN_ACT_RELU, 0, 0, rng, nm, tt, y, NULL),
                            GAN_ERR_SHAPE, "wn_dense with x of O rows into y of N rows");
        }
        wd_free(t, &io);
    }
}

typedef struct wd_fd {
    gan_ctx *c;
    wd_io *io;
    int act, bias;
    tpair *R;
} wd_fd;

static double wd_loss(void *u)
{
    wd_fd *f = u;
    wd_io *io = f->io;
    gan_wn_dense_forward(f->c, &io->x.r, &io->v.r, &io->g.r, f->bias ? &io->b.r : NULL, f->act, WD_SLOPE, 0,
                         (gan_rng){1, 0}, &io->norm.r, &io->t.r, &io->y.r, NULL);
    return th_dot(&io->y.r, &f->R->r);
}

void test_wn_dense_backward(th *t)
{
    for (size_t s = 0; s < WD_NCASES; s++) {
        const int *cs = wd_cases[s];
        int N = cs[0], C = cs[1], O = cs[2], act = cs[3], bias = cs[4];
        wd_io io;
        wd_alloc(t, &io, N, C, O);
        TH_OK(t, t->ref, gan_wn_dense_forward(t->ref, &io.x.r, &io.v.r, &io.g.r, bias ? &io.b.r : NULL, act, WD_SLOPE,
                                              0, (gan_rng){1, 0}, &io.norm.r, &io.t.r, &io.y.r, NULL));
        /* the same forward state on both backends */
        tpair *fw[3] = {&io.norm, &io.t, &io.y};
        for (int k = 0; k < 3; k++) {
            float *h = th_read(t, t->ref, &fw[k]->r);
            tp_set(t, fw[k], h);
            free(h);
        }
        tpair dh, dt, dx, dv, dg, db;
        tp_rand(t, &dh, 2, N, O, 0, 0, -1, 1);
        tp_alloc(t, &dt, GAN_F32, 2, N, O, 0, 0);
        tp_alloc(t, &dx, GAN_F32, 2, N, C, 0, 0);
        tp_alloc(t, &dv, GAN_F32, 2, O, C, 0, 0);
        tp_alloc(t, &dg, GAN_F32, 1, O, 0, 0, 0);
        tp_alloc(t, &db, GAN_F32, 1, O, 0, 0, 0);
        TH_OK(t, t->ref, gan_wn_dense_backward(t->ref, &io.x.r, &io.v.r, &io.g.r, &io.norm.r, &io.t.r, &io.y.r, act,
                                               WD_SLOPE, &dh.r, &dt.r, &dx.r, &dv.r, &dg.r, &db.r));
        if (t->dev)
            TH_OK(t, t->dev, gan_wn_dense_backward(t->dev, &io.x.d, &io.v.d, &io.g.d, &io.norm.d, &io.t.d, &io.y.d,
                                                   act, WD_SLOPE, &dh.d, &dt.d, &dx.d, &dv.d, &dg.d, &db.d));
        char what[128], w2[256];
        snprintf(what, sizeof what, "wn_dense backward N%d C%d O%d %s", N, C, O, wd_act_name(act));
        snprintf(w2, sizeof w2, "%s dt", what);
        th_compare(t, w2, &dt, 1e-6, 1e-5);
        snprintf(w2, sizeof w2, "%s db", what);
        th_compare(t, w2, &db, tol_k(N), 1e-4);
        snprintf(w2, sizeof w2, "%s dg", what);
        th_compare(t, w2, &dg, tol_k(N), 1e-4);
        snprintf(w2, sizeof w2, "%s dx", what);
        th_compare(t, w2, &dx, tol_k(O), 1e-4);
        snprintf(w2, sizeof w2, "%s dv", what);
        th_compare(t, w2, &dv, tol_k(N), 1e-4);

        if (s == 1 || s == 6) {
            /* the gradients one at a time match the full call's */
            gan_ctx *ctxs[2] = {t->ref, t->dev};
            for (int k = 0; k < 2 && ctxs[k]; k++) {
                gan_ctx *c = ctxs[k];
                tpair *outs[4] = {&dx, &dv, &dg, &db};
                for (int j = 0; j < 4; j++) {
                    gan_tensor *o = k ? &outs[j]->d : &outs[j]->r, one;
                    float *full = th_read(t, c, o);
                    TH_OK(t, c, gan_tensor_alloc(c, &one, GAN_F32, o->ndim, o->dim));
                    gan_tensor *ptr[4] = {NULL, NULL, NULL, NULL};
                    ptr[j] = &one;
                    TH_OK(t, c, gan_wn_dense_backward(c, k ? &io.x.d : &io.x.r, k ? &io.v.d : &io.v.r,
                                                      k ? &io.g.d : &io.g.r, k ? &io.norm.d : &io.norm.r,
                                                      k ? &io.t.d : &io.t.r, k ? &io.y.d : &io.y.r, act, WD_SLOPE,
                                                      k ? &dh.d : &dh.r, k ? &dt.d : &dt.r, ptr[0], ptr[1], ptr[2],
                                                      ptr[3]));
                    float *alone = th_read(t, c, &one);
                    snprintf(w2, sizeof w2, "%s (%s): %s alone", what, k ? "device" : "reference",
                             (const char *[]){"dx", "dv", "dg", "db"}[j]);
                    th_compare_bits(t, w2, alone, full, one.numel);
                    free(full);
                    free(alone);
                    gan_tensor_free(c, &one);
                }
            }
        }
        if (act == GAN_ACT_RELU || act == GAN_ACT_LEAKY_RELU) {
            /* dt by hand from y: dh * g/norm where y > 0, else times the slope */
            float *hy = th_read(t, t->ref, &io.y.r), *hdh = th_read(t, t->ref, &dh.r), *hg = th_read(t, t->ref, &io.g.r);
            float *hn = th_read(t, t->ref, &io.norm.r), *hdt = th_read(t, t->ref, &dt.r);
            float *want = malloc((size_t)N * O * sizeof *want);
            for (int i = 0; i < N * O; i++) {
                int o = i % O;
                double d = hy[i] > 0 ? 1 : act == GAN_ACT_RELU ? 0 : WD_SLOPE;
                want[i] = (float)(hdh[i] * d * hg[o] / hn[o]);
            }
            snprintf(w2, sizeof w2, "%s (reference): dt by hand", what);
            th_compare_host(t, w2, hdt, want, (size_t)N * O, 1e-7, 1e-6);
            free(want);
            free(hy);
            free(hdh);
            free(hg);
            free(hn);
            free(hdt);
        } else if ((size_t)N * O <= 20000 && (size_t)O * C <= 20000) {
            wd_fd f = {t->ref, &io, act, bias, &dh};
            tpair *ins[4] = {&io.x, &io.v, &io.g, &io.b};
            tpair *grads[4] = {&dx, &dv, &dg, &db};
            for (int j = 0; j < (bias ? 4 : 3); j++) {
                float *gr = th_read(t, t->ref, &grads[j]->r);
                snprintf(w2, sizeof w2, "%s d/d%s", what, (const char *[]){"x", "v", "g", "b"}[j]);
                th_fd_check(t, w2, wd_loss, &f, &ins[j]->r, gr, 1e-2, 1e-3, 1e-3, 64);
                free(gr);
            }
        }
        if (s == 2) {
            gan_ctx *c = t->ref;
            th_expect_error(t, c, gan_wn_dense_backward(c, &io.x.r, &io.v.r, &io.g.r, &io.norm.r, &io.t.r, &io.y.r, act,
                                                        WD_SLOPE, &dh.r, NULL, &dx.r, NULL, NULL, NULL),
                            GAN_ERR_ARG, "wn_dense backward without dt");
            th_expect_error(t, c, gan_wn_dense_backward(c, &io.x.r, &io.v.r, &io.g.r, &io.norm.r, &io.t.r, &io.y.r, act,
                                                        WD_SLOPE, &dh.r, &dt.r, &dv.r, NULL, NULL, NULL),
                            GAN_ERR_SHAPE, "wn_dense backward with dx of v's shape");
        }
        tpair *all[] = {&dh, &dt, &dx, &dv, &dg, &db};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) tp_free(t, all[i]);
        wd_free(t, &io);
    }
}
