/* The DCGAN generator and discriminator (include/gancl/models.h). */
#include "gancl/models.h"
#include "internal.h"

#include <string.h>

gan_dcgan_config gan_dcgan_default(void)
{
    return (gan_dcgan_config){.nz = 100, .ngf = 64, .ndf = 64, .nout = 1, .slope = 0.2f, .drop = 0.3f,
                              .arch = GAN_ARCH_DCGAN, .hidden = 128, .ncond = 0};
}

gan_status gan_dcgan_g_init(gan_ctx *c, gan_dcgan_g *g, const gan_dcgan_config *cfg, int N, gan_rng *rng)
{
    gan_status st = GAN_OK;
    memset(g, 0, sizeof *g);
    g->cfg = *cfg;
    int f0 = 4 * cfg->ngf, f1 = 2 * cfg->ngf, f2 = cfg->ngf;
    int flat[2] = {N, f0 * 49}, d1[4] = {N, f1, 7, 7}, d2[4] = {N, f2, 14, 14}, d3[4] = {N, 1, 28, 28};
    gan_params *r = &g->params;
    TRY(gan_nn_dense_init(c, &g->fc, r, "gen.fc", N, cfg->nz + cfg->ncond, f0 * 49, 0));
    TRY(gan_nn_bn_init(c, &g->bn0, r, "gen.bn0", 2, flat));
    TRY(gan_nn_act_init(c, &g->a0, GAN_ACT_LEAKY_RELU, cfg->slope, 2, flat));
    TRY(gan_nn_conv_init(c, &g->d1, r, "gen.deconv1", 1, N, f0, 7, 7, f1, 5, 1, 2, 0, 0));
    TRY(gan_nn_bn_init(c, &g->bn1, r, "gen.bn1", 4, d1));
    TRY(gan_nn_act_init(c, &g->a1, GAN_ACT_LEAKY_RELU, cfg->slope, 4, d1));
    TRY(gan_nn_conv_init(c, &g->d2, r, "gen.deconv2", 1, N, f1, 7, 7, f2, 5, 2, 2, 1, 1));
    TRY(gan_nn_bn_init(c, &g->bn2, r, "gen.bn2", 4, d2));
    TRY(gan_nn_act_init(c, &g->a2, GAN_ACT_LEAKY_RELU, cfg->slope, 4, d2));
    TRY(gan_nn_conv_init(c, &g->d3, r, "gen.deconv3", 1, N, f2, 14, 14, 1, 5, 2, 2, 1, 0));
    TRY(gan_nn_act_init(c, &g->out, GAN_ACT_TANH, 0.f, 4, d3));
    for (int i = 0; i < r->n; i++)
        if (!strstr(r->p[i]->name, ".bn")) TRY(gan_param_normal(c, r->p[i], rng, 0.02f));
cleanup:
    return st;
}

gan_status gan_dcgan_g_forward(gan_ctx *c, gan_dcgan_g *g, const gan_tensor *z, int training)
{
    gan_status st = GAN_OK;
    int n = z->dim[0], img[4] = {n, 4 * g->cfg.ngf, 7, 7};
    TRY(gan_nn_dense_forward(c, &g->fc, z));
    TRY(gan_nn_bn_forward(c, &g->bn0, &g->fc.y, training));
    TRY(gan_nn_act_forward(c, &g->a0, &g->bn0.y));
    TRY(gan_tensor_view(c, &g->a0.y, 4, img, &g->a0_img));
    TRY(gan_nn_conv_forward(c, &g->d1, &g->a0_img));
    TRY(gan_nn_bn_forward(c, &g->bn1, &g->d1.y, training));
    TRY(gan_nn_act_forward(c, &g->a1, &g->bn1.y));
    TRY(gan_nn_conv_forward(c, &g->d2, &g->a1.y));
    TRY(gan_nn_bn_forward(c, &g->bn2, &g->d2.y, training));
    TRY(gan_nn_act_forward(c, &g->a2, &g->bn2.y));
    TRY(gan_nn_conv_forward(c, &g->d3, &g->a2.y));
    TRY(gan_nn_act_forward(c, &g->out, &g->d3.y));
cleanup:
    return st;
}

gan_status gan_dcgan_g_backward(gan_ctx *c, gan_dcgan_g *g, const gan_tensor *z, const gan_tensor *dimg)
{
    gan_status st = GAN_OK;
    TRY(gan_nn_act_backward(c, &g->out, &g->d3.y, dimg));
    TRY(gan_nn_conv_backward(c, &g->d3, &g->a2.y, &g->out.dx, 1, 1));
    TRY(gan_nn_act_backward(c, &g->a2, &g->bn2.y, &g->d3.dx));
    TRY(gan_nn_bn_backward(c, &g->bn2, &g->d2.y, &g->a2.dx));
    TRY(gan_nn_conv_backward(c, &g->d2, &g->a1.y, &g->bn2.dx, 1, 1));
    TRY(gan_nn_act_backward(c, &g->a1, &g->bn1.y, &g->d2.dx));
    TRY(gan_nn_bn_backward(c, &g->bn1, &g->d1.y, &g->a1.dx));
    TRY(gan_nn_conv_backward(c, &g->d1, &g->a0_img, &g->bn1.dx, 1, 1));
    TRY(gan_tensor_view(c, &g->d1.dx, 2, g->a0.y.dim, &g->d1_dx_flat));
    TRY(gan_nn_act_backward(c, &g->a0, &g->bn0.y, &g->d1_dx_flat));
    TRY(gan_nn_bn_backward(c, &g->bn0, &g->fc.y, &g->a0.dx));
    TRY(gan_nn_dense_backward(c, &g->fc, z, &g->bn0.dx, 0, 1));
cleanup:
    return st;
}

void gan_dcgan_g_free(gan_ctx *c, gan_dcgan_g *g)
{
    gan_nn_dense_free(c, &g->fc);
    gan_nn_bn_free(c, &g->bn0);
    gan_nn_bn_free(c, &g->bn1);
    gan_nn_bn_free(c, &g->bn2);
    gan_nn_act_free(c, &g->a0);
    gan_nn_act_free(c, &g->a1);
    gan_nn_act_free(c, &g->a2);
    gan_nn_act_free(c, &g->out);
    gan_nn_conv_free(c, &g->d1);
    gan_nn_conv_free(c, &g->d2);
    gan_nn_conv_free(c, &g->d3);
    memset(g, 0, sizeof *g);
}

gan_status gan_dcgan_d_init(gan_ctx *c, gan_dcgan_d *d, const gan_dcgan_config *cfg, int N, gan_rng *rng)
{
    gan_status st = GAN_OK;
    memset(d, 0, sizeof *d);
    d->cfg = *cfg;
    int f1 = cfg->ndf, f2 = 2 * cfg->ndf;
    int h1[4] = {N, f1, 14, 14}, h2[4] = {N, f2, 7, 7};
    gan_params *r = &d->params;
    TRY(gan_nn_conv_init(c, &d->c1, r, "disc.conv1", 0, N, 1, 28, 28, f1, 5, 2, 2, 0, 1));
    TRY(gan_nn_act_init(c, &d->a1, GAN_ACT_LEAKY_RELU, cfg->slope, 4, h1));
    TRY(gan_nn_dropout_init(c, &d->dr1, cfg->drop, 4, h1));
    TRY(gan_nn_conv_init(c, &d->c2, r, "disc.conv2", 0, N, f1, 14, 14, f2, 5, 2, 2, 0, 1));
    TRY(gan_nn_act_init(c, &d->a2, GAN_ACT_LEAKY_RELU, cfg->slope, 4, h2));
    TRY(gan_nn_dropout_init(c, &d->dr2, cfg->drop, 4, h2));
    TRY(gan_nn_dense_init(c, &d->fc, r, "disc.fc", N, f2 * 49, cfg->nout, 1));
    for (int i = 0; i < r->n; i++)
        if (strstr(r->p[i]->name, "weight"))
            TRY(gan_param_normal(c, r->p[i], rng, 0.02f));
cleanup:
    return st;
}

gan_status gan_dcgan_d_forward(gan_ctx *c, gan_dcgan_d *d, const gan_tensor *x, int training, gan_rng *rng)
{
    gan_status st = GAN_OK;
    int flat[2] = {x->dim[0], 2 * d->cfg.ndf * 49};
    TRY(gan_nn_conv_forward(c, &d->c1, x));
    TRY(gan_nn_act_forward(c, &d->a1, &d->c1.y));
    TRY(gan_nn_dropout_forward(c, &d->dr1, &d->a1.y, training, rng));
    TRY(gan_nn_conv_forward(c, &d->c2, &d->dr1.y));
    TRY(gan_nn_act_forward(c, &d->a2, &d->c2.y));
    TRY(gan_nn_dropout_forward(c, &d->dr2, &d->a2.y, training, rng));
    TRY(gan_tensor_view(c, &d->dr2.y, 2, flat, &d->flat));
    TRY(gan_nn_dense_forward(c, &d->fc, &d->flat));
cleanup:
    return st;
}

gan_status gan_dcgan_d_backward(gan_ctx *c, gan_dcgan_d *d, const gan_tensor *x, const gan_tensor *dlogits,
                                int need_dx, int need_grads)
{
    gan_status st = GAN_OK;
    TRY(gan_nn_dense_backward(c, &d->fc, &d->flat, dlogits, 1, need_grads));
    TRY(gan_tensor_view(c, &d->fc.dx, 4, d->dr2.y.dim, &d->fc_dx_img));
    TRY(gan_nn_dropout_backward(c, &d->dr2, &d->fc_dx_img));
    TRY(gan_nn_act_backward(c, &d->a2, &d->c2.y, &d->dr2.dx));
    TRY(gan_nn_conv_backward(c, &d->c2, &d->dr1.y, &d->a2.dx, 1, need_grads));
    TRY(gan_nn_dropout_backward(c, &d->dr1, &d->c2.dx));
    TRY(gan_nn_act_backward(c, &d->a1, &d->c1.y, &d->dr1.dx));
    TRY(gan_nn_conv_backward(c, &d->c1, x, &d->a1.dx, need_dx, need_grads));
cleanup:
    return st;
}

void gan_dcgan_d_free(gan_ctx *c, gan_dcgan_d *d)
{
    gan_nn_conv_free(c, &d->c1);
    gan_nn_conv_free(c, &d->c2);
    gan_nn_act_free(c, &d->a1);
    gan_nn_act_free(c, &d->a2);
    gan_nn_dropout_free(c, &d->dr1);
    gan_nn_dropout_free(c, &d->dr2);
    gan_nn_dense_free(c, &d->fc);
    memset(d, 0, sizeof *d);
}
