/* Device conv2d and deconv2d: CLBlast im2col/col2im per image into one
 * workspace, then one GEMM over the whole minibatch.
 *
 * Both ops are built from three steps of one "correlation". It reads an
 * image side (Ci channels, Hi x Wi) through KH x KW windows with stride S and
 * padding P, one window per position of a column side (Co channels, Ho x Wo),
 * and its weights are the matrix Wm[Co, Ci*KH*KW]:
 *   corr_fwd    out_n = Wm * im2col(img_n)
 *   corr_data   img_n = col2im(Wm^T * out_n)           (its adjoint)
 *   corr_wgrad  dWm   = sum_n out_n * im2col(img_n)^T
 * conv2d:   w[O,C,KH,KW] is Wm[O, C*KH*KW]; img = x, out = y.
 * deconv2d: w[C,O,KH,KW] is Wm[C, O*KH*KW]; img = y, out = x, because a
 *           transposed conv is the adjoint of the conv with the same weights.
 *           Output padding only makes y larger: OH + 2P - KH = (H-1)*S + OP
 *           with OP < S, so the windows over y are still exactly H x W.
 *
 * CLBlast's im2col writes, per image, col[Ci*KH*KW, Ho*Wo] (row index
 * (ci*KH + kh)*KW + kw, matching Wm's columns), and its col2im adds into the
 * image (+=), so images are zeroed before a col2im. */
#include "../internal.h"

#include <clblast_c.h>

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
static size_t corr_l(const corr *g) { return g->Ho * g->Wo; }

/* Columns of every image, image n at col_off + n * CK * L elements. */
static gan_status im2col_all(gan_ctx *c, const corr *g, cl_mem img, cl_mem col, size_t col_off)
{
    for (size_t n = 0; n < g->N; n++) {
        CLBlastStatusCode s = CLBlastSim2col(
            CLBlastKernelModeCrossCorrelation, g->Ci, g->Hi, g->Wi, g->KH, g->KW, g->P, g->P, g->S, g->S, 1, 1,
            img, n * g->Ci * g->Hi * g->Wi, col, col_off + n * corr_ck(g) * corr_l(g), &c->ocl.queue, NULL);
        if (s != CLBlastSuccess)
            return GAN_FAIL(c, GAN_ERR_CLBLAST, "CLBlastSim2col: %s (%d) for image %zu of %zu, C=%zu %zux%zu K=%zux%zu S=%zu P=%zu",
                            clblast_status_name(s), (int)s, n, g->N, g->Ci, g->Hi, g->Wi, g->KH, g->KW, g->S, g->P);
    }
    return GAN_OK;
}

/* img = sum of the windows in col (image n's columns at n * CK * L). */
static gan_status col2im_all(gan_ctx *c, const corr *g, cl_mem col, cl_mem img)
{
    gan_status st = GAN_OK;
    cl_float zero = 0.f;
    CL_CHECK(c, clEnqueueFillBuffer,
             (c->ocl.queue, img, &zero, sizeof zero, 0, g->N * g->Ci * g->Hi * g->Wi * sizeof(float), 0, NULL, NULL));
    for (size_t n = 0; n < g->N; n++) {
        CLBlastStatusCode s = CLBlastScol2im(
            CLBlastKernelModeCrossCorrelation, g->Ci, g->Hi, g->Wi, g->KH, g->KW, g->P, g->P, g->S, g->S, 1, 1,
            col, n * corr_ck(g) * corr_l(g), img, n * g->Ci * g->Hi * g->Wi, &c->ocl.queue, NULL);
        if (s != CLBlastSuccess)
            return GAN_FAIL(c, GAN_ERR_CLBLAST, "CLBlastScol2im: %s (%d) for image %zu of %zu, C=%zu %zux%zu K=%zux%zu S=%zu P=%zu",
                            clblast_status_name(s), (int)s, n, g->N, g->Ci, g->Hi, g->Wi, g->KH, g->KW, g->S, g->P);
    }
cleanup:
    return st;
}

static gan_status corr_fwd(gan_ctx *c, const corr *g, cl_mem img, cl_mem Wm, cl_mem out)
{
    size_t CK = corr_ck(g), L = corr_l(g);
    cl_mem col;
    gan_status st = ocl_scratch(c, g->N * CK * L * sizeof(float), &col);
    if (st) return st;
    if ((st = im2col_all(c, g, img, col, 0))) return st;
    ocl_gemm_args m = {.M = g->Co, .N = L, .K = CK, .alpha = 1.f, .beta = 0.f,
                       .A = Wm, .lda = CK, .sa = 0,
                       .B = col, .ldb = L, .sb = CK * L,
                       .C = out, .ldc = L, .sc = g->Co * L, .batch = g->N};
    return ocl_gemm_run(c, &m);
}

static gan_status corr_data(gan_ctx *c, const corr *g, cl_mem out, cl_mem Wm, cl_mem img)
{
    size_t CK = corr_ck(g), L = corr_l(g);
    cl_mem col;
    gan_status st = ocl_scratch(c, g->N * CK * L * sizeof(float), &col);
    if (st) return st;
    ocl_gemm_args m = {.ta = 1, .M = CK, .N = L, .K = g->Co, .alpha = 1.f, .beta = 0.f,
                       .A = Wm, .lda = CK, .sa = 0,
                       .B = out, .ldb = L, .sb = g->Co * L,
                       .C = col, .ldc = L, .sc = CK * L, .batch = g->N};
    if ((st = ocl_gemm_run(c, &m))) return st;
    return col2im_all(c, g, col, img);
}

/* The sum over the minibatch is folded into the GEMM's inner dimension:
 * with out as [Co, N*L] and the columns as [CK, N*L] (both [N, rows, L]
 * swapped to [rows, N, L]), dWm = out' * col'^T is one GEMM with K = N*L.
 * That costs two cheap transposes but no per-image partial sums of size
 * N*Co*CK, which would be far larger than the columns for wide layers. */
static gan_status corr_wgrad(gan_ctx *c, const corr *g, cl_mem img, cl_mem out, cl_mem dWm)
{
    size_t CK = corr_ck(g), L = corr_l(g), NL = g->N * L, ncol = g->N * CK * L;
    int swap = g->N > 1; /* for one image [N, rows, L] already is [rows, N*L] */
    cl_mem ws;
    gan_status st = ocl_scratch(c, (swap ? 2 * ncol + g->N * g->Co * L : ncol) * sizeof(float), &ws);
    if (st) return st;
    if ((st = im2col_all(c, g, img, ws, 0))) return st;
    ocl_gemm_args m = {.tb = 1, .M = g->Co, .N = CK, .K = NL, .alpha = 1.f, .beta = 0.f,
                       .A = out, .lda = NL, .B = ws, .ldb = NL, .C = dWm, .ldc = CK, .batch = 1};
    if (swap) {
        size_t colT = ncol, outT = 2 * ncol;
        if ((st = ocl_run(c, "conv_swap01", ncol, "MiMiiiii", ws, 0, ws, (int)colT, (int)g->N, (int)CK, (int)L,
                          (int)ncol)))
            return st;
        if ((st = ocl_run(c, "conv_swap01", g->N * g->Co * L, "MiMiiiii", out, 0, ws, (int)outT, (int)g->N,
                          (int)g->Co, (int)L, (int)(g->N * g->Co * L))))
            return st;
        m.A = ws, m.offa = outT, m.offb = colT;
    }
    return ocl_gemm_run(c, &m);
}

gan_status ocl_conv2d_forward(gan_ctx *c, const gan_tensor *x, const gan_tensor *w, const gan_tensor *b,
                              gan_tensor *y, const gan_conv2d_params *p)
{
    corr g = corr_of(0, x, w, y, p);
    gan_status st = corr_fwd(c, &g, ocl_mem(x), ocl_mem(w), ocl_mem(y));
    if (st == GAN_OK && b) st = ocl_bias_add(c, ocl_mem(y), b, g.N, g.Co, g.Ho * g.Wo);
    return st;
}

gan_status ocl_conv2d_backward(gan_ctx *c, const gan_tensor *x, const gan_tensor *w, const gan_tensor *dy,
                               gan_tensor *dx, gan_tensor *dw, gan_tensor *db, const gan_conv2d_params *p)
{
    gan_status st = GAN_OK;
    corr g = corr_of(0, x, w, dy, p);
    if (dw) TRY(corr_wgrad(c, &g, ocl_mem(x), ocl_mem(dy), ocl_mem(dw)));
    if (dx) TRY(corr_data(c, &g, ocl_mem(dy), ocl_mem(w), ocl_mem(dx)));
    if (db) TRY(ocl_bias_grad(c, ocl_mem(dy), db, g.N, g.Co, g.Ho * g.Wo));
cleanup:
    return st;
}

gan_status ocl_deconv2d_forward(gan_ctx *c, const gan_tensor *x, const gan_tensor *w, const gan_tensor *b,
                                gan_tensor *y, const gan_conv2d_params *p)
{
    corr g = corr_of(1, x, w, y, p);
    gan_status st = corr_data(c, &g, ocl_mem(x), ocl_mem(w), ocl_mem(y));
    if (st == GAN_OK && b) st = ocl_bias_add(c, ocl_mem(y), b, g.N, g.Ci, g.Hi * g.Wi);
    return st;
}

gan_status ocl_deconv2d_backward(gan_ctx *c, const gan_tensor *x, const gan_tensor *w, const gan_tensor *dy,
                                 gan_tensor *dx, gan_tensor *dw, gan_tensor *db, const gan_conv2d_params *p)
{
    gan_status st = GAN_OK;
    corr g = corr_of(1, x, w, dy, p);
    if (dx) TRY(corr_fwd(c, &g, ocl_mem(dy), ocl_mem(w), ocl_mem(dx)));
    if (dw) TRY(corr_wgrad(c, &g, ocl_mem(dy), ocl_mem(x), ocl_mem(dw)));
    if (db) TRY(ocl_bias_grad(c, ocl_mem(dy), db, g.N, g.Ci, g.Hi * g.Wi));
cleanup:
    return st;
}
