/* Shared by `gancl bench ops` and `gancl check`: the DCGAN layers and how
 * to run each one forward and backward through the op table. */
#include "layers.h"

#include <stdlib.h>

const layer_spec dcgan_layers[] = {
    {"G dense 100->12544", LAYER_DENSE, 100, 12544, 1, 1, 1, 0, 0, 0},
    {"G deconv 256->128 5x5 s1", LAYER_DECONV, 256, 128, 7, 5, 1, 2, 0, 0},
    {"G deconv 128->64 5x5 s2", LAYER_DECONV, 128, 64, 7, 5, 2, 2, 1, 0},
    {"G deconv 64->1 5x5 s2", LAYER_DECONV, 64, 1, 14, 5, 2, 2, 1, 0},
    {"D conv 1->64 5x5 s2", LAYER_CONV, 1, 64, 28, 5, 2, 2, 0, 1},
    {"D conv 64->128 5x5 s2", LAYER_CONV, 64, 128, 14, 5, 2, 2, 0, 1},
    {"D dense 6272->1", LAYER_DENSE, 6272, 1, 1, 1, 1, 0, 0, 1},
};
const int dcgan_nlayers = sizeof dcgan_layers / sizeof dcgan_layers[0];

static int out_size(const layer_spec *L)
{
    if (L->kind == LAYER_CONV) return (L->H + 2 * L->P - L->K) / L->S + 1;
    if (L->kind == LAYER_DECONV) return (L->H - 1) * L->S - 2 * L->P + L->K + L->OP;
    return 1;
}

double layer_flops(const layer_spec *L, int N)
{
    double oh = out_size(L);
    if (L->kind == LAYER_DENSE) return 2.0 * N * L->C * L->O;
    if (L->kind == LAYER_CONV) return 2.0 * N * L->O * oh * oh * L->C * L->K * L->K;
    return 2.0 * N * L->C * L->H * L->H * L->O * L->K * L->K;
}

static gan_status fill(gan_ctx *c, gan_tensor *t, uint64_t *s)
{
    float *h = malloc(t->numel * sizeof *h);
    if (!h) return GAN_ERR_NOMEM;
    for (size_t i = 0; i < t->numel; i++) {
        *s = *s * 6364136223846793005ull + 1442695040888963407ull;
        h[i] = (float)((double)(*s >> 11) / 9007199254740992.0 * 2.0 - 1.0) * 0.5f;
    }
    gan_status st = gan_tensor_write(c, t, h);
    free(h);
    return st;
}

gan_status layer_init(gan_ctx *c, layer_run *r, const layer_spec *L, int N, uint64_t seed)
{
    gan_status st;
    *r = (layer_run){.L = L, .p = {.stride = L->S, .pad = L->P, .out_pad = L->OP}};
    int oh = out_size(L);
    if (L->kind == LAYER_DENSE) {
        if ((st = gan_tensor_alloc4(c, &r->x, GAN_F32, 2, N, L->C, 0, 0)) ||
            (st = gan_tensor_alloc4(c, &r->w, GAN_F32, 2, L->O, L->C, 0, 0)) ||
            (st = gan_tensor_alloc4(c, &r->y, GAN_F32, 2, N, L->O, 0, 0)))
            return st;
    } else {
        int w0 = L->kind == LAYER_CONV ? L->O : L->C, w1 = L->kind == LAYER_CONV ? L->C : L->O;
        if ((st = gan_tensor_alloc4(c, &r->x, GAN_F32, 4, N, L->C, L->H, L->H)) ||
            (st = gan_tensor_alloc4(c, &r->w, GAN_F32, 4, w0, w1, L->K, L->K)) ||
            (st = gan_tensor_alloc4(c, &r->y, GAN_F32, 4, N, L->O, oh, oh)))
            return st;
    }
    if ((st = gan_tensor_alloc(c, &r->dy, GAN_F32, r->y.ndim, r->y.dim)) ||
        (st = gan_tensor_alloc(c, &r->dx, GAN_F32, r->x.ndim, r->x.dim)) ||
        (st = gan_tensor_alloc(c, &r->dw, GAN_F32, r->w.ndim, r->w.dim)) ||
        (st = gan_tensor_alloc4(c, &r->b, GAN_F32, 1, L->O, 0, 0, 0)) ||
        (st = gan_tensor_alloc4(c, &r->db, GAN_F32, 1, L->O, 0, 0, 0)))
        return st;
    uint64_t s = seed;
    if ((st = fill(c, &r->x, &s)) || (st = fill(c, &r->w, &s)) || (st = fill(c, &r->b, &s)) ||
        (st = fill(c, &r->dy, &s)))
        return st;
    return GAN_OK;
}

gan_status layer_forward(gan_ctx *c, layer_run *r)
{
    const gan_tensor *b = r->L->bias ? &r->b : NULL;
    switch (r->L->kind) {
    case LAYER_DENSE: return gan_dense_forward(c, &r->x, &r->w, b, &r->y);
    case LAYER_CONV: return gan_conv2d_forward(c, &r->x, &r->w, b, &r->y, &r->p);
    default: return gan_deconv2d_forward(c, &r->x, &r->w, b, &r->y, &r->p);
    }
}

gan_status layer_backward(gan_ctx *c, layer_run *r)
{
    gan_tensor *db = r->L->bias ? &r->db : NULL;
    switch (r->L->kind) {
    case LAYER_DENSE: return gan_dense_backward(c, &r->x, &r->w, &r->dy, &r->dx, &r->dw, db);
    case LAYER_CONV: return gan_conv2d_backward(c, &r->x, &r->w, &r->dy, &r->dx, &r->dw, db, &r->p);
    default: return gan_deconv2d_backward(c, &r->x, &r->w, &r->dy, &r->dx, &r->dw, db, &r->p);
    }
}

void layer_free(gan_ctx *c, layer_run *r)
{
    gan_tensor *all[] = {&r->x, &r->w, &r->b, &r->y, &r->dy, &r->dx, &r->dw, &r->db};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) gan_tensor_free(c, all[i]);
}
