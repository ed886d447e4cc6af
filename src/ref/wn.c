/* Reference weight normalization, the fused weight-normalized dense layer
 * and batch mean, the ops the semi-supervised GAN (Salimans et al. 2016)
 * adds: weight-normalized dense layers and the batch-mean features of
 * feature matching. Row norms and dot products accumulate in double. */
#include "../internal.h"
#include "rng.h"

#include <math.h>

/* w[o,:] = g[o] * v[o,:] / ||v[o,:]|| */
gan_status ref_weightnorm_forward(gan_ctx *c, const gan_tensor *v, const gan_tensor *g, gan_tensor *w)
{
    (void)c;
    size_t O = (size_t)v->dim[0], C = (size_t)v->dim[1];
    const float *vp = ref_f(v), *gp = ref_f(g);
    float *wp = ref_f(w);
    for (size_t o = 0; o < O; o++) {
        const float *row = vp + o * C;
        double ss = 0;
        for (size_t k = 0; k < C; k++) ss += (double)row[k] * row[k];
        double scale = (double)gp[o] / sqrt(ss);
        for (size_t k = 0; k < C; k++) wp[o * C + k] = (float)(scale * row[k]);
    }
    return GAN_OK;
}

/* With n = ||v_row|| and s = sum(dw_row * v_row):
 *   dg = s / n,   dv = (g / n) dw - (g s / n^3) v. */
gan_status ref_weightnorm_backward(gan_ctx *c, const gan_tensor *v, const gan_tensor *g, const gan_tensor *dw,
                                   gan_tensor *dv, gan_tensor *dg)
{
    (void)c;
    size_t O = (size_t)v->dim[0], C = (size_t)v->dim[1];
    const float *vp = ref_f(v), *gp = ref_f(g), *dwp = ref_f(dw);
    for (size_t o = 0; o < O; o++) {
        const float *row = vp + o * C, *drow = dwp + o * C;
        double ss = 0, s = 0;
        for (size_t k = 0; k < C; k++) {
            ss += (double)row[k] * row[k];
            s += (double)drow[k] * row[k];
        }
        double n = sqrt(ss);
        if (dg) ref_f(dg)[o] = (float)(s / n);
        if (dv) {
            double a = (double)gp[o] / n, b = (double)gp[o] * s / (n * ss);
            for (size_t k = 0; k < C; k++) ref_f(dv)[o * C + k] = (float)(a * drow[k] - b * row[k]);
        }
    }
    return GAN_OK;
}

gan_status ref_batch_mean_forward(gan_ctx *c, const gan_tensor *x, gan_tensor *y)
{
    (void)c;
    size_t N = (size_t)x->dim[0], C = (size_t)x->dim[1];
    const float *xp = ref_f(x);
    for (size_t k = 0; k < C; k++) {
        double acc = 0;
        for (size_t n = 0; n < N; n++) acc += xp[n * C + k];
        ref_f(y)[k] = (float)(acc / (double)N);
    }
    return GAN_OK;
}

gan_status ref_batch_mean_backward(gan_ctx *c, const gan_tensor *dy, gan_tensor *dx)
{
    (void)c;
    size_t N = (size_t)dx->dim[0], C = (size_t)dx->dim[1];
    for (size_t n = 0; n < N; n++)
        for (size_t k = 0; k < C; k++) ref_f(dx)[n * C + k] = (float)((double)ref_f(dy)[k] / (double)N);
    return GAN_OK;
}

/* ---- wn_dense ---- */

static double wn_act(int act, float slope, double z)
{
    switch (act) {
    case GAN_ACT_RELU: return z > 0 ? z : 0;
    case GAN_ACT_LEAKY_RELU: return z > 0 ? z : (double)slope * z;
    case GAN_ACT_TANH: return tanh(z);
    case GAN_ACT_SIGMOID: {
        if (z >= 0) return 1.0 / (1.0 + exp(-z));
        double e = exp(z);
        return e / (1.0 + e);
    }
    default: return z;
    }
}

/* d act / dz from the output y */
static double wn_dact(int act, float slope, double y)
{
    switch (act) {
    case GAN_ACT_RELU: return y > 0 ? 1 : 0;
    case GAN_ACT_LEAKY_RELU: return y > 0 ? 1 : slope;
    case GAN_ACT_TANH: return 1 - y * y;
    case GAN_ACT_SIGMOID: return y * (1 - y);
    default: return 1;
    }
}

gan_status ref_wn_dense_forward(gan_ctx *c, const gan_tensor *x, const gan_tensor *v, const gan_tensor *g,
                                const gan_tensor *b, int act, float slope, float std, gan_rng rng, gan_tensor *norm,
                                gan_tensor *t, gan_tensor *y, gan_tensor *h)
{
    size_t N = (size_t)x->dim[0], O = (size_t)v->dim[0], C = (size_t)v->dim[1];
    const float *vp = ref_f(v);
    for (size_t o = 0; o < O; o++) {
        double ss = 0;
        for (size_t k = 0; k < C; k++) ss += (double)vp[o * C + k] * vp[o * C + k];
        ref_f(norm)[o] = (float)sqrt(ss);
    }
    gan_status st = ref_dense_forward(c, x, v, NULL, t);
    if (st) return st;
    for (size_t n = 0; n < N; n++)
        for (size_t o = 0; o < O; o++) {
            size_t i = n * O + o;
            double s = (double)ref_f(g)[o] / (double)ref_f(norm)[o];
            float yi = (float)wn_act(act, slope, (double)ref_f(t)[i] * s + (b ? (double)ref_f(b)[o] : 0.0));
            ref_f(y)[i] = yi;
            if (h) ref_f(h)[i] = std > 0 ? (float)((double)yi + (double)std * ref_normal_at(rng, i)) : yi;
        }
    return GAN_OK;
}

/* With z = t * s + b, s = g / norm: dz = dh * act'(y), dt = dz * s,
 * db = sum_n dz, dg = sum_n dz * t / norm; dx = dt v; and with
 * dW = dt^T x (the gradient of v at a fixed norm), dv = dW - (dW . v /
 * norm^2) v row by row (the part along v cancels through the norm). */
gan_status ref_wn_dense_backward(gan_ctx *c, const gan_tensor *x, const gan_tensor *v, const gan_tensor *g,
                                 const gan_tensor *norm, const gan_tensor *t, const gan_tensor *y, int act, float slope,
                                 const gan_tensor *dh, gan_tensor *dt, gan_tensor *dx, gan_tensor *dv, gan_tensor *dg,
                                 gan_tensor *db)
{
    size_t N = (size_t)x->dim[0], O = (size_t)v->dim[0], C = (size_t)v->dim[1];
    const float *np = ref_f(norm);
    for (size_t o = 0; o < O; o++) {
        double s = (double)ref_f(g)[o] / (double)np[o], sb = 0, sg = 0;
        for (size_t n = 0; n < N; n++) {
            size_t i = n * O + o;
            double d = (double)ref_f(dh)[i] * wn_dact(act, slope, (double)ref_f(y)[i]);
            ref_f(dt)[i] = (float)(d * s);
            sb += d;
            sg += d * (double)ref_f(t)[i];
        }
        if (db) ref_f(db)[o] = (float)sb;
        if (dg) ref_f(dg)[o] = (float)(sg / (double)np[o]);
    }
    if (!dx && !dv) return GAN_OK;
    gan_status st = ref_dense_backward(c, x, v, dt, dx, dv, NULL);
    if (st || !dv) return st;
    const float *vp = ref_f(v);
    float *dp = ref_f(dv);
    for (size_t o = 0; o < O; o++) {
        double dot = 0;
        for (size_t k = 0; k < C; k++) dot += (double)dp[o * C + k] * vp[o * C + k];
        double f = dot / ((double)np[o] * np[o]);
        for (size_t k = 0; k < C; k++) dp[o * C + k] = (float)(dp[o * C + k] - f * vp[o * C + k]);
    }
    return GAN_OK;
}
