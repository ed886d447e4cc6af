/* Reference element-wise ops: activations, dropout, Gaussian noise, 2x2 max
 * pooling, concatenation along dim 1, fill, copy, axpy, the row ops (gather,
 * copy at an offset) and per-column standardisation. Transcendentals
 * are evaluated in double and rounded once, so the device is compared
 * against values within half an ulp of exact. Dropout and noise draw
 * element i of the Philox stream exactly as cl/philox.cl does. */
#include "../internal.h"
#include "rng.h"

#include <math.h>
#include <string.h>

/* Stable for large |x|: exp of a non-positive argument only. */
static double sigmoid(double x)
{
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

static double softplus(double x) { return (x > 0 ? x : 0) + log1p(exp(-fabs(x))); }

gan_status ref_act_forward(gan_ctx *c, gan_act kind, float slope, const gan_tensor *x, gan_tensor *y)
{
    (void)c;
    const float *xp = ref_f(x);
    float *yp = ref_f(y);
    for (size_t i = 0; i < x->numel; i++) {
        double v = xp[i], r = 0;
        switch (kind) {
        case GAN_ACT_RELU: r = v > 0 ? v : 0; break;
        case GAN_ACT_LEAKY_RELU: r = v > 0 ? v : (double)slope * v; break;
        case GAN_ACT_TANH: r = tanh(v); break;
        case GAN_ACT_SIGMOID: r = sigmoid(v); break;
        case GAN_ACT_SOFTPLUS: r = softplus(v); break;
        case GAN_ACT_COUNT: break;
        }
        yp[i] = (float)r;
    }
    return GAN_OK;
}

/* At x == 0, relu's derivative is taken as 0 and leaky relu's as slope
 * (the x > 0 test decides), the same on the device. */
gan_status ref_act_backward(gan_ctx *c, gan_act kind, float slope, const gan_tensor *x, const gan_tensor *y,
                            const gan_tensor *dy, gan_tensor *dx)
{
    (void)c;
    const float *dyp = ref_f(dy);
    float *dxp = ref_f(dx);
    for (size_t i = 0; i < dy->numel; i++) {
        double g = dyp[i], r = 0;
        switch (kind) {
        case GAN_ACT_RELU: r = ref_f(x)[i] > 0 ? g : 0; break;
        case GAN_ACT_LEAKY_RELU: r = ref_f(x)[i] > 0 ? g : (double)slope * g; break;
        case GAN_ACT_TANH: {
            double t = ref_f(y)[i];
            r = g * (1 - t * t);
            break;
        }
        case GAN_ACT_SIGMOID: {
            double s = ref_f(y)[i];
            r = g * s * (1 - s);
            break;
        }
        case GAN_ACT_SOFTPLUS: r = g * sigmoid(ref_f(x)[i]); break;
        case GAN_ACT_COUNT: break;
        }
        dxp[i] = (float)r;
    }
    return GAN_OK;
}

/* Keep element i when its uniform u >= p, so both backends make the same
 * decision; the float scale 1/(1-p) is computed once, here and on the host
 * side of the device op, so masks agree bit for bit. */
gan_status ref_dropout_forward(gan_ctx *c, float p, gan_rng rng, const gan_tensor *x, gan_tensor *mask,
                               gan_tensor *y)
{
    (void)c;
    float scale = 1.0f / (1.0f - p);
    for (size_t i = 0; i < x->numel; i++) {
        float m = ref_uniform_at(rng, i) >= p ? scale : 0.0f;
        ref_f(mask)[i] = m;
        ref_f(y)[i] = ref_f(x)[i] * m;
    }
    return GAN_OK;
}

gan_status ref_dropout_backward(gan_ctx *c, const gan_tensor *mask, const gan_tensor *dy, gan_tensor *dx)
{
    (void)c;
    for (size_t i = 0; i < dy->numel; i++) ref_f(dx)[i] = ref_f(dy)[i] * ref_f(mask)[i];
    return GAN_OK;
}

gan_status ref_noise_forward(gan_ctx *c, float std, gan_rng rng, const gan_tensor *x, gan_tensor *y)
{
    (void)c;
    for (size_t i = 0; i < x->numel; i++)
        ref_f(y)[i] = (float)((double)ref_f(x)[i] + (double)std * ref_normal_at(rng, i));
    return GAN_OK;
}

/* The window is scanned row by row; a strictly larger value replaces the
 * current one, so the first maximum wins ties, and the first NaN wins over
 * numbers (a NaN input stays visible in the output). */
gan_status ref_maxpool2_forward(gan_ctx *c, const gan_tensor *x, gan_tensor *y, gan_tensor *idx)
{
    (void)c;
    size_t NC = (size_t)x->dim[0] * x->dim[1], H = (size_t)x->dim[2], W = (size_t)x->dim[3];
    size_t OH = H / 2, OW = W / 2;
    const float *xp = ref_f(x);
    for (size_t nc = 0; nc < NC; nc++)
        for (size_t oh = 0; oh < OH; oh++)
            for (size_t ow = 0; ow < OW; ow++) {
                size_t best = (nc * H + 2 * oh) * W + 2 * ow;
                for (size_t k = 1; k < 4; k++) {
                    size_t i = (nc * H + 2 * oh + k / 2) * W + 2 * ow + k % 2;
                    if (xp[i] > xp[best] || (isnan(xp[i]) && !isnan(xp[best]))) best = i;
                }
                size_t o = (nc * OH + oh) * OW + ow;
                ref_f(y)[o] = xp[best];
                ref_i(idx)[o] = (int32_t)best;
            }
    return GAN_OK;
}

/* dx = 0, then each dy goes to its window's argmax (with y: relu's
 * backward first, dy where y > 0, as ref_act_backward computes it). An idx
 * outside its own window (not from maxpool2_forward) is an error, not a
 * stray write. */
static gan_status maxpool2_backward(gan_ctx *c, const gan_tensor *idx, const gan_tensor *y, const gan_tensor *dy,
                                    gan_tensor *dx)
{
    size_t NC = (size_t)dx->dim[0] * dx->dim[1], H = (size_t)dx->dim[2], W = (size_t)dx->dim[3];
    size_t OH = (size_t)dy->dim[2], OW = (size_t)dy->dim[3];
    memset(dx->data, 0, dx->numel * sizeof(float));
    for (size_t nc = 0; nc < NC; nc++)
        for (size_t oh = 0; oh < OH; oh++)
            for (size_t ow = 0; ow < OW; ow++) {
                size_t o = (nc * OH + oh) * OW + ow;
                int32_t i = ref_i(idx)[o];
                size_t h0 = nc * H + 2 * oh, w0 = 2 * ow;
                int in_window = i >= 0 && ((size_t)i / W == h0 || (size_t)i / W == h0 + 1) &&
                                ((size_t)i % W == w0 || (size_t)i % W == w0 + 1);
                if (!in_window)
                    return GAN_FAIL(c, GAN_ERR_ARG, "idx[%zu] is %d: not in the 2x2 window of that output", o,
                                    (int)i);
                double g = ref_f(dy)[o];
                ref_f(dx)[i] += y ? (float)(ref_f(y)[o] > 0 ? g : 0) : ref_f(dy)[o];
            }
    return GAN_OK;
}

gan_status ref_maxpool2_backward(gan_ctx *c, const gan_tensor *idx, const gan_tensor *dy, gan_tensor *dx)
{
    return maxpool2_backward(c, idx, NULL, dy, dx);
}

gan_status ref_maxpool2_relu_forward(gan_ctx *c, const gan_tensor *x, gan_tensor *y, gan_tensor *idx)
{
    gan_status st = ref_maxpool2_forward(c, x, y, idx);
    return st ? st : ref_act_forward(c, GAN_ACT_RELU, 0.f, y, y);
}

gan_status ref_maxpool2_relu_backward(gan_ctx *c, const gan_tensor *idx, const gan_tensor *y, const gan_tensor *dy,
                                      gan_tensor *dx)
{
    return maxpool2_backward(c, idx, y, dy, dx);
}

/* Both tensors are [N, C, S] blocks: per batch entry, a's Ca*S values then
 * b's Cb*S values. */
gan_status ref_concat_forward(gan_ctx *c, const gan_tensor *a, const gan_tensor *b, gan_tensor *y)
{
    (void)c;
    size_t N = (size_t)a->dim[0], as = a->numel / N, bs = b->numel / N;
    for (size_t n = 0; n < N; n++) {
        memcpy(ref_f(y) + n * (as + bs), ref_f(a) + n * as, as * sizeof(float));
        memcpy(ref_f(y) + n * (as + bs) + as, ref_f(b) + n * bs, bs * sizeof(float));
    }
    return GAN_OK;
}

gan_status ref_concat_backward(gan_ctx *c, const gan_tensor *dy, gan_tensor *da, gan_tensor *db)
{
    (void)c;
    size_t N = (size_t)da->dim[0], as = da->numel / N, bs = db->numel / N;
    for (size_t n = 0; n < N; n++) {
        memcpy(ref_f(da) + n * as, ref_f(dy) + n * (as + bs), as * sizeof(float));
        memcpy(ref_f(db) + n * bs, ref_f(dy) + n * (as + bs) + as, bs * sizeof(float));
    }
    return GAN_OK;
}

gan_status ref_fill(gan_ctx *c, gan_tensor *t, float value)
{
    (void)c;
    for (size_t i = 0; i < t->numel; i++) ref_f(t)[i] = value;
    return GAN_OK;
}

/* Any dtype: elements are 4 bytes on every tensor. */
gan_status ref_copy(gan_ctx *c, const gan_tensor *src, gan_tensor *dst)
{
    (void)c;
    memmove(dst->data, src->data, src->numel * 4);
    return GAN_OK;
}

gan_status ref_axpy(gan_ctx *c, float alpha, const gan_tensor *x, gan_tensor *y)
{
    (void)c;
    for (size_t i = 0; i < x->numel; i++) ref_f(y)[i] = (float)((double)ref_f(y)[i] + (double)alpha * ref_f(x)[i]);
    return GAN_OK;
}

/* Rows of dims 1.. as 32-bit words, whatever the dtype. */
static size_t row_words(const gan_tensor *t)
{
    size_t w = 1;
    for (int d = 1; d < t->ndim; d++) w *= (size_t)t->dim[d];
    return w;
}

/* Indices are checked here, not in ops.c: the reference holds them on the
 * host, the device would need a round trip to read them. */
gan_status ref_gather_rows(gan_ctx *c, const gan_tensor *src, const gan_tensor *idx, gan_tensor *dst)
{
    size_t n = (size_t)dst->dim[0], w = row_words(src);
    const int32_t *ix = ref_i(idx);
    for (size_t r = 0; r < n; r++)
        if (ix[r] < 0 || ix[r] >= src->dim[0])
            return GAN_FAIL(c, GAN_ERR_ARG, "idx[%zu] is %d: expected a row of src, 0..%d", r, (int)ix[r],
                            src->dim[0] - 1);
    for (size_t r = 0; r < n; r++)
        memcpy((uint32_t *)dst->data + r * w, (const uint32_t *)src->data + (size_t)ix[r] * w, w * 4);
    return GAN_OK;
}

gan_status ref_copy_rows(gan_ctx *c, const gan_tensor *src, int src_row, gan_tensor *dst, int dst_row, int n)
{
    (void)c;
    size_t w = row_words(src);
    memmove((uint32_t *)dst->data + (size_t)dst_row * w, (const uint32_t *)src->data + (size_t)src_row * w,
            (size_t)n * w * 4);
    return GAN_OK;
}

gan_status ref_standardize(gan_ctx *c, const gan_tensor *x, const gan_tensor *mean, const gan_tensor *invstd,
                           gan_tensor *y)
{
    (void)c;
    size_t C = (size_t)x->dim[1];
    const float *mu = ref_f(mean), *is = ref_f(invstd);
    for (size_t i = 0; i < x->numel; i++)
        ref_f(y)[i] = (float)(((double)ref_f(x)[i] - mu[i % C]) * is[i % C]);
    return GAN_OK;
}
