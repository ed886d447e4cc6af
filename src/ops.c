/* The public op entry points: check every argument once, here, for both
 * backends, then dispatch through the context's op table. A check failure
 * names the op, the argument, what it got and what was expected. */
#include "internal.h"

#include <math.h>
#include <string.h>

const char *gan_op_name(gan_op op)
{
    static const char *const names[] = {
#define GAN_X_(name, params, args) #name,
        GAN_OP_LIST(GAN_X_)
#undef GAN_X_
    };
    return (unsigned)op < GAN_OP_COUNT ? names[op] : "unknown_op";
}

int gan_same_shape(const gan_tensor *a, const gan_tensor *b)
{
    if (a->ndim != b->ndim) return 0;
    for (int i = 0; i < a->ndim; i++)
        if (a->dim[i] != b->dim[i]) return 0;
    return 1;
}

/* ---- check helpers: each returns nonzero (and records) on failure ------- */

#define SHAPE(t, b) gan_tensor_shape_str((t), (b), sizeof(b))

static gan_status need(gan_ctx *c, const gan_tensor *t, const char *what, gan_dtype dt, int ndim_lo,
                       int ndim_hi)
{
    if (!t || !t->data) return GAN_FAIL(c, GAN_ERR_ARG, "%s is missing", what);
    if (t->dtype != dt)
        return GAN_FAIL(c, GAN_ERR_ARG, "%s has dtype %s: expected %s", what,
                        t->dtype == GAN_F32 ? "f32" : "i32", dt == GAN_F32 ? "f32" : "i32");
    if (t->ndim < ndim_lo || t->ndim > ndim_hi) {
        char b[64];
        if (ndim_lo == ndim_hi)
            return GAN_FAIL(c, GAN_ERR_SHAPE, "%s has shape %s: expected %d dims", what, SHAPE(t, b), ndim_lo);
        return GAN_FAIL(c, GAN_ERR_SHAPE, "%s has shape %s: expected %d to %d dims", what, SHAPE(t, b),
                        ndim_lo, ndim_hi);
    }
    return GAN_OK;
}

static gan_status need_shape(gan_ctx *c, const gan_tensor *t, const char *what, int ndim, const int *dim)
{
    gan_tensor want = {0};
    want.ndim = ndim;
    memcpy(want.dim, dim, (size_t)ndim * sizeof *dim);
    if (!gan_same_shape(t, &want)) {
        char b1[64], b2[64];
        return GAN_FAIL(c, GAN_ERR_SHAPE, "%s has shape %s: expected %s", what, SHAPE(t, b1), SHAPE(&want, b2));
    }
    return GAN_OK;
}

static gan_status need_like(gan_ctx *c, const gan_tensor *t, const char *what, const gan_tensor *like,
                            const char *like_what)
{
    gan_status st = need(c, t, what, GAN_F32, 1, GAN_MAX_DIMS);
    if (st) return st;
    if (!gan_same_shape(t, like)) {
        char b1[64], b2[64];
        return GAN_FAIL(c, GAN_ERR_SHAPE, "%s has shape %s: expected %s's shape %s", what, SHAPE(t, b1),
                        like_what, SHAPE(like, b2));
    }
    return GAN_OK;
}

static gan_status need_vec(gan_ctx *c, const gan_tensor *t, const char *what, int n)
{
    gan_status st = need(c, t, what, GAN_F32, 1, 1);
    if (st) return st;
    return need_shape(c, t, what, 1, &n);
}

static gan_status need_finite(gan_ctx *c, double v, const char *what)
{
    if (!isfinite(v)) return GAN_FAIL(c, GAN_ERR_ARG, "%s is %g: expected a finite value", what, v);
    return GAN_OK;
}

#define CHK(expr)               \
    do {                        \
        gan_status s_ = (expr); \
        if (s_) return s_;      \
    } while (0)

/* ---- per-op checks ------------------------------------------------------ */

static gan_status check_gemm(gan_ctx *c, int ta, int tb, float alpha, const gan_tensor *A,
                             const gan_tensor *B, float beta, gan_tensor *C)
{
    CHK(need(c, A, "A", GAN_F32, 2, 2));
    CHK(need(c, B, "B", GAN_F32, 2, 2));
    CHK(need(c, C, "C", GAN_F32, 2, 2));
    CHK(need_finite(c, alpha, "alpha"));
    CHK(need_finite(c, beta, "beta"));
    int M = ta ? A->dim[1] : A->dim[0], K = ta ? A->dim[0] : A->dim[1];
    int KB = tb ? B->dim[1] : B->dim[0], N = tb ? B->dim[0] : B->dim[1];
    if (K != KB) {
        char b1[64], b2[64];
        return GAN_FAIL(c, GAN_ERR_SHAPE, "op(A) is %dx%d (A %s, ta=%d) but op(B) is %dx%d (B %s, tb=%d): inner dims differ",
                        M, K, SHAPE(A, b1), ta, KB, N, SHAPE(B, b2), tb);
    }
    int dc[2] = {M, N};
    return need_shape(c, C, "C", 2, dc);
}

static gan_status check_dense(gan_ctx *c, const gan_tensor *x, const gan_tensor *w, const gan_tensor *b,
                              const gan_tensor *y, const char *yname)
{
    CHK(need(c, x, "x", GAN_F32, 2, 2));
    CHK(need(c, w, "w", GAN_F32, 2, 2));
    if (w->dim[1] != x->dim[1]) {
        char b1[64], b2[64];
        return GAN_FAIL(c, GAN_ERR_SHAPE, "w has shape %s: expected [O, %d] for x %s", SHAPE(w, b1), x->dim[1],
                        SHAPE(x, b2));
    }
    if (b) CHK(need_vec(c, b, "b", w->dim[0]));
    if (y) {
        int dy[2] = {x->dim[0], w->dim[0]};
        CHK(need(c, y, yname, GAN_F32, 2, 2));
        CHK(need_shape(c, y, yname, 2, dy));
    }
    return GAN_OK;
}

static gan_status check_dense_forward(gan_ctx *c, const gan_tensor *x, const gan_tensor *w,
                                      const gan_tensor *b, gan_tensor *y)
{
    if (!y) return GAN_FAIL(c, GAN_ERR_ARG, "y is missing");
    return check_dense(c, x, w, b, y, "y");
}

static gan_status check_dense_backward(gan_ctx *c, const gan_tensor *x, const gan_tensor *w,
                                       const gan_tensor *dy, gan_tensor *dx, gan_tensor *dw, gan_tensor *db)
{
    if (!dy) return GAN_FAIL(c, GAN_ERR_ARG, "dy is missing");
    CHK(check_dense(c, x, w, NULL, dy, "dy"));
    if (dx) CHK(need_like(c, dx, "dx", x, "x"));
    if (dw) CHK(need_like(c, dw, "dw", w, "w"));
    if (db) CHK(need_vec(c, db, "db", w->dim[0]));
    return GAN_OK;
}

/* Shared by conv2d and deconv2d: x[N,C,H,W]; w[O,C,KH,KW] (conv) or
 * [C,O,KH,KW] (deconv); y[N,O,OH,OW]. */
static gan_status check_conv(gan_ctx *c, int transposed, const gan_tensor *x, const gan_tensor *w,
                             const gan_tensor *b, const gan_tensor *y, const char *yname,
                             const gan_conv2d_params *p)
{
    if (!p) return GAN_FAIL(c, GAN_ERR_ARG, "conv params are missing");
    CHK(need(c, x, "x", GAN_F32, 4, 4));
    CHK(need(c, w, "w", GAN_F32, 4, 4));
    if (p->stride < 1) return GAN_FAIL(c, GAN_ERR_ARG, "stride is %d: expected >= 1", p->stride);
    if (p->pad < 0) return GAN_FAIL(c, GAN_ERR_ARG, "padding is %d: expected >= 0", p->pad);
    if (!transposed && p->out_pad != 0)
        return GAN_FAIL(c, GAN_ERR_ARG, "output padding is %d: only transposed conv takes one", p->out_pad);
    if (transposed && (p->out_pad < 0 || p->out_pad >= p->stride))
        return GAN_FAIL(c, GAN_ERR_ARG, "output padding is %d: expected 0 <= OP < stride %d", p->out_pad,
                        p->stride);
    int N = x->dim[0], C = x->dim[1], H = x->dim[2], W = x->dim[3];
    int wc = transposed ? w->dim[0] : w->dim[1];
    int O = transposed ? w->dim[1] : w->dim[0];
    int KH = w->dim[2], KW = w->dim[3];
    if (wc != C) {
        char b1[64], b2[64];
        return GAN_FAIL(c, GAN_ERR_SHAPE, "w has shape %s: expected %s for x %s", SHAPE(w, b1),
                        transposed ? "[C, O, KH, KW] with C matching" : "[O, C, KH, KW] with C matching",
                        SHAPE(x, b2));
    }
    int OH, OW;
    if (!transposed) {
        if (KH > H + 2 * p->pad || KW > W + 2 * p->pad)
            return GAN_FAIL(c, GAN_ERR_SHAPE, "kernel %dx%d is larger than the padded input %dx%d", KH, KW,
                            H + 2 * p->pad, W + 2 * p->pad);
        OH = (H + 2 * p->pad - KH) / p->stride + 1;
        OW = (W + 2 * p->pad - KW) / p->stride + 1;
    } else {
        OH = (H - 1) * p->stride - 2 * p->pad + KH + p->out_pad;
        OW = (W - 1) * p->stride - 2 * p->pad + KW + p->out_pad;
        if (OH < 1 || OW < 1)
            return GAN_FAIL(c, GAN_ERR_SHAPE, "transposed conv output would be %dx%d: padding %d too large", OH,
                            OW, p->pad);
    }
    if (b) CHK(need_vec(c, b, "b", O));
    int dy[4] = {N, O, OH, OW};
    CHK(need(c, y, yname, GAN_F32, 4, 4));
    return need_shape(c, y, yname, 4, dy);
}

static gan_status check_conv_bwd(gan_ctx *c, int transposed, const gan_tensor *x, const gan_tensor *w,
                                 const gan_tensor *dy, gan_tensor *dx, gan_tensor *dw, gan_tensor *db,
                                 const gan_conv2d_params *p)
{
    CHK(check_conv(c, transposed, x, w, NULL, dy, "dy", p));
    if (dx) CHK(need_like(c, dx, "dx", x, "x"));
    if (dw) CHK(need_like(c, dw, "dw", w, "w"));
    if (db) CHK(need_vec(c, db, "db", transposed ? w->dim[1] : w->dim[0]));
    return GAN_OK;
}

static gan_status check_conv2d_forward(gan_ctx *c, const gan_tensor *x, const gan_tensor *w,
                                       const gan_tensor *b, gan_tensor *y, const gan_conv2d_params *p)
{
    return check_conv(c, 0, x, w, b, y, "y", p);
}
static gan_status check_conv2d_backward(gan_ctx *c, const gan_tensor *x, const gan_tensor *w,
                                        const gan_tensor *dy, gan_tensor *dx, gan_tensor *dw, gan_tensor *db,
                                        const gan_conv2d_params *p)
{
    return check_conv_bwd(c, 0, x, w, dy, dx, dw, db, p);
}
static gan_status check_conv2d_relu_forward(gan_ctx *c, const gan_tensor *x, const gan_tensor *w,
                                            const gan_tensor *b, gan_tensor *y, const gan_conv2d_params *p)
{
    return check_conv(c, 0, x, w, b, y, "y", p);
}
static gan_status check_conv2d_relu_backward(gan_ctx *c, const gan_tensor *x, const gan_tensor *w,
                                             const gan_tensor *dy, gan_tensor *dx, gan_tensor *dw, gan_tensor *db,
                                             const gan_conv2d_params *p)
{
    return check_conv_bwd(c, 0, x, w, dy, dx, dw, db, p);
}
static gan_status check_deconv2d_forward(gan_ctx *c, const gan_tensor *x, const gan_tensor *w,
                                         const gan_tensor *b, gan_tensor *y, const gan_conv2d_params *p)
{
    return check_conv(c, 1, x, w, b, y, "y", p);
}
static gan_status check_deconv2d_backward(gan_ctx *c, const gan_tensor *x, const gan_tensor *w,
                                          const gan_tensor *dy, gan_tensor *dx, gan_tensor *dw,
                                          gan_tensor *db, const gan_conv2d_params *p)
{
    return check_conv_bwd(c, 1, x, w, dy, dx, dw, db, p);
}

static gan_status check_bn_x(gan_ctx *c, const gan_tensor *x)
{
    CHK(need(c, x, "x", GAN_F32, 2, 4));
    if (x->ndim == 3) {
        char b[64];
        return GAN_FAIL(c, GAN_ERR_SHAPE, "x has shape %s: expected [N, C] or [N, C, H, W]", SHAPE(x, b));
    }
    return GAN_OK;
}

static gan_status check_batchnorm_forward(gan_ctx *c, const gan_tensor *x, const gan_tensor *gamma,
                                          const gan_tensor *beta, gan_tensor *run_mean, gan_tensor *run_var,
                                          gan_tensor *save_mean, gan_tensor *save_invstd, gan_tensor *y,
                                          const gan_bn_params *p)
{
    if (!p) return GAN_FAIL(c, GAN_ERR_ARG, "batchnorm params are missing");
    CHK(check_bn_x(c, x));
    int C = x->dim[1];
    CHK(need_vec(c, gamma, "gamma", C));
    CHK(need_vec(c, beta, "beta", C));
    CHK(need_vec(c, run_mean, "running_mean", C));
    CHK(need_vec(c, run_var, "running_var", C));
    if (p->training) {
        CHK(need_vec(c, save_mean, "save_mean", C));
        CHK(need_vec(c, save_invstd, "save_invstd", C));
        if (x->numel / (size_t)C < 2)
            return GAN_FAIL(c, GAN_ERR_SHAPE, "training batch norm needs more than one value per channel");
    }
    if (!(p->eps > 0) || !isfinite(p->eps)) return GAN_FAIL(c, GAN_ERR_ARG, "eps is %g: expected > 0", p->eps);
    if (!(p->momentum >= 0 && p->momentum <= 1))
        return GAN_FAIL(c, GAN_ERR_ARG, "momentum is %g: expected 0..1", p->momentum);
    return need_like(c, y, "y", x, "x");
}

static gan_status check_batchnorm_backward(gan_ctx *c, const gan_tensor *x, const gan_tensor *gamma,
                                           const gan_tensor *save_mean, const gan_tensor *save_invstd,
                                           const gan_tensor *dy, gan_tensor *dx, gan_tensor *dgamma,
                                           gan_tensor *dbeta)
{
    CHK(check_bn_x(c, x));
    int C = x->dim[1];
    CHK(need_vec(c, gamma, "gamma", C));
    CHK(need_vec(c, save_mean, "save_mean", C));
    CHK(need_vec(c, save_invstd, "save_invstd", C));
    CHK(need_like(c, dy, "dy", x, "x"));
    if (dx) CHK(need_like(c, dx, "dx", x, "x"));
    if (dgamma) CHK(need_vec(c, dgamma, "dgamma", C));
    if (dbeta) CHK(need_vec(c, dbeta, "dbeta", C));
    return GAN_OK;
}

static gan_status check_batchnorm_sums(gan_ctx *c, const gan_tensor *x, const gan_tensor *mean, gan_tensor *sums)
{
    CHK(check_bn_x(c, x));
    int C = x->dim[1];
    if (mean) CHK(need_vec(c, mean, "mean", C));
    return need_vec(c, sums, "sums", C);
}

static gan_status check_batchnorm_dx(gan_ctx *c, const gan_tensor *x, const gan_tensor *gamma,
                                     const gan_tensor *save_mean, const gan_tensor *save_invstd, const gan_tensor *dy,
                                     const gan_tensor *mean_dy, const gan_tensor *mean_dyx, gan_tensor *dx)
{
    CHK(check_bn_x(c, x));
    int C = x->dim[1];
    CHK(need_vec(c, gamma, "gamma", C));
    CHK(need_vec(c, save_mean, "save_mean", C));
    CHK(need_vec(c, save_invstd, "save_invstd", C));
    CHK(need_vec(c, mean_dy, "mean_dy", C));
    CHK(need_vec(c, mean_dyx, "mean_dyx", C));
    CHK(need_like(c, dy, "dy", x, "x"));
    return need_like(c, dx, "dx", x, "x");
}

static gan_status check_act(gan_ctx *c, gan_act kind, float slope)
{
    if ((unsigned)kind >= GAN_ACT_COUNT)
        return GAN_FAIL(c, GAN_ERR_ARG, "activation kind %d: expected 0..%d", (int)kind, GAN_ACT_COUNT - 1);
    return need_finite(c, slope, "slope");
}

static gan_status check_act_forward(gan_ctx *c, gan_act kind, float slope, const gan_tensor *x, gan_tensor *y)
{
    CHK(check_act(c, kind, slope));
    CHK(need(c, x, "x", GAN_F32, 1, GAN_MAX_DIMS));
    return need_like(c, y, "y", x, "x");
}

static gan_status check_act_backward(gan_ctx *c, gan_act kind, float slope, const gan_tensor *x,
                                     const gan_tensor *y, const gan_tensor *dy, gan_tensor *dx)
{
    CHK(check_act(c, kind, slope));
    CHK(need(c, dy, "dy", GAN_F32, 1, GAN_MAX_DIMS));
    if (kind == GAN_ACT_TANH || kind == GAN_ACT_SIGMOID)
        CHK(need_like(c, y, "y", dy, "dy"));
    else
        CHK(need_like(c, x, "x", dy, "dy"));
    return need_like(c, dx, "dx", dy, "dy");
}

static gan_status check_dropout_forward(gan_ctx *c, float p, gan_rng rng, const gan_tensor *x,
                                        gan_tensor *mask, gan_tensor *y)
{
    (void)rng;
    if (!(p >= 0 && p < 1)) return GAN_FAIL(c, GAN_ERR_ARG, "dropout probability %g: expected 0 <= p < 1", p);
    CHK(need(c, x, "x", GAN_F32, 1, GAN_MAX_DIMS));
    CHK(need_like(c, mask, "mask", x, "x"));
    return need_like(c, y, "y", x, "x");
}

static gan_status check_dropout_backward(gan_ctx *c, const gan_tensor *mask, const gan_tensor *dy, gan_tensor *dx)
{
    CHK(need(c, dy, "dy", GAN_F32, 1, GAN_MAX_DIMS));
    CHK(need_like(c, mask, "mask", dy, "dy"));
    return need_like(c, dx, "dx", dy, "dy");
}

static gan_status check_noise_forward(gan_ctx *c, float std, gan_rng rng, const gan_tensor *x, gan_tensor *y)
{
    (void)rng;
    if (!(std >= 0) || !isfinite(std)) return GAN_FAIL(c, GAN_ERR_ARG, "noise std %g: expected >= 0", std);
    CHK(need(c, x, "x", GAN_F32, 1, GAN_MAX_DIMS));
    return need_like(c, y, "y", x, "x");
}

static gan_status check_maxpool2_forward(gan_ctx *c, const gan_tensor *x, gan_tensor *y, gan_tensor *idx)
{
    CHK(need(c, x, "x", GAN_F32, 4, 4));
    if (x->dim[2] < 2 || x->dim[3] < 2) {
        char b[64];
        return GAN_FAIL(c, GAN_ERR_SHAPE, "x has shape %s: 2x2 max pool needs H, W >= 2", SHAPE(x, b));
    }
    int d[4] = {x->dim[0], x->dim[1], x->dim[2] / 2, x->dim[3] / 2};
    CHK(need(c, y, "y", GAN_F32, 4, 4));
    CHK(need_shape(c, y, "y", 4, d));
    CHK(need(c, idx, "idx", GAN_I32, 4, 4));
    return need_shape(c, idx, "idx", 4, d);
}

static gan_status check_maxpool2_backward(gan_ctx *c, const gan_tensor *idx, const gan_tensor *dy, gan_tensor *dx)
{
    CHK(need(c, dy, "dy", GAN_F32, 4, 4));
    CHK(need(c, idx, "idx", GAN_I32, 4, 4));
    CHK(need_shape(c, idx, "idx", 4, dy->dim));
    CHK(need(c, dx, "dx", GAN_F32, 4, 4));
    int d[4] = {dy->dim[0], dy->dim[1], dx->dim[2] / 2, dx->dim[3] / 2};
    if (dx->dim[0] != dy->dim[0] || dx->dim[1] != dy->dim[1] || d[2] != dy->dim[2] || d[3] != dy->dim[3]) {
        char b1[64], b2[64];
        return GAN_FAIL(c, GAN_ERR_SHAPE, "dx has shape %s: does not pool to dy %s", SHAPE(dx, b1), SHAPE(dy, b2));
    }
    return GAN_OK;
}

static gan_status check_maxpool2_relu_forward(gan_ctx *c, const gan_tensor *x, gan_tensor *y, gan_tensor *idx)
{
    return check_maxpool2_forward(c, x, y, idx);
}

static gan_status check_maxpool2_relu_backward(gan_ctx *c, const gan_tensor *idx, const gan_tensor *y,
                                               const gan_tensor *dy, gan_tensor *dx)
{
    CHK(check_maxpool2_backward(c, idx, dy, dx));
    CHK(need(c, y, "y", GAN_F32, 4, 4));
    return need_shape(c, y, "y", 4, dy->dim);
}

static gan_status check_concat(gan_ctx *c, const gan_tensor *a, const gan_tensor *b, const gan_tensor *y,
                               const char *an, const char *bn, const char *yn)
{
    CHK(need(c, a, an, GAN_F32, 2, 4));
    CHK(need(c, b, bn, GAN_F32, 2, 4));
    CHK(need(c, y, yn, GAN_F32, 2, 4));
    int ok = a->ndim == b->ndim && a->ndim == y->ndim && a->dim[0] == b->dim[0] && a->dim[0] == y->dim[0] &&
             a->dim[1] + b->dim[1] == y->dim[1];
    for (int i = 2; ok && i < a->ndim; i++) ok = a->dim[i] == b->dim[i] && a->dim[i] == y->dim[i];
    if (!ok) {
        char b1[64], b2[64], b3[64];
        return GAN_FAIL(c, GAN_ERR_SHAPE, "concat along dim 1 of %s %s and %s %s into %s %s: shapes do not fit", an,
                        SHAPE(a, b1), bn, SHAPE(b, b2), yn, SHAPE(y, b3));
    }
    return GAN_OK;
}

static gan_status check_concat_forward(gan_ctx *c, const gan_tensor *a, const gan_tensor *b, gan_tensor *y)
{
    return check_concat(c, a, b, y, "a", "b", "y");
}
static gan_status check_concat_backward(gan_ctx *c, const gan_tensor *dy, gan_tensor *da, gan_tensor *db)
{
    return check_concat(c, da, db, dy, "da", "db", "dy");
}

static gan_status check_fill(gan_ctx *c, gan_tensor *t, float value)
{
    CHK(need(c, t, "t", GAN_F32, 1, GAN_MAX_DIMS));
    (void)value; /* any float, inf and nan included, is a valid fill */
    return GAN_OK;
}

static gan_status check_copy(gan_ctx *c, const gan_tensor *src, gan_tensor *dst)
{
    if (!src || !src->data) return GAN_FAIL(c, GAN_ERR_ARG, "src is missing");
    if (!dst || !dst->data) return GAN_FAIL(c, GAN_ERR_ARG, "dst is missing");
    if (src->numel != dst->numel || src->dtype != dst->dtype) {
        char b1[64], b2[64];
        return GAN_FAIL(c, GAN_ERR_SHAPE, "copy of src %s into dst %s: sizes or dtypes differ", SHAPE(src, b1),
                        SHAPE(dst, b2));
    }
    return GAN_OK;
}

static gan_status check_axpy(gan_ctx *c, float alpha, const gan_tensor *x, gan_tensor *y)
{
    CHK(need_finite(c, alpha, "alpha"));
    CHK(need(c, x, "x", GAN_F32, 1, GAN_MAX_DIMS));
    return need_like(c, y, "y", x, "x");
}

static gan_status check_loss_out(gan_ctx *c, const gan_tensor *in, const char *inname, gan_tensor *loss,
                                 gan_tensor *grad)
{
    CHK(need_vec(c, loss, "loss", 1));
    return need_like(c, grad, "grad", in, inname);
}

static gan_status check_bce_logits(gan_ctx *c, const gan_tensor *logits, const gan_tensor *targets,
                                   gan_tensor *loss, gan_tensor *grad)
{
    CHK(need(c, logits, "logits", GAN_F32, 1, 2));
    if (logits->ndim == 2 && logits->dim[1] != 1) {
        char b[64];
        return GAN_FAIL(c, GAN_ERR_SHAPE, "logits has shape %s: expected [N] or [N, 1]", SHAPE(logits, b));
    }
    CHK(need_like(c, targets, "targets", logits, "logits"));
    return check_loss_out(c, logits, "logits", loss, grad);
}

static gan_status check_mse(gan_ctx *c, const gan_tensor *pred, const gan_tensor *target, gan_tensor *loss,
                            gan_tensor *grad)
{
    CHK(need(c, pred, "pred", GAN_F32, 1, GAN_MAX_DIMS));
    CHK(need_like(c, target, "target", pred, "pred"));
    return check_loss_out(c, pred, "pred", loss, grad);
}

static gan_status check_softmax_xent(gan_ctx *c, const gan_tensor *logits, const gan_tensor *labels,
                                     gan_tensor *loss, gan_tensor *grad)
{
    CHK(need(c, logits, "logits", GAN_F32, 2, 2));
    CHK(need(c, labels, "labels", GAN_I32, 1, 1));
    CHK(need_shape(c, labels, "labels", 1, logits->dim));
    return check_loss_out(c, logits, "logits", loss, grad);
}

static gan_status check_lse_loss(gan_ctx *c, const gan_tensor *logits, int real, gan_tensor *loss, gan_tensor *grad)
{
    if (real != 0 && real != 1) return GAN_FAIL(c, GAN_ERR_ARG, "real is %d: expected 0 or 1", real);
    CHK(need(c, logits, "logits", GAN_F32, 2, 2));
    return check_loss_out(c, logits, "logits", loss, grad);
}

static gan_status check_consistency(gan_ctx *c, const gan_tensor *a, const gan_tensor *b, gan_tensor *loss,
                                    gan_tensor *da, gan_tensor *db)
{
    CHK(need(c, a, "a", GAN_F32, 2, 2));
    CHK(need_like(c, b, "b", a, "a"));
    CHK(check_loss_out(c, a, "a", loss, da));
    return need_like(c, db, "db", a, "a");
}

static gan_status check_param_like(gan_ctx *c, gan_tensor *p, const gan_tensor *g)
{
    CHK(need(c, p, "param", GAN_F32, 1, GAN_MAX_DIMS));
    return need_like(c, g, "grad", p, "param");
}

static gan_status check_adam_step(gan_ctx *c, gan_tensor *p, const gan_tensor *g, gan_tensor *m, gan_tensor *v,
                                  const gan_adam_params *hp)
{
    if (!hp) return GAN_FAIL(c, GAN_ERR_ARG, "adam params are missing");
    CHK(check_param_like(c, p, g));
    CHK(need_like(c, m, "m", p, "param"));
    CHK(need_like(c, v, "v", p, "param"));
    if (!(hp->lr >= 0) || !isfinite(hp->lr)) return GAN_FAIL(c, GAN_ERR_ARG, "lr %g: expected >= 0", hp->lr);
    if (!(hp->beta1 >= 0 && hp->beta1 < 1)) return GAN_FAIL(c, GAN_ERR_ARG, "beta1 %g: expected 0 <= beta1 < 1", hp->beta1);
    if (!(hp->beta2 >= 0 && hp->beta2 < 1)) return GAN_FAIL(c, GAN_ERR_ARG, "beta2 %g: expected 0 <= beta2 < 1", hp->beta2);
    if (!(hp->eps > 0)) return GAN_FAIL(c, GAN_ERR_ARG, "eps %g: expected > 0", hp->eps);
    if (hp->step < 1) return GAN_FAIL(c, GAN_ERR_ARG, "step %d: expected >= 1", hp->step);
    return GAN_OK;
}

static gan_status check_adam_ema_step(gan_ctx *c, gan_tensor *p, const gan_tensor *g, gan_tensor *m, gan_tensor *v,
                                      const gan_adam_params *hp, float rate, gan_tensor *a)
{
    CHK(check_adam_step(c, p, g, m, v, hp));
    CHK(need_like(c, a, "average", p, "param"));
    if (!(rate >= 0 && rate <= 1)) return GAN_FAIL(c, GAN_ERR_ARG, "average rate %g: expected 0 <= rate <= 1", rate);
    return GAN_OK;
}

static gan_status check_sgd_step(gan_ctx *c, gan_tensor *p, const gan_tensor *g, gan_tensor *vel, float lr,
                                 float momentum)
{
    CHK(check_param_like(c, p, g));
    CHK(need_like(c, vel, "velocity", p, "param"));
    if (!(lr >= 0) || !isfinite(lr)) return GAN_FAIL(c, GAN_ERR_ARG, "lr %g: expected >= 0", lr);
    if (!(momentum >= 0 && momentum < 1))
        return GAN_FAIL(c, GAN_ERR_ARG, "momentum %g: expected 0 <= momentum < 1", momentum);
    return GAN_OK;
}

static gan_status check_rng_uniform(gan_ctx *c, gan_rng rng, gan_tensor *t)
{
    (void)rng;
    return need(c, t, "t", GAN_F32, 1, GAN_MAX_DIMS);
}
static gan_status check_rng_normal(gan_ctx *c, gan_rng rng, float mean, float std, gan_tensor *t)
{
    (void)rng;
    CHK(need_finite(c, mean, "mean"));
    if (!(std >= 0) || !isfinite(std)) return GAN_FAIL(c, GAN_ERR_ARG, "std %g: expected >= 0", std);
    return need(c, t, "t", GAN_F32, 1, GAN_MAX_DIMS);
}
static gan_status check_rng_bits(gan_ctx *c, gan_rng rng, gan_tensor *t)
{
    (void)rng;
    return need(c, t, "t", GAN_I32, 1, GAN_MAX_DIMS);
}

static gan_status check_weightnorm(gan_ctx *c, const gan_tensor *v, const gan_tensor *g)
{
    CHK(need(c, v, "v", GAN_F32, 2, 2));
    return need_vec(c, g, "g", v->dim[0]);
}

static gan_status check_weightnorm_forward(gan_ctx *c, const gan_tensor *v, const gan_tensor *g, gan_tensor *w)
{
    CHK(check_weightnorm(c, v, g));
    return need_like(c, w, "w", v, "v");
}

static gan_status check_weightnorm_backward(gan_ctx *c, const gan_tensor *v, const gan_tensor *g,
                                            const gan_tensor *dw, gan_tensor *dv, gan_tensor *dg)
{
    CHK(check_weightnorm(c, v, g));
    CHK(need_like(c, dw, "dw", v, "v"));
    if (dv) CHK(need_like(c, dv, "dv", v, "v"));
    if (dg) CHK(need_vec(c, dg, "dg", v->dim[0]));
    return GAN_OK;
}

/* wn_dense: act a kind whose derivative follows from its output, the
 * shapes of x[N,C], v[O,C], g, norm [O], b [O] (optional) and the [N,O]
 * tensors named in nos (NULL entries skipped), which must not share data
 * with each other. */
static gan_status check_wn_dense(gan_ctx *c, const gan_tensor *x, const gan_tensor *v, const gan_tensor *g,
                                 const gan_tensor *b, int act, float slope, const gan_tensor *norm,
                                 const gan_tensor *const *nos, const char *const *names, int n)
{
    if (act != GAN_WN_LINEAR && act != GAN_ACT_RELU && act != GAN_ACT_LEAKY_RELU && act != GAN_ACT_TANH &&
        act != GAN_ACT_SIGMOID)
        return GAN_FAIL(c, GAN_ERR_ARG,
                        "act %d: expected relu, leaky relu, tanh, sigmoid (derivatives from the output) or "
                        "GAN_WN_LINEAR",
                        act);
    if (act == GAN_ACT_LEAKY_RELU && !(slope >= 0 && isfinite(slope)))
        return GAN_FAIL(c, GAN_ERR_ARG, "leaky relu slope %g: expected >= 0 (the derivative comes from y)", slope);
    CHK(check_dense(c, x, v, b, NULL, NULL));
    CHK(need_vec(c, g, "g", v->dim[0]));
    CHK(need_vec(c, norm, "norm", v->dim[0]));
    int d[2] = {x->dim[0], v->dim[0]};
    for (int i = 0; i < n; i++) {
        if (!nos[i]) continue;
        CHK(need(c, nos[i], names[i], GAN_F32, 2, 2));
        CHK(need_shape(c, nos[i], names[i], 2, d));
        for (int j = 0; j < i; j++)
            if (nos[j] && nos[j]->data == nos[i]->data)
                return GAN_FAIL(c, GAN_ERR_ARG, "%s and %s share their data: expected separate tensors", names[j],
                                names[i]);
    }
    return GAN_OK;
}

static gan_status check_wn_dense_forward(gan_ctx *c, const gan_tensor *x, const gan_tensor *v, const gan_tensor *g,
                                         const gan_tensor *b, int act, float slope, float std, gan_rng rng,
                                         gan_tensor *norm, gan_tensor *t, gan_tensor *y, gan_tensor *h)
{
    (void)rng;
    if (!(std >= 0) || !isfinite(std)) return GAN_FAIL(c, GAN_ERR_ARG, "noise std %g: expected >= 0", std);
    if (!t) return GAN_FAIL(c, GAN_ERR_ARG, "t is missing");
    if (!y) return GAN_FAIL(c, GAN_ERR_ARG, "y is missing");
    const gan_tensor *nos[3] = {t, y, h};
    const char *const names[3] = {"t", "y", "h"};
    return check_wn_dense(c, x, v, g, b, act, slope, norm, nos, names, 3);
}

static gan_status check_wn_dense_backward(gan_ctx *c, const gan_tensor *x, const gan_tensor *v, const gan_tensor *g,
                                          const gan_tensor *norm, const gan_tensor *t, const gan_tensor *y, int act,
                                          float slope, const gan_tensor *dh, gan_tensor *dt, gan_tensor *dx,
                                          gan_tensor *dv, gan_tensor *dg, gan_tensor *db)
{
    if (!t) return GAN_FAIL(c, GAN_ERR_ARG, "t is missing");
    if (!y) return GAN_FAIL(c, GAN_ERR_ARG, "y is missing");
    if (!dh) return GAN_FAIL(c, GAN_ERR_ARG, "dh is missing");
    if (!dt) return GAN_FAIL(c, GAN_ERR_ARG, "dt is missing");
    const gan_tensor *nos[4] = {t, y, dh, dt};
    const char *const names[4] = {"t", "y", "dh", "dt"};
    CHK(check_wn_dense(c, x, v, g, NULL, act, slope, norm, nos, names, 4));
    if (dx) CHK(need_like(c, dx, "dx", x, "x"));
    if (dv) CHK(need_like(c, dv, "dv", v, "v"));
    if (dg) CHK(need_vec(c, dg, "dg", v->dim[0]));
    if (db) CHK(need_vec(c, db, "db", v->dim[0]));
    return GAN_OK;
}

static gan_status check_batch_mean_forward(gan_ctx *c, const gan_tensor *x, gan_tensor *y)
{
    CHK(need(c, x, "x", GAN_F32, 2, 2));
    return need_vec(c, y, "y", x->dim[1]);
}

static gan_status check_batch_mean_backward(gan_ctx *c, const gan_tensor *dy, gan_tensor *dx)
{
    CHK(need(c, dx, "dx", GAN_F32, 2, 2));
    return need_vec(c, dy, "dy", dx->dim[1]);
}

/* src and dst of the row ops: one dtype, the same dims after dim 0. */
static gan_status need_rows_alike(gan_ctx *c, const gan_tensor *src, gan_tensor *dst)
{
    if (!src || !src->data) return GAN_FAIL(c, GAN_ERR_ARG, "src is missing");
    CHK(need(c, dst, "dst", src->dtype, src->ndim, src->ndim));
    for (int d = 1; d < src->ndim; d++)
        if (src->dim[d] != dst->dim[d]) {
            char b1[64], b2[64];
            return GAN_FAIL(c, GAN_ERR_SHAPE, "dst has shape %s: expected the rows of src %s", SHAPE(dst, b1),
                            SHAPE(src, b2));
        }
    return GAN_OK;
}

/* The indices themselves are data: only the reference, which holds them on
 * the host, checks their range (ref_gather_rows); here, what needs none. */
static gan_status check_gather_rows(gan_ctx *c, const gan_tensor *src, const gan_tensor *idx, gan_tensor *dst)
{
    CHK(need_rows_alike(c, src, dst));
    CHK(need(c, idx, "idx", GAN_I32, 1, 1));
    if (idx->dim[0] < dst->dim[0]) {
        char b1[64], b2[64];
        return GAN_FAIL(c, GAN_ERR_SHAPE, "idx has shape %s: expected at least dst's %d rows (dst %s)",
                        SHAPE(idx, b1), dst->dim[0], SHAPE(dst, b2));
    }
    /* the device writes rows while others still read: no aliasing */
    if (dst->data == src->data || dst->data == idx->data)
        return GAN_FAIL(c, GAN_ERR_ARG, "dst shares its buffer with %s", dst->data == src->data ? "src" : "idx");
    return GAN_OK;
}

static gan_status check_copy_rows(gan_ctx *c, const gan_tensor *src, int src_row, gan_tensor *dst, int dst_row,
                                  int n)
{
    CHK(need_rows_alike(c, src, dst));
    if (n < 0 || src_row < 0 || dst_row < 0 || (int64_t)src_row + n > src->dim[0] ||
        (int64_t)dst_row + n > dst->dim[0]) {
        char b1[64], b2[64];
        return GAN_FAIL(c, GAN_ERR_ARG, "%d rows from row %d of src %s to row %d of dst %s: outside the tensors", n,
                        src_row, SHAPE(src, b1), dst_row, SHAPE(dst, b2));
    }
    if (src->data == dst->data && src_row != dst_row &&
        (src_row < dst_row ? dst_row - src_row : src_row - dst_row) < n)
        return GAN_FAIL(c, GAN_ERR_ARG, "%d rows from row %d to row %d of one buffer: the ranges overlap", n,
                        src_row, dst_row);
    return GAN_OK;
}

static gan_status check_standardize(gan_ctx *c, const gan_tensor *x, const gan_tensor *mean,
                                    const gan_tensor *invstd, gan_tensor *y)
{
    CHK(need(c, x, "x", GAN_F32, 2, 2));
    CHK(need_vec(c, mean, "mean", x->dim[1]));
    CHK(need_vec(c, invstd, "invstd", x->dim[1]));
    return need_like(c, y, "y", x, "x");
}

/* ---- dispatch ------------------------------------------------------------ */

#define GAN_X_(name, params, args)                 \
    gan_status gan_##name params                   \
    {                                              \
        if (!c) return GAN_ERR_ARG;                \
        c->cur_op = #name;                         \
        gan_status st_ = check_##name args;        \
        if (st_ == GAN_OK) st_ = c->ops->name args; \
        c->cur_op = NULL;                          \
        return st_;                                \
    }
GAN_OP_LIST(GAN_X_)
#undef GAN_X_
