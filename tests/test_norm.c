/* Batch normalization: device vs reference in training and inference mode
 * over 2-D [N, C] and 4-D [N, C, H, W] inputs, and the training backward
 * against finite differences on the reference (the loss re-runs the
 * training forward, so the batch statistics move with x as they should).
 * Inputs sit off zero (x in [-1, 3)) so a one-pass E[x^2] - E[x]^2 would
 * show up as cancellation error. */
#include "registry.h"

#include <math.h>
#include <string.h>

/* ndim, N, C, H, W: C = 1, 3, 7, 33, batch 1 with S > 1, N = 64. */
static const int bn_shapes[][5] = {
    {2, 2, 1, 0, 0},   {2, 7, 3, 0, 0},    {2, 64, 33, 0, 0},   {2, 64, 3137, 0, 0}, {2, 1, 7, 0, 0},
    {4, 1, 3, 5, 5},   {4, 2, 7, 3, 3},    {4, 5, 1, 7, 7},     {4, 3, 33, 1, 1},    {4, 64, 33, 7, 7},
    {4, 64, 256, 7, 7},
};
#define BN_NSHAPES (sizeof bn_shapes / sizeof bn_shapes[0])

typedef struct bn_set {
    tpair x, gamma, beta, rm, rv, sm, si, y;
    int N, C;
} bn_set;

static int bn_make(th *t, bn_set *s, const int *sh)
{
    int nd = sh[0];
    s->N = sh[1];
    s->C = sh[2];
    if (tp_rand(t, &s->x, nd, sh[1], sh[2], sh[3], sh[4], -1, 3) || tp_rand(t, &s->gamma, 1, s->C, 0, 0, 0, 0.5, 1.5) ||
        tp_rand(t, &s->beta, 1, s->C, 0, 0, 0, -1, 1) || tp_rand(t, &s->rm, 1, s->C, 0, 0, 0, -0.5, 0.5) ||
        tp_rand(t, &s->rv, 1, s->C, 0, 0, 0, 0.5, 1.5) || tp_alloc(t, &s->sm, GAN_F32, 1, s->C, 0, 0, 0) ||
        tp_alloc(t, &s->si, GAN_F32, 1, s->C, 0, 0, 0) || tp_alloc(t, &s->y, GAN_F32, nd, sh[1], sh[2], sh[3], sh[4]))
        return -1;
    return 0;
}

static void bn_free(th *t, bn_set *s)
{
    tpair *all[] = {&s->x, &s->gamma, &s->beta, &s->rm, &s->rv, &s->sm, &s->si, &s->y};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) tp_free(t, all[i]);
}

static void shape_name(char *buf, size_t cap, const int *sh)
{
    if (sh[0] == 2)
        snprintf(buf, cap, "[%d,%d]", sh[1], sh[2]);
    else
        snprintf(buf, cap, "[%d,%d,%d,%d]", sh[1], sh[2], sh[3], sh[4]);
}

/* Tolerances: y atol 1e-5 rtol 1e-4; save_mean and running stats atol 1e-6
 * rtol 1e-5 (float sums of up to 12544 values of O(1), tree-reduced on the
 * device: their error stays near 1e-7); save_invstd rtol 1e-5. */
void test_batchnorm_forward(th *t)
{
    for (size_t k = 0; k < BN_NSHAPES; k++)
        for (int training = 0; training < 2; training++) {
            const int *sh = bn_shapes[k];
            bn_set s;
            if (bn_make(t, &s, sh)) return;
            size_t M = s.x.r.numel / (size_t)s.C;
            if (training && M < 2) {
                bn_free(t, &s);
                continue;
            }
            gan_bn_params p = {.momentum = 0.1f, .eps = 1e-5f, .training = training};
            /* Inference leaves save_* and the running statistics alone; on
             * every other shape it gets no save_* tensors at all (NULL). */
            int pass_save = training || k % 2;
            float *rm0 = th_read(t, t->ref, &s.rm.r), *rv0 = th_read(t, t->ref, &s.rv.r);
            TH_OK(t, t->ref, gan_fill(t->ref, &s.sm.r, 7.f));
            if (t->dev) TH_OK(t, t->dev, gan_fill(t->dev, &s.sm.d, 7.f));
            TH_OK(t, t->ref, gan_batchnorm_forward(t->ref, &s.x.r, &s.gamma.r, &s.beta.r, &s.rm.r, &s.rv.r,
                                                    pass_save ? &s.sm.r : NULL, pass_save ? &s.si.r : NULL, &s.y.r,
                                                    &p));
            if (t->dev)
                TH_OK(t, t->dev, gan_batchnorm_forward(t->dev, &s.x.d, &s.gamma.d, &s.beta.d, &s.rm.d, &s.rv.d,
                                                        pass_save ? &s.sm.d : NULL, pass_save ? &s.si.d : NULL,
                                                        &s.y.d, &p));
            char nm[64], what[128];
            shape_name(nm, sizeof nm, sh);
            if (!training) {
                gan_ctx *cs[2] = {t->ref, t->dev};
                for (int b = 0; b < 2 && cs[b]; b++) {
                    const tpair *rm = &s.rm, *rv = &s.rv, *sm = &s.sm;
                    float *a = th_read(t, cs[b], b ? &rm->d : &rm->r), *v = th_read(t, cs[b], b ? &rv->d : &rv->r),
                          *m = th_read(t, cs[b], b ? &sm->d : &sm->r);
                    const char *side = b ? "device" : "ref";
                    snprintf(what, sizeof what, "bn %s inference running_mean untouched (%s)", nm, side);
                    th_compare_bits(t, what, a, rm0, (size_t)s.C);
                    snprintf(what, sizeof what, "bn %s inference running_var untouched (%s)", nm, side);
                    th_compare_bits(t, what, v, rv0, (size_t)s.C);
                    for (int ch = 0; ch < s.C; ch++)
                        if (m[ch] != 7.f) {
                            th_fail(t, "bn %s inference wrote save_mean[%d] = %g (%s)", nm, ch, m[ch], side);
                            break;
                        }
                    free(a);
                    free(v);
                    free(m);
                }
            }
            free(rm0);
            free(rv0);
            snprintf(what, sizeof what, "bn %s train%d y", nm, training);
            th_compare(t, what, &s.y, 1e-5, 1e-4);
            snprintf(what, sizeof what, "bn %s train%d running_mean", nm, training);
            th_compare(t, what, &s.rm, 1e-6, 1e-5);
            snprintf(what, sizeof what, "bn %s train%d running_var", nm, training);
            th_compare(t, what, &s.rv, 1e-6, 1e-5);
            if (training) {
                snprintf(what, sizeof what, "bn %s save_mean", nm);
                th_compare(t, what, &s.sm, 1e-6, 1e-5);
                snprintf(what, sizeof what, "bn %s save_invstd", nm);
                th_compare(t, what, &s.si, 1e-6, 1e-5);
                /* The reference itself: each channel of y has mean beta and
                 * biased variance gamma^2 * var/(var+eps)
                 * = gamma^2 * (1 - eps*invstd^2). */
                float *y = th_read(t, t->ref, &s.y.r), *g = th_read(t, t->ref, &s.gamma.r),
                      *b = th_read(t, t->ref, &s.beta.r), *inv = th_read(t, t->ref, &s.si.r);
                size_t S = M / (size_t)s.N;
                for (int ch = 0; ch < s.C; ch++) {
                    double sum = 0, sq = 0;
                    for (int n = 0; n < s.N; n++)
                        for (size_t j = 0; j < S; j++) sum += y[((size_t)n * s.C + ch) * S + j];
                    double mean = sum / (double)M;
                    for (int n = 0; n < s.N; n++)
                        for (size_t j = 0; j < S; j++) {
                            double d = y[((size_t)n * s.C + ch) * S + j] - mean;
                            sq += d * d;
                        }
                    double var = sq / (double)M;
                    double want = (double)g[ch] * g[ch] * (1.0 - 1e-5 * (double)inv[ch] * inv[ch]);
                    if (fabs(mean - b[ch]) > 1e-5 || fabs(var - want) > 1e-4 * want) {
                        th_fail(t, "bn %s ref channel %d: y mean %g var %g, want %g and %g", nm, ch, mean, var,
                                b[ch], want);
                        break;
                    }
                }
                free(y);
                free(g);
                free(b);
                free(inv);
            }
            bn_free(t, &s);
        }
}

typedef struct bn_fd {
    gan_ctx *c;
    gan_tensor *x, *gamma, *beta, *rm, *rv, *sm, *si, *y, *R;
} bn_fd;

static double bn_loss(void *u)
{
    bn_fd *f = u;
    gan_bn_params p = {.momentum = 0.1f, .eps = 1e-5f, .training = 1};
    gan_batchnorm_forward(f->c, f->x, f->gamma, f->beta, f->rm, f->rv, f->sm, f->si, f->y, &p);
    return th_dot(f->y, f->R);
}

/* Tolerances: dx atol 1e-5 rtol 1e-4 (per-element formula from two
 * per-channel sums); dgamma and dbeta are sums of M terms, atol
 * 1e-5*sqrt(M). The device gets the reference's saved statistics so only
 * the backward is compared. FD: step 1e-2, atol/rtol 2e-3 (the loss is
 * quadratic-ish in x through the batch variance). */
void test_batchnorm_backward(th *t)
{
    for (size_t k = 0; k < BN_NSHAPES; k++) {
        const int *sh = bn_shapes[k];
        bn_set s;
        if (bn_make(t, &s, sh)) return;
        size_t M = s.x.r.numel / (size_t)s.C;
        if (M < 2) {
            bn_free(t, &s);
            continue;
        }
        int nd = sh[0];
        tpair dy, dx, dg, db;
        tp_rand(t, &dy, nd, sh[1], sh[2], sh[3], sh[4], -1, 1);
        tp_alloc(t, &dx, GAN_F32, nd, sh[1], sh[2], sh[3], sh[4]);
        tp_alloc(t, &dg, GAN_F32, 1, s.C, 0, 0, 0);
        tp_alloc(t, &db, GAN_F32, 1, s.C, 0, 0, 0);
        gan_bn_params p = {.momentum = 0.1f, .eps = 1e-5f, .training = 1};
        TH_OK(t, t->ref, gan_batchnorm_forward(t->ref, &s.x.r, &s.gamma.r, &s.beta.r, &s.rm.r, &s.rv.r, &s.sm.r,
                                                &s.si.r, &s.y.r, &p));
        float *sm = th_read(t, t->ref, &s.sm.r), *si = th_read(t, t->ref, &s.si.r);
        tp_set(t, &s.sm, sm);
        tp_set(t, &s.si, si);
        free(sm);
        free(si);
        TH_OK(t, t->ref, gan_batchnorm_backward(t->ref, &s.x.r, &s.gamma.r, &s.sm.r, &s.si.r, &dy.r, &dx.r, &dg.r,
                                                 &db.r));
        if (t->dev)
            TH_OK(t, t->dev, gan_batchnorm_backward(t->dev, &s.x.d, &s.gamma.d, &s.sm.d, &s.si.d, &dy.d, &dx.d,
                                                     &dg.d, &db.d));
        char nm[64], what[128];
        shape_name(nm, sizeof nm, sh);
        double tolM = 1e-5 * sqrt((double)M);
        snprintf(what, sizeof what, "bn %s dx", nm);
        th_compare(t, what, &dx, 1e-5, 1e-4);
        snprintf(what, sizeof what, "bn %s dgamma", nm);
        th_compare(t, what, &dg, tolM, 1e-4);
        snprintf(what, sizeof what, "bn %s dbeta", nm);
        th_compare(t, what, &db, tolM, 1e-4);

        /* Each gradient alone (the others NULL) must equal the full run's. */
        if (t->dev) {
            tpair dx2, dg2;
            tp_alloc(t, &dx2, GAN_F32, nd, sh[1], sh[2], sh[3], sh[4]);
            tp_alloc(t, &dg2, GAN_F32, 1, s.C, 0, 0, 0);
            TH_OK(t, t->dev, gan_batchnorm_backward(t->dev, &s.x.d, &s.gamma.d, &s.sm.d, &s.si.d, &dy.d, &dx2.d,
                                                     NULL, NULL));
            TH_OK(t, t->dev, gan_batchnorm_backward(t->dev, &s.x.d, &s.gamma.d, &s.sm.d, &s.si.d, &dy.d, NULL,
                                                     &dg2.d, NULL));
            float *a = th_read(t, t->dev, &dx2.d), *want = th_read(t, t->ref, &dx.r);
            snprintf(what, sizeof what, "bn %s dx alone", nm);
            th_compare_host(t, what, a, want, dx.r.numel, 1e-5, 1e-4);
            free(a);
            free(want);
            a = th_read(t, t->dev, &dg2.d);
            want = th_read(t, t->ref, &dg.r);
            snprintf(what, sizeof what, "bn %s dgamma alone", nm);
            th_compare_host(t, what, a, want, dg.r.numel, tolM, 1e-4);
            free(a);
            free(want);
            tp_free(t, &dx2);
            tp_free(t, &dg2);
        }

        if (s.x.r.numel <= 200000) {
            /* the FD forward writes its own statistics, not the saved ones */
            tpair fm, fi, frm, frv;
            tp_alloc(t, &fm, GAN_F32, 1, s.C, 0, 0, 0);
            tp_alloc(t, &fi, GAN_F32, 1, s.C, 0, 0, 0);
            tp_alloc(t, &frm, GAN_F32, 1, s.C, 0, 0, 0);
            tp_alloc(t, &frv, GAN_F32, 1, s.C, 0, 0, 0);
            bn_fd f = {t->ref, &s.x.r, &s.gamma.r, &s.beta.r, &frm.r, &frv.r, &fm.r, &fi.r, &s.y.r, &dy.r};
            float *gx = th_read(t, t->ref, &dx.r), *gg = th_read(t, t->ref, &dg.r), *gb = th_read(t, t->ref, &db.r);
            snprintf(what, sizeof what, "bn %s", nm);
            th_fd_check(t, what, bn_loss, &f, &s.x.r, gx, 1e-2, 2e-3, 2e-3, 48);
            th_fd_check(t, what, bn_loss, &f, &s.gamma.r, gg, 1e-2, 2e-3, 2e-3, 16);
            th_fd_check(t, what, bn_loss, &f, &s.beta.r, gb, 1e-2, 2e-3, 2e-3, 16);
            free(gx);
            free(gg);
            free(gb);
            tp_free(t, &fm);
            tp_free(t, &fi);
            tp_free(t, &frm);
            tp_free(t, &frv);
        }
        tp_free(t, &dy);
        tp_free(t, &dx);
        tp_free(t, &dg);
        tp_free(t, &db);
        bn_free(t, &s);
    }
}

/* Tolerances: each sum is over M values of O(1) (x in [-1, 3), squared
 * deviations below 16): atol 1e-6 * M, rtol 1e-5 (the device's float tree
 * or column sums against the reference's double). On the reference, the
 * sums divided by M are batchnorm_forward's statistics: mean within 1e-6
 * relative, and 1/sqrt(var + eps) its save_invstd within 1e-6 relative. */
void test_batchnorm_sums(th *t)
{
    for (size_t k = 0; k < BN_NSHAPES; k++) {
        const int *sh = bn_shapes[k];
        bn_set s;
        if (bn_make(t, &s, sh)) return;
        size_t M = s.x.r.numel / (size_t)s.C;
        char nm[64], what[128];
        shape_name(nm, sizeof nm, sh);
        tpair sx, sq;
        tp_alloc(t, &sx, GAN_F32, 1, s.C, 0, 0, 0);
        tp_alloc(t, &sq, GAN_F32, 1, s.C, 0, 0, 0);
        if (M >= 2) {
            gan_bn_params p = {.momentum = 0.1f, .eps = 1e-5f, .training = 1};
            TH_OK(t, t->ref, gan_batchnorm_forward(t->ref, &s.x.r, &s.gamma.r, &s.beta.r, &s.rm.r, &s.rv.r, &s.sm.r,
                                                    &s.si.r, &s.y.r, &p));
        } else {
            float *m = th_rand_host(t, (size_t)s.C, -1, 3);
            TH_OK(t, t->ref, gan_tensor_write(t->ref, &s.sm.r, m));
            free(m);
        }
        float *sm = th_read(t, t->ref, &s.sm.r);
        tp_set(t, &s.sm, sm);
        TH_OK(t, t->ref, gan_batchnorm_sums(t->ref, &s.x.r, NULL, &sx.r));
        TH_OK(t, t->ref, gan_batchnorm_sums(t->ref, &s.x.r, &s.sm.r, &sq.r));
        if (t->dev) {
            TH_OK(t, t->dev, gan_batchnorm_sums(t->dev, &s.x.d, NULL, &sx.d));
            TH_OK(t, t->dev, gan_batchnorm_sums(t->dev, &s.x.d, &s.sm.d, &sq.d));
        }
        snprintf(what, sizeof what, "bn_sums %s sum x", nm);
        th_compare(t, what, &sx, 1e-6 * (double)M, 1e-5);
        snprintf(what, sizeof what, "bn_sums %s sum (x - mean)^2", nm);
        th_compare(t, what, &sq, 1e-6 * (double)M, 1e-5);
        if (M >= 2) {
            float *a = th_read(t, t->ref, &sx.r), *b = th_read(t, t->ref, &sq.r), *si = th_read(t, t->ref, &s.si.r);
            float *mean = malloc((size_t)s.C * sizeof *mean), *inv = malloc((size_t)s.C * sizeof *inv);
            for (int ch = 0; ch < s.C; ch++) {
                mean[ch] = (float)((double)a[ch] / (double)M);
                inv[ch] = (float)(1.0 / sqrt((double)b[ch] / (double)M + 1e-5));
            }
            snprintf(what, sizeof what, "bn_sums %s ref: sum/M = batchnorm_forward's mean", nm);
            th_compare_host(t, what, mean, sm, (size_t)s.C, 1e-6, 1e-6);
            snprintf(what, sizeof what, "bn_sums %s ref: its invstd = batchnorm_forward's", nm);
            th_compare_host(t, what, inv, si, (size_t)s.C, 0, 1e-6);
            free(a);
            free(b);
            free(si);
            free(mean);
            free(inv);
        }
        free(sm);
        tp_free(t, &sx);
        tp_free(t, &sq);
        bn_free(t, &s);
    }
}

/* Tolerances: dx atol 1e-5 rtol 1e-4 (as batchnorm_backward's), device
 * against reference with arbitrary means. On the reference, given the
 * batch's own means (batchnorm_backward's dbeta/M and dgamma/M) it is
 * batchnorm_backward's dx within the same tolerances, and matches finite
 * differences of the training forward (step 1e-2, atol/rtol 2e-3). */
void test_batchnorm_dx(th *t)
{
    for (size_t k = 0; k < BN_NSHAPES; k++) {
        const int *sh = bn_shapes[k];
        bn_set s;
        if (bn_make(t, &s, sh)) return;
        size_t M = s.x.r.numel / (size_t)s.C;
        if (M < 2) {
            bn_free(t, &s);
            continue;
        }
        int nd = sh[0];
        char nm[64], what[128];
        shape_name(nm, sizeof nm, sh);
        tpair dy, dx, dx2, dg, db, a, b;
        tp_rand(t, &dy, nd, sh[1], sh[2], sh[3], sh[4], -1, 1);
        tp_alloc(t, &dx, GAN_F32, nd, sh[1], sh[2], sh[3], sh[4]);
        tp_alloc(t, &dx2, GAN_F32, nd, sh[1], sh[2], sh[3], sh[4]);
        tp_alloc(t, &dg, GAN_F32, 1, s.C, 0, 0, 0);
        tp_alloc(t, &db, GAN_F32, 1, s.C, 0, 0, 0);
        tp_rand(t, &a, 1, s.C, 0, 0, 0, -0.5, 0.5);
        tp_rand(t, &b, 1, s.C, 0, 0, 0, -0.5, 0.5);
        gan_bn_params p = {.momentum = 0.1f, .eps = 1e-5f, .training = 1};
        TH_OK(t, t->ref, gan_batchnorm_forward(t->ref, &s.x.r, &s.gamma.r, &s.beta.r, &s.rm.r, &s.rv.r, &s.sm.r,
                                                &s.si.r, &s.y.r, &p));
        float *sm = th_read(t, t->ref, &s.sm.r), *si = th_read(t, t->ref, &s.si.r);
        tp_set(t, &s.sm, sm);
        tp_set(t, &s.si, si);
        free(sm);
        free(si);
        TH_OK(t, t->ref, gan_batchnorm_dx(t->ref, &s.x.r, &s.gamma.r, &s.sm.r, &s.si.r, &dy.r, &a.r, &b.r, &dx.r));
        if (t->dev)
            TH_OK(t, t->dev,
                  gan_batchnorm_dx(t->dev, &s.x.d, &s.gamma.d, &s.sm.d, &s.si.d, &dy.d, &a.d, &b.d, &dx.d));
        snprintf(what, sizeof what, "bn_dx %s dx", nm);
        th_compare(t, what, &dx, 1e-5, 1e-4);

        /* the batch's own means: batchnorm_backward's dx */
        TH_OK(t, t->ref, gan_batchnorm_backward(t->ref, &s.x.r, &s.gamma.r, &s.sm.r, &s.si.r, &dy.r, &dx2.r, &dg.r,
                                                 &db.r));
        float *g = th_read(t, t->ref, &dg.r), *bb = th_read(t, t->ref, &db.r);
        for (int ch = 0; ch < s.C; ch++) {
            g[ch] = (float)((double)g[ch] / (double)M);
            bb[ch] = (float)((double)bb[ch] / (double)M);
        }
        TH_OK(t, t->ref, gan_tensor_write(t->ref, &a.r, bb));
        TH_OK(t, t->ref, gan_tensor_write(t->ref, &b.r, g));
        free(g);
        free(bb);
        TH_OK(t, t->ref, gan_batchnorm_dx(t->ref, &s.x.r, &s.gamma.r, &s.sm.r, &s.si.r, &dy.r, &a.r, &b.r, &dx.r));
        float *got = th_read(t, t->ref, &dx.r), *want = th_read(t, t->ref, &dx2.r);
        snprintf(what, sizeof what, "bn_dx %s ref with the batch's means = batchnorm_backward's dx", nm);
        th_compare_host(t, what, got, want, dx.r.numel, 1e-5, 1e-4);
        free(want);
        if (s.x.r.numel <= 200000) {
            tpair fm, fi, frm, frv;
            tp_alloc(t, &fm, GAN_F32, 1, s.C, 0, 0, 0);
            tp_alloc(t, &fi, GAN_F32, 1, s.C, 0, 0, 0);
            tp_alloc(t, &frm, GAN_F32, 1, s.C, 0, 0, 0);
            tp_alloc(t, &frv, GAN_F32, 1, s.C, 0, 0, 0);
            bn_fd f = {t->ref, &s.x.r, &s.gamma.r, &s.beta.r, &frm.r, &frv.r, &fm.r, &fi.r, &s.y.r, &dy.r};
            snprintf(what, sizeof what, "bn_dx %s", nm);
            th_fd_check(t, what, bn_loss, &f, &s.x.r, got, 1e-2, 2e-3, 2e-3, 48);
            tp_free(t, &fm);
            tp_free(t, &fi);
            tp_free(t, &frm);
            tp_free(t, &frv);
        }
        free(got);
        tpair *all[] = {&dy, &dx, &dx2, &dg, &db, &a, &b};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) tp_free(t, all[i]);
        bn_free(t, &s);
    }
}
