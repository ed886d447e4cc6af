/* Reference weight normalization and batch mean, the two ops the
 * semi-supervised GAN (Salimans et al. 2016) adds: weight-normalized dense
 * layers and the batch-mean features of feature matching. Row norms and
 * dot products accumulate in double. */
#include "../internal.h"

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
