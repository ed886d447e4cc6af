/* Device conv2d and deconv2d: each pass is one GEMM over the whole
 * minibatch, fed by the batched layout kernels of cl/conv.cl.
 *
 * Both ops are built from three steps of one "correlation". It reads an
 * image side (Ci channels, Hi x Wi) through KH x KW windows with stride S and
 * padding P, one window per position of a column side (Co channels, Ho x Wo,
 * L = Ho*Wo positions per image), and its weights are the matrix
 * Wm[Co, CK] with CK = Ci*KH*KW:
 *   corr_fwd    out  = Wm * im2col(img)
 *   corr_data   img  = col2im(Wm^T * out)           (its adjoint)
 *   corr_wgrad  dWm  = out * im2col(img)^T
 * conv2d:   w[O,C,KH,KW] is Wm[O, C*KH*KW]; img = x, out = y.
 * deconv2d: w[C,O,KH,KW] is Wm[C, O*KH*KW]; img = y, out = x, because a
 *           transposed conv is the adjoint of the conv with the same weights.
 *           Output padding only makes y larger: OH + 2P - KH = (H-1)*S + OP
 *           with OP < S, so the windows over y are still exactly H x W.
 *
 * The columns of all N images side by side make col[CK, NL] (NL = N*L,
 * column l*N + n: the image index innermost, see cl/conv.cl), and the
 * column side, [N, Co, L] in memory, is rearranged to out'[Co, NL] the same
 * way; then every step is a single GEMM with NL columns or inner terms
 * (3136 for the DCGAN layers at batch 64, where per-image GEMMs would have
 * 49), and the batch sum of the weight gradient happens inside the GEMM.
 * The rearrangements cost one pass over the column side, far less than the
 * GEMMs, and carry the forward bias. The weight gradient reads the columns
 * transposed, colT[NL, CK], so that all three GEMMs have op(B) = B (the
 * fastest form of the CPU kernels in cl/gemm.cl). Workspace: the columns
 * and the rearranged column side, in ocl_scratch. */
#include "../internal.h"

#include <limits.h>

typedef struct corr {
    size_t N, Ci, Hi, Wi, Co, Ho, Wo, KH, KW, S, P;
} corr;

/* The correlation of conv2d, or (transposed = 1) of deconv2d: x is always
 * [N,C,H,W] and y [N,O,OH,OW]. */
static corr corr_of(int transposed, const gan_tensor *x, const gan_tensor *w, const gan_tensor *y,
                    const gan_conv2d_params *p)
{
    const gan_tensor *img = transposed ? y : x, *out = transposed ? x : y;
    corr g = {(size_t)x->dim[0], (size_t)img->dim[1], (size_t)img->dim[2], (size_t)img->dim[3],
              (size_t)out->dim[1], (size_t)out->dim[2], (size_t)out->dim[3], (size_t)w->dim[2],
              (size_t)w->dim[3], (size_t)p->stride, (size_t)p->pad};
    return g;
}

static size_t corr_ck(const corr *g) { return g->Ci * g->KH * g->KW; }
static size_t corr_nl(const corr *g) { return g->N * g->Ho * g->Wo; }

/* The layout kernels index with int. */
static gan_status corr_check(gan_ctx *c, const corr *g)
{
    size_t cols = corr_ck(g) * corr_nl(g), outs = g->Co * corr_nl(g), imgs = g->N * g->Ci * g->Hi * g->Wi;
    if (cols + outs > INT_MAX || imgs > INT_MAX)
        return GAN_FAIL(c, GAN_ERR_ARG,
                        "convolution too large for the device kernels: %zu column entries + %zu outputs (at most %d)",
                        cols, outs, INT_MAX);
    return GAN_OK;
}

/* The windows of every image into ws at element offset off: col[CK, NL], or
 * colT[NL, CK] when transposed. */
static gan_status im2col(gan_ctx *c, const corr *g, cl_mem img, cl_mem ws, size_t off, int transposed)
{
    size_t n = transposed ? corr_nl(g) : corr_ck(g) * g->Ho;
    return ocl_run(c, transposed ? "conv_im2col_t" : "conv_im2col", n, "MMiiiiiiiiiiii", img, ws, (int)off, (int)g->N,
                   (int)g->Ci, (int)g->Hi, (int)g->Wi, (int)g->Ho, (int)g->Wo, (int)g->KH, (int)g->KW, (int)g->S,
                   (int)g->P, (int)n);
}

/* out'[Co, NL] at ws + off from out[N, Co, L]; for a single image the two
 * are the same, so *m, *moff then name out itself. */
static gan_status out_cols(gan_ctx *c, const corr *g, cl_mem out, cl_mem ws, size_t off, cl_mem *m, size_t *moff)
{
    size_t L = g->Ho * g->Wo, n = g->Co * L;
    *m = out;
    *moff = 0;
    if (g->N == 1) return GAN_OK;
    *m = ws;
    *moff = off;
    return ocl_run(c, "conv_to_cols", n, "MMiiiii", out, ws, (int)off, (int)g->N, (int)g->Co, (int)L, (int)n);
}

/* out = Wm * im2col(img) (+ bias[Co] when not NULL). */
static gan_status corr_fwd(gan_ctx *c, const corr *g, cl_mem img, cl_mem Wm, const gan_tensor *bias, cl_mem out)
{
    size_t CK = corr_ck(g), NL = corr_nl(g), L = g->Ho * g->Wo, cols = g->N > 1 ? g->Co * NL : 0;
    cl_mem ws;
    gan_status st = corr_check(c, g);
    if (!st) st = ocl_scratch(c, (CK * NL + cols) * sizeof(float), &ws);
    if (!st) st = im2col(c, g, img, ws, 0, 0);
    if (st) return st;
    ocl_gemm_args m = {.M = g->Co, .N = NL, .K = CK, .alpha = 1.f, .beta = 0.f,
                       .A = Wm, .lda = CK, .B = ws, .ldb = NL,
                       .C = cols ? ws : out, .offc = cols ? CK * NL : 0, .ldc = NL, .batch = 1};
    if ((st = ocl_gemm_run(c, &m))) return st;
    if (!cols) return bias ? ocl_bias_add(c, out, bias, g->N, g->Co, L) : GAN_OK;
    size_t n = g->N * g->Co;
    return ocl_run(c, "conv_from_cols", n, "MiMiiiTi", ws, (int)(CK * NL), out, (int)g->N, (int)g->Co, (int)L, bias,
                   (int)n);
}

/* img = col2im(Wm^T * out) (+ bias[Ci] when not NULL). */
static gan_status corr_data(gan_ctx *c, const corr *g, cl_mem out, cl_mem Wm, const gan_tensor *bias, cl_mem img)
{
    size_t CK = corr_ck(g), NL = corr_nl(g), cols = g->N > 1 ? g->Co * NL : 0;
    cl_mem ws, o;
    size_t ooff;
    gan_status st = corr_check(c, g);
    if (!st) st = ocl_scratch(c, (cols + CK * NL) * sizeof(float), &ws);
    if (!st) st = out_cols(c, g, out, ws, 0, &o, &ooff);
    if (st) return st;
    ocl_gemm_args m = {.ta = 1, .M = CK, .N = NL, .K = g->Co, .alpha = 1.f, .beta = 0.f,
                       .A = Wm, .lda = CK, .B = o, .offb = ooff, .ldb = NL,
                       .C = ws, .offc = cols, .ldc = NL, .batch = 1};
    if ((st = ocl_gemm_run(c, &m))) return st;
    size_t n = g->Ci * g->Hi * g->Wi * ((g->N + 15) / 16);
    return ocl_run(c, "conv_col2im", n, "MiMiiiiiiiiiiTi", ws, (int)cols, img, (int)g->N, (int)g->Ci, (int)g->Hi,
                   (int)g->Wi, (int)g->Ho, (int)g->Wo, (int)g->KH, (int)g->KW, (int)g->S, (int)g->P, bias, (int)n);
}

static gan_status corr_wgrad(gan_ctx *c, const corr *g, cl_mem img, cl_mem out, cl_mem dWm)
{
    size_t CK = corr_ck(g), NL = corr_nl(g), cols = g->N > 1 ? g->Co * NL : 0;
    cl_mem ws, o;
    size_t ooff;
    gan_status st = corr_check(c, g);
    if (!st) st = ocl_scratch(c, (cols + NL * CK) * sizeof(float), &ws);
    if (!st) st = out_cols(c, g, out, ws, 0, &o, &ooff);
    if (!st) st = im2col(c, g, img, ws, cols, 1);
    if (st) return st;
    ocl_gemm_args m = {.M = g->Co, .N = CK, .K = NL, .alpha = 1.f, .beta = 0.f,
                       .A = o, .offa = ooff, .lda = NL, .B = ws, .offb = cols, .ldb = CK,
                       .C = dWm, .ldc = CK, .batch = 1};
    return ocl_gemm_run(c, &m);
}

gan_status ocl_conv2d_forward(gan_ctx *c, const gan_tensor *x, const gan_tensor *w, const gan_tensor *b,
                              gan_tensor *y, const gan_conv2d_params *p)
{
    corr g = corr_of(0, x, w, y, p);
    return corr_fwd(c, &g, ocl_mem(x), ocl_mem(w), b, ocl_mem(y));
}

gan_status ocl_conv2d_backward(gan_ctx *c, const gan_tensor *x, const gan_tensor *w, const gan_tensor *dy,
                               gan_tensor *dx, gan_tensor *dw, gan_tensor *db, const gan_conv2d_params *p)
{
    gan_status st = GAN_OK;
    corr g = corr_of(0, x, w, dy, p);
    if (dw) TRY(corr_wgrad(c, &g, ocl_mem(x), ocl_mem(dy), ocl_mem(dw)));
    if (dx) TRY(corr_data(c, &g, ocl_mem(dy), ocl_mem(w), NULL, ocl_mem(dx)));
    if (db) TRY(ocl_bias_grad(c, ocl_mem(dy), db, g.N, g.Co, g.Ho * g.Wo));
cleanup:
    return st;
}

gan_status ocl_deconv2d_forward(gan_ctx *c, const gan_tensor *x, const gan_tensor *w, const gan_tensor *b,
                                gan_tensor *y, const gan_conv2d_params *p)
{
    corr g = corr_of(1, x, w, y, p);
    return corr_data(c, &g, ocl_mem(x), ocl_mem(w), b, ocl_mem(y));
}

gan_status ocl_deconv2d_backward(gan_ctx *c, const gan_tensor *x, const gan_tensor *w, const gan_tensor *dy,
                                 gan_tensor *dx, gan_tensor *dw, gan_tensor *db, const gan_conv2d_params *p)
{
    gan_status st = GAN_OK;
    corr g = corr_of(1, x, w, dy, p);
    if (dx) TRY(corr_fwd(c, &g, ocl_mem(dy), ocl_mem(w), NULL, ocl_mem(dx)));
    if (dw) TRY(corr_wgrad(c, &g, ocl_mem(dy), ocl_mem(x), ocl_mem(dw)));
    if (db) TRY(ocl_bias_grad(c, ocl_mem(dy), db, g.N, g.Ci, g.Hi * g.Wi));
cleanup:
    return st;
}
