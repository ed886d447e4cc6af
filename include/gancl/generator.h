/* The one generator interface: a handle over a trained generator, DCGAN or
 * MLP (`train --mode gan`, conditional with --mode cgan) or semi's MLP
 * (`train --mode semi`), used by training's sample grids, augmentation,
 * `gancl sample` and FID/IS. Made from a checkpoint (gan_generator_load:
 * the generator's weights only) or over a model being trained
 * (gan_generator_wrap: its network, not a copy). A generation runs in
 * inference mode (batch norm with its running statistics) in chunks of up
 * to the handle's batch N; a conditional generator gets
 * concat(z, onehot(label)).
 *
 * gan_gen (include/gancl/models.h) is the network underneath a GAN
 * generator (DCGAN or MLP), with the backward pass training needs; nothing
 * but a handle and training steps call it. */
#ifndef GANCL_GENERATOR_H
#define GANCL_GENERATOR_H

#include "gancl/ckpt.h"
#include "gancl/models.h"
#include "gancl/semi.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum gan_gen_kind {
    GAN_GEN_GAN = 0, /* --mode gan ("dcgan") and cgan ("acgan"): arch dcgan or mlp, z ~ N(0,1), tanh */
    GAN_GEN_SEMI = 1 /* train --mode semi: "model" = "semi-mlp", z ~ U[0,1), sigmoid output */
} gan_gen_kind;

/* What a generator is, from a checkpoint's metadata or a model's
 * configuration. Checkpoints before the mlp arch existed have no "arch"
 * key: they are dcgan. */
typedef struct gan_generator_info {
    gan_gen_kind kind;
    char model_name[32];    /* the checkpoint's "model": "dcgan", "acgan", "semi-mlp" */
    char arch[16];          /* "dcgan", "mlp", "semi-mlp" */
    int nz;                 /* noise width */
    int conditional;        /* 1: a cgan generator, conditional on a one-hot label */
    int nclass;             /* conditional: K (grids get one row per class); else 0 */
    int normal;             /* noise: 1 N(0,1), 0 U[0,1) */
    int tanh;               /* own output range: 1 [-1, 1], 0 [0, 1] */
    int step;               /* the checkpoint's training steps (0 over a model) */
    gan_dcgan_config model; /* GAN_GEN_GAN: nz, ngf, ndf, nout, slope, drop, arch, hidden, ncond */
    gan_semi_config semi;   /* GAN_GEN_SEMI: nz, g_hidden */
} gan_generator_info;

typedef struct gan_generator {
    gan_generator_info info;
    int N;                 /* largest chunk */
    const gan_gen *net;    /* GAN_GEN_GAN: the network that runs */
    gan_semi_g *semi;      /* GAN_GEN_SEMI */
    gan_tensor noise;      /* [N, nz] */
    gan_tensor onehot, zc; /* conditional: [N, nclass], [N, nz + nclass] */
    float *h_onehot;       /* [N * nclass] */
    int owned;             /* 1: the networks below are the handle's (loaded) */
    gan_dcgan_g own_dc;
    gan_mlp_g own_mlp;
    gan_gen own_gen;
    gan_semi_g own_semi;
} gan_generator;

/* The generator a checkpoint holds: GAN_ERR_MISMATCH naming its "model"
 * (and "mode") when it holds none (a classifier's, say), GAN_ERR_FORMAT
 * when its configuration is unreadable. */
gan_status gan_generator_info_of(gan_ctx *c, const gan_ckpt *k, gan_generator_info *out);
gan_status gan_generator_probe(gan_ctx *c, const char *path, gan_generator_info *out);

/* Build the generator a checkpoint describes and load its weights, for
 * chunks of up to `batch`. */
gan_status gan_generator_load(gan_ctx *c, gan_generator *g, const char *path, int batch);
/* A handle over a training model's generator: net (GAN_GEN_GAN) or semi
 * (GAN_GEN_SEMI) as info describes it, allocated for N rows. The model
 * must outlive the handle; freeing the handle leaves the model alone. */
gan_status gan_generator_wrap(gan_ctx *c, gan_generator *g, const gan_generator_info *info, const gan_gen *net,
                              gan_semi_g *semi, int N);
/* The info of a gan/cgan model's generator (nclass 0: not conditional)
 * and of semi's. */
gan_generator_info gan_generator_info_gan(const gan_dcgan_config *model, int nclass);
gan_generator_info gan_generator_info_semi(const gan_semi_config *cfg);

/* n rows of the generator's noise from *rng (advanced), chunk by chunk,
 * into host z[n, nz]: what gan_generator_generate draws. */
gan_status gan_generator_noise(gan_ctx *c, gan_generator *g, int n, gan_rng *rng, float *z);
/* n images out[n, 784] from noise drawn from *rng (advanced, a chunk of up
 * to N rows at a time) with labels[n] in 0..nclass-1 (a conditional
 * generator; else NULL). unit: 1 pixels in [0, 1] (tanh images mapped by
 * (x + 1) / 2), 0 the generator's own range (info.tanh). */
gan_status gan_generator_generate(gan_ctx *c, gan_generator *g, int n, const int32_t *labels, gan_rng *rng, int unit,
                                  float *out);
/* The same from given noise z[n, nz] (host). */
gan_status gan_generator_generate_z(gan_ctx *c, gan_generator *g, int n, const int32_t *labels, const float *z,
                                    int unit, float *out);
void gan_generator_free(gan_ctx *c, gan_generator *g);

#ifdef __cplusplus
}
#endif
#endif
