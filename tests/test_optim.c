/* Optimiser steps: five consecutive steps (t = 1..5, a fresh gradient each
 * step) on both backends from the same state, comparing p and the
 * optimiser state after every step; plus one element followed by hand, in
 * double, from the update formulas, which pins the reference itself.
 * Tolerances: each backend carries its own float state, so rounding
 * differences of a few ulps per step accumulate over the five steps:
 * p (O(1)) atol 2e-6, rtol 1e-5; Adam's m (O(0.1)) atol 1e-7, v (O(1e-2)
 * and smaller, a sum of positive terms) atol 1e-9, both rtol 1e-5; SGD's
 * velocity atol 1e-6, rtol 1e-5. The hand checks allow only the float
 * storage of the state between steps: atol 1e-9, rtol 1e-6. adam_ema_step
 * states its own below. */
#include "registry.h"

#include <math.h>

static const int optim_shapes[][5] = {{1, 1}, {1, 7}, {2, 33, 3}, {4, 5, 1, 3, 3}, {2, 64, 784}, {1, 100003}};
#define NOPTIM_SHAPES (sizeof optim_shapes / sizeof optim_shapes[0])

static void compare_step(th *t, const char *op, const char *name, int step, const tpair *x, double atol, double rtol)
{
    char what[128], b[64];
    snprintf(what, sizeof what, "%s %s %s after step %d", op, gan_tensor_shape_str(&x->r, b, sizeof b), name, step);
    th_compare(t, what, x, atol, rtol);
}

void test_adam_step(th *t)
{
    static const gan_adam_params hps[] = {{1e-3f, 0.9f, 0.999f, 1e-8f, 0}, {2e-4f, 0.5f, 0.999f, 1e-8f, 0},
                                          {1e-2f, 0.3f, 0.9f, 1e-3f, 0}};
    for (size_t s = 0; s < NOPTIM_SHAPES; s++)
        for (size_t h = 0; h < sizeof hps / sizeof hps[0]; h++) {
            int nd = optim_shapes[s][0];
            const int *d = optim_shapes[s] + 1;
            tpair p, g, m, v;
            tp_rand(t, &p, nd, d[0], d[1], d[2], d[3], -1, 1);
            tp_rand(t, &g, nd, d[0], d[1], d[2], d[3], -1, 1);
            tp_rand(t, &m, nd, d[0], d[1], d[2], d[3], -0.1, 0.1);
            tp_rand(t, &v, nd, d[0], d[1], d[2], d[3], 0, 0.01);
            gan_adam_params hp = hps[h];
            for (int step = 1; step <= 5; step++) {
                float *gh = th_rand_host(t, g.r.numel, -1, 1);
                tp_set(t, &g, gh);
                free(gh);
                hp.step = step;
                TH_OK(t, t->ref, gan_adam_step(t->ref, &p.r, &g.r, &m.r, &v.r, &hp));
                if (t->dev) TH_OK(t, t->dev, gan_adam_step(t->dev, &p.d, &g.d, &m.d, &v.d, &hp));
                compare_step(t, "adam", "p", step, &p, 2e-6, 1e-5);
                compare_step(t, "adam", "m", step, &m, 1e-7, 1e-5);
                compare_step(t, "adam", "v", step, &v, 1e-9, 1e-5);
            }
            tp_free(t, &p);
            tp_free(t, &g);
            tp_free(t, &m);
            tp_free(t, &v);
        }

    /* One element by hand: p0 = 0.5, m0 = v0 = 0, gradients 0.2, -0.1,
     * 0.05 at t = 1, 2, 3. The second setting has a large eps so that where
     * eps enters (outside the square root) is visible. */
    static const gan_adam_params hand[] = {{1e-3f, 0.9f, 0.999f, 1e-8f, 0}, {0.1f, 0.5f, 0.99f, 0.1f, 0}};
    static const float grads[3] = {0.2f, -0.1f, 0.05f};
    for (size_t h = 0; h < sizeof hand / sizeof hand[0]; h++) {
        gan_ctx *ctxs[2] = {t->ref, t->dev};
        for (int b = 0; b < 2 && ctxs[b]; b++) {
            gan_ctx *c = ctxs[b];
            gan_tensor p, g, m, v;
            const float zero = 0.f, half = 0.5f;
            TH_OK(t, c, gan_tensor_alloc4(c, &p, GAN_F32, 1, 1, 0, 0, 0));
            TH_OK(t, c, gan_tensor_alloc4(c, &g, GAN_F32, 1, 1, 0, 0, 0));
            TH_OK(t, c, gan_tensor_alloc4(c, &m, GAN_F32, 1, 1, 0, 0, 0));
            TH_OK(t, c, gan_tensor_alloc4(c, &v, GAN_F32, 1, 1, 0, 0, 0));
            TH_OK(t, c, gan_tensor_write(c, &p, &half));
            TH_OK(t, c, gan_tensor_write(c, &m, &zero));
            TH_OK(t, c, gan_tensor_write(c, &v, &zero));
            double b1 = hand[h].beta1, b2 = hand[h].beta2, lr = hand[h].lr, eps = hand[h].eps;
            double pd = 0.5, md = 0, vd = 0;
            for (int step = 1; step <= 3; step++) {
                double gd = grads[step - 1];
                md = b1 * md + (1 - b1) * gd;
                vd = b2 * vd + (1 - b2) * gd * gd;
                double mhat = md / (1 - pow(b1, step)), vhat = vd / (1 - pow(b2, step));
                pd -= lr * mhat / (sqrt(vhat) + eps);
                gan_adam_params hp = hand[h];
                hp.step = step;
                TH_OK(t, c, gan_tensor_write(c, &g, &grads[step - 1]));
                TH_OK(t, c, gan_adam_step(c, &p, &g, &m, &v, &hp));
                float got[3], want[3] = {(float)pd, (float)md, (float)vd};
                TH_OK(t, c, gan_tensor_read(c, &p, &got[0]));
                TH_OK(t, c, gan_tensor_read(c, &m, &got[1]));
                TH_OK(t, c, gan_tensor_read(c, &v, &got[2]));
                char what[96];
                snprintf(what, sizeof what, "adam by hand, setting %zu, %s, step %d: p m v", h,
                         b ? "device" : "reference", step);
                th_compare_host(t, what, got, want, 3, 1e-9, 1e-6);
            }
            gan_tensor_free(c, &p);
            gan_tensor_free(c, &g);
            gan_tensor_free(c, &m);
            gan_tensor_free(c, &v);
        }
    }
}

void test_sgd_step(th *t)
{
    static const float moms[] = {0.f, 0.9f, 0.5f};
    static const float lrs[] = {0.01f, 0.1f, 1e-3f};
    for (size_t s = 0; s < NOPTIM_SHAPES; s++)
        for (size_t h = 0; h < sizeof moms / sizeof moms[0]; h++) {
            int nd = optim_shapes[s][0];
            const int *d = optim_shapes[s] + 1;
            tpair p, g, vel;
            tp_rand(t, &p, nd, d[0], d[1], d[2], d[3], -1, 1);
            tp_rand(t, &g, nd, d[0], d[1], d[2], d[3], -1, 1);
            tp_rand(t, &vel, nd, d[0], d[1], d[2], d[3], -0.5, 0.5);
            for (int step = 1; step <= 5; step++) {
                float *gh = th_rand_host(t, g.r.numel, -1, 1);
                tp_set(t, &g, gh);
                free(gh);
                TH_OK(t, t->ref, gan_sgd_step(t->ref, &p.r, &g.r, &vel.r, lrs[h], moms[h]));
                if (t->dev) TH_OK(t, t->dev, gan_sgd_step(t->dev, &p.d, &g.d, &vel.d, lrs[h], moms[h]));
                compare_step(t, "sgd", "p", step, &p, 2e-6, 1e-5);
                compare_step(t, "sgd", "velocity", step, &vel, 1e-6, 1e-5);
            }
            tp_free(t, &p);
            tp_free(t, &g);
            tp_free(t, &vel);
        }

    /* One element by hand: p0 = 1, vel0 = 0, lr 0.1, momentum 0.9,
     * gradients 0.5, 0.25, -1. */
    static const float grads[3] = {0.5f, 0.25f, -1.f};
    gan_ctx *ctxs[2] = {t->ref, t->dev};
    for (int b = 0; b < 2 && ctxs[b]; b++) {
        gan_ctx *c = ctxs[b];
        gan_tensor p, g, vel;
        const float zero = 0.f, one = 1.f;
        TH_OK(t, c, gan_tensor_alloc4(c, &p, GAN_F32, 1, 1, 0, 0, 0));
        TH_OK(t, c, gan_tensor_alloc4(c, &g, GAN_F32, 1, 1, 0, 0, 0));
        TH_OK(t, c, gan_tensor_alloc4(c, &vel, GAN_F32, 1, 1, 0, 0, 0));
        TH_OK(t, c, gan_tensor_write(c, &p, &one));
        TH_OK(t, c, gan_tensor_write(c, &vel, &zero));
        double lr = 0.1f, mom = 0.9f, pd = 1, vd = 0;
        for (int step = 1; step <= 3; step++) {
            vd = mom * vd + grads[step - 1];
            pd -= lr * vd;
            TH_OK(t, c, gan_tensor_write(c, &g, &grads[step - 1]));
            TH_OK(t, c, gan_sgd_step(c, &p, &g, &vel, 0.1f, 0.9f));
            float got[2], want[2] = {(float)pd, (float)vd};
            TH_OK(t, c, gan_tensor_read(c, &p, &got[0]));
            TH_OK(t, c, gan_tensor_read(c, &vel, &got[1]));
            char what[96];
            snprintf(what, sizeof what, "sgd by hand, %s, step %d: p vel", b ? "device" : "reference", step);
            th_compare_host(t, what, got, want, 2, 1e-9, 1e-6);
        }
        gan_tensor_free(c, &p);
        gan_tensor_free(c, &g);
        gan_tensor_free(c, &vel);
    }
}

/* adam_ema_step: five steps on both backends as for adam_step (p, m, v
 * with adam_step's tolerances; the average, O(1) like p, atol 2e-6, rtol
 * 1e-5); on each backend p, m and v bit-identical to adam_step's from the
 * same state (it is Adam, then the average); the average followed by hand
 * from each backend's own p, in double, within the float rounding of
 * p - a (|p - a| < 3) and of the sum (atol 3e-7, rtol 1e-6); rate 0 leaves it bit-identical; bad rates and
 * shapes are errors. */
void test_adam_ema_step(th *t)
{
    static const gan_adam_params hp0 = {3e-3f, 0.5f, 0.999f, 1e-4f, 0};
    static const float rates[] = {5e-4f, 0.25f, 1.f, 0.f};
    for (size_t s = 0; s < NOPTIM_SHAPES; s++)
        for (size_t h = 0; h < sizeof rates / sizeof rates[0]; h++) {
            int nd = optim_shapes[s][0];
            const int *d = optim_shapes[s] + 1;
            tpair p, g, m, v, a, p2, m2, v2;
            tp_rand(t, &p, nd, d[0], d[1], d[2], d[3], -1, 1);
            tp_rand(t, &g, nd, d[0], d[1], d[2], d[3], -1, 1);
            tp_rand(t, &m, nd, d[0], d[1], d[2], d[3], -0.1, 0.1);
            tp_rand(t, &v, nd, d[0], d[1], d[2], d[3], 0, 0.01);
            tp_rand(t, &a, nd, d[0], d[1], d[2], d[3], -1, 1);
            tpair *twins[3][2] = {{&p, &p2}, {&m, &m2}, {&v, &v2}};
            for (int k = 0; k < 3; k++) {
                float *hsrc = th_read(t, t->ref, &twins[k][0]->r);
                tp_alloc(t, twins[k][1], GAN_F32, nd, d[0], d[1], d[2], d[3]);
                tp_set(t, twins[k][1], hsrc);
                free(hsrc);
            }
            gan_adam_params hp = hp0;
            for (int step = 1; step <= 5; step++) {
                float *gh = th_rand_host(t, g.r.numel, -1, 1);
                tp_set(t, &g, gh);
                free(gh);
                hp.step = step;
                gan_ctx *ctxs[2] = {t->ref, t->dev};
                for (int b = 0; b < 2 && ctxs[b]; b++) {
                    gan_ctx *c = ctxs[b];
                    tpair *ps[8] = {&p, &g, &m, &v, &a, &p2, &m2, &v2};
                    gan_tensor *x[8];
                    for (int k = 0; k < 8; k++) x[k] = b ? &ps[k]->d : &ps[k]->r;
                    float *a0 = th_read(t, c, x[4]);
                    TH_OK(t, c, gan_adam_ema_step(c, x[0], x[1], x[2], x[3], &hp, rates[h], x[4]));
                    TH_OK(t, c, gan_adam_step(c, x[5], x[1], x[6], x[7], &hp));
                    const char *where = b ? "device" : "reference";
                    char what[128];
                    for (int k = 0; k < 3; k++) {
                        float *got = th_read(t, c, x[k == 0 ? 0 : k + 1]), *want = th_read(t, c, x[5 + k]);
                        snprintf(what, sizeof what, "adam_ema %s: %c vs adam_step's, step %d", where, "pmv"[k],
                                 step);
                        th_compare_bits(t, what, got, want, p.r.numel);
                        free(got);
                        free(want);
                    }
                    float *pn = th_read(t, c, x[0]), *a1 = th_read(t, c, x[4]);
                    size_t n = p.r.numel;
                    if (rates[h] == 0.f) {
                        snprintf(what, sizeof what, "adam_ema %s rate 0: average unchanged, step %d", where, step);
                        th_compare_bits(t, what, a1, a0, n);
                    } else {
                        float *want = malloc(n * sizeof *want);
                        for (size_t i = 0; i < n; i++)
                            want[i] = (float)(a0[i] + (double)rates[h] * ((double)pn[i] - a0[i]));
                        snprintf(what, sizeof what, "adam_ema %s rate %g: average by hand, step %d", where, rates[h],
                                 step);
                        th_compare_host(t, what, a1, want, n, 3e-7, 1e-6);
                        free(want);
                    }
                    free(a0);
                    free(pn);
                    free(a1);
                }
                compare_step(t, "adam_ema", "p", step, &p, 2e-6, 1e-5);
                compare_step(t, "adam_ema", "m", step, &m, 1e-7, 1e-5);
                compare_step(t, "adam_ema", "v", step, &v, 1e-9, 1e-5);
                compare_step(t, "adam_ema", "average", step, &a, 2e-6, 1e-5);
            }
            if (s == 2 && h == 0) {
                gan_ctx *c = t->ref;
                th_expect_error(t, c, gan_adam_ema_step(c, &p.r, &g.r, &m.r, &v.r, &hp, 1.5f, &a.r), GAN_ERR_ARG,
                                "adam_ema with rate 1.5");
                th_expect_error(t, c, gan_adam_ema_step(c, &p.r, &g.r, &m.r, &v.r, &hp, 0.1f, NULL), GAN_ERR_ARG,
                                "adam_ema without an average");
                tpair bad;
                tp_alloc(t, &bad, GAN_F32, 1, (int)p.r.numel, 0, 0, 0);
                th_expect_error(t, c, gan_adam_ema_step(c, &p.r, &g.r, &m.r, &v.r, &hp, 0.1f, &bad.r), GAN_ERR_SHAPE,
                                "adam_ema with an average of another shape");
                if (t->dev)
                    th_expect_error(t, t->dev, gan_adam_ema_step(t->dev, &p.d, &g.d, &m.d, &v.d, &hp, -0.1f, &a.d),
                                    GAN_ERR_ARG, "adam_ema on the device with rate -0.1");
                tp_free(t, &bad);
            }
            tpair *all[] = {&p, &g, &m, &v, &a, &p2, &m2, &v2};
            for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) tp_free(t, all[k]);
        }
}
