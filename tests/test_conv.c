/* conv2d and deconv2d: device vs reference over awkward shapes and the
 * DCGAN layers, the reference backward against finite differences, and the
 * transposed conv against the adjoint of the conv (which pins its PyTorch
 * ConvTranspose2d semantics independently of its own code).
 * Tolerances, every comparison: fp32 sums of K terms of O(1) inputs, so
 * atol 1e-5 * sqrt(K) + 1e-6 and rtol 1e-4, where K is the number of terms
 * summed into one element: C*KH*KW for forward, O*KH*KW for dx, N*(spatial
 * size of dy or x) for dw and db. */
#include "registry.h"

#include <math.h>
#include <string.h>

static double tol_k(long K) { return 1e-5 * sqrt((double)K) + 1e-6; }

/* x[N,C,H,W], O output channels, KH x KW kernel, stride, padding, output
 * padding (deconv only), with bias. */
typedef struct cshape {
    int N, C, H, W, O, KH, KW, S, P, OP, bias;
} cshape;

static const cshape conv_shapes[] = {
    {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1},     {2, 3, 7, 7, 5, 3, 3, 1, 1, 0, 1},
    {3, 7, 8, 8, 3, 3, 3, 2, 1, 0, 0},     {1, 13, 7, 8, 7, 5, 5, 2, 2, 0, 1},
    {2, 3, 28, 28, 1, 5, 5, 1, 0, 0, 0},   {2, 1, 3, 3, 11, 3, 3, 2, 0, 0, 1},
    {2, 5, 8, 7, 3, 1, 1, 2, 0, 0, 1},     {1, 3, 3, 3, 2, 3, 3, 1, 2, 0, 0},
    {2, 3, 7, 8, 5, 3, 5, 2, 1, 0, 1},     {1, 2, 9, 9, 3, 3, 3, 3, 0, 0, 1},
    {2, 1, 28, 28, 64, 5, 5, 2, 2, 0, 1},  {2, 64, 14, 14, 128, 5, 5, 2, 2, 0, 1}, /* DCGAN discriminator */
    {3, 1, 28, 28, 5, 3, 3, 1, 0, 0, 1},   {2, 1, 21, 13, 4, 2, 5, 1, 0, 0, 0}, /* one channel: conv_c1_* */
    {7, 64, 26, 26, 3, 3, 3, 1, 0, 0, 1}, /* image-major in chunks of 3 images, the last of 1 */
    {2, 3, 18, 18, 20, 3, 3, 1, 0, 0, 1}, {3, 2, 20, 19, 17, 3, 3, 1, 0, 0, 0}, /* conv_outT_img: 16x16 tiles and tails */
};

static const cshape deconv_shapes[] = {
    {1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1},     {2, 3, 3, 3, 5, 3, 3, 2, 1, 1, 1},
    {3, 7, 7, 7, 3, 3, 3, 1, 1, 0, 0},     {1, 13, 4, 5, 7, 5, 5, 2, 2, 1, 1},
    {2, 3, 8, 8, 1, 3, 3, 2, 0, 0, 0},     {2, 5, 3, 3, 2, 1, 1, 2, 0, 1, 1},
    {1, 2, 3, 3, 3, 3, 5, 2, 1, 1, 0},     {2, 3, 7, 7, 2, 5, 5, 1, 2, 0, 1},
    {2, 2, 4, 4, 3, 3, 3, 3, 1, 2, 1},     {1, 1, 28, 28, 1, 3, 3, 1, 1, 0, 1},
    {2, 256, 7, 7, 128, 5, 5, 1, 2, 0, 1}, {2, 128, 7, 7, 64, 5, 5, 2, 2, 1, 1}, /* DCGAN generator */
    {2, 64, 14, 14, 1, 5, 5, 2, 2, 1, 1},
};

typedef gan_status (*fwd_fn)(gan_ctx *, const gan_tensor *, const gan_tensor *, const gan_tensor *, gan_tensor *,
                             const gan_conv2d_params *);
typedef gan_status (*bwd_fn)(gan_ctx *, const gan_tensor *, const gan_tensor *, const gan_tensor *, gan_tensor *,
                             gan_tensor *, gan_tensor *, const gan_conv2d_params *);

typedef struct fam {
    int transposed;
    const char *name;
    fwd_fn fwd;
    bwd_fn bwd;
} fam;

static const fam conv = {0, "conv2d", gan_conv2d_forward, gan_conv2d_backward};
static const fam deconv = {1, "deconv2d", gan_deconv2d_forward, gan_deconv2d_backward};

static void out_size(const fam *f, const cshape *s, int *OH, int *OW)
{
    if (f->transposed) {
        *OH = (s->H - 1) * s->S - 2 * s->P + s->KH + s->OP;
        *OW = (s->W - 1) * s->S - 2 * s->P + s->KW + s->OP;
    } else {
        *OH = (s->H + 2 * s->P - s->KH) / s->S + 1;
        *OW = (s->W + 2 * s->P - s->KW) / s->S + 1;
    }
}

static void describe(char *buf, size_t cap, const fam *f, const cshape *s, const char *what)
{
    snprintf(buf, cap, "%s N%d C%d %dx%d O%d K%dx%d S%d P%d OP%d bias%d %s", f->name, s->N, s->C, s->H, s->W, s->O,
             s->KH, s->KW, s->S, s->P, s->OP, s->bias, what);
}

/* x, w, b random; y filled with junk so that a missing overwrite shows. */
static void make_io(th *t, const fam *f, const cshape *s, tpair *x, tpair *w, tpair *b, tpair *y)
{
    int OH, OW;
    out_size(f, s, &OH, &OW);
    tp_rand(t, x, 4, s->N, s->C, s->H, s->W, -1, 1);
    tp_rand(t, w, 4, f->transposed ? s->C : s->O, f->transposed ? s->O : s->C, s->KH, s->KW, -1, 1);
    tp_rand(t, b, 1, s->O, 0, 0, 0, -1, 1);
    tp_rand(t, y, 4, s->N, s->O, OH, OW, -7, 7);
}

static void run_forward(th *t, const fam *f, const cshape *shapes, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const cshape *s = &shapes[i];
        gan_conv2d_params p = {s->S, s->P, s->OP};
        tpair x, w, b, y;
        make_io(t, f, s, &x, &w, &b, &y);
        TH_OK(t, t->ref, f->fwd(t->ref, &x.r, &w.r, s->bias ? &b.r : NULL, &y.r, &p));
        if (t->dev) TH_OK(t, t->dev, f->fwd(t->dev, &x.d, &w.d, s->bias ? &b.d : NULL, &y.d, &p));
        char what[128];
        describe(what, sizeof what, f, s, "y");
        th_compare(t, what, &y, tol_k((long)s->C * s->KH * s->KW + 1), 1e-4);
        tp_free(t, &x);
        tp_free(t, &w);
        tp_free(t, &b);
        tp_free(t, &y);
    }
}

typedef struct conv_fd {
    const fam *f;
    gan_ctx *c;
    gan_tensor *x, *w, *b, *y, *R;
    const gan_conv2d_params *p;
} conv_fd;

static double conv_loss(void *u)
{
    conv_fd *d = u;
    d->f->fwd(d->c, d->x, d->w, d->b, d->y, d->p);
    return th_dot(d->y, d->R);
}

/* Odd shapes ask the device for dx alone and then dw, db without dx, so
 * every NULL combination the layers use runs too. All gradients start as
 * junk, since backward must overwrite them. */
static void run_backward(th *t, const fam *f, const cshape *shapes, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        const cshape *s = &shapes[i];
        gan_conv2d_params p = {s->S, s->P, s->OP};
        int OH, OW;
        out_size(f, s, &OH, &OW);
        tpair x, w, b, y, dy, dx, dw, db;
        make_io(t, f, s, &x, &w, &b, &y);
        tp_rand(t, &dy, 4, s->N, s->O, OH, OW, -1, 1);
        tp_rand(t, &dx, 4, s->N, s->C, s->H, s->W, -7, 7);
        tp_rand(t, &dw, 4, w.r.dim[0], w.r.dim[1], s->KH, s->KW, -7, 7);
        tp_rand(t, &db, 1, s->O, 0, 0, 0, -7, 7);
        TH_OK(t, t->ref, f->bwd(t->ref, &x.r, &w.r, &dy.r, &dx.r, &dw.r, &db.r, &p));
        if (t->dev && i % 2) {
            TH_OK(t, t->dev, f->bwd(t->dev, &x.d, &w.d, &dy.d, &dx.d, NULL, NULL, &p));
            TH_OK(t, t->dev, f->bwd(t->dev, &x.d, &w.d, &dy.d, NULL, &dw.d, &db.d, &p));
        } else if (t->dev) {
            TH_OK(t, t->dev, f->bwd(t->dev, &x.d, &w.d, &dy.d, &dx.d, &dw.d, &db.d, &p));
        }
        char what[128];
        describe(what, sizeof what, f, s, "dx");
        th_compare(t, what, &dx, tol_k((long)s->O * s->KH * s->KW), 1e-4);
        describe(what, sizeof what, f, s, "dw");
        th_compare(t, what, &dw, tol_k((long)s->N * (f->transposed ? s->H * s->W : OH * OW)), 1e-4);
        describe(what, sizeof what, f, s, "db");
        th_compare(t, what, &db, tol_k((long)s->N * OH * OW), 1e-4);
        /* The loss is linear in each input, so central differences are exact
         * up to float rounding of y; only the cheap shapes, as each point
         * costs two forwards. */
        if ((long)s->N * s->O * OH * OW * s->C * s->KH * s->KW <= 200000) {
            conv_fd d = {f, t->ref, &x.r, &w.r, &b.r, &y.r, &dy.r, &p};
            float *gx = th_read(t, t->ref, &dx.r), *gw = th_read(t, t->ref, &dw.r), *gb = th_read(t, t->ref, &db.r);
            describe(what, sizeof what, f, s, "fd");
            th_fd_check(t, what, conv_loss, &d, &x.r, gx, 1e-2, 1e-3, 1e-3, 64);
            th_fd_check(t, what, conv_loss, &d, &w.r, gw, 1e-2, 1e-3, 1e-3, 64);
            th_fd_check(t, what, conv_loss, &d, &b.r, gb, 1e-2, 1e-3, 1e-3, 64);
            free(gx);
            free(gw);
            free(gb);
        }
        tpair *all[] = {&x, &w, &b, &y, &dy, &dx, &dw, &db};
        for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) tp_free(t, all[k]);
    }
}

/* <conv(x), r> == <x, deconv(r)> on the reference with one weight tensor:
 * w[O,C,KH,KW] of the conv is the [C'=O, O'=C, KH, KW] weight of the
 * transposed conv that maps r[N,O,OH,OW] back to [N,C,H,W], with output
 * padding (H + 2P - KH) mod S recovering the size the conv's floor lost. */
static void check_adjoint(th *t)
{
    for (size_t i = 0; i < sizeof conv_shapes / sizeof conv_shapes[0]; i++) {
        const cshape *s = &conv_shapes[i];
        if ((s->H + 2 * s->P - s->KH) % s->S != (s->W + 2 * s->P - s->KW) % s->S) continue; /* one OP for both */
        int OH, OW;
        out_size(&conv, s, &OH, &OW);
        gan_conv2d_params pc = {s->S, s->P, 0}, pd = {s->S, s->P, (s->H + 2 * s->P - s->KH) % s->S};
        gan_tensor x, w, y, r, xt;
        gan_ctx *c = t->ref;
        TH_OK(t, c, gan_tensor_alloc4(c, &x, GAN_F32, 4, s->N, s->C, s->H, s->W));
        TH_OK(t, c, gan_tensor_alloc4(c, &w, GAN_F32, 4, s->O, s->C, s->KH, s->KW));
        TH_OK(t, c, gan_tensor_alloc4(c, &y, GAN_F32, 4, s->N, s->O, OH, OW));
        TH_OK(t, c, gan_tensor_alloc4(c, &r, GAN_F32, 4, s->N, s->O, OH, OW));
        TH_OK(t, c, gan_tensor_alloc4(c, &xt, GAN_F32, 4, s->N, s->C, s->H, s->W));
        gan_tensor *in[] = {&x, &w, &r};
        for (int k = 0; k < 3; k++)
            for (size_t j = 0; j < in[k]->numel; j++) ((float *)in[k]->data)[j] = (float)th_uniform(t, -1, 1);
        TH_OK(t, c, gan_conv2d_forward(c, &x, &w, NULL, &y, &pc));
        TH_OK(t, c, gan_deconv2d_forward(c, &r, &w, NULL, &xt, &pd));
        double a = th_dot(&y, &r), bb = th_dot(&x, &xt);
        char what[128];
        describe(what, sizeof what, &conv, s, "adjoint");
        if (!(fabs(a - bb) <= 1e-5 * (1 + fabs(a) + fabs(bb))))
            th_fail(t, "%s: <conv(x), r> = %.9g but <x, deconv(r)> = %.9g", what, a, bb);
        gan_tensor *all[] = {&x, &w, &y, &r, &xt};
        for (int k = 0; k < 5; k++) gan_tensor_free(c, all[k]);
    }
}

void test_conv2d_forward(th *t) { run_forward(t, &conv, conv_shapes, sizeof conv_shapes / sizeof conv_shapes[0]); }

void test_conv2d_backward(th *t)
{
    run_backward(t, &conv, conv_shapes, sizeof conv_shapes / sizeof conv_shapes[0]);
}

void test_deconv2d_forward(th *t)
{
    check_adjoint(t);
    run_forward(t, &deconv, deconv_shapes, sizeof deconv_shapes / sizeof deconv_shapes[0]);
}

void test_deconv2d_backward(th *t)
{
    run_backward(t, &deconv, deconv_shapes, sizeof deconv_shapes / sizeof deconv_shapes[0]);
}

/* ---- conv2d_relu_*: device vs reference with conv2d's tolerances (the
 * ReLU adds no rounding); on the reference, to the bit the unfused
 * conv2d_* with act_* (what the classifier ran before); the backward
 * against finite differences of <conv(relu(u)), R> in u, u kept 0.05 away
 * from the kink so that no difference straddles it. */

static const fam conv_relu = {0, "conv2d_relu", gan_conv2d_relu_forward, gan_conv2d_relu_backward};

static void same_bits(th *t, const char *what, const gan_tensor *a, const gan_tensor *b)
{
    float *pa = th_read(t, t->ref, a), *pb = th_read(t, t->ref, b);
    th_compare_bits(t, what, pa, pb, a->numel);
    free(pa);
    free(pb);
}

void test_conv2d_relu_forward(th *t)
{
    size_t count = sizeof conv_shapes / sizeof conv_shapes[0];
    run_forward(t, &conv_relu, conv_shapes, count);
    for (size_t i = 0; i < count; i++) {
        const cshape *s = &conv_shapes[i];
        gan_conv2d_params p = {s->S, s->P, s->OP};
        tpair x, w, b, y, y2;
        make_io(t, &conv, s, &x, &w, &b, &y);
        tp_rand(t, &y2, 4, y.r.dim[0], y.r.dim[1], y.r.dim[2], y.r.dim[3], -7, 7);
        const gan_tensor *bb = s->bias ? &b.r : NULL;
        TH_OK(t, t->ref, gan_conv2d_relu_forward(t->ref, &x.r, &w.r, bb, &y.r, &p));
        TH_OK(t, t->ref, gan_conv2d_forward(t->ref, &x.r, &w.r, bb, &y2.r, &p));
        TH_OK(t, t->ref, gan_act_forward(t->ref, GAN_ACT_RELU, 0.f, &y2.r, &y2.r));
        char what[128];
        describe(what, sizeof what, &conv_relu, s, "y == relu(conv2d) on the reference");
        same_bits(t, what, &y.r, &y2.r);
        tpair *all[] = {&x, &w, &b, &y, &y2};
        for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) tp_free(t, all[k]);
    }
}

typedef struct relu_fd {
    gan_ctx *c;
    gan_tensor *u, *x, *w, *b, *y, *R;
    const gan_conv2d_params *p;
} relu_fd;

static double relu_conv_loss(void *v)
{
    relu_fd *d = v;
    gan_act_forward(d->c, GAN_ACT_RELU, 0.f, d->u, d->x);
    gan_conv2d_forward(d->c, d->x, d->w, d->b, d->y, d->p);
    return th_dot(d->y, d->R);
}

void test_conv2d_relu_backward(th *t)
{
    for (size_t i = 0; i < sizeof conv_shapes / sizeof conv_shapes[0]; i++) {
        const cshape *s = &conv_shapes[i];
        gan_conv2d_params p = {s->S, s->P, s->OP};
        int OH, OW;
        out_size(&conv, s, &OH, &OW);
        tpair u, x, w, b, y, dy, dx, dw, db, dx2;
        make_io(t, &conv, s, &u, &w, &b, &y);
        /* u away from 0, x = relu(u) on both backends (exact) */
        float *hu = th_read(t, t->ref, &u.r);
        for (size_t k = 0; k < u.r.numel; k++) hu[k] = hu[k] < 0 ? hu[k] - 0.05f : hu[k] + 0.05f;
        tp_set(t, &u, hu);
        free(hu);
        tp_alloc(t, &x, GAN_F32, 4, s->N, s->C, s->H, s->W);
        TH_OK(t, t->ref, gan_act_forward(t->ref, GAN_ACT_RELU, 0.f, &u.r, &x.r));
        if (t->dev) TH_OK(t, t->dev, gan_act_forward(t->dev, GAN_ACT_RELU, 0.f, &u.d, &x.d));
        tp_rand(t, &dy, 4, s->N, s->O, OH, OW, -1, 1);
        tp_rand(t, &dx, 4, s->N, s->C, s->H, s->W, -7, 7);
        tp_rand(t, &dx2, 4, s->N, s->C, s->H, s->W, -7, 7);
        tp_rand(t, &dw, 4, s->O, s->C, s->KH, s->KW, -7, 7);
        tp_rand(t, &db, 1, s->O, 0, 0, 0, -7, 7);
        TH_OK(t, t->ref, gan_conv2d_relu_backward(t->ref, &x.r, &w.r, &dy.r, &dx.r, &dw.r, &db.r, &p));
        if (t->dev && i % 2) {
            TH_OK(t, t->dev, gan_conv2d_relu_backward(t->dev, &x.d, &w.d, &dy.d, &dx.d, NULL, NULL, &p));
            TH_OK(t, t->dev, gan_conv2d_relu_backward(t->dev, &x.d, &w.d, &dy.d, NULL, &dw.d, &db.d, &p));
        } else if (t->dev) {
            TH_OK(t, t->dev, gan_conv2d_relu_backward(t->dev, &x.d, &w.d, &dy.d, &dx.d, &dw.d, &db.d, &p));
        }
        char what[128];
        describe(what, sizeof what, &conv_relu, s, "dx");
        th_compare(t, what, &dx, tol_k((long)s->O * s->KH * s->KW), 1e-4);
        describe(what, sizeof what, &conv_relu, s, "dw");
        th_compare(t, what, &dw, tol_k((long)s->N * OH * OW), 1e-4);
        describe(what, sizeof what, &conv_relu, s, "db");
        th_compare(t, what, &db, tol_k((long)s->N * OH * OW), 1e-4);
        TH_OK(t, t->ref, gan_conv2d_backward(t->ref, &x.r, &w.r, &dy.r, &dx2.r, NULL, NULL, &p));
        TH_OK(t, t->ref, gan_act_backward(t->ref, GAN_ACT_RELU, 0.f, &x.r, NULL, &dx2.r, &dx2.r));
        describe(what, sizeof what, &conv_relu, s, "dx == act_backward(relu, conv2d dx) on the reference");
        same_bits(t, what, &dx.r, &dx2.r);
        if ((long)s->N * s->O * OH * OW * s->C * s->KH * s->KW <= 200000) {
            relu_fd d = {t->ref, &u.r, &dx2.r, &w.r, s->bias ? &b.r : NULL, &y.r, &dy.r, &p};
            float *gx = th_read(t, t->ref, &dx.r);
            describe(what, sizeof what, &conv_relu, s, "fd du");
            th_fd_check(t, what, relu_conv_loss, &d, &u.r, gx, 1e-2, 1e-3, 1e-3, 64);
            free(gx);
        }
        tpair *all[] = {&u, &x, &w, &b, &y, &dy, &dx, &dw, &db, &dx2};
        for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) tp_free(t, all[k]);
    }
}
