/* The semi-supervised GAN's networks (include/gancl/semi.h): the
 * weight-normalized dense layer, the MLP discriminator with Gaussian noise
 * layers, and the MLP generator.
 *
 * Initialisation: v ~ N(0, 0.05), g = 1, bias 0 for the weight-normalized
 * layers, PyTorch's default U(-1/sqrt(fan_in), +) for the generator's plain
 * dense layers. Salimans et al. then choose the discriminator's g and bias
 * from the data (gan_semi_data_init in src/train/semi.c; the CLI does). */
#include "gancl/dist.h"
#include "gancl/semi.h"
#include "internal.h"

#include <string.h>

/* ---- weight-normalized dense ---- */

gan_status gan_nn_wndense_init(gan_ctx *c, gan_nn_wndense *l, gan_params *reg, const char *name, int N, int C, int O,
                               int train_g, int act, int noisy)
{
    gan_status st = GAN_OK;
    memset(l, 0, sizeof *l);
    l->N = N;
    l->C = C;
    l->O = O;
    l->train_g = train_g;
    l->act = act;
    l->noisy = noisy;
    int wd[2] = {O, C};
    TRY(gan_param_init(c, &l->v, reg, name, "weight_v", 2, wd));
    TRY(gan_param_init(c, &l->g, train_g ? reg : NULL, name, "weight_g", 1, &O));
    if (!train_g && reg) TRY(gan_params_add_buffer(c, reg, name, "weight_g", &l->g.w));
    TRY(gan_param_init(c, &l->b, reg, name, "bias", 1, &O));
    l->g.no_decay = l->b.no_decay = 1;
    TRY(gan_tensor_alloc4(c, &l->norm, GAN_F32, 1, O, 0, 0, 0));
    gan_tensor *no[] = {&l->t_buf, &l->y_buf, &l->dt_buf};
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) TRY(gan_tensor_alloc4(c, no[i], GAN_F32, 2, N, O, 0, 0));
    if (noisy) TRY(gan_tensor_alloc4(c, &l->h_buf, GAN_F32, 2, N, O, 0, 0));
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

gan_status gan_nn_wndense_forward(gan_ctx *c, gan_nn_wndense *l, const gan_tensor *x, float std, gan_rng *rng)
{
    gan_status st = GAN_OK;
    int n = x->dim[0];
    gan_tensor *h = NULL;
    gan_rng at = {0, 0};
    /* data-parallel: the rows are slices of several batches, whose noise
     * goes by global row (src/train/dist.c) in a pass of its own over y */
    int sliced = std > 0 && gan_dist_sliced(c), done = 0;
    if (std > 0) {
        if (!l->noisy) return GAN_FAIL(c, GAN_ERR_ARG, "noise std %g on a weight-normalized layer made without", std);
        TRY(gan_tensor_narrow(c, &l->h_buf, n, &l->h));
        h = &l->h;
        if (!sliced) at = gan_rng_take(rng, (size_t)n * l->O, 1);
    }
    TRY(gan_tensor_narrow(c, &l->t_buf, n, &l->t));
    TRY(gan_tensor_narrow(c, &l->y_buf, n, &l->y));
    TRY(gan_wn_dense_forward(c, x, &l->v.w, &l->g.w, &l->b.w, l->act, l->slope, sliced ? 0.f : std, at, &l->norm,
                             &l->t, &l->y, sliced ? NULL : h));
    if (sliced) TRY(gan_dist_noise(c, std, rng, &l->y, &l->h, &done));
cleanup:
    return st;
}

gan_status gan_nn_wndense_backward(gan_ctx *c, gan_nn_wndense *l, const gan_tensor *x, const gan_tensor *dy,
                                   int need_dx, int need_grads)
{
    gan_status st = GAN_OK;
    if (!need_dx && !need_grads) return GAN_OK;
    int n = x->dim[0];
    gan_tensor t, y;
    TRY(gan_tensor_narrow(c, &l->t, n, &t));
    TRY(gan_tensor_narrow(c, &l->y, n, &y));
    TRY(gan_tensor_narrow(c, &l->dt_buf, n, &l->dt));
    TRY(gan_tensor_narrow(c, &l->dx_buf, n, &l->dx));
    TRY(gan_wn_dense_backward(c, x, &l->v.w, &l->g.w, &l->norm, &t, &y, l->act, l->slope, dy, &l->dt,
                              need_dx ? &l->dx : NULL, need_grads ? &l->v.g : NULL,
                              need_grads && l->train_g ? &l->g.g : NULL, need_grads ? &l->b.g : NULL));
    if (need_grads && c->dist) { /* data-parallel: their copies may start (src/train/dist.c) */
        TRY(gan_dist_grad_ready(c, &l->v));
        if (l->train_g) TRY(gan_dist_grad_ready(c, &l->g));
        TRY(gan_dist_grad_ready(c, &l->b));
    }
cleanup:
    return st;
}

void gan_nn_wndense_free(gan_ctx *c, gan_nn_wndense *l)
{
    gan_param_free(c, &l->v);
    gan_param_free(c, &l->g);
    gan_param_free(c, &l->b);
    gan_tensor *all[] = {&l->norm, &l->t_buf, &l->y_buf, &l->h_buf, &l->dt_buf, &l->dx_buf};
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
    TRY(gan_tensor_alloc4(c, &d->noise_buf, GAN_F32, 2, N, width[0], 0, 0));
    for (int l = 0; l <= GAN_SEMI_DEPTH; l++) {
        char name[32];
        snprintf(name, sizeof name, "disc.fc%d", l + 1);
        d->std[l] = l == 0 ? cfg->noise_in : cfg->noise_hidden;
        int top = l == GAN_SEMI_DEPTH;
        TRY(gan_nn_wndense_init(c, &d->fc[l], &d->params, name, N, width[l], width[l + 1], top,
                                top ? GAN_WN_LINEAR : GAN_ACT_RELU, !top));
        TRY(gan_nn_wndense_init_params(c, &d->fc[l], rng, cfg->init_std));
    }
cleanup:
    return st;
}

/* Layer l's output drawn with the next layer's input noise in training
 * (h), plain (y) otherwise; features_only leaves the last hidden layer's
 * noise out, the output layer's input. */
gan_status gan_semi_d_forward(gan_ctx *c, gan_semi_d *d, const gan_tensor *x, int training, int features_only,
                              gan_rng *rng)
{
    gan_status st = GAN_OK;
    const gan_tensor *h = x;
    if (training && d->std[0] > 0) {
        int done = 0; /* data-parallel: by global row (src/train/dist.c) */
        TRY(gan_tensor_narrow(c, &d->noise_buf, x->dim[0], &d->noise));
        TRY(gan_dist_noise(c, d->std[0], rng, x, &d->noise, &done));
        if (!done) TRY(gan_noise_forward(c, d->std[0], gan_rng_take(rng, x->numel, 1), x, &d->noise));
        h = &d->noise;
    }
    int top = features_only ? GAN_SEMI_DEPTH - 1 : GAN_SEMI_DEPTH;
    for (int l = 0; l <= top; l++) {
        d->in[l] = h;
        float std = training && l < top ? d->std[l + 1] : 0.f;
        TRY(gan_nn_wndense_forward(c, &d->fc[l], h, std, rng));
        h = std > 0 ? &d->fc[l].h : &d->fc[l].y;
    }
cleanup:
    return st;
}

/* The noise layers add a constant to their input as far as gradients go:
 * their backward is the identity, so dL/dh of a layer is dL/dy. */
gan_status gan_semi_d_backward(gan_ctx *c, gan_semi_d *d, const gan_tensor *dtop, int from_features, int need_dx,
                               int need_grads)
{
    gan_status st = GAN_OK;
    const gan_tensor *dy = dtop;
    for (int l = from_features ? GAN_SEMI_DEPTH - 1 : GAN_SEMI_DEPTH; l >= 0; l--) {
        gan_tensor in;
        TRY(gan_tensor_narrow(c, d->in[l], dy->dim[0], &in));
        TRY(gan_nn_wndense_backward(c, &d->fc[l], &in, dy, l > 0 || need_dx, need_grads));
        dy = &d->fc[l].dx;
    }
cleanup:
    return st;
}

void gan_semi_d_free(gan_ctx *c, gan_semi_d *d)
{
    for (int l = 0; l <= GAN_SEMI_DEPTH; l++) gan_nn_wndense_free(c, &d->fc[l]);
    gan_tensor_free(c, &d->noise_buf);
    memset(d, 0, sizeof *d);
}

/* ---- generator ---- */

gan_status gan_semi_g_init(gan_ctx *c, gan_semi_g *g, const gan_semi_config *cfg, int N, gan_rng *rng)
{
    gan_status st = GAN_OK;
    memset(g, 0, sizeof *g);
    int H = cfg->g_hidden, hid[2] = {N, H};
    gan_params *r = &g->params;
    /* the dense layers feed batch norm, which cancels a bias */
    TRY(gan_nn_dense_init(c, &g->fc1, r, "gen.fc1", N, cfg->nz, H, 0));
    TRY(gan_nn_bn_init(c, &g->bn1, r, "gen.bn1", 2, hid));
    TRY(gan_nn_act_init(c, &g->sp1, GAN_ACT_SOFTPLUS, 0.f, 2, hid));
    TRY(gan_nn_dense_init(c, &g->fc2, r, "gen.fc2", N, H, H, 0));
    TRY(gan_nn_bn_init(c, &g->bn2, r, "gen.bn2", 2, hid));
    TRY(gan_nn_act_init(c, &g->sp2, GAN_ACT_SOFTPLUS, 0.f, 2, hid));
    TRY(gan_nn_wndense_init(c, &g->out, r, "gen.fc3", N, H, 784, 1, GAN_ACT_SIGMOID, 0));
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
    TRY(gan_nn_wndense_forward(c, &g->out, &g->sp2.y, 0.f, NULL));
cleanup:
    return st;
}

gan_status gan_semi_g_backward(gan_ctx *c, gan_semi_g *g, const gan_tensor *z, const gan_tensor *dimg)
{
    gan_status st = GAN_OK;
    TRY(gan_nn_wndense_backward(c, &g->out, &g->sp2.y, dimg, 1, 1));
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
    gan_nn_wndense_free(c, &g->out);
    memset(g, 0, sizeof *g);
}
