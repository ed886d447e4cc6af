/* gancl models built from the layers in nn.h: the DCGAN generator and
 * discriminator of the founding notes, with configurable widths, and the
 * MLP generator of issue #4.
 *
 * Generator (ngf = 64 gives the founding notes' 256/128/64):
 *   z[N,nz] -> dense 7*7*4ngf (no bias) -> BN -> LeakyReLU -> [N,4ngf,7,7]
 *   -> deconv 2ngf 5x5 s1 p2 (no bias) -> BN -> LeakyReLU
 *   -> deconv ngf 5x5 s2 p2 op1 -> BN -> LeakyReLU
 *   -> deconv 1 5x5 s2 p2 op1 (no bias) -> tanh -> [N,1,28,28]
 * Discriminator (ndf = 64):
 *   x[N,1,28,28] -> conv ndf 5x5 s2 p2 -> LeakyReLU -> dropout
 *   -> conv 2ndf 5x5 s2 p2 -> LeakyReLU -> dropout -> [N, 2ndf*49]
 *   -> dense nout (1 logit; 1+K in cgan: source logit, then K class logits)
 * MLP generator (hidden = 128):
 *   z[N,nz] -> dense hidden -> LeakyReLU -> dense hidden -> LeakyReLU
 *   -> dense 784 -> tanh -> [N,1,28,28]
 * Conditional generators (cgan) take z concatenated with a one-hot label,
 * [N, nz + ncond], in the same first dense layer. */
#ifndef GANCL_MODELS_H
#define GANCL_MODELS_H

#include "gancl/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum gan_arch {
    GAN_ARCH_DCGAN = 0, /* the DCGAN generator above */
    GAN_ARCH_MLP = 1    /* the MLP generator above */
} gan_arch;

/* "dcgan", "mlp" */
const char *gan_arch_name(gan_arch a);
/* The arch named s; -1 when s names none. */
int gan_arch_parse(const char *s, gan_arch *out);

typedef struct gan_dcgan_config {
    int nz;      /* noise size, 100 */
    int ngf;     /* generator width, 64 */
    int ndf;     /* discriminator width, 64 */
    int nout;    /* discriminator outputs, 1 */
    float slope; /* LeakyReLU negative slope, 0.2 */
    float drop;  /* discriminator dropout, 0.3 */
    gan_arch arch; /* generator architecture: dcgan */
    int hidden;  /* MLP generator width, 128 */
    int ncond;   /* condition inputs of the generator after z (cgan: K one-hot), 0 */
} gan_dcgan_config;

gan_dcgan_config gan_dcgan_default(void);

typedef struct gan_dcgan_g {
    gan_dcgan_config cfg;
    gan_params params;
    gan_nn_dense fc;
    gan_nn_bn bn0, bn1, bn2;
    gan_nn_act a0, a1, a2, out;
    gan_nn_conv d1, d2, d3;
    gan_tensor a0_img, d1_dx_flat; /* views between the dense and conv parts */
} gan_dcgan_g;

typedef struct gan_dcgan_d {
    gan_dcgan_config cfg;
    gan_params params;
    gan_nn_conv c1, c2;
    gan_nn_act a1, a2;
    gan_nn_dropout dr1, dr2;
    gan_nn_dense fc;
    gan_tensor flat, fc_dx_img; /* views between the conv and dense parts */
} gan_dcgan_d;

/* Allocate for batches of up to N and initialise the weights N(0, 0.02)
 * (DCGAN), BN gamma 1, beta 0, from rng. */
gan_status gan_dcgan_g_init(gan_ctx *c, gan_dcgan_g *g, const gan_dcgan_config *cfg, int N, gan_rng *rng);
/* z[n,nz] -> g->out.y [n,1,28,28]; training selects BN batch statistics. */
gan_status gan_dcgan_g_forward(gan_ctx *c, gan_dcgan_g *g, const gan_tensor *z, int training);
/* dimg[n,1,28,28] -> parameter gradients (after a training forward). */
gan_status gan_dcgan_g_backward(gan_ctx *c, gan_dcgan_g *g, const gan_tensor *z, const gan_tensor *dimg);
void gan_dcgan_g_free(gan_ctx *c, gan_dcgan_g *g);

typedef struct gan_mlp_g {
    gan_dcgan_config cfg;
    gan_params params;
    gan_nn_dense fc1, fc2, fc3;
    gan_nn_act a1, a2, out;
    gan_tensor img, dflat; /* out.y as [n,1,28,28]; the image gradient as [n,784] */
} gan_mlp_g;

/* Allocate for batches of up to N; weights and biases start from PyTorch's
 * Linear default U(-1/sqrt(fan_in), +), drawn from rng. */
gan_status gan_mlp_g_init(gan_ctx *c, gan_mlp_g *g, const gan_dcgan_config *cfg, int N, gan_rng *rng);
/* z[n,nz+ncond] -> g->img [n,1,28,28]. The network has no batch statistics:
 * training changes nothing. */
gan_status gan_mlp_g_forward(gan_ctx *c, gan_mlp_g *g, const gan_tensor *z);
/* dimg[n,1,28,28] -> parameter gradients (after a forward). */
gan_status gan_mlp_g_backward(gan_ctx *c, gan_mlp_g *g, const gan_tensor *z, const gan_tensor *dimg);
void gan_mlp_g_free(gan_ctx *c, gan_mlp_g *g);

/* A generator of either architecture, as the trainers hold it: the model
 * keeps the storage of both kinds (only the one named by cfg->arch is
 * allocated) and this view says which one runs. */
typedef struct gan_gen {
    gan_arch arch;
    gan_dcgan_g *dc;  /* arch dcgan */
    gan_mlp_g *mlp;   /* arch mlp */
} gan_gen;

/* Point g at dc or mlp (by cfg->arch) and initialise that generator. */
gan_status gan_gen_init(gan_ctx *c, gan_gen *g, gan_dcgan_g *dc, gan_mlp_g *mlp, const gan_dcgan_config *cfg, int N,
                        gan_rng *rng);
gan_status gan_gen_forward(gan_ctx *c, const gan_gen *g, const gan_tensor *z, int training);
gan_status gan_gen_backward(gan_ctx *c, const gan_gen *g, const gan_tensor *z, const gan_tensor *dimg);
/* The images of the last forward, [n,1,28,28]. */
const gan_tensor *gan_gen_out(const gan_gen *g);
gan_params *gan_gen_params(const gan_gen *g);
void gan_gen_free(gan_ctx *c, gan_gen *g);

gan_status gan_dcgan_d_init(gan_ctx *c, gan_dcgan_d *d, const gan_dcgan_config *cfg, int N, gan_rng *rng);
/* x[n,1,28,28] -> d->fc.y [n,nout]; training enables dropout (from rng). */
gan_status gan_dcgan_d_forward(gan_ctx *c, gan_dcgan_d *d, const gan_tensor *x, int training, gan_rng *rng);
/* dlogits[n,nout] -> d->c1.dx (need_dx) and parameter gradients (need_grads). */
gan_status gan_dcgan_d_backward(gan_ctx *c, gan_dcgan_d *d, const gan_tensor *x, const gan_tensor *dlogits,
                                int need_dx, int need_grads);
void gan_dcgan_d_free(gan_ctx *c, gan_dcgan_d *d);

#ifdef __cplusplus
}
#endif
#endif
