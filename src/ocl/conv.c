/* Device conv2d and deconv2d: each pass is one GEMM per chunk of the
 * minibatch's images, fed by the batched layout kernels of cl/conv.cl.
 *
 * Both ops are built from three steps of one "correlation". It reads an
 * image side (Ci channels, Hi x Wi) through KH x KW windows with stride S and
 * padding P, one window per position of a column side (Co channels, Ho x Wo,
 * L = Ho*Wo positions per image), and its weights are the matrix
 * Wm[Co, CK] with CK = Ci*KH*KW:
 *   corr_fwd    out  = Wm * im2col(img)
 *   corr_back   img  = col2im(Wm^T * out)           (its adjoint)
 *          and  dWm  = out * im2col(img)^T
 * conv2d:   w[O,C,KH,KW] is Wm[O, C*KH*KW]; img = x, out = y.
 * deconv2d: w[C,O,KH,KW] is Wm[C, O*KH*KW]; img = y, out = x, because a
 *           transposed conv is the adjoint of the conv with the same weights.
 *           Output padding only makes y larger: OH + 2P - KH = (H-1)*S + OP
 *           with OP < S, so the windows over y are still exactly H x W.
 *
 * The columns of a chunk of nb images side by side make col[CK, nb*L]
 * (column l*nb + n: the image index innermost, see cl/conv.cl), and the
 * chunk's column side, [nb, Co, L] in memory, is rearranged to
 * out'[Co, nb*L] the same way; then every step is one GEMM per chunk with
 * nb*L columns or inner terms (784 for the DCGAN's 7x7 layers with 16
 * images, where per-image GEMMs would have 49), and the weight gradient
 * adds up the chunks (beta = 1 after the first). A chunk holds about
 * COL_CHUNK_BYTES of columns and rearranged column side, a multiple of 16
 * images (conv_col2im's vectors), so the layout kernels write them into
 * cache and the GEMM reads them from there: with the whole batch's columns
 * at once (40 MB for the DCGAN's deconv 256->128 at batch 64) both went at
 * memory speed, and the DCGAN step spent about twice the device time in
 * im2col, col2im and the GEMMs at batch 256. The rearrangements cost one
 * pass over the column side, far less than the GEMMs, and carry the
 * forward bias. The weight gradient reads the columns transposed,
 * colT[nb*L, CK], so that all three GEMMs have op(B) = B (the fastest form
 * of the CPU kernels in cl/gemm.cl). Workspace: one chunk's columns and
 * rearranged column side, in ocl_scratch.
 *
 * With many positions per image (L >= IMG_MIN_L, the MNIST classifier's
 * 26x26 and 24x24) per-image GEMMs are large enough on their own, and the
 * image-major path wins (`gancl bench classifier`): each image's columns
 * are a matrix col[CK, L] and the GEMMs run batched over a chunk of images,
 * reading and writing the column side in place in NCHW, where out_n is
 * [Co, L]: no rearranging passes for the forward and data steps (the
 * forward's bias goes on per chunk, right after its GEMM, while the
 * chunk's outputs are still in cache); the
 * weight gradient, a sum over the images, takes the chunk's columns side by
 * side, colW[CK, nb*L], and the chunk's out_n transposed and stacked,
 * outT[nb*L, Co] (the classifier's Co is the smaller side, so that is the
 * one rearranged), and computes dWm = outT^T colW^T, adding up the chunks
 * (beta = 1). A chunk holds about IMG_CHUNK_BYTES of columns, so they are
 * still in cache when the GEMM reads them (1 MiB ran as fast, 16 MiB 20%
 * slower at batch 256). The conv2d_relu ops fold a ReLU into that path's
 * last pass: the forward's into the per-chunk bias pass (conv_bias_img),
 * the backward's (a mask by x > 0, x being the ReLU's output) into
 * conv_col2im_img; the other paths run ew_act_* after them. */
#include "ocl.h"

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

enum { IMG_MIN_L = 256 };
#define IMG_CHUNK_BYTES ((size_t)4 << 20)
#define COL_CHUNK_BYTES ((size_t)8 << 20)

static int corr_img(const corr *g) { return g->Ho * g->Wo >= IMG_MIN_L && g->N > 1; }

/* Images per chunk: `per` floats of workspace per image. */
static size_t img_chunk(const corr *g, size_t per)
{
    size_t nb = IMG_CHUNK_BYTES / (per * sizeof(float));
    return nb < 1 ? 1 : nb > g->N ? g->N : nb;
}

#define CORR_GEOM(g) (int)(g)->Ci, (int)(g)->Hi, (int)(g)->Wi, (int)(g)->Ho, (int)(g)->Wo, (int)(g)->KH, \
                     (int)(g)->KW, (int)(g)->S, (int)(g)->P

static gan_status img_fwd(gan_ctx *c, const corr *g, cl_mem img, cl_mem Wm, const gan_tensor *bias, int relu,
                          cl_mem out)
{
    size_t CK = corr_ck(g), L = g->Ho * g->Wo, nb = img_chunk(g, CK * L);
    cl_mem ws;
    gan_status st = ocl_scratch(c, nb * CK * L * sizeof(float), &ws);
    for (size_t n0 = 0; !st && n0 < g->N; n0 += nb) {
        size_t m = g->N - n0 < nb ? g->N - n0 : nb;
        st = ocl_run(c, "conv_im2col_img", m * CK, "MMiiiiiiiiiiiiii", img, ws, 0, (int)(CK * L), (int)L, (int)n0,
                     CORR_GEOM(g), (int)(m * CK));
        ocl_gemm_args a = {.M = g->Co, .N = L, .K = CK, .alpha = 1.f, .beta = 0.f,
                           .A = Wm, .lda = CK, .sa = 0, .B = ws, .ldb = L, .sb = CK * L,
                           .C = out, .offc = n0 * g->Co * L, .ldc = L, .sc = g->Co * L, .batch = m};
        if (!st) st = ocl_gemm_run(c, &a);
        if (!st && (bias || relu)) {
            size_t n = m * g->Co;
            st = ocl_run(c, "conv_bias_img", n, "MTiiiii", out, bias, relu, (int)n0, (int)g->Co, (int)L, (int)n);
        }
    }
    return st;
}

static gan_status img_data(gan_ctx *c, const corr *g, cl_mem out, cl_mem Wm, const gan_tensor *bias, cl_mem mask,
                           cl_mem img)
{
    size_t CK = corr_ck(g), L = g->Ho * g->Wo, nb = img_chunk(g, CK * L);
    cl_mem ws;
    gan_status st = ocl_scratch(c, nb * CK * L * sizeof(float), &ws);
    for (size_t n0 = 0; !st && n0 < g->N; n0 += nb) {
        size_t m = g->N - n0 < nb ? g->N - n0 : nb;
        ocl_gemm_args a = {.ta = 1, .M = CK, .N = L, .K = g->Co, .alpha = 1.f, .beta = 0.f,
                           .A = Wm, .lda = CK, .sa = 0, .B = out, .offb = n0 * g->Co * L, .ldb = L, .sb = g->Co * L,
                           .C = ws, .ldc = L, .sc = CK * L, .batch = m};
        st = ocl_gemm_run(c, &a);
        size_t n = m * g->Ci * g->Hi;
        if (!st)
            st = ocl_run(c, "conv_col2im_img", n, "MMiiiiiiiiiiTMi", ws, img, (int)n0, CORR_GEOM(g), bias, mask,
                         (int)n);
    }
    return st;
}

static gan_status img_wgrad(gan_ctx *c, const corr *g, cl_mem img, cl_mem out, cl_mem dWm)
{
    size_t CK = corr_ck(g), L = g->Ho * g->Wo, nb = img_chunk(g, (CK + g->Co) * L);
    cl_mem ws;
    gan_status st = ocl_scratch(c, nb * (CK + g->Co) * L * sizeof(float), &ws);
    for (size_t n0 = 0; !st && n0 < g->N; n0 += nb) {
        size_t m = g->N - n0 < nb ? g->N - n0 : nb, tsize = m * L * g->Co;
        size_t nt = m * ((L + 15) / 16);
        st = ocl_run(c, "conv_outT_img", nt, "MMiiii", out, ws, (int)n0, (int)g->Co, (int)L, (int)nt);
        if (!st)
            st = ocl_run(c, "conv_im2col_img", m * CK, "MMiiiiiiiiiiiiii", img, ws, (int)tsize, (int)L,
                         (int)(m * L), (int)n0, CORR_GEOM(g), (int)(m * CK));
        ocl_gemm_args a = {.ta = 1, .tb = 1, .M = g->Co, .N = CK, .K = m * L, .alpha = 1.f, .beta = n0 ? 1.f : 0.f,
                           .A = ws, .lda = g->Co, .B = ws, .offb = tsize, .ldb = m * L,
                           .C = dWm, .ldc = CK, .batch = 1};
        if (!st) st = ocl_gemm_run(c, &a);
    }
    return st;
}

/* One input channel, stride 1, no padding: the weight and bias gradients
 * straight from the images and dy (cl/conv.cl, conv_c1_*); the forward and
 * the data gradient keep the columns. */
static int corr_c1(const corr *g)
{
    return g->Ci == 1 && g->S == 1 && g->P == 0;
}

/* dWm and (when db is not NULL) db: per-image terms, then their sums. */
static gan_status c1_wgrad(gan_ctx *c, const corr *g, cl_mem img, cl_mem out, cl_mem dWm, const gan_tensor *db)
{
    size_t T = g->KH * g->KW, n = g->N * g->Co * (T + 1), ns = g->Co * (T + 1);
    cl_mem ws;
    gan_status st = ocl_scratch(c, n * sizeof(float), &ws);
    if (!st)
        st = ocl_run(c, "conv_c1_wpart", n, "MMMiiiiiiii", img, out, ws, (int)g->Hi, (int)g->Wi, (int)g->Co,
                     (int)g->Ho, (int)g->Wo, (int)g->KH, (int)g->KW, (int)n);
    if (!st)
        st = ocl_run(c, "conv_c1_wsum", ns, "MMTiiii", ws, dWm, db, (int)g->N, (int)g->Co, (int)T, (int)ns);
    return st;
}

/* Images per chunk of the batched path: `per` floats of workspace per
 * image, a multiple of 16 (conv_col2im's vectors) unless the batch is
 * smaller. */
static size_t col_chunk(const corr *g, size_t per)
{
    size_t nb = COL_CHUNK_BYTES / (per * sizeof(float)) / 16 * 16;
    return nb < 16 ? (g->N < 16 ? g->N : 16) : nb > g->N ? g->N : nb;
}

/* The windows of images n0..n0+m-1 into ws at element offset off:
 * col[CK, m*L], or colT[m*L, CK] when transposed. */
static gan_status im2col(gan_ctx *c, const corr *g, cl_mem img, size_t n0, size_t m, cl_mem ws, size_t off,
                         int transposed)
{
    size_t n = transposed ? m * g->Ho * g->Wo : corr_ck(g) * g->Ho;
    return ocl_run(c, transposed ? "conv_im2col_t" : "conv_im2col", n, "MiMii" "iiiiiiiii" "i", img,
                   (int)(n0 * g->Ci * g->Hi * g->Wi), ws, (int)off, (int)m, CORR_GEOM(g), (int)n);
}

/* out'[Co, m*L] at ws + off from images n0..n0+m-1 of out[N, Co, L]; for
 * a batch of one the two are the same, so *o, *ooff then name out itself. */
static gan_status out_cols(gan_ctx *c, const corr *g, cl_mem out, size_t n0, size_t m, cl_mem ws, size_t off,
                           cl_mem *o, size_t *ooff)
{
    size_t L = g->Ho * g->Wo, n = g->Co * L;
    *o = out;
    *ooff = 0;
    if (g->N == 1) return GAN_OK;
    *o = ws;
    *ooff = off;
    return ocl_run(c, "conv_to_cols", n, "MiMiiiii", out, (int)(n0 * g->Co * L), ws, (int)off, (int)m, (int)g->Co,
                   (int)L, (int)n);
}

/* out = Wm * im2col(img) (+ bias[Co] when not NULL), then relu(out) when
 * relu and the image-major path runs (*fused = 1; else 0 and the caller
 * applies it). */
static gan_status corr_fwd(gan_ctx *c, const corr *g, cl_mem img, cl_mem Wm, const gan_tensor *bias, int relu,
                           int *fused, cl_mem out)
{
    size_t CK = corr_ck(g), L = g->Ho * g->Wo, multi = g->N > 1, nb = col_chunk(g, (CK + g->Co * multi) * L);
    cl_mem ws;
    gan_status st = corr_check(c, g);
    *fused = 0;
    if (!st && corr_img(g)) {
        *fused = relu;
        return img_fwd(c, g, img, Wm, bias, relu, out);
    }
    if (!st) st = ocl_scratch(c, (CK + g->Co * multi) * nb * L * sizeof(float), &ws);
    for (size_t n0 = 0; !st && n0 < g->N; n0 += nb) {
        size_t m = g->N - n0 < nb ? g->N - n0 : nb, cols = CK * nb * L;
        st = im2col(c, g, img, n0, m, ws, 0, 0);
        ocl_gemm_args a = {.M = g->Co, .N = m * L, .K = CK, .alpha = 1.f, .beta = 0.f,
                           .A = Wm, .lda = CK, .B = ws, .ldb = m * L,
                           .C = multi ? ws : out, .offc = multi ? cols : 0, .ldc = m * L, .batch = 1};
        if (!st) st = ocl_gemm_run(c, &a);
        size_t n = m * g->Co;
        if (!st && multi)
            st = ocl_run(c, "conv_from_cols", n, "MiMiiiiTi", ws, (int)cols, out, (int)(n0 * g->Co * L), (int)m,
                         (int)g->Co, (int)L, bias, (int)n);
    }
    if (!st && !multi && bias) st = ocl_bias_add(c, out, bias, g->N, g->Co, L);
    return st;
}

/* The two passes that read out: dWm = out * im2col(wimg)^T when dWm is
 * not NULL (summed over the chunks, beta = 1 after the first), and
 * img = col2im(Wm^T * out) (+ bias[Ci] when not NULL) when img is not
 * NULL. A conv2d's backward takes both, rearranging each chunk of out
 * once for the two GEMMs. */
static gan_status corr_back(gan_ctx *c, const corr *g, cl_mem out, cl_mem wimg, cl_mem dWm, cl_mem Wm,
                            const gan_tensor *bias, cl_mem mask, int *masked, cl_mem img)
{
    size_t CK = corr_ck(g), L = g->Ho * g->Wo, multi = g->N > 1, nb = col_chunk(g, (CK + g->Co * multi) * L);
    cl_mem ws, o;
    size_t ooff;
    gan_status st = corr_check(c, g);
    if (!st && corr_img(g)) {
        if (dWm) st = img_wgrad(c, g, wimg, out, dWm);
        if (!st && img) st = img_data(c, g, out, Wm, bias, mask, img);
        *masked = mask != NULL;
        return st;
    }
    *masked = 0;
    if (!st) st = ocl_scratch(c, (CK + g->Co * multi) * nb * L * sizeof(float), &ws);
    for (size_t n0 = 0; !st && n0 < g->N; n0 += nb) {
        size_t m = g->N - n0 < nb ? g->N - n0 : nb, cols = g->Co * multi * nb * L;
        st = out_cols(c, g, out, n0, m, ws, 0, &o, &ooff);
        if (!st && dWm) {
            st = im2col(c, g, wimg, n0, m, ws, cols, 1);
            ocl_gemm_args a = {.M = g->Co, .N = CK, .K = m * L, .alpha = 1.f, .beta = n0 ? 1.f : 0.f,
                               .A = o, .offa = ooff, .lda = m * L, .B = ws, .offb = cols, .ldb = CK,
                               .C = dWm, .ldc = CK, .batch = 1};
            if (!st) st = ocl_gemm_run(c, &a);
        }
        if (!st && img) {
            ocl_gemm_args a = {.ta = 1, .M = CK, .N = m * L, .K = g->Co, .alpha = 1.f, .beta = 0.f,
                               .A = Wm, .lda = CK, .B = o, .offb = ooff, .ldb = m * L,
                               .C = ws, .offc = cols, .ldc = m * L, .batch = 1};
            st = ocl_gemm_run(c, &a);
            size_t n = g->Ci * g->Hi * ((m + 15) / 16);
            if (!st)
                st = ocl_run(c, "conv_col2im", n, "MiMii" "iiiiiiiii" "Ti", ws, (int)cols, img,
                             (int)(n0 * g->Ci * g->Hi * g->Wi), (int)m, CORR_GEOM(g), bias, (int)n);
        }
    }
    return st;
}

/* conv2d forward and backward, with relu (the _relu ops) or without: the
 * image-major path folds the ReLU into its last pass, the others run it
 * after (ew_act_forward / ew_act_backward in place). */
static gan_status conv_fwd(gan_ctx *c, const gan_tensor *x, const gan_tensor *w, const gan_tensor *b, gan_tensor *y,
                           const gan_conv2d_params *p, int relu)
{
    corr g = corr_of(0, x, w, y, p);
    int fused;
    gan_status st = corr_fwd(c, &g, ocl_mem(x), ocl_mem(w), b, relu, &fused, ocl_mem(y));
    if (!st && relu && !fused) st = ocl_act_forward(c, GAN_ACT_RELU, 0.f, y, y);
    return st;
}

static gan_status conv_bwd(gan_ctx *c, const gan_tensor *x, const gan_tensor *w, const gan_tensor *dy, gan_tensor *dx,
                           gan_tensor *dw, gan_tensor *db, const gan_conv2d_params *p, int relu)
{
    gan_status st = GAN_OK;
    corr g = corr_of(0, x, w, dy, p);
    int masked = 0;
    TRY(corr_check(c, &g));
    if (dw && corr_c1(&g)) {
        TRY(c1_wgrad(c, &g, ocl_mem(x), ocl_mem(dy), ocl_mem(dw), db));
        dw = NULL;
        db = NULL;
    }
    if (dw || dx)
        TRY(corr_back(c, &g, ocl_mem(dy), ocl_mem(x), dw ? ocl_mem(dw) : NULL, ocl_mem(w), NULL,
                      relu && dx ? ocl_mem(x) : NULL, &masked, dx ? ocl_mem(dx) : NULL));
    if (relu && dx && !masked) TRY(ocl_act_backward(c, GAN_ACT_RELU, 0.f, x, NULL, dx, dx));
    if (db) TRY(ocl_bias_grad(c, ocl_mem(dy), db, g.N, g.Co, g.Ho * g.Wo));
cleanup:
    return st;
}

gan_status ocl_conv2d_forward(gan_ctx *c, const gan_tensor *x, const gan_tensor *w, const gan_tensor *b,
                              gan_tensor *y, const gan_conv2d_params *p)
{
    return conv_fwd(c, x, w, b, y, p, 0);
}

gan_status ocl_conv2d_relu_forward(gan_ctx *c, const gan_tensor *x, const gan_tensor *w, const gan_tensor *b,
                                   gan_tensor *y, const gan_conv2d_params *p)
{
    return conv_fwd(c, x, w, b, y, p, 1);
}

gan_status ocl_conv2d_backward(gan_ctx *c, const gan_tensor *x, const gan_tensor *w, const gan_tensor *dy,
                               gan_tensor *dx, gan_tensor *dw, gan_tensor *db, const gan_conv2d_params *p)
{
    return conv_bwd(c, x, w, dy, dx, dw, db, p, 0);
}

gan_status ocl_conv2d_relu_backward(gan_ctx *c, const gan_tensor *x, const gan_tensor *w, const gan_tensor *dy,
                                    gan_tensor *dx, gan_tensor *dw, gan_tensor *db, const gan_conv2d_params *p)
{
    return conv_bwd(c, x, w, dy, dx, dw, db, p, 1);
}

gan_status ocl_deconv2d_forward(gan_ctx *c, const gan_tensor *x, const gan_tensor *w, const gan_tensor *b,
                                gan_tensor *y, const gan_conv2d_params *p)
{
    corr g = corr_of(1, x, w, y, p);
    int masked;
    return corr_back(c, &g, ocl_mem(x), NULL, NULL, ocl_mem(w), b, NULL, &masked, ocl_mem(y));
}

gan_status ocl_deconv2d_backward(gan_ctx *c, const gan_tensor *x, const gan_tensor *w, const gan_tensor *dy,
                                 gan_tensor *dx, gan_tensor *dw, gan_tensor *db, const gan_conv2d_params *p)
{
    gan_status st = GAN_OK;
    corr g = corr_of(1, x, w, dy, p);
    int fused, masked;
    if (dx) TRY(corr_fwd(c, &g, ocl_mem(dy), ocl_mem(w), NULL, 0, &fused, ocl_mem(dx)));
    if (dw) TRY(corr_back(c, &g, ocl_mem(x), ocl_mem(dy), ocl_mem(dw), NULL, NULL, NULL, &masked, NULL));
    if (db) TRY(ocl_bias_grad(c, ocl_mem(dy), db, g.N, g.Ci, g.Hi * g.Wi));
cleanup:
    return st;
}
