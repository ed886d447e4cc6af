/* 2x2 max pooling, alone and with the ReLU folded in (maxpool2_*,
 * maxpool2_relu_*): device vs reference from the same inputs, every
 * backward against finite differences on the reference, and the fused ops
 * to the bit the unfused sequence on the reference. */
#include "registry.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* N, C, H, W: even, odd H and W (floor), batch 1, a MNIST-sized layer. */
static const int pool_shapes[][4] = {{1, 1, 2, 2}, {1, 3, 5, 7}, {2, 7, 6, 6}, {3, 33, 9, 8}, {64, 8, 28, 28},
                                         {2, 5, 24, 25}, {1, 4, 10, 27}}; /* output widths 1, 3, 4, 14, 12, 13: every vector step and tail */
#define NPOOL (sizeof pool_shapes / sizeof pool_shapes[0])

/* Exact on both backends: y is a selected x, idx compared bit for bit.
 * Inputs come both continuous and quantized to {0, 1, 2} (many ties: the
 * first maximum in row-major window order must win on both). */
void test_maxpool2_forward(th *t)
{
    /* known answer: windows {1,3,0,3} -> 3 at 1 (first of the tie), {2,2,5,2} -> 5 at 6 */
    {
        static const float xs[] = {1, 3, 2, 2, 0, 3, 5, 2};
        tpair x, y, idx;
        tp_alloc(t, &x, GAN_F32, 4, 1, 1, 2, 4);
        tp_alloc(t, &y, GAN_F32, 4, 1, 1, 1, 2);
        tp_alloc(t, &idx, GAN_I32, 4, 1, 1, 1, 2);
        tp_set(t, &x, xs);
        TH_OK(t, t->ref, gan_maxpool2_forward(t->ref, &x.r, &y.r, &idx.r));
        const float *yr = y.r.data;
        const int32_t *ir = idx.r.data;
        if (yr[0] != 3 || yr[1] != 5 || ir[0] != 1 || ir[1] != 6)
            th_fail(t, "maxpool2 known answer: y {%g, %g} idx {%d, %d}, want {3, 5} {1, 6}", yr[0], yr[1], ir[0],
                    ir[1]);
        tp_free(t, &x);
        tp_free(t, &y);
        tp_free(t, &idx);
    }
    for (size_t s = 0; s < NPOOL; s++)
        for (int quant = 0; quant < 3; quant++) {
            int N = pool_shapes[s][0], C = pool_shapes[s][1], H = pool_shapes[s][2], W = pool_shapes[s][3];
            tpair x, y, idx;
            tp_alloc(t, &x, GAN_F32, 4, N, C, H, W);
            tp_alloc(t, &y, GAN_F32, 4, N, C, H / 2, W / 2);
            tp_alloc(t, &idx, GAN_I32, 4, N, C, H / 2, W / 2);
            float *h = th_rand_host(t, x.r.numel, -1, 1);
            for (size_t i = 0; i < x.r.numel; i++) {
                if (quant == 1) h[i] = floorf((h[i] + 1) * 1.5f);
                if (quant == 2 && i % 5 == 0) h[i] = NAN; /* NaNs propagate, the first one wins */
            }
            tp_set(t, &x, h);
            TH_OK(t, t->ref, gan_maxpool2_forward(t->ref, &x.r, &y.r, &idx.r));
            if (t->dev) TH_OK(t, t->dev, gan_maxpool2_forward(t->dev, &x.d, &y.d, &idx.d));
            char what[128], label[160];
            snprintf(what, sizeof what, "maxpool2 [%d,%d,%d,%d] %s", N, C, H, W,
                     quant == 0 ? "continuous" : quant == 1 ? "ties" : "nan");
            size_t n = y.r.numel;
            float *yr = th_read(t, t->ref, &y.r), *ir = th_read(t, t->ref, &idx.r);
            if (t->dev) {
                float *yd = th_read(t, t->dev, &y.d), *id = th_read(t, t->dev, &idx.d);
                snprintf(label, sizeof label, "%s y", what);
                th_compare_bits(t, label, yd, yr, n);
                snprintf(label, sizeof label, "%s idx", what);
                th_compare_bits(t, label, id, ir, n);
                free(yd);
                free(id);
            }
            /* the reference: idx inside its window, y = x[idx], nothing in the window larger */
            size_t bad = 0;
            const int32_t *ii = (const int32_t *)ir;
            for (size_t o = 0; o < n; o++) {
                size_t OW = (size_t)(W / 2), OH = (size_t)(H / 2);
                size_t ow = o % OW, r = o / OW, oh = r % OH, nc = r / OH;
                size_t base = (nc * H + 2 * oh) * W + 2 * ow, at = (size_t)ii[o];
                int ok = at == base || at == base + 1 || at == base + W || at == base + W + 1;
                ok = ok && (isnan(h[at]) ? isnan(yr[o]) : yr[o] == h[at]);
                for (size_t k = 0; ok && k < 4; k++) {
                    size_t j = base + (k / 2) * W + k % 2;
                    if (!isnan(h[at]) && (h[j] > h[at] || isnan(h[j]))) ok = 0;
                    if (j < at && (h[j] == h[at] || (isnan(h[j]) && isnan(h[at])))) ok = 0; /* first wins */
                }
                bad += !ok;
            }
            if (bad) th_fail(t, "%s: %zu of %zu reference outputs are not the window's first maximum", what, bad, n);
            free(yr);
            free(ir);
            free(h);
            tp_free(t, &x);
            tp_free(t, &y);
            tp_free(t, &idx);
        }
}

/* h[0..n): the values first + 0.05 i, shuffled (Fisher-Yates): a step
 * of 1e-2 never changes a window's argmax. */
static void ladder(th *t, float *h, size_t n, double first)
{
    for (size_t i = 0; i < n; i++) h[i] = (float)(0.05 * (double)i + first);
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)th_uniform(t, 0, (double)i);
        if (j >= i) j = i - 1;
        float tmp = h[i - 1];
        h[i - 1] = h[j];
        h[j] = tmp;
    }
}

/* The finite-difference loss of both pools: R . pool(x), relu: with the
 * ReLU folded in. */
typedef struct pool_fd {
    gan_ctx *c;
    gan_tensor *x, *y, *idx, *R;
    int relu;
} pool_fd;

static double pool_loss(void *u)
{
    pool_fd *f = u;
    if (f->relu)
        gan_maxpool2_relu_forward(f->c, f->x, f->y, f->idx);
    else
        gan_maxpool2_forward(f->c, f->x, f->y, f->idx);
    return th_dot(f->y, f->R);
}

/* dx holds copies of dy or zeros: compared exactly. FD on inputs that are
 * a shuffled ladder 0.05 apart, so a step of 1e-2 never changes a
 * window's argmax; atol 1e-4 rtol 1e-4. */
void test_maxpool2_backward(th *t)
{
    for (size_t s = 0; s < NPOOL; s++) {
        int N = pool_shapes[s][0], C = pool_shapes[s][1], H = pool_shapes[s][2], W = pool_shapes[s][3];
        tpair x, y, idx, dy, dx;
        tp_alloc(t, &x, GAN_F32, 4, N, C, H, W);
        tp_alloc(t, &y, GAN_F32, 4, N, C, H / 2, W / 2);
        tp_alloc(t, &idx, GAN_I32, 4, N, C, H / 2, W / 2);
        tp_rand(t, &dy, 4, N, C, H / 2, W / 2, -1, 1);
        tp_rand(t, &dx, 4, N, C, H, W, 5, 6); /* stale values the op must overwrite */
        size_t n = x.r.numel;
        float *h = malloc(n * sizeof *h);
        ladder(t, h, n, -0.025 * (double)n);
        tp_set(t, &x, h);
        TH_OK(t, t->ref, gan_maxpool2_forward(t->ref, &x.r, &y.r, &idx.r));
        float *ih = th_read(t, t->ref, &idx.r);
        tp_set(t, &idx, ih);
        TH_OK(t, t->ref, gan_maxpool2_backward(t->ref, &idx.r, &dy.r, &dx.r));
        if (t->dev) TH_OK(t, t->dev, gan_maxpool2_backward(t->dev, &idx.d, &dy.d, &dx.d));
        char what[128];
        snprintf(what, sizeof what, "maxpool2 [%d,%d,%d,%d] dx", N, C, H, W);
        th_compare(t, what, &dx, 0, 0);
        pool_fd f = {t->ref, &x.r, &y.r, &idx.r, &dy.r, 0};
        float *g = th_read(t, t->ref, &dx.r);
        th_fd_check(t, what, pool_loss, &f, &x.r, g, 1e-2, 1e-4, 1e-4, 64);
        free(g);
        free(ih);
        free(h);
        tpair *all[] = {&x, &y, &idx, &dy, &dx};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) tp_free(t, all[i]);
    }
    /* An idx that maxpool2_forward cannot have produced is refused. */
    tpair idx, dy, dx;
    tp_alloc(t, &idx, GAN_I32, 4, 1, 1, 2, 2);
    tp_alloc(t, &dy, GAN_F32, 4, 1, 1, 2, 2);
    tp_alloc(t, &dx, GAN_F32, 4, 1, 1, 4, 4);
    static const int32_t bad_idx[] = {0, 2, 8, 4}; /* the last is in window 0, not window 3 */
    tp_set(t, &idx, bad_idx);
    th_expect_error(t, t->ref, gan_maxpool2_backward(t->ref, &idx.r, &dy.r, &dx.r), GAN_ERR_ARG,
                    "maxpool2_backward with an idx outside its window");
    tp_free(t, &idx);
    tp_free(t, &dy);
    tp_free(t, &dx);
}

/* maxpool2_relu_*: on the reference, to the bit the unfused maxpool2_* with
 * act_* (what the classifier ran before); the device against it exactly
 * (y and idx for continuous inputs, ties and NaNs; dx); the backward
 * against central differences of <relu(maxpool2(x)), R> on a shuffled
 * ladder 0.05 apart that stays 0.025 from 0, so that a step of 1e-2 never
 * moves an argmax or crosses the kink. */
void test_maxpool2_relu_forward(th *t)
{
    for (size_t s = 0; s < NPOOL; s++)
        for (int quant = 0; quant < 3; quant++) {
            int N = pool_shapes[s][0], C = pool_shapes[s][1], H = pool_shapes[s][2], W = pool_shapes[s][3];
            tpair x, y, idx, y2, idx2;
            tp_alloc(t, &x, GAN_F32, 4, N, C, H, W);
            tp_alloc(t, &y, GAN_F32, 4, N, C, H / 2, W / 2);
            tp_alloc(t, &idx, GAN_I32, 4, N, C, H / 2, W / 2);
            tp_alloc(t, &y2, GAN_F32, 4, N, C, H / 2, W / 2);
            tp_alloc(t, &idx2, GAN_I32, 4, N, C, H / 2, W / 2);
            float *h = th_rand_host(t, x.r.numel, -1, 1);
            for (size_t i = 0; i < x.r.numel; i++) {
                if (quant == 1) h[i] = floorf((h[i] + 1) * 1.5f) - 1; /* {-1, 0, 1}: ties, and 0 */
                if (quant == 2 && i % 5 == 0) h[i] = NAN;
            }
            tp_set(t, &x, h);
            TH_OK(t, t->ref, gan_maxpool2_relu_forward(t->ref, &x.r, &y.r, &idx.r));
            TH_OK(t, t->ref, gan_maxpool2_forward(t->ref, &x.r, &y2.r, &idx2.r));
            TH_OK(t, t->ref, gan_act_forward(t->ref, GAN_ACT_RELU, 0.f, &y2.r, &y2.r));
            if (t->dev) TH_OK(t, t->dev, gan_maxpool2_relu_forward(t->dev, &x.d, &y.d, &idx.d));
            char what[128], label[256];
            snprintf(what, sizeof what, "maxpool2_relu [%d,%d,%d,%d] %s", N, C, H, W,
                     quant == 0 ? "continuous" : quant == 1 ? "ties" : "nan");
            size_t n = y.r.numel;
            float *yr = th_read(t, t->ref, &y.r), *ir = th_read(t, t->ref, &idx.r);
            float *y2r = th_read(t, t->ref, &y2.r), *i2r = th_read(t, t->ref, &idx2.r);
            snprintf(label, sizeof label, "%s y == relu(maxpool2) on the reference", what);
            th_compare_bits(t, label, yr, y2r, n);
            snprintf(label, sizeof label, "%s idx == maxpool2's on the reference", what);
            th_compare_bits(t, label, ir, i2r, n);
            if (t->dev) {
                float *yd = th_read(t, t->dev, &y.d), *id = th_read(t, t->dev, &idx.d);
                snprintf(label, sizeof label, "%s y", what);
                th_compare_bits(t, label, yd, yr, n);
                snprintf(label, sizeof label, "%s idx", what);
                th_compare_bits(t, label, id, ir, n);
                free(yd);
                free(id);
            }
            free(yr);
            free(ir);
            free(y2r);
            free(i2r);
            free(h);
            tpair *all[] = {&x, &y, &idx, &y2, &idx2};
            for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) tp_free(t, all[i]);
        }
}

void test_maxpool2_relu_backward(th *t)
{
    for (size_t s = 0; s < NPOOL; s++) {
        int N = pool_shapes[s][0], C = pool_shapes[s][1], H = pool_shapes[s][2], W = pool_shapes[s][3];
        tpair x, y, idx, dy, dx, t2, dx2;
        tp_alloc(t, &x, GAN_F32, 4, N, C, H, W);
        tp_alloc(t, &y, GAN_F32, 4, N, C, H / 2, W / 2);
        tp_alloc(t, &idx, GAN_I32, 4, N, C, H / 2, W / 2);
        tp_alloc(t, &t2, GAN_F32, 4, N, C, H / 2, W / 2);
        tp_rand(t, &dy, 4, N, C, H / 2, W / 2, -1, 1);
        tp_rand(t, &dx, 4, N, C, H, W, 5, 6); /* stale values the op must overwrite */
        tp_rand(t, &dx2, 4, N, C, H, W, 5, 6);
        size_t n = x.r.numel;
        float *h = malloc(n * sizeof *h);
        ladder(t, h, n, -0.05 * (double)(n / 2) + 0.025);
        tp_set(t, &x, h);
        TH_OK(t, t->ref, gan_maxpool2_relu_forward(t->ref, &x.r, &y.r, &idx.r));
        float *ih = th_read(t, t->ref, &idx.r), *yh = th_read(t, t->ref, &y.r);
        tp_set(t, &idx, ih);
        tp_set(t, &y, yh);
        TH_OK(t, t->ref, gan_maxpool2_relu_backward(t->ref, &idx.r, &y.r, &dy.r, &dx.r));
        if (t->dev) TH_OK(t, t->dev, gan_maxpool2_relu_backward(t->dev, &idx.d, &y.d, &dy.d, &dx.d));
        char what[128];
        snprintf(what, sizeof what, "maxpool2_relu [%d,%d,%d,%d] dx", N, C, H, W);
        th_compare(t, what, &dx, 0, 0);
        /* the unfused steps on the reference, relu's backward reading y */
        TH_OK(t, t->ref, gan_act_backward(t->ref, GAN_ACT_RELU, 0.f, &y.r, NULL, &dy.r, &t2.r));
        TH_OK(t, t->ref, gan_maxpool2_backward(t->ref, &idx.r, &t2.r, &dx2.r));
        float *g = th_read(t, t->ref, &dx.r), *g2 = th_read(t, t->ref, &dx2.r);
        char label[256];
        snprintf(label, sizeof label, "%s == maxpool2_backward(act_backward(relu)) on the reference", what);
        th_compare_bits(t, label, g, g2, n);
        pool_fd f = {t->ref, &x.r, &t2.r, &idx.r, &dy.r, 1};
        th_fd_check(t, what, pool_loss, &f, &x.r, g, 1e-2, 1e-4, 1e-4, 64);
        free(g);
        free(g2);
        free(ih);
        free(yh);
        free(h);
        tpair *all[] = {&x, &y, &idx, &dy, &dx, &t2, &dx2};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) tp_free(t, all[i]);
    }
}
