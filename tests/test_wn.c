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
