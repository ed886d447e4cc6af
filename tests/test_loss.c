/* Losses: device vs reference over awkward shapes (batch 1, primes, more
 * rows than the 256-item reduction group, large logits), finite-difference
 * checks of every gradient on the reference (the loss itself is the
 * scalar; consistency's with respect to both inputs), and softmax_xent's handling of labels outside 0..K-1.
 * Tolerances: the loss is a float tree/Kahan sum on the device against a
 * double sum: atol 1e-5, rtol 1e-5. Gradients are element-wise float
 * formulas of O(1/N) values: atol 1e-6, rtol 1e-5. Finite differences
 * (step 1e-2, rtol 1e-3) see the loss rounded to float, which limits them
 * to about ulp(loss) / (2 * step): the atol is 1.5 times that plus 1e-6
 * for the truncation error, so it is derived from the loss at hand. */
#include "registry.h"

#include <math.h>
#include <string.h>

#define LOSS_ATOL 1e-5
#define LOSS_RTOL 1e-5
#define GRAD_ATOL 1e-6
#define GRAD_RTOL 1e-5
#define FD_EPS 1e-2
#define FD_RTOL 1e-3

static double ref_scalar(th *t, const gan_tensor *loss)
{
    float v = 0;
    TH_OK(t, t->ref, gan_tensor_read(t->ref, loss, &v));
    return v;
}

static double fd_atol(th *t, const gan_tensor *loss)
{
    float l = fabsf((float)ref_scalar(t, loss));
    return 1e-6 + 1.5 * (double)(nextafterf(l, INFINITY) - l) / (2 * FD_EPS);
}

/* The reference's loss and gradient must be finite for every case here,
 * large logits included: that is what the stable formulas are for. */
static void check_finite(th *t, const char *what, const tpair *loss, const tpair *grad)
{
    float *l = th_read(t, t->ref, &loss->r), *g = th_read(t, t->ref, &grad->r);
    if (!isfinite(l[0])) th_fail(t, "%s: reference loss is %g", what, l[0]);
    for (size_t i = 0; i < grad->r.numel; i++)
        if (!isfinite(g[i])) {
            th_fail(t, "%s: reference grad[%zu] is %g", what, i, g[i]);
            break;
        }
    free(l);
    free(g);
}

static void compare_loss(th *t, const char *what, const tpair *loss, const tpair *grad)
{
    char w[160];
    check_finite(t, what, loss, grad);
    snprintf(w, sizeof w, "%s loss", what);
    th_compare(t, w, loss, LOSS_ATOL, LOSS_RTOL);
    snprintf(w, sizeof w, "%s grad", what);
    th_compare(t, w, grad, GRAD_ATOL, GRAD_RTOL);
}

/* ---- bce_logits ---------------------------------------------------------- */

typedef struct bce_fd {
    th *t;
    gan_tensor *l, *y, *loss, *grad;
} bce_fd;

static double bce_fd_loss(void *u)
{
    bce_fd *f = u;
    gan_bce_logits(f->t->ref, f->l, f->y, f->loss, f->grad);
    return ref_scalar(f->t, f->loss);
}

void test_bce_logits(th *t)
{
    /* N, 2-D ([N,1]) or not, logit range */
    static const struct { int N, two_d; double range; } cases[] = {
        {1, 0, 4}, {3, 1, 4}, {7, 0, 4}, {33, 1, 6}, {256, 0, 4}, {257, 0, 4}, {1009, 1, 8}, {12544, 0, 4},
        {64, 0, 100}, {5, 1, 1000},
    };
    for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++) {
        int N = cases[s].N, nd = cases[s].two_d ? 2 : 1;
        double r = cases[s].range;
        tpair l, y, loss, grad;
        tp_rand(t, &l, nd, N, 1, 0, 0, -r, r);
        tp_rand(t, &y, nd, N, 1, 0, 0, 0, 1);
        tp_alloc(t, &loss, GAN_F32, 1, 1, 0, 0, 0);
        tp_alloc(t, &grad, GAN_F32, nd, N, 1, 0, 0);
        TH_OK(t, t->ref, gan_bce_logits(t->ref, &l.r, &y.r, &loss.r, &grad.r));
        if (t->dev) TH_OK(t, t->dev, gan_bce_logits(t->dev, &l.d, &y.d, &loss.d, &grad.d));
        char what[96];
        snprintf(what, sizeof what, "bce_logits N%d%s range %g", N, nd == 2 ? "x1" : "", r);
        compare_loss(t, what, &loss, &grad);
        if (N <= 1009 && r <= 100) {
            float *g = th_read(t, t->ref, &grad.r);
            double atol = fd_atol(t, &loss.r);
            bce_fd f = {t, &l.r, &y.r, &loss.r, &grad.r};
            th_fd_check(t, what, bce_fd_loss, &f, &l.r, g, FD_EPS, atol, FD_RTOL, 64);
            free(g);
        }
        tp_free(t, &l);
        tp_free(t, &y);
        tp_free(t, &loss);
        tp_free(t, &grad);
    }
    /* Pinned by hand: logits {0, 2}, targets {1, 0}:
     * loss = (log 2 + (2 + log1p(e^-2))) / 2, grad = (sigmoid(l) - t) / 2. */
    tpair l, y, loss, grad;
    const float lh[2] = {0.f, 2.f}, yh[2] = {1.f, 0.f};
    tp_alloc(t, &l, GAN_F32, 1, 2, 0, 0, 0);
    tp_alloc(t, &y, GAN_F32, 1, 2, 0, 0, 0);
    tp_alloc(t, &loss, GAN_F32, 1, 1, 0, 0, 0);
    tp_alloc(t, &grad, GAN_F32, 1, 2, 0, 0, 0);
    tp_set(t, &l, lh);
    tp_set(t, &y, yh);
    TH_OK(t, t->ref, gan_bce_logits(t->ref, &l.r, &y.r, &loss.r, &grad.r));
    float want_l = (float)((log(2.0) + 2.0 + log1p(exp(-2.0))) / 2);
    float want_g[2] = {(float)((0.5 - 1) / 2), (float)(1 / (1 + exp(-2.0)) / 2)};
    float *gl = th_read(t, t->ref, &loss.r), *gg = th_read(t, t->ref, &grad.r);
    th_compare_host(t, "bce_logits by hand loss", gl, &want_l, 1, 1e-7, 1e-6);
    th_compare_host(t, "bce_logits by hand grad", gg, want_g, 2, 1e-7, 1e-6);
    free(gl);
    free(gg);
    tp_free(t, &l);
    tp_free(t, &y);
    tp_free(t, &loss);
    tp_free(t, &grad);
}

/* ---- mse ------------------------------------------------------------------ */

typedef struct mse_fd {
    th *t;
    gan_tensor *p, *y, *loss, *grad;
} mse_fd;

static double mse_fd_loss(void *u)
{
    mse_fd *f = u;
    gan_mse(f->t->ref, f->p, f->y, f->loss, f->grad);
    return ref_scalar(f->t, f->loss);
}

void test_mse(th *t)
{
    static const int shapes[][5] = {{1, 1}, {1, 3}, {2, 7, 33}, {4, 2, 3, 5, 7}, {2, 257, 1}, {2, 64, 784},
                                    {4, 1, 1, 28, 28}, {1, 100003}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int nd = shapes[s][0];
        const int *d = shapes[s] + 1;
        tpair p, y, loss, grad;
        tp_rand(t, &p, nd, d[0], d[1], d[2], d[3], -2, 2);
        tp_rand(t, &y, nd, d[0], d[1], d[2], d[3], -1, 1);
        tp_alloc(t, &loss, GAN_F32, 1, 1, 0, 0, 0);
        tp_alloc(t, &grad, GAN_F32, nd, d[0], d[1], d[2], d[3]);
        TH_OK(t, t->ref, gan_mse(t->ref, &p.r, &y.r, &loss.r, &grad.r));
        if (t->dev) TH_OK(t, t->dev, gan_mse(t->dev, &p.d, &y.d, &loss.d, &grad.d));
        char what[96], b[64];
        snprintf(what, sizeof what, "mse %s", gan_tensor_shape_str(&p.r, b, sizeof b));
        compare_loss(t, what, &loss, &grad);
        if (p.r.numel <= 2000) {
            float *g = th_read(t, t->ref, &grad.r);
            double atol = fd_atol(t, &loss.r);
            mse_fd f = {t, &p.r, &y.r, &loss.r, &grad.r};
            th_fd_check(t, what, mse_fd_loss, &f, &p.r, g, FD_EPS, atol, FD_RTOL, 64);
            free(g);
        }
        tp_free(t, &p);
        tp_free(t, &y);
        tp_free(t, &loss);
        tp_free(t, &grad);
    }
    /* Pinned by hand: pred {1, 2, 3}, target {0, 0, 0}: loss 14/3, grad
     * 2(p - t)/3. */
    tpair p, y, loss, grad;
    const float ph[3] = {1.f, 2.f, 3.f};
    tp_alloc(t, &p, GAN_F32, 1, 3, 0, 0, 0);
    tp_alloc(t, &y, GAN_F32, 1, 3, 0, 0, 0);
    tp_alloc(t, &loss, GAN_F32, 1, 1, 0, 0, 0);
    tp_alloc(t, &grad, GAN_F32, 1, 3, 0, 0, 0);
    tp_set(t, &p, ph);
    TH_OK(t, t->ref, gan_mse(t->ref, &p.r, &y.r, &loss.r, &grad.r));
    float want_l = (float)(14.0 / 3), want_g[3] = {(float)(2.0 / 3), (float)(4.0 / 3), 2.f};
    float *gl = th_read(t, t->ref, &loss.r), *gg = th_read(t, t->ref, &grad.r);
    th_compare_host(t, "mse by hand loss", gl, &want_l, 1, 1e-7, 1e-6);
    th_compare_host(t, "mse by hand grad", gg, want_g, 3, 1e-7, 1e-6);
    free(gl);
    free(gg);
    tp_free(t, &p);
    tp_free(t, &y);
    tp_free(t, &loss);
    tp_free(t, &grad);
}

/* ---- softmax_xent ----------------------------------------------------------- */

typedef struct xent_fd {
    th *t;
    gan_tensor *l, *lab, *loss, *grad;
} xent_fd;

static double xent_fd_loss(void *u)
{
    xent_fd *f = u;
    gan_softmax_xent(f->t->ref, f->l, f->lab, f->loss, f->grad);
    return ref_scalar(f->t, f->loss);
}

/* N, K, logit range */
static const struct { int N, K; double range; } row_cases[] = {
    {1, 1, 3}, {1, 10, 3}, {3, 7, 3}, {33, 10, 5}, {64, 11, 3}, {300, 3, 3}, {5, 1000, 3}, {2, 12544, 2},
    {7, 13, 80}, {4, 5, 1000},
};
#define NROW_CASES (sizeof row_cases / sizeof row_cases[0])

static void alloc_labels(th *t, tpair *lab, int N, int K)
{
    int32_t *h = malloc((size_t)N * sizeof *h);
    if (!h) abort();
    for (int n = 0; n < N; n++) {
        h[n] = (int32_t)th_uniform(t, 0, K);
        if (h[n] >= K) h[n] = K - 1;
    }
    tp_alloc(t, lab, GAN_I32, 1, N, 0, 0, 0);
    tp_set(t, lab, h);
    free(h);
}

/* A label outside 0..K-1: the reference refuses it (GAN_ERR_ARG naming the
 * row and the label); the device never reads logits through it and reports
 * a NaN loss and NaN gradients for that row, the other rows untouched. */
static void xent_bad_label(th *t, int32_t bad)
{
    const int N = 3, K = 4;
    tpair l, lab, loss, grad;
    int32_t h[3] = {0, bad, 3};
    tp_rand(t, &l, 2, N, K, 0, 0, -2, 2);
    tp_alloc(t, &lab, GAN_I32, 1, N, 0, 0, 0);
    tp_set(t, &lab, h);
    tp_alloc(t, &loss, GAN_F32, 1, 1, 0, 0, 0);
    tp_alloc(t, &grad, GAN_F32, 2, N, K, 0, 0);
    char what[96];
    snprintf(what, sizeof what, "softmax_xent with label %d (K %d) on the reference", (int)bad, K);
    th_expect_error(t, t->ref, gan_softmax_xent(t->ref, &l.r, &lab.r, &loss.r, &grad.r), GAN_ERR_ARG, what);
    if (t->dev) {
        TH_OK(t, t->dev, gan_softmax_xent(t->dev, &l.d, &lab.d, &loss.d, &grad.d));
        float *lo = th_read(t, t->dev, &loss.d), *g = th_read(t, t->dev, &grad.d);
        if (!isnan(lo[0])) th_fail(t, "softmax_xent label %d on the device: loss %g, want NaN", (int)bad, lo[0]);
        for (int i = 0; i < N * K; i++) {
            int bad_row = i / K == 1;
            if (bad_row != !!isnan(g[i])) {
                th_fail(t, "softmax_xent label %d on the device: grad[%d] is %g, want %s", (int)bad, i, g[i],
                        bad_row ? "NaN" : "finite");
                break;
            }
        }
        free(lo);
        free(g);
    }
    tp_free(t, &l);
    tp_free(t, &lab);
    tp_free(t, &loss);
    tp_free(t, &grad);
}

void test_softmax_xent(th *t)
{
    for (size_t s = 0; s < NROW_CASES; s++) {
        int N = row_cases[s].N, K = row_cases[s].K;
        double r = row_cases[s].range;
        tpair l, lab, loss, grad;
        tp_rand(t, &l, 2, N, K, 0, 0, -r, r);
        alloc_labels(t, &lab, N, K);
        tp_alloc(t, &loss, GAN_F32, 1, 1, 0, 0, 0);
        tp_alloc(t, &grad, GAN_F32, 2, N, K, 0, 0);
        TH_OK(t, t->ref, gan_softmax_xent(t->ref, &l.r, &lab.r, &loss.r, &grad.r));
        if (t->dev) TH_OK(t, t->dev, gan_softmax_xent(t->dev, &l.d, &lab.d, &loss.d, &grad.d));
        char what[96];
        snprintf(what, sizeof what, "softmax_xent N%d K%d range %g", N, K, r);
        compare_loss(t, what, &loss, &grad);
        if ((size_t)N * K <= 5000 && r <= 5) {
            float *g = th_read(t, t->ref, &grad.r);
            double atol = fd_atol(t, &loss.r);
            xent_fd f = {t, &l.r, &lab.r, &loss.r, &grad.r};
            th_fd_check(t, what, xent_fd_loss, &f, &l.r, g, FD_EPS, atol, FD_RTOL, 64);
            free(g);
        }
        tp_free(t, &l);
        tp_free(t, &lab);
        tp_free(t, &loss);
        tp_free(t, &grad);
    }
    xent_bad_label(t, -1);
    xent_bad_label(t, 4);
    /* Pinned by hand: row {0, 0, 0}, label 1: loss log 3, grad
     * softmax - onehot = {1/3, -2/3, 1/3}. */
    tpair l, lab, loss, grad;
    const int32_t one = 1;
    tp_alloc(t, &l, GAN_F32, 2, 1, 3, 0, 0);
    tp_alloc(t, &lab, GAN_I32, 1, 1, 0, 0, 0);
    tp_alloc(t, &loss, GAN_F32, 1, 1, 0, 0, 0);
    tp_alloc(t, &grad, GAN_F32, 2, 1, 3, 0, 0);
    tp_set(t, &lab, &one);
    TH_OK(t, t->ref, gan_softmax_xent(t->ref, &l.r, &lab.r, &loss.r, &grad.r));
    float want_l = (float)log(3.0), want_g[3] = {(float)(1.0 / 3), (float)(-2.0 / 3), (float)(1.0 / 3)};
    float *gl = th_read(t, t->ref, &loss.r), *gg = th_read(t, t->ref, &grad.r);
    th_compare_host(t, "softmax_xent by hand loss", gl, &want_l, 1, 1e-7, 1e-6);
    th_compare_host(t, "softmax_xent by hand grad", gg, want_g, 3, 1e-7, 1e-6);
    free(gl);
    free(gg);
    tp_free(t, &l);
    tp_free(t, &lab);
    tp_free(t, &loss);
    tp_free(t, &grad);
}

/* ---- lse_loss --------------------------------------------------------------- */

typedef struct lse_fd {
    th *t;
    gan_tensor *l, *loss, *grad;
    int real;
} lse_fd;

static double lse_fd_loss(void *u)
{
    lse_fd *f = u;
    gan_lse_loss(f->t->ref, f->l, f->real, f->loss, f->grad);
    return ref_scalar(f->t, f->loss);
}

void test_lse_loss(th *t)
{
    for (size_t s = 0; s < NROW_CASES; s++)
        for (int real = 0; real < 2; real++) {
            int N = row_cases[s].N, K = row_cases[s].K;
            double r = row_cases[s].range;
            tpair l, loss, grad;
            tp_rand(t, &l, 2, N, K, 0, 0, -r, r);
            tp_alloc(t, &loss, GAN_F32, 1, 1, 0, 0, 0);
            tp_alloc(t, &grad, GAN_F32, 2, N, K, 0, 0);
            TH_OK(t, t->ref, gan_lse_loss(t->ref, &l.r, real, &loss.r, &grad.r));
            if (t->dev) TH_OK(t, t->dev, gan_lse_loss(t->dev, &l.d, real, &loss.d, &grad.d));
            char what[96];
            snprintf(what, sizeof what, "lse_loss real%d N%d K%d range %g", real, N, K, r);
            compare_loss(t, what, &loss, &grad);
            if ((size_t)N * K <= 5000 && r <= 5) {
                float *g = th_read(t, t->ref, &grad.r);
                double atol = fd_atol(t, &loss.r);
                lse_fd f = {t, &l.r, &loss.r, &grad.r, real};
                th_fd_check(t, what, lse_fd_loss, &f, &l.r, g, FD_EPS, atol, FD_RTOL, 64);
                free(g);
            }
            tp_free(t, &l);
            tp_free(t, &loss);
            tp_free(t, &grad);
        }
    /* Pinned by hand: one row {0, 0} has L = log 2; real: softplus(-L) =
     * log(1.5), fake: softplus(L) = log 3; grads f'(L) * 0.5 with
     * f' = -1/3 (real) and 2/3 (fake). */
    for (int real = 0; real < 2; real++) {
        tpair l, loss, grad;
        tp_alloc(t, &l, GAN_F32, 2, 1, 2, 0, 0);
        tp_alloc(t, &loss, GAN_F32, 1, 1, 0, 0, 0);
        tp_alloc(t, &grad, GAN_F32, 2, 1, 2, 0, 0);
        TH_OK(t, t->ref, gan_lse_loss(t->ref, &l.r, real, &loss.r, &grad.r));
        float want_l = (float)(real ? log(1.5) : log(3.0));
        float gw = (float)(real ? -1.0 / 6 : 1.0 / 3), want_g[2] = {gw, gw};
        float *gl = th_read(t, t->ref, &loss.r), *gg = th_read(t, t->ref, &grad.r);
        char what[64];
        snprintf(what, sizeof what, "lse_loss real%d by hand loss", real);
        th_compare_host(t, what, gl, &want_l, 1, 1e-7, 1e-6);
        snprintf(what, sizeof what, "lse_loss real%d by hand grad", real);
        th_compare_host(t, what, gg, want_g, 2, 1e-7, 1e-6);
        free(gl);
        free(gg);
        tp_free(t, &l);
        tp_free(t, &loss);
        tp_free(t, &grad);
    }
}

/* ---- consistency ------------------------------------------------------------ */

typedef struct ct_fd {
    th *t;
    gan_tensor *a, *b, *loss, *da, *db;
} ct_fd;

static double ct_fd_loss(void *u)
{
    ct_fd *f = u;
    gan_consistency(f->t->ref, f->a, f->b, f->loss, f->da, f->db);
    return ref_scalar(f->t, f->loss);
}

void test_consistency(th *t)
{
    for (size_t s = 0; s < NROW_CASES; s++) {
        int N = row_cases[s].N, K = row_cases[s].K;
        double r = row_cases[s].range;
        tpair a, b, loss, da, db;
        tp_rand(t, &a, 2, N, K, 0, 0, -r, r);
        tp_rand(t, &b, 2, N, K, 0, 0, -r, r);
        tp_alloc(t, &loss, GAN_F32, 1, 1, 0, 0, 0);
        tp_alloc(t, &da, GAN_F32, 2, N, K, 0, 0);
        tp_alloc(t, &db, GAN_F32, 2, N, K, 0, 0);
        TH_OK(t, t->ref, gan_consistency(t->ref, &a.r, &b.r, &loss.r, &da.r, &db.r));
        if (t->dev) TH_OK(t, t->dev, gan_consistency(t->dev, &a.d, &b.d, &loss.d, &da.d, &db.d));
        char what[96];
        snprintf(what, sizeof what, "consistency N%d K%d range %g", N, K, r);
        compare_loss(t, what, &loss, &da);
        snprintf(what, sizeof what, "consistency N%d K%d range %g (db)", N, K, r);
        check_finite(t, what, &loss, &db);
        th_compare(t, what, &db, GRAD_ATOL, GRAD_RTOL);
        if ((size_t)N * K <= 5000 && r <= 5) {
            float *ga = th_read(t, t->ref, &da.r), *gb = th_read(t, t->ref, &db.r);
            double atol = fd_atol(t, &loss.r);
            ct_fd f = {t, &a.r, &b.r, &loss.r, &da.r, &db.r};
            snprintf(what, sizeof what, "consistency N%d K%d range %g d/da", N, K, r);
            th_fd_check(t, what, ct_fd_loss, &f, &a.r, ga, FD_EPS, atol, FD_RTOL, 64);
            snprintf(what, sizeof what, "consistency N%d K%d range %g d/db", N, K, r);
            th_fd_check(t, what, ct_fd_loss, &f, &b.r, gb, FD_EPS, atol, FD_RTOL, 64);
            free(ga);
            free(gb);
        }
        tp_free(t, &a);
        tp_free(t, &b);
        tp_free(t, &loss);
        tp_free(t, &da);
        tp_free(t, &db);
    }
    /* Pinned by hand: a = {0, 0}, b = {log 3, 0}: p = {1/2, 1/2},
     * q = {3/4, 1/4}, d = {-1/4, 1/4}, L = 1/8; sum p d = 0, so
     * da = 2 p d = {-1/4, 1/4}; sum q d = -1/8, so
     * db = -2 q (d + 1/8) = {3/16, -3/16}. */
    tpair a, b, loss, da, db;
    const float hb[2] = {(float)log(3.0), 0.f};
    tp_alloc(t, &a, GAN_F32, 2, 1, 2, 0, 0);
    tp_alloc(t, &b, GAN_F32, 2, 1, 2, 0, 0);
    tp_alloc(t, &loss, GAN_F32, 1, 1, 0, 0, 0);
    tp_alloc(t, &da, GAN_F32, 2, 1, 2, 0, 0);
    tp_alloc(t, &db, GAN_F32, 2, 1, 2, 0, 0);
    const float ha[2] = {0.f, 0.f};
    tp_set(t, &a, ha);
    tp_set(t, &b, hb);
    TH_OK(t, t->ref, gan_consistency(t->ref, &a.r, &b.r, &loss.r, &da.r, &db.r));
    float want_l = 0.125f, want_a[2] = {-0.25f, 0.25f}, want_b[2] = {0.1875f, -0.1875f};
    float *gl = th_read(t, t->ref, &loss.r), *ga = th_read(t, t->ref, &da.r), *gb = th_read(t, t->ref, &db.r);
    th_compare_host(t, "consistency by hand loss", gl, &want_l, 1, 1e-7, 1e-6);
    th_compare_host(t, "consistency by hand da", ga, want_a, 2, 1e-7, 1e-6);
    th_compare_host(t, "consistency by hand db", gb, want_b, 2, 1e-7, 1e-6);
    free(gl);
    free(ga);
    free(gb);
    tp_free(t, &a);
    tp_free(t, &b);
    tp_free(t, &loss);
    tp_free(t, &da);
    tp_free(t, &db);
}
