/* Reference 2-D convolution and transposed convolution: direct loops over
 * every (output, kernel tap) pair, sums in double. The transposed conv is
 * written as the adjoint scatter of the conv, so the two stay consistent by
 * construction:  conv  y[n,o,oh,ow] += x[n,c,oh*S-P+kh, ow*S-P+kw] * w[o,c,kh,kw]
 *                deconv y[n,o,ih*S-P+kh, iw*S-P+kw] += x[n,c,ih,iw] * w[c,o,kh,kw] */
#include "../internal.h"

#include <string.h>

/* Sizes of one op, for conv and deconv alike: (C, H, W) is x's, (O, OH, OW)
 * is y's (or dy's). */
typedef struct geom {
    size_t N, C, H, W, O, OH, OW, KH, KW;
    long S, P;
} geom;

static geom geom_of(const gan_tensor *x, const gan_tensor *w, const gan_tensor *y, const gan_conv2d_params *p)
{
    geom g = {(size_t)x->dim[0], (size_t)x->dim[1], (size_t)x->dim[2], (size_t)x->dim[3], (size_t)y->dim[1],
              (size_t)y->dim[2], (size_t)y->dim[3], (size_t)w->dim[2], (size_t)w->dim[3], p->stride, p->pad};
    return g;
}

/* Tap (kh, kw) of image position (i, j) of the strided grid, or -1 when it
 * falls into the padding. */
static long tap(const geom *g, size_t i, size_t j, size_t kh, size_t kw, size_t Hs, size_t Ws)
{
    long h = (long)i * g->S - g->P + (long)kh, v = (long)j * g->S - g->P + (long)kw;
    if (h < 0 || v < 0 || h >= (long)Hs || v >= (long)Ws) return -1;
    return h * (long)Ws + v;
}

/* Double workspace of n elements, zeroed. */
static gan_status dzero(gan_ctx *c, size_t n, double **out)
{
    void *p;
    gan_status st = ref_scratch(c, n * sizeof(double), &p);
    if (st) return st;
    memset(p, 0, n * sizeof(double));
    *out = p;
    return GAN_OK;
}

static void store(float *dst, const double *src, size_t n)
{
    for (size_t i = 0; i < n; i++) dst[i] = (float)src[i];
}

gan_status ref_conv2d_forward(gan_ctx *c, const gan_tensor *x, const gan_tensor *w, const gan_tensor *b,
                              gan_tensor *y, const gan_conv2d_params *p)
{
    (void)c;
    geom g = geom_of(x, w, y, p);
    const float *X = ref_f(x), *Wt = ref_f(w);
    float *Y = ref_f(y);
    for (size_t n = 0; n < g.N; n++)
        for (size_t o = 0; o < g.O; o++)
            for (size_t oh = 0; oh < g.OH; oh++)
                for (size_t ow = 0; ow < g.OW; ow++) {
                    double acc = b ? ref_f(b)[o] : 0.0;
                    for (size_t ci = 0; ci < g.C; ci++)
                        for (size_t kh = 0; kh < g.KH; kh++)
                            for (size_t kw = 0; kw < g.KW; kw++) {
                                long t = tap(&g, oh, ow, kh, kw, g.H, g.W);
                                if (t >= 0)
                                    acc += (double)X[(n * g.C + ci) * g.H * g.W + (size_t)t] *
                                           Wt[((o * g.C + ci) * g.KH + kh) * g.KW + kw];
                            }
                    Y[((n * g.O + o) * g.OH + oh) * g.OW + ow] = (float)acc;
                }
    return GAN_OK;
}

gan_status ref_conv2d_backward(gan_ctx *c, const gan_tensor *x, const gan_tensor *w, const gan_tensor *dy,
                               gan_tensor *dx, gan_tensor *dw, gan_tensor *db, const gan_conv2d_params *p)
{
    geom g = geom_of(x, w, dy, p);
    const float *X = ref_f(x), *Wt = ref_f(w), *DY = ref_f(dy);
    if (dx) { /* scatter dy back through every tap that read x */
        double *acc;
        gan_status st = dzero(c, x->numel, &acc);
        if (st) return st;
        for (size_t n = 0; n < g.N; n++)
            for (size_t o = 0; o < g.O; o++)
                for (size_t oh = 0; oh < g.OH; oh++)
                    for (size_t ow = 0; ow < g.OW; ow++) {
                        double d = DY[((n * g.O + o) * g.OH + oh) * g.OW + ow];
                        for (size_t ci = 0; ci < g.C; ci++)
                            for (size_t kh = 0; kh < g.KH; kh++)
                                for (size_t kw = 0; kw < g.KW; kw++) {
                                    long t = tap(&g, oh, ow, kh, kw, g.H, g.W);
                                    if (t >= 0)
                                        acc[(n * g.C + ci) * g.H * g.W + (size_t)t] +=
                                            d * Wt[((o * g.C + ci) * g.KH + kh) * g.KW + kw];
                                }
                    }
        store(ref_f(dx), acc, x->numel);
    }
    if (dw)
        for (size_t o = 0; o < g.O; o++)
            for (size_t ci = 0; ci < g.C; ci++)
                for (size_t kh = 0; kh < g.KH; kh++)
                    for (size_t kw = 0; kw < g.KW; kw++) {
                        double acc = 0;
                        for (size_t n = 0; n < g.N; n++)
                            for (size_t oh = 0; oh < g.OH; oh++)
                                for (size_t ow = 0; ow < g.OW; ow++) {
                                    long t = tap(&g, oh, ow, kh, kw, g.H, g.W);
                                    if (t >= 0)
                                        acc += (double)DY[((n * g.O + o) * g.OH + oh) * g.OW + ow] *
                                               X[(n * g.C + ci) * g.H * g.W + (size_t)t];
                                }
                        ref_f(dw)[((o * g.C + ci) * g.KH + kh) * g.KW + kw] = (float)acc;
                    }
    if (db) ref_bias_grad(DY, ref_f(db), g.N, g.O, g.OH * g.OW);
    return GAN_OK;
}

/* The fused ops are their two steps, so that they match the unfused ones
 * to the bit (the classifier's checkpoints, tests/cli/ckpt_sha256.txt). */
gan_status ref_conv2d_relu_forward(gan_ctx *c, const gan_tensor *x, const gan_tensor *w, const gan_tensor *b,
                                   gan_tensor *y, const gan_conv2d_params *p)
{
    gan_status st = ref_conv2d_forward(c, x, w, b, y, p);
    return st ? st : ref_act_forward(c, GAN_ACT_RELU, 0.f, y, y);
}

gan_status ref_conv2d_relu_backward(gan_ctx *c, const gan_tensor *x, const gan_tensor *w, const gan_tensor *dy,
                                    gan_tensor *dx, gan_tensor *dw, gan_tensor *db, const gan_conv2d_params *p)
{
    gan_status st = ref_conv2d_backward(c, x, w, dy, dx, dw, db, p);
    return st || !dx ? st : ref_act_backward(c, GAN_ACT_RELU, 0.f, x, NULL, dx, dx);
}

gan_status ref_deconv2d_forward(gan_ctx *c, const gan_tensor *x, const gan_tensor *w, const gan_tensor *b,
                                gan_tensor *y, const gan_conv2d_params *p)
{
    geom g = geom_of(x, w, y, p);
    const float *X = ref_f(x), *Wt = ref_f(w);
    double *acc;
    gan_status st = dzero(c, y->numel, &acc);
    if (st) return st;
    for (size_t n = 0; n < g.N; n++)
        for (size_t ci = 0; ci < g.C; ci++)
            for (size_t ih = 0; ih < g.H; ih++)
                for (size_t iw = 0; iw < g.W; iw++) {
                    double v = X[((n * g.C + ci) * g.H + ih) * g.W + iw];
                    for (size_t o = 0; o < g.O; o++)
                        for (size_t kh = 0; kh < g.KH; kh++)
                            for (size_t kw = 0; kw < g.KW; kw++) {
                                long t = tap(&g, ih, iw, kh, kw, g.OH, g.OW);
                                if (t >= 0)
                                    acc[(n * g.O + o) * g.OH * g.OW + (size_t)t] +=
                                        v * Wt[((ci * g.O + o) * g.KH + kh) * g.KW + kw];
                            }
                }
    if (b)
        for (size_t i = 0; i < y->numel; i++) acc[i] += ref_f(b)[(i / (g.OH * g.OW)) % g.O];
    store(ref_f(y), acc, y->numel);
    return GAN_OK;
}

gan_status ref_deconv2d_backward(gan_ctx *c, const gan_tensor *x, const gan_tensor *w, const gan_tensor *dy,
                                 gan_tensor *dx, gan_tensor *dw, gan_tensor *db, const gan_conv2d_params *p)
{
    (void)c;
    geom g = geom_of(x, w, dy, p);
    const float *X = ref_f(x), *Wt = ref_f(w), *DY = ref_f(dy);
    if (dx) /* gather: each x element collects the dy positions it was scattered to */
        for (size_t n = 0; n < g.N; n++)
            for (size_t ci = 0; ci < g.C; ci++)
                for (size_t ih = 0; ih < g.H; ih++)
                    for (size_t iw = 0; iw < g.W; iw++) {
                        double acc = 0;
                        for (size_t o = 0; o < g.O; o++)
                            for (size_t kh = 0; kh < g.KH; kh++)
                                for (size_t kw = 0; kw < g.KW; kw++) {
                                    long t = tap(&g, ih, iw, kh, kw, g.OH, g.OW);
                                    if (t >= 0)
                                        acc += (double)DY[(n * g.O + o) * g.OH * g.OW + (size_t)t] *
                                               Wt[((ci * g.O + o) * g.KH + kh) * g.KW + kw];
                                }
                        ref_f(dx)[((n * g.C + ci) * g.H + ih) * g.W + iw] = (float)acc;
                    }
    if (dw)
        for (size_t ci = 0; ci < g.C; ci++)
            for (size_t o = 0; o < g.O; o++)
                for (size_t kh = 0; kh < g.KH; kh++)
                    for (size_t kw = 0; kw < g.KW; kw++) {
                        double acc = 0;
                        for (size_t n = 0; n < g.N; n++)
                            for (size_t ih = 0; ih < g.H; ih++)
                                for (size_t iw = 0; iw < g.W; iw++) {
                                    long t = tap(&g, ih, iw, kh, kw, g.OH, g.OW);
                                    if (t >= 0)
                                        acc += (double)X[((n * g.C + ci) * g.H + ih) * g.W + iw] *
                                               DY[(n * g.O + o) * g.OH * g.OW + (size_t)t];
                                }
                        ref_f(dw)[((ci * g.O + o) * g.KH + kh) * g.KW + kw] = (float)acc;
                    }
    if (db) ref_bias_grad(DY, ref_f(db), g.N, g.O, g.OH * g.OW);
    return GAN_OK;
}
