/* The DCGAN layer shapes that `gancl bench ops` times and `gancl check`
 * compares across backends (founding notes: generator dense 100->7x7x256,
 * transposed convs 128/64/1 5x5; discriminator convs 64/128 5x5 s2, dense). */
#ifndef GANCL_TOOL_LAYERS_H
#define GANCL_TOOL_LAYERS_H

#include "gancl/gancl.h"

typedef enum layer_kind { LAYER_DENSE, LAYER_CONV, LAYER_DECONV } layer_kind;

typedef struct layer_spec {
    const char *name;
    layer_kind kind;
    int C, O, H, K, S, P, OP, bias; /* dense: C in, O out features */
} layer_spec;

extern const layer_spec dcgan_layers[];
extern const int dcgan_nlayers;

/* One layer's tensors on one context. */
typedef struct layer_run {
    const layer_spec *L;
    gan_conv2d_params p;
    gan_tensor x, w, b, y, dy, dx, dw, db;
} layer_run;

/* Allocate the layer at batch N and fill x, w, b, dy from a fixed seed
 * (identical host data on every context). */
gan_status layer_init(gan_ctx *c, layer_run *r, const layer_spec *L, int N, uint64_t seed);
gan_status layer_forward(gan_ctx *c, layer_run *r);
gan_status layer_backward(gan_ctx *c, layer_run *r);
void layer_free(gan_ctx *c, layer_run *r);
/* Multiply-adds x 2 of the forward pass; the backward is twice that. */
double layer_flops(const layer_spec *L, int N);

#endif
