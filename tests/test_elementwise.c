/* Element-wise ops: activations, dropout, noise, concat, fill, copy, axpy,
 * the row ops (gather_rows, copy_rows), standardize (2x2 max pooling:
 * test_pool.c). Device vs reference from the same inputs, every
 * backward against finite differences on the reference, and a few
 * known answers so the reference itself is checked without a device. */
#include "registry.h"

#include <math.h>
#include <string.h>

static const char *const act_names[GAN_ACT_COUNT] = {"relu", "leaky_relu", "tanh", "sigmoid", "softplus"};
#define SLOPE 0.2f

/* ndim and dims: a scalar-like [1], 2-D, odd 4-D, batch 1, a large one. */
static const int ew_shapes[][5] = {{1, 1, 0, 0, 0},   {2, 7, 3, 0, 0},   {4, 3, 33, 5, 5},
                                   {4, 1, 7, 13, 11}, {2, 64, 3137, 0, 0}};
#define EW_NSHAPES (sizeof ew_shapes / sizeof ew_shapes[0])

static void ew_name(char *buf, size_t cap, const int *sh)
{
    int k = snprintf(buf, cap, "[%d", sh[1]);
    for (int i = 1; i < sh[0]; i++) k += snprintf(buf + k, cap - (size_t)k, ",%d", sh[1 + i]);
    snprintf(buf + k, cap - (size_t)k, "]");
}

/* Inputs for activation tests: uniform in [-6, 6) with |x| >= 0.05 (away
 * from relu's kink, for finite differences), and the first elements set
 * to the tails where a naive sigmoid/softplus overflows (and to the kink
 * itself, 0, when with_zero). */
static float *act_input(th *t, size_t n, int with_zero)
{
    static const float tails[] = {-100.f, 100.f, -30.f, 30.f, -15.f, 15.f, 0.f};
    size_t ntails = sizeof tails / sizeof tails[0] - (with_zero ? 0 : 1);
    float *h = th_rand_host(t, n, -6, 6);
    for (size_t i = 0; i < n; i++)
        if (fabsf(h[i]) < 0.05f) h[i] = h[i] < 0 ? -0.05f : 0.05f;
    for (size_t i = 0; i < n && i < ntails; i++) h[i] = tails[i];
    return h;
}

/* Known values, computed by hand: act(kind, x). */
static void act_known(th *t)
{
    static const float xs[] = {-100.f, -2.f, 0.f, 0.5f, 100.f};
    static const double want[GAN_ACT_COUNT][5] = {
        {0, 0, 0, 0.5, 100},
        {-20, -0.4, 0, 0.5, 100},
        {-1, -0.964027580075817, 0, 0.462117157260010, 1},
        {3.720075976020836e-44, 0.119202922022118, 0.5, 0.622459331201855, 1},
        {3.720075976020836e-44, 0.126928011042973, 0.693147180559945, 0.974076984180107, 100},
    };
    tpair x, y;
    tp_alloc(t, &x, GAN_F32, 1, 5, 0, 0, 0);
    tp_alloc(t, &y, GAN_F32, 1, 5, 0, 0, 0);
    tp_set(t, &x, xs);
    for (int k = 0; k < GAN_ACT_COUNT; k++) {
        TH_OK(t, t->ref, gan_act_forward(t->ref, (gan_act)k, SLOPE, &x.r, &y.r));
        const float *got = y.r.data;
        for (int i = 0; i < 5; i++)
            if (!(fabs(got[i] - want[k][i]) <= 1e-6 * fabs(want[k][i]) + 1e-40))
                th_fail(t, "%s(%g) = %.9g on the reference, want %.9g", act_names[k], xs[i], got[i], want[k][i]);
    }
    tp_free(t, &x);
    tp_free(t, &y);
}

/* Tolerances: device transcendentals (exp, log1p, tanh) are within a few
 * ulp of the reference's correctly rounded double results: atol 1e-6,
 * rtol 1e-5. relu/leaky are exact but share the tolerance. */
void test_act_forward(th *t)
{
    act_known(t);
    for (size_t s = 0; s < EW_NSHAPES; s++)
        for (int k = 0; k < GAN_ACT_COUNT; k++) {
            const int *sh = ew_shapes[s];
            tpair x, y;
            tp_alloc(t, &x, GAN_F32, sh[0], sh[1], sh[2], sh[3], sh[4]);
            tp_alloc(t, &y, GAN_F32, sh[0], sh[1], sh[2], sh[3], sh[4]);
            float *h = act_input(t, x.r.numel, 1);
            tp_set(t, &x, h);
            TH_OK(t, t->ref, gan_act_forward(t->ref, (gan_act)k, SLOPE, &x.r, &y.r));
            if (t->dev) TH_OK(t, t->dev, gan_act_forward(t->dev, (gan_act)k, SLOPE, &x.d, &y.d));
            char nm[64], what[128];
            ew_name(nm, sizeof nm, sh);
            snprintf(what, sizeof what, "%s %s y", act_names[k], nm);
            th_compare(t, what, &y, 1e-6, 1e-5);
            /* In place (y aliases x) must give what the out-of-place run gave. */
            TH_OK(t, t->ref, gan_act_forward(t->ref, (gan_act)k, SLOPE, &x.r, &x.r));
            if (t->dev) TH_OK(t, t->dev, gan_act_forward(t->dev, (gan_act)k, SLOPE, &x.d, &x.d));
            float *want = th_read(t, t->ref, &y.r), *got = th_read(t, t->ref, &x.r);
            snprintf(what, sizeof what, "%s %s in place (ref)", act_names[k], nm);
            th_compare_bits(t, what, got, want, x.r.numel);
            free(got);
            if (t->dev) {
                float *yd = th_read(t, t->dev, &y.d);
                got = th_read(t, t->dev, &x.d);
                snprintf(what, sizeof what, "%s %s in place (device)", act_names[k], nm);
                th_compare_bits(t, what, got, yd, x.r.numel);
                free(got);
                free(yd);
            }
            free(want);
            free(h);
            tp_free(t, &x);
            tp_free(t, &y);
        }
}

typedef struct act_fd {
    gan_ctx *c;
    gan_act kind;
    gan_tensor *x, *y, *R;
} act_fd;

static double act_loss(void *u)
{
    act_fd *f = u;
    gan_act_forward(f->c, f->kind, SLOPE, f->x, f->y);
    return th_dot(f->y, f->R);
}

/* Tolerances: dx atol 1e-6, rtol 1e-5 (one product with a few-ulp
 * derivative). Both backends get the reference's y so only the backward is
 * compared. FD: step 1e-2 (inputs stay 0.05 away from the relu kink), atol
 * 1e-4 and rtol 1e-3 cover the O(step^2) curvature term of tanh/sigmoid. */
void test_act_backward(th *t)
{
    for (size_t s = 0; s < EW_NSHAPES; s++)
        for (int k = 0; k < GAN_ACT_COUNT; k++) {
            const int *sh = ew_shapes[s];
            tpair x, y, dy, dx;
            tp_alloc(t, &x, GAN_F32, sh[0], sh[1], sh[2], sh[3], sh[4]);
            tp_alloc(t, &y, GAN_F32, sh[0], sh[1], sh[2], sh[3], sh[4]);
            tp_rand(t, &dy, sh[0], sh[1], sh[2], sh[3], sh[4], -1, 1);
            tp_alloc(t, &dx, GAN_F32, sh[0], sh[1], sh[2], sh[3], sh[4]);
            float *h = act_input(t, x.r.numel, 0);
            tp_set(t, &x, h);
            TH_OK(t, t->ref, gan_act_forward(t->ref, (gan_act)k, SLOPE, &x.r, &y.r));
            float *yh = th_read(t, t->ref, &y.r);
            tp_set(t, &y, yh);
            /* pass only the tensor the kind reads: the other may be NULL */
            int uses_y = k == GAN_ACT_TANH || k == GAN_ACT_SIGMOID;
            TH_OK(t, t->ref, gan_act_backward(t->ref, (gan_act)k, SLOPE, uses_y ? NULL : &x.r, uses_y ? &y.r : NULL,
                                               &dy.r, &dx.r));
            if (t->dev)
                TH_OK(t, t->dev, gan_act_backward(t->dev, (gan_act)k, SLOPE, uses_y ? NULL : &x.d,
                                                   uses_y ? &y.d : NULL, &dy.d, &dx.d));
            char nm[64], what[128];
            ew_name(nm, sizeof nm, sh);
            snprintf(what, sizeof what, "%s %s dx", act_names[k], nm);
            th_compare(t, what, &dx, 1e-6, 1e-5);
            act_fd f = {t->ref, (gan_act)k, &x.r, &y.r, &dy.r};
            float *g = th_read(t, t->ref, &dx.r);
            snprintf(what, sizeof what, "%s %s", act_names[k], nm);
            th_fd_check(t, what, act_loss, &f, &x.r, g, 1e-2, 1e-4, 1e-3, 64);
            free(g);
            free(yh);
            free(h);
            tp_free(t, &x);
            tp_free(t, &y);
            tp_free(t, &dy);
            tp_free(t, &dx);
        }
}

/* Element i of the uniform stream straight from the Philox function, as
 * gan_rng documents it: word i%4 of block counter + i/4, top 24 bits. */
static float stream_uniform(gan_rng r, uint64_t i)
{
    uint64_t b = r.counter + i / 4;
    uint32_t ctr[4] = {(uint32_t)b, (uint32_t)(b >> 32), 0, 0}, key[2] = {(uint32_t)r.seed, (uint32_t)(r.seed >> 32)};
    uint32_t out[4];
    gan_philox4x32_10(ctr, key, out);
    return (float)(out[i % 4] >> 8) / 16777216.0f;
}

static const float drop_ps[] = {0.f, 0.3f, 0.5f, 0.9f};
#define NDROP (sizeof drop_ps / sizeof drop_ps[0])

/* Masks and outputs must be bit-identical between backends (same uniform,
 * same float scale, one multiply). */
void test_dropout_forward(th *t)
{
    for (size_t s = 0; s < EW_NSHAPES; s++)
        for (size_t q = 0; q < NDROP; q++) {
            const int *sh = ew_shapes[s];
            float p = drop_ps[q];
            gan_rng rng = {0x1234567890abcdefull + s, 5 + q};
            tpair x, mask, y;
            tp_rand(t, &x, sh[0], sh[1], sh[2], sh[3], sh[4], -1, 1);
            tp_alloc(t, &mask, GAN_F32, sh[0], sh[1], sh[2], sh[3], sh[4]);
            tp_alloc(t, &y, GAN_F32, sh[0], sh[1], sh[2], sh[3], sh[4]);
            TH_OK(t, t->ref, gan_dropout_forward(t->ref, p, rng, &x.r, &mask.r, &y.r));
            if (t->dev) TH_OK(t, t->dev, gan_dropout_forward(t->dev, p, rng, &x.d, &mask.d, &y.d));
            char nm[64], what[128];
            ew_name(nm, sizeof nm, sh);
            size_t n = x.r.numel;
            float *mr = th_read(t, t->ref, &mask.r), *yr = th_read(t, t->ref, &y.r), *xr = th_read(t, t->ref, &x.r);
            if (t->dev) {
                float *md = th_read(t, t->dev, &mask.d), *yd = th_read(t, t->dev, &y.d);
                snprintf(what, sizeof what, "dropout p%g %s mask", p, nm);
                th_compare_bits(t, what, md, mr, n);
                snprintf(what, sizeof what, "dropout p%g %s y", p, nm);
                th_compare_bits(t, what, yd, yr, n);
                free(md);
                free(yd);
            }
            /* The reference against the documented stream and formula. */
            float scale = 1.0f / (1.0f - p);
            size_t kept = 0, bad = 0;
            for (size_t i = 0; i < n; i++) {
                float m = stream_uniform(rng, i) >= p ? scale : 0.f;
                kept += m != 0.f;
                if (mr[i] != m || yr[i] != xr[i] * m) bad++;
            }
            if (bad) th_fail(t, "dropout p%g %s: %zu of %zu elements differ from u >= p", p, nm, bad, n);
            if (n >= 10000) {
                double frac = (double)kept / (double)n, sd = sqrt(p * (1.0 - p) / (double)n);
                if (fabs(frac - (1.0 - p)) > 5 * sd + 1e-12)
                    th_fail(t, "dropout p%g %s: kept %.5f of the elements, want %.5f +- %.5f", p, nm, frac, 1.0 - p,
                            5 * sd);
            }
            free(mr);
            free(yr);
            free(xr);
            tp_free(t, &x);
            tp_free(t, &mask);
            tp_free(t, &y);
        }
    /* Counters whose low word wraps inside one work-item's 16 blocks
     * (cl/philox.cl's philox_block16 carries into the high word). */
    for (int q = 0; q < 2; q++) {
        gan_rng rng = {77, q ? 0x1fffffff9ull : 0xfffffff3ull};
        tpair xc, mc, yc;
        tp_rand(t, &xc, 1, 1001, 0, 0, 0, -1, 1);
        tp_alloc(t, &mc, GAN_F32, 1, 1001, 0, 0, 0);
        tp_alloc(t, &yc, GAN_F32, 1, 1001, 0, 0, 0);
        TH_OK(t, t->ref, gan_dropout_forward(t->ref, 0.3f, rng, &xc.r, &mc.r, &yc.r));
        if (t->dev) {
            TH_OK(t, t->dev, gan_dropout_forward(t->dev, 0.3f, rng, &xc.d, &mc.d, &yc.d));
            float *md = th_read(t, t->dev, &mc.d), *mr = th_read(t, t->ref, &mc.r);
            th_compare_bits(t, q ? "dropout mask, counter 0x1fffffff9" : "dropout mask, counter 0xfffffff3", md, mr,
                            1001);
            free(md);
            free(mr);
        }
        tp_free(t, &xc);
        tp_free(t, &mc);
        tp_free(t, &yc);
    }
    /* Another seed gives another mask. */
    tpair x, m1, m2, y;
    tp_rand(t, &x, 1, 1000, 0, 0, 0, -1, 1);
    tp_alloc(t, &m1, GAN_F32, 1, 1000, 0, 0, 0);
    tp_alloc(t, &m2, GAN_F32, 1, 1000, 0, 0, 0);
    tp_alloc(t, &y, GAN_F32, 1, 1000, 0, 0, 0);
    TH_OK(t, t->ref, gan_dropout_forward(t->ref, 0.5f, (gan_rng){1, 0}, &x.r, &m1.r, &y.r));
    TH_OK(t, t->ref, gan_dropout_forward(t->ref, 0.5f, (gan_rng){2, 0}, &x.r, &m2.r, &y.r));
    if (!memcmp(m1.r.data, m2.r.data, 1000 * sizeof(float))) th_fail(t, "dropout: seeds 1 and 2 gave the same mask");
    tp_free(t, &x);
    tp_free(t, &m1);
    tp_free(t, &m2);
    tp_free(t, &y);
}

typedef struct drop_fd {
    gan_ctx *c;
    float p;
    gan_rng rng;
    gan_tensor *x, *mask, *y, *R;
} drop_fd;

static double drop_loss(void *u)
{
    drop_fd *f = u;
    gan_dropout_forward(f->c, f->p, f->rng, f->x, f->mask, f->y);
    return th_dot(f->y, f->R);
}

/* dx = dy * mask is one float multiply on both sides: compared exactly.
 * FD: the loss is linear in x, step 1e-2, atol 1e-4 rtol 1e-4. */
void test_dropout_backward(th *t)
{
    for (size_t s = 0; s < EW_NSHAPES; s++)
        for (size_t q = 0; q < NDROP; q++) {
            const int *sh = ew_shapes[s];
            float p = drop_ps[q];
            gan_rng rng = {77 + s, q};
            tpair x, mask, y, dy, dx;
            tp_rand(t, &x, sh[0], sh[1], sh[2], sh[3], sh[4], -1, 1);
            tp_alloc(t, &mask, GAN_F32, sh[0], sh[1], sh[2], sh[3], sh[4]);
            tp_alloc(t, &y, GAN_F32, sh[0], sh[1], sh[2], sh[3], sh[4]);
            tp_rand(t, &dy, sh[0], sh[1], sh[2], sh[3], sh[4], -1, 1);
            tp_alloc(t, &dx, GAN_F32, sh[0], sh[1], sh[2], sh[3], sh[4]);
            TH_OK(t, t->ref, gan_dropout_forward(t->ref, p, rng, &x.r, &mask.r, &y.r));
            float *mh = th_read(t, t->ref, &mask.r);
            tp_set(t, &mask, mh);
            TH_OK(t, t->ref, gan_dropout_backward(t->ref, &mask.r, &dy.r, &dx.r));
            if (t->dev) TH_OK(t, t->dev, gan_dropout_backward(t->dev, &mask.d, &dy.d, &dx.d));
            char nm[64], what[128];
            ew_name(nm, sizeof nm, sh);
            snprintf(what, sizeof what, "dropout p%g %s dx", p, nm);
            th_compare(t, what, &dx, 0, 0);
            drop_fd f = {t->ref, p, rng, &x.r, &mask.r, &y.r, &dy.r};
            float *g = th_read(t, t->ref, &dx.r);
            snprintf(what, sizeof what, "dropout p%g %s", p, nm);
            th_fd_check(t, what, drop_loss, &f, &x.r, g, 1e-2, 1e-4, 1e-4, 64);
            free(g);
            free(mh);
            tpair *all[] = {&x, &mask, &y, &dy, &dx};
            for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) tp_free(t, all[i]);
        }
}

/* Tolerance: atol 1e-5, rtol 1e-5: the normal draws go through log, sqrt
 * and cos, which may differ from the host's by an ulp or so (values up to
 * about 6). std = 0 must leave x untouched exactly. */
void test_noise_forward(th *t)
{
    static const float stds[] = {0.f, 0.5f, 1.f};
    for (size_t s = 0; s < EW_NSHAPES; s++)
        for (size_t q = 0; q < sizeof stds / sizeof stds[0]; q++) {
            const int *sh = ew_shapes[s];
            float sd = stds[q];
            gan_rng rng = {99 + s, 3 * q};
            tpair x, y;
            tp_rand(t, &x, sh[0], sh[1], sh[2], sh[3], sh[4], -1, 1);
            tp_alloc(t, &y, GAN_F32, sh[0], sh[1], sh[2], sh[3], sh[4]);
            TH_OK(t, t->ref, gan_noise_forward(t->ref, sd, rng, &x.r, &y.r));
            if (t->dev) TH_OK(t, t->dev, gan_noise_forward(t->dev, sd, rng, &x.d, &y.d));
            char nm[64], what[128];
            ew_name(nm, sizeof nm, sh);
            snprintf(what, sizeof what, "noise std%g %s y", sd, nm);
            th_compare(t, what, &y, 1e-5, 1e-5);
            size_t n = x.r.numel;
            const float *xr = x.r.data, *yr = y.r.data;
            if (sd == 0.f) {
                th_compare_bits(t, "noise std0 (ref) y == x", yr, xr, n);
                if (t->dev) {
                    float *yd = th_read(t, t->dev, &y.d);
                    th_compare_bits(t, "noise std0 (device) y == x", yd, xr, n);
                    free(yd);
                }
            } else if (n >= 10000) {
                /* (y - x)/std is standard normal: mean 0, variance 1 */
                double sum = 0, sq = 0;
                for (size_t i = 0; i < n; i++) {
                    double z = ((double)yr[i] - xr[i]) / sd;
                    sum += z;
                    sq += z * z;
                }
                double mean = sum / (double)n, var = sq / (double)n - mean * mean;
                if (fabs(mean) > 5 / sqrt((double)n) || fabs(var - 1) > 5 * sqrt(2.0 / (double)n))
                    th_fail(t, "noise std%g %s: noise mean %.4f variance %.4f, want 0 and 1", sd, nm, mean, var);
            }
            tp_free(t, &x);
            tp_free(t, &y);
        }
}

/* ndim, N, Ca, Cb, H, W */
static const int cat_shapes[][6] = {{2, 1, 1, 1, 0, 0}, {2, 3, 4, 5, 0, 0}, {2, 64, 100, 10, 0, 0},
                                    {4, 2, 3, 7, 5, 5}, {4, 1, 1, 33, 7, 3}, {4, 64, 1, 10, 7, 7}};
#define NCAT (sizeof cat_shapes / sizeof cat_shapes[0])

static int cat_alloc(th *t, const int *sh, tpair *a, tpair *b, tpair *y, int rand_ab)
{
    int nd = sh[0], N = sh[1], Ca = sh[2], Cb = sh[3], H = sh[4], W = sh[5];
    if (rand_ab) {
        if (tp_rand(t, a, nd, N, Ca, H, W, -1, 1) || tp_rand(t, b, nd, N, Cb, H, W, -1, 1)) return -1;
        return tp_alloc(t, y, GAN_F32, nd, N, Ca + Cb, H, W);
    }
    if (tp_alloc(t, a, GAN_F32, nd, N, Ca, H, W) || tp_alloc(t, b, GAN_F32, nd, N, Cb, H, W)) return -1;
    return tp_rand(t, y, nd, N, Ca + Cb, H, W, -1, 1);
}

/* Pure data movement: compared exactly, and the reference against direct
 * indexing y[n, c, s] = c < Ca ? a[n, c, s] : b[n, c - Ca, s]. */
void test_concat_forward(th *t)
{
    for (size_t s = 0; s < NCAT; s++) {
        const int *sh = cat_shapes[s];
        tpair a, b, y;
        if (cat_alloc(t, sh, &a, &b, &y, 1)) return;
        TH_OK(t, t->ref, gan_concat_forward(t->ref, &a.r, &b.r, &y.r));
        if (t->dev) TH_OK(t, t->dev, gan_concat_forward(t->dev, &a.d, &b.d, &y.d));
        char what[128];
        snprintf(what, sizeof what, "concat %dd N%d Ca%d Cb%d y", sh[0], sh[1], sh[2], sh[3]);
        th_compare(t, what, &y, 0, 0);
        size_t N = (size_t)sh[1], Ca = (size_t)sh[2], Cb = (size_t)sh[3], S = y.r.numel / (N * (Ca + Cb)), bad = 0;
        const float *ar = a.r.data, *br = b.r.data, *yr = y.r.data;
        for (size_t n = 0; n < N; n++)
            for (size_t ch = 0; ch < Ca + Cb; ch++)
                for (size_t j = 0; j < S; j++) {
                    float want = ch < Ca ? ar[(n * Ca + ch) * S + j] : br[(n * Cb + ch - Ca) * S + j];
                    bad += yr[(n * (Ca + Cb) + ch) * S + j] != want;
                }
        if (bad) th_fail(t, "%s: %zu reference elements misplaced", what, bad);
        tp_free(t, &a);
        tp_free(t, &b);
        tp_free(t, &y);
    }
}

typedef struct cat_fd {
    gan_ctx *c;
    gan_tensor *a, *b, *y, *R;
} cat_fd;

static double cat_loss(void *u)
{
    cat_fd *f = u;
    gan_concat_forward(f->c, f->a, f->b, f->y);
    return th_dot(f->y, f->R);
}

/* Exact on the device; FD (linear loss) step 1e-2, atol/rtol 1e-4. */
void test_concat_backward(th *t)
{
    for (size_t s = 0; s < NCAT; s++) {
        const int *sh = cat_shapes[s];
        tpair a, b, y, dy, da, db;
        if (cat_alloc(t, sh, &a, &b, &y, 1) || cat_alloc(t, sh, &da, &db, &dy, 0)) return;
        TH_OK(t, t->ref, gan_concat_backward(t->ref, &dy.r, &da.r, &db.r));
        if (t->dev) TH_OK(t, t->dev, gan_concat_backward(t->dev, &dy.d, &da.d, &db.d));
        char what[128];
        snprintf(what, sizeof what, "concat %dd N%d Ca%d Cb%d da", sh[0], sh[1], sh[2], sh[3]);
        th_compare(t, what, &da, 0, 0);
        cat_fd f = {t->ref, &a.r, &b.r, &y.r, &dy.r};
        float *g = th_read(t, t->ref, &da.r);
        th_fd_check(t, what, cat_loss, &f, &a.r, g, 1e-2, 1e-4, 1e-4, 64);
        free(g);
        snprintf(what, sizeof what, "concat %dd N%d Ca%d Cb%d db", sh[0], sh[1], sh[2], sh[3]);
        th_compare(t, what, &db, 0, 0);
        g = th_read(t, t->ref, &db.r);
        th_fd_check(t, what, cat_loss, &f, &b.r, g, 1e-2, 1e-4, 1e-4, 64);
        free(g);
        tpair *all[] = {&a, &b, &y, &dy, &da, &db};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) tp_free(t, all[i]);
    }
}

/* Exact, including non-finite values. */
void test_fill(th *t)
{
    static const float values[] = {0.f, -1.5f, 3.25e7f, INFINITY, NAN};
    for (size_t s = 0; s < EW_NSHAPES; s++)
        for (size_t v = 0; v < sizeof values / sizeof values[0]; v++) {
            const int *sh = ew_shapes[s];
            tpair x;
            tp_rand(t, &x, sh[0], sh[1], sh[2], sh[3], sh[4], -1, 1);
            TH_OK(t, t->ref, gan_fill(t->ref, &x.r, values[v]));
            if (t->dev) TH_OK(t, t->dev, gan_fill(t->dev, &x.d, values[v]));
            char nm[64], what[128];
            ew_name(nm, sizeof nm, sh);
            size_t n = x.r.numel;
            float *want = malloc(n * sizeof *want);
            for (size_t i = 0; i < n; i++) want[i] = values[v];
            snprintf(what, sizeof what, "fill %g %s (ref)", values[v], nm);
            th_compare_bits(t, what, x.r.data, want, n);
            if (t->dev) {
                float *got = th_read(t, t->dev, &x.d);
                snprintf(what, sizeof what, "fill %g %s (device)", values[v], nm);
                th_compare_bits(t, what, got, want, n);
                free(got);
            }
            free(want);
            tp_free(t, &x);
        }
}

/* Bit-exact for F32 (NaN payloads included) and I32, between shapes of the
 * same numel; copying a tensor onto itself leaves it unchanged. */
void test_copy(th *t)
{
    static const int shapes[][2][5] = {
        {{1, 1, 0, 0, 0}, {1, 1, 0, 0, 0}},
        {{2, 6, 4, 0, 0}, {1, 24, 0, 0, 0}},
        {{4, 3, 33, 5, 5}, {2, 99, 25, 0, 0}},
        {{4, 64, 1, 28, 28}, {2, 64, 784, 0, 0}},
    };
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int dt = 0; dt < 2; dt++) {
            const int *a = shapes[s][0], *b = shapes[s][1];
            tpair src, dst;
            tp_alloc(t, &src, (gan_dtype)dt, a[0], a[1], a[2], a[3], a[4]);
            tp_alloc(t, &dst, (gan_dtype)dt, b[0], b[1], b[2], b[3], b[4]);
            size_t n = src.r.numel;
            uint32_t *h = malloc(n * sizeof *h);
            /* any bit pattern: no float arithmetic may touch the data */
            for (size_t i = 0; i < n; i++) h[i] = (uint32_t)(th_uniform(t, 0, 4294967296.0));
            tp_set(t, &src, h);
            TH_OK(t, t->ref, gan_copy(t->ref, &src.r, &dst.r));
            if (t->dev) TH_OK(t, t->dev, gan_copy(t->dev, &src.d, &dst.d));
            char what[128];
            snprintf(what, sizeof what, "copy %zu %s (ref)", n, dt ? "i32" : "f32");
            th_compare_bits(t, what, dst.r.data, h, n);
            TH_OK(t, t->ref, gan_copy(t->ref, &dst.r, &dst.r));
            snprintf(what, sizeof what, "copy %zu %s onto itself (ref)", n, dt ? "i32" : "f32");
            th_compare_bits(t, what, dst.r.data, h, n);
            if (t->dev) {
                float *got = th_read(t, t->dev, &dst.d);
                snprintf(what, sizeof what, "copy %zu %s (device)", n, dt ? "i32" : "f32");
                th_compare_bits(t, what, got, h, n);
                free(got);
                TH_OK(t, t->dev, gan_copy(t->dev, &dst.d, &dst.d));
                got = th_read(t, t->dev, &dst.d);
                snprintf(what, sizeof what, "copy %zu %s onto itself (device)", n, dt ? "i32" : "f32");
                th_compare_bits(t, what, got, h, n);
                free(got);
            }
            free(h);
            tp_free(t, &src);
            tp_free(t, &dst);
        }
}

/* y + alpha*x: one multiply-add, fused or not: atol 1e-6 rtol 1e-6. The
 * reference is also checked against the host formula in double. */
void test_axpy(th *t)
{
    static const float alphas[] = {0.f, 0.5f, -2.f, 1e-3f};
    for (size_t s = 0; s < EW_NSHAPES; s++)
        for (size_t q = 0; q < sizeof alphas / sizeof alphas[0]; q++) {
            const int *sh = ew_shapes[s];
            tpair x, y;
            tp_rand(t, &x, sh[0], sh[1], sh[2], sh[3], sh[4], -1, 1);
            tp_rand(t, &y, sh[0], sh[1], sh[2], sh[3], sh[4], -1, 1);
            float *x0 = th_read(t, t->ref, &x.r), *y0 = th_read(t, t->ref, &y.r);
            TH_OK(t, t->ref, gan_axpy(t->ref, alphas[q], &x.r, &y.r));
            if (t->dev) TH_OK(t, t->dev, gan_axpy(t->dev, alphas[q], &x.d, &y.d));
            char nm[64], what[128];
            ew_name(nm, sizeof nm, sh);
            snprintf(what, sizeof what, "axpy alpha%g %s y", alphas[q], nm);
            th_compare(t, what, &y, 1e-6, 1e-6);
            size_t n = x.r.numel;
            for (size_t i = 0; i < n; i++) y0[i] = (float)((double)y0[i] + (double)alphas[q] * x0[i]);
            snprintf(what, sizeof what, "axpy alpha%g %s (ref)", alphas[q], nm);
            th_compare_host(t, what, y.r.data, y0, n, 0, 0);
            free(x0);
            free(y0);
            tp_free(t, &x);
            tp_free(t, &y);
        }
}

/* Row ops move bits: any pattern, NaN payloads included, must come out as
 * it went in. */
static uint32_t *random_bits(th *t, size_t n)
{
    uint32_t *h = malloc((n ? n : 1) * sizeof *h);
    for (size_t i = 0; i < n; i++) h[i] = (uint32_t)th_uniform(t, 0, 4294967296.0);
    return h;
}

/* The device result of a pair against host words. */
static void compare_dev_bits(th *t, const char *what, const gan_tensor *d, const uint32_t *want)
{
    if (!t->dev) return;
    float *got = th_read(t, t->dev, d);
    th_compare_bits(t, what, got, want, d->numel);
    free(got);
}

/* Rows of src by index, bit-exact on both backends against the host:
 * n = 1, M prime, rows of 1 word (1-D and [M, 1]), 33 words, 3-D rows,
 * repeated indices and an idx longer than n. */
void test_gather_rows(th *t)
{
    /* M, n, extra idx entries, ndim, dims after dim 0 */
    static const int cases[][6] = {{1, 1, 0, 1, 0, 0},  {7, 1, 2, 2, 33, 0}, {13, 5, 0, 1, 0, 0},
                                   {31, 40, 3, 2, 1, 0}, {17, 9, 0, 2, 33, 0}, {5, 12, 1, 3, 3, 11}};
    for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++)
        for (int dt = 0; dt < 2; dt++) {
            const int *k = cases[s];
            int M = k[0], n = k[1], nidx = n + k[2], nd = k[3];
            tpair src, dst, idx;
            tp_alloc(t, &src, (gan_dtype)dt, nd, M, k[4], k[5], 0);
            tp_alloc(t, &dst, (gan_dtype)dt, nd, n, k[4], k[5], 0);
            tp_alloc(t, &idx, GAN_I32, 1, nidx, 0, 0, 0);
            size_t w = src.r.numel / (size_t)M;
            uint32_t *hs = random_bits(t, src.r.numel), *want = malloc(dst.r.numel * 4);
            int32_t *hi = malloc((size_t)nidx * sizeof *hi);
            for (int i = 0; i < nidx; i++) hi[i] = (int32_t)th_uniform(t, 0, M);
            if (M > 1) hi[0] = M - 1; /* the last row, and the first, always */
            if (n > 1) hi[1] = 0;
            for (int r = 0; r < n; r++) memcpy(want + (size_t)r * w, hs + (size_t)hi[r] * w, w * 4);
            tp_set(t, &src, hs);
            tp_set(t, &idx, hi);
            TH_OK(t, t->ref, gan_gather_rows(t->ref, &src.r, &idx.r, &dst.r));
            if (t->dev) TH_OK(t, t->dev, gan_gather_rows(t->dev, &src.d, &idx.d, &dst.d));
            char what[128];
            snprintf(what, sizeof what, "gather %d of %d rows of %zu %s (ref)", n, M, w, dt ? "i32" : "f32");
            th_compare_bits(t, what, dst.r.data, want, dst.r.numel);
            snprintf(what, sizeof what, "gather %d of %d rows of %zu %s (device)", n, M, w, dt ? "i32" : "f32");
            compare_dev_bits(t, what, &dst.d, want);
            free(hs);
            free(want);
            free(hi);
            tp_free(t, &src);
            tp_free(t, &dst);
            tp_free(t, &idx);
        }

    /* An index outside src: the reference names it; the device (which
     * cannot see it) zeroes that row and leaves the others right. */
    tpair src, dst, idx, fidx, bad;
    tp_alloc(t, &src, GAN_F32, 2, 7, 3, 0, 0);
    tp_alloc(t, &dst, GAN_F32, 2, 3, 3, 0, 0);
    tp_alloc(t, &idx, GAN_I32, 1, 3, 0, 0, 0);
    uint32_t *hs = random_bits(t, 21);
    int32_t hi[3] = {6, 7, -1};
    tp_set(t, &src, hs);
    tp_set(t, &idx, hi);
    gan_status st = gan_gather_rows(t->ref, &src.r, &idx.r, &dst.r);
    if (st != GAN_OK && !strstr(gan_ctx_error(t->ref), "idx[1]"))
        th_fail(t, "gather with a bad index: \"%s\" does not name idx[1]", gan_ctx_error(t->ref));
    th_expect_error(t, t->ref, st, GAN_ERR_ARG, "gather with idx[1] = 7 of 7 rows");
    if (t->dev) {
        TH_OK(t, t->dev, gan_gather_rows(t->dev, &src.d, &idx.d, &dst.d));
        uint32_t want[9] = {hs[18], hs[19], hs[20], 0, 0, 0, 0, 0, 0};
        compare_dev_bits(t, "gather with indices 7 and -1 of 7 rows (device)", &dst.d, want);
    }
    /* what ops.c checks for both backends */
    gan_ctx *c = t->ref;
    tp_alloc(t, &fidx, GAN_F32, 1, 3, 0, 0, 0);
    th_expect_error(t, c, gan_gather_rows(c, &src.r, &fidx.r, &dst.r), GAN_ERR_ARG, "f32 idx");
    tp_alloc(t, &bad, GAN_I32, 2, 3, 3, 0, 0);
    th_expect_error(t, c, gan_gather_rows(c, &src.r, &idx.r, &bad.r), GAN_ERR_ARG, "i32 dst of f32 src");
    tp_free(t, &bad);
    tp_alloc(t, &bad, GAN_F32, 2, 3, 4, 0, 0);
    th_expect_error(t, c, gan_gather_rows(c, &src.r, &idx.r, &bad.r), GAN_ERR_SHAPE, "dst rows of 4, src of 3");
    tp_free(t, &bad);
    tp_alloc(t, &bad, GAN_F32, 2, 4, 3, 0, 0);
    th_expect_error(t, c, gan_gather_rows(c, &src.r, &idx.r, &bad.r), GAN_ERR_SHAPE, "4 rows from 3 indices");
    tp_free(t, &bad);
    tp_alloc(t, &bad, GAN_F32, 3, 3, 3, 1, 0);
    th_expect_error(t, c, gan_gather_rows(c, &src.r, &idx.r, &bad.r), GAN_ERR_SHAPE, "3-D dst of a 2-D src");
    tp_free(t, &bad);
    gan_tensor head;
    if (!TH_OK(t, c, gan_tensor_narrow(c, &src.r, 3, &head)))
        th_expect_error(t, c, gan_gather_rows(c, &src.r, &idx.r, &head), GAN_ERR_ARG, "dst a view of src");
    th_expect_error(t, c, gan_gather_rows(c, &src.r, &idx.r, NULL), GAN_ERR_ARG, "missing dst");
    free(hs);
    tp_free(t, &fidx);
    tp_free(t, &src);
    tp_free(t, &dst);
    tp_free(t, &idx);
}

/* Row ranges at offsets, bit-exact against the host: between two tensors
 * (n = 0, 1, all rows, rows of 1 and 33 words, 3-D rows) and within one
 * (disjoint ranges, and a range onto itself). */
void test_copy_rows(th *t)
{
    /* src rows, dst rows, src_row, dst_row, n, ndim, dims after dim 0 */
    static const int cases[][8] = {{1, 1, 0, 0, 1, 1, 0, 0},   {7, 13, 3, 9, 4, 2, 33, 0}, {13, 5, 12, 4, 1, 1, 0, 0},
                                   {31, 31, 0, 0, 31, 2, 1, 0}, {5, 3, 2, 1, 0, 2, 33, 0}, {6, 11, 1, 5, 5, 3, 3, 11}};
    for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++)
        for (int dt = 0; dt < 2; dt++) {
            const int *k = cases[s];
            tpair src, dst;
            tp_alloc(t, &src, (gan_dtype)dt, k[5], k[0], k[6], k[7], 0);
            tp_alloc(t, &dst, (gan_dtype)dt, k[5], k[1], k[6], k[7], 0);
            size_t w = src.r.numel / (size_t)k[0];
            uint32_t *hs = random_bits(t, src.r.numel), *want = random_bits(t, dst.r.numel);
            tp_set(t, &src, hs);
            tp_set(t, &dst, want);
            memcpy(want + (size_t)k[3] * w, hs + (size_t)k[2] * w, (size_t)k[4] * w * 4);
            TH_OK(t, t->ref, gan_copy_rows(t->ref, &src.r, k[2], &dst.r, k[3], k[4]));
            if (t->dev) TH_OK(t, t->dev, gan_copy_rows(t->dev, &src.d, k[2], &dst.d, k[3], k[4]));
            char what[128];
            snprintf(what, sizeof what, "copy %d rows of %zu %s from row %d to row %d (ref)", k[4], w,
                     dt ? "i32" : "f32", k[2], k[3]);
            th_compare_bits(t, what, dst.r.data, want, dst.r.numel);
            snprintf(what, sizeof what, "copy %d rows of %zu %s from row %d to row %d (device)", k[4], w,
                     dt ? "i32" : "f32", k[2], k[3]);
            compare_dev_bits(t, what, &dst.d, want);
            free(hs);
            free(want);
            tp_free(t, &src);
            tp_free(t, &dst);
        }

    tpair x;
    tp_alloc(t, &x, GAN_F32, 2, 10, 7, 0, 0);
    uint32_t *h = random_bits(t, 70), *want = malloc(70 * 4);
    tp_set(t, &x, h);
    memcpy(want, h, 70 * 4);
    memcpy(want + 6 * 7, want + 1 * 7, 4 * 7 * 4);
    gan_ctx *cs[2] = {t->ref, t->dev};
    gan_tensor *xs[2] = {&x.r, &x.d};
    for (int b = 0; b < 2; b++) {
        if (!cs[b]) continue;
        TH_OK(t, cs[b], gan_copy_rows(cs[b], xs[b], 1, xs[b], 6, 4));
        TH_OK(t, cs[b], gan_copy_rows(cs[b], xs[b], 2, xs[b], 2, 8));
    }
    th_compare_bits(t, "copy rows 1..4 to 6..9 of one tensor, then 2..9 onto themselves (ref)", x.r.data, want, 70);
    compare_dev_bits(t, "copy rows 1..4 to 6..9 of one tensor, then 2..9 onto themselves (device)", &x.d, want);

    gan_ctx *c = t->ref;
    tpair other;
    th_expect_error(t, c, gan_copy_rows(c, &x.r, 1, &x.r, 4, 4), GAN_ERR_ARG, "overlapping ranges");
    th_expect_error(t, c, gan_copy_rows(c, &x.r, 7, &x.r, 0, 4), GAN_ERR_ARG, "src rows past the end");
    th_expect_error(t, c, gan_copy_rows(c, &x.r, 0, &x.r, 7, 4), GAN_ERR_ARG, "dst rows past the end");
    th_expect_error(t, c, gan_copy_rows(c, &x.r, -1, &x.r, 5, 1), GAN_ERR_ARG, "negative src row");
    th_expect_error(t, c, gan_copy_rows(c, &x.r, 0, &x.r, 5, -1), GAN_ERR_ARG, "negative n");
    tp_alloc(t, &other, GAN_I32, 2, 10, 7, 0, 0);
    th_expect_error(t, c, gan_copy_rows(c, &x.r, 0, &other.r, 0, 1), GAN_ERR_ARG, "f32 rows into i32");
    tp_free(t, &other);
    tp_alloc(t, &other, GAN_F32, 2, 10, 8, 0, 0);
    th_expect_error(t, c, gan_copy_rows(c, &x.r, 0, &other.r, 0, 1), GAN_ERR_SHAPE, "rows of 7 into rows of 8");
    tp_free(t, &other);
    free(h);
    free(want);
    tp_free(t, &x);
}

/* (x - mean) * invstd: the reference rounds the double result once, the
 * device rounds the difference and the product: atol 1e-6 rtol 1e-6
 * (|y| < 60 here, two float roundings are ~1e-7 relative). The reference
 * is also checked against the host formula, in place and not. */
void test_standardize(th *t)
{
    static const int shapes[][2] = {{1, 1}, {3, 7}, {33, 13}, {1, 33}, {5, 1000}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int inplace = 0; inplace < 2; inplace++) {
            int N = shapes[s][0], C = shapes[s][1];
            tpair x, mean, invstd, y;
            tp_rand(t, &x, 2, N, C, 0, 0, -3, 3);
            tp_rand(t, &mean, 1, C, 0, 0, 0, -1, 1);
            tp_rand(t, &invstd, 1, C, 0, 0, 0, 0.1, 10);
            tp_alloc(t, &y, GAN_F32, 2, N, C, 0, 0);
            float *hx = th_read(t, t->ref, &x.r), *hm = th_read(t, t->ref, &mean.r),
                  *hs = th_read(t, t->ref, &invstd.r), *want = malloc((size_t)N * C * sizeof *want);
            for (size_t i = 0; i < (size_t)N * C; i++)
                want[i] = (float)(((double)hx[i] - hm[i % (size_t)C]) * hs[i % (size_t)C]);
            tpair *out = inplace ? &x : &y;
            TH_OK(t, t->ref, gan_standardize(t->ref, &x.r, &mean.r, &invstd.r, &out->r));
            if (t->dev) TH_OK(t, t->dev, gan_standardize(t->dev, &x.d, &mean.d, &invstd.d, &out->d));
            char what[128];
            snprintf(what, sizeof what, "standardize [%d,%d]%s (ref vs host)", N, C, inplace ? " in place" : "");
            th_compare_host(t, what, out->r.data, want, (size_t)N * C, 0, 0);
            snprintf(what, sizeof what, "standardize [%d,%d]%s", N, C, inplace ? " in place" : "");
            th_compare(t, what, out, 1e-6, 1e-6);
            free(hx);
            free(hm);
            free(hs);
            free(want);
            tp_free(t, &x);
            tp_free(t, &mean);
            tp_free(t, &invstd);
            tp_free(t, &y);
        }

    gan_ctx *c = t->ref;
    tpair x, v, w;
    tp_alloc(t, &x, GAN_F32, 2, 4, 5, 0, 0);
    tp_alloc(t, &v, GAN_F32, 1, 5, 0, 0, 0);
    tp_alloc(t, &w, GAN_F32, 1, 4, 0, 0, 0);
    th_expect_error(t, c, gan_standardize(c, &x.r, &w.r, &v.r, &x.r), GAN_ERR_SHAPE, "mean of 4 for 5 columns");
    th_expect_error(t, c, gan_standardize(c, &x.r, &v.r, &w.r, &x.r), GAN_ERR_SHAPE, "invstd of 4 for 5 columns");
    th_expect_error(t, c, gan_standardize(c, &x.r, &v.r, &v.r, &w.r), GAN_ERR_SHAPE, "y of another shape");
    th_expect_error(t, c, gan_standardize(c, &v.r, &v.r, &v.r, &v.r), GAN_ERR_SHAPE, "1-D x");
    tp_free(t, &x);
    tp_free(t, &v);
    tp_free(t, &w);
}
