/* The semi-supervised GAN's networks (include/gancl/semi.h): the
 * weight-normalized dense layer, the MLP discriminator with Gaussian noise
 * layers, and the MLP generator.
 *
 * Initialisation: v ~ N(0, 0.05), g = 1, bias 0 for the weight-normalized
 * layers, PyTorch's default U(-1/sqrt(fan_in), +) for the generator's plain
 * dense layers. Salimans et al. then choose the discriminator's g and bias
 * from the data (gan_semi_data_init in src/train/semi.c; the CLI does). */
#include "gancl/semi.h"
#include "internal.h"

#include <string.h>

/* ---- weight-normalized dense ---- */

gan_status gan_nn_wndense_init(gan_ctx *c, gan_nn_wndense *l, gan_params *reg, const char *name, int N, int C, int O,
                               int train_g)
{
    gan_status st = GAN_OK;
    memset(l, 0, sizeof *l);
    l->N = N;
    l->C = C;
    l->O = O;
    l->train_g = train_g;
    int wd[2] = {O, C};
    TRY(gan_param_init(c, &l->v, reg, name, "weight_v", 2, wd));
    TRY(gan_param_init(c, &l->g, train_g ? reg : NULL, name, "weight_g", 1, &O));
    if (!train_g && reg) TRY(gan_params_add_buffer(c, reg, name, "weight_g", &l->g.w));
    TRY(gan_param_init(c, &l->b, reg, name, "bias", 1, &O));
    l->g.no_decay = l->b.no_decay = 1;
    TRY(gan_tensor_alloc(c, &l->w, GAN_F32, 2, wd));
    TRY(gan_tensor_alloc(c, &l->dw, GAN_F32, 2, wd));
    TRY(gan_tensor_alloc4(c, &l->y_buf, GAN_F32, 2, N, O, 0, 0));
    TRY(gan_tensor_alloc4(c, &l->dx_buf, GAN_F32, 2, N, C, 0, 0));
cleanup:
    return st;
}

gan_status gan_nn_wndense_init_params(gan_ctx *c, gan_nn_wndense *l, gan_rng *rng, float std)
{
    gan_status st = GAN_OK;
    TRY(gan_param_normal(c, &l->v, rng, std));
    TRY(gan_fill(c, &l->g.w, 1.f));
    TRY(gan_fill(c, &l->b.w, 0.f));
cleanup:
    return st;
}

gan_status gan_nn_wndense_forward(gan_ctx *c, gan_nn_wndense *l, const gan_tensor *x)
{
    gan_status st = GAN_OK;
    TRY(gan_tensor_narrow(c, &l->y_buf, x->dim[0], &l->y));
    TRY(gan_weightnorm_forward(c, &l->v.w, &l->g.w, &l->w));
    TRY(gan_dense_forward(c, x, &l->w, &l->b.w, &l->y));
cleanup:
    return st;
}

gan_status gan_nn_wndense_backward(gan_ctx *c, gan_nn_wndense *l, const gan_tensor *x, const gan_tensor *dy,
                                   int need_dx, int need_grads)
{
    gan_status st = GAN_OK;
    if (!need_dx && !need_grads) return GAN_OK;
    TRY(gan_tensor_narrow(c, &l->dx_buf, x->dim[0], &l->dx));
    TRY(gan_dense_backward(c, x, &l->w, dy, need_dx ? &l->dx : NULL, need_grads ? &l->dw : NULL,
                           need_grads ? &l->b.g : NULL));
    if (need_grads)
        TRY(gan_weightnorm_backward(c, &l->v.w, &l->g.w, &l->dw, &l->v.g, l->train_g ? &l->g.g : NULL));
cleanup:
    return st;
}

void gan_nn_wndense_free(gan_ctx *c, gan_nn_wndense *l)
{
    gan_param_free(c, &l->v);
    gan_param_free(c, &l->g);
    gan_param_free(c, &l->b);
    gan_tensor *all[] = {&l->w, &l->dw, &l->y_buf, &l->dx_buf};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) gan_tensor_free(c, all[i]);
}

/* ---- discriminator ---- */

gan_status gan_semi_d_init(gan_ctx *c, gan_semi_d *d, const gan_semi_config *cfg, int N, gan_rng *rng)
{
    gan_status st = GAN_OK;
    memset(d, 0, sizeof *d);
    int width[GAN_SEMI_DEPTH + 2];
    width[0] = 784;
    for (int l = 0; l < GAN_SEMI_DEPTH; l++) width[l + 1] = cfg->d_hidden[l];
    width[GAN_SEMI_DEPTH + 1] = cfg->nclass;
    for (int l = 0; l <= GAN_SEMI_DEPTH; l++) {
        char name[32];
        int in[2] = {N, width[l]};
        snprintf(name, sizeof name, "disc.fc%d", l + 1);
        d->std[l] = l == 0 ? cfg->noise_in : cfg->noise_hidden;
        TRY(gan_tensor_alloc(c, &d->noise_buf[l], GAN_F32, 2, in));
        TRY(gan_nn_wndense_init(c, &d->fc[l], &d->params, name, N, width[l], width[l + 1], l == GAN_SEMI_DEPTH));
        TRY(gan_nn_wndense_init_params(c, &d->fc[l], rng, cfg->init_std));
        if (l < GAN_SEMI_DEPTH) {
            int out[2] = {N, width[l + 1]};
            TRY(gan_nn_act_init(c, &d->relu[l], GAN_ACT_RELU, 0.f, 2, out));
        }
    }
cleanup:
    return st;
}

gan_status gan_semi_d_forward(gan_ctx *c, gan_semi_d *d, const gan_tensor *x, int training, gan_rng *rng)
{
    gan_status st = GAN_OK;
    const gan_tensor *h = x;
    for (int l = 0; l <= GAN_SEMI_DEPTH; l++) {
        if (training && d->std[l] > 0) {
            TRY(gan_tensor_narrow(c, &d->noise_buf[l], x->dim[0], &d->noise[l]));
            TRY(gan_noise_forward(c, d->std[l], gan_rng_take(rng, h->numel, 1), h, &d->noise[l]));
            h = &d->noise[l];
        }
        d->in[l] = h;
        TRY(gan_nn_wndense_forward(c, &d->fc[l], h));
        if (l < GAN_SEMI_DEPTH) {
            TRY(gan_nn_act_forward(c, &d->relu[l], &d->fc[l].y));
            h = &d->relu[l].y;
        }
    }
cleanup:
    return st;
}

/* The noise layers add a constant to their input as far as gradients go:
 * their backward is the identity, so dy passes straight through. */
gan_status gan_semi_d_backward(gan_ctx *c, gan_semi_d *d, const gan_tensor *dtop, int from_features, int need_dx,
                               int need_grads)
{
    gan_status st = GAN_OK;
    const gan_tensor *dy = dtop;
    int top = GAN_SEMI_DEPTH;
    if (from_features) {
        TRY(gan_nn_act_backward(c, &d->relu[top - 1], &d->fc[top - 1].y, dy));
        dy = &d->relu[top - 1].dx;
        top--;
    }
    for (int l = top; l >= 0; l--) {
        TRY(gan_nn_wndense_backward(c, &d->fc[l], d->in[l], dy, l > 0 || need_dx, need_grads));
        if (l > 0) {
            TRY(gan_nn_act_backward(c, &d->relu[l - 1], &d->fc[l - 1].y, &d->fc[l].dx));
            dy = &d->relu[l - 1].dx;
        }
    }
cleanup:
    return st;
}

void gan_semi_d_free(gan_ctx *c, gan_semi_d *d)
{
    for (int l = 0; l <= GAN_SEMI_DEPTH; l++) {
        gan_nn_wndense_free(c, &d->fc[l]);
        gan_tensor_free(c, &d->noise_buf[l]);
        if (l < GAN_SEMI_DEPTH) gan_nn_act_free(c, &d->relu[l]);
    }
    memset(d, 0, sizeof *d);
}

/* ---- generator ---- */

gan_status gan_semi_g_init(gan_ctx *c, gan_semi_g *g, const gan_semi_config *cfg, int N, gan_rng *rng)
{
    gan_status st = GAN_OK;
    memset(g, 0, sizeof *g);
    int H = cfg->g_hidden, hid[2] = {N, H}, img[2] = {N, 784};
    gan_params *r = &g->params;
    /* the dense layers feed batch norm, which cancels a bias */
    TRY(gan_nn_dense_init(c, &g->fc1, r, "gen.fc1", N, cfg->nz, H, 0));
    TRY(gan_nn_bn_init(c, &g->bn1, r, "gen.bn1", 2, hid));
    TRY(gan_nn_act_init(c, &g->sp1, GAN_ACT_SOFTPLUS, 0.f, 2, hid));
    TRY(gan_nn_dense_init(c, &g->fc2, r, "gen.fc2", N, H, H, 0));
    TRY(gan_nn_bn_init(c, &g->bn2, r, "gen.bn2", 2, hid));
    TRY(gan_nn_act_init(c, &g->sp2, GAN_ACT_SOFTPLUS, 0.f, 2, hid));
    TRY(gan_nn_wndense_init(c, &g->out, r, "gen.fc3", N, H, 784, 1));
    TRY(gan_nn_act_init(c, &g->sig, GAN_ACT_SIGMOID, 0.f, 2, img));
    TRY(gan_param_uniform_fan_in(c, &g->fc1.w, rng, cfg->nz));
    TRY(gan_param_uniform_fan_in(c, &g->fc2.w, rng, H));
    TRY(gan_nn_wndense_init_params(c, &g->out, rng, cfg->init_std));
cleanup:
    return st;
}

gan_status gan_semi_g_forward(gan_ctx *c, gan_semi_g *g, const gan_tensor *z, int training)
{
    gan_status st = GAN_OK;
    TRY(gan_nn_dense_forward(c, &g->fc1, z));
    TRY(gan_nn_bn_forward(c, &g->bn1, &g->fc1.y, training));
    TRY(gan_nn_act_forward(c, &g->sp1, &g->bn1.y));
    TRY(gan_nn_dense_forward(c, &g->fc2, &g->sp1.y));
    TRY(gan_nn_bn_forward(c, &g->bn2, &g->fc2.y, training));
    TRY(gan_nn_act_forward(c, &g->sp2, &g->bn2.y));
    TRY(gan_nn_wndense_forward(c, &g->out, &g->sp2.y));
    TRY(gan_nn_act_forward(c, &g->sig, &g->out.y));
cleanup:
    return st;
}

gan_status gan_semi_g_backward(gan_ctx *c, gan_semi_g *g, const gan_tensor *z, const gan_tensor *dimg)
{
    gan_status st = GAN_OK;
    TRY(gan_nn_act_backward(c, &g->sig, &g->out.y, dimg));
    TRY(gan_nn_wndense_backward(c, &g->out, &g->sp2.y, &g->sig.dx, 1, 1));
    TRY(gan_nn_act_backward(c, &g->sp2, &g->bn2.y, &g->out.dx));
    TRY(gan_nn_bn_backward(c, &g->bn2, &g->fc2.y, &g->sp2.dx));
    TRY(gan_nn_dense_backward(c, &g->fc2, &g->sp1.y, &g->bn2.dx, 1, 1));
    TRY(gan_nn_act_backward(c, &g->sp1, &g->bn1.y, &g->fc2.dx));
    TRY(gan_nn_bn_backward(c, &g->bn1, &g->fc1.y, &g->sp1.dx));
    TRY(gan_nn_dense_backward(c, &g->fc1, z, &g->bn1.dx, 0, 1));
cleanup:
    return st;
}

void gan_semi_g_free(gan_ctx *c, gan_semi_g *g)
{
    gan_nn_dense_free(c, &g->fc1);
    gan_nn_dense_free(c, &g->fc2);
    gan_nn_bn_free(c, &g->bn1);
    gan_nn_bn_free(c, &g->bn2);
    gan_nn_act_free(c, &g->sp1);
    gan_nn_act_free(c, &g->sp2);
    gan_nn_act_free(c, &g->sig);
    gan_nn_wndense_free(c, &g->out);
    memset(g, 0, sizeof *g);
}
