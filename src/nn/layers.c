/* Layers on top of the op table (include/gancl/nn.h). Every buffer is
 * allocated at init; forward and backward only call ops. */
#include "gancl/dist.h"
#include "gancl/nn.h"
#include "internal.h"

#include <math.h>
#include <string.h>

/* Narrow an owned buffer to the batch of `like` (dim 0). */
static gan_status fit(gan_ctx *c, const gan_tensor *buf, const gan_tensor *like, gan_tensor *view)
{
    return gan_tensor_narrow(c, buf, like->dim[0], view);
}

/* Data-parallel: the backward has queued these gradients (NULL: none), so
 * their copies to the host may start (src/train/dist.c). */
static gan_status grads_ready(gan_ctx *c, gan_status st, gan_param *a, gan_param *b)
{
    if (st || !c->dist) return st;
    if (a && (st = gan_dist_grad_ready(c, a))) return st;
    return b ? gan_dist_grad_ready(c, b) : GAN_OK;
}

gan_rng gan_rng_take(gan_rng *r, size_t n, int normal)
{
    gan_rng at = *r;
    size_t per = normal ? 2 : 4;
    r->counter += (n + per - 1) / per;
    return at;
}

gan_status gan_param_init(gan_ctx *c, gan_param *p, gan_params *reg, const char *prefix, const char *name, int ndim,
                          const int *dim)
{
    gan_status st = GAN_OK;
    memset(p, 0, sizeof *p);
    snprintf(p->name, sizeof p->name, "%s.%s", prefix, name);
    TRY(gan_tensor_alloc(c, &p->w, GAN_F32, ndim, dim));
    TRY(gan_tensor_alloc(c, &p->g, GAN_F32, ndim, dim));
    TRY(gan_tensor_alloc(c, &p->m, GAN_F32, ndim, dim));
    TRY(gan_tensor_alloc(c, &p->v, GAN_F32, ndim, dim));
    if (reg) {
        if (reg->n >= GAN_MAX_PARAMS) {
            st = GAN_FAIL(c, GAN_ERR_ARG, "more than %d parameters (adding %s)", GAN_MAX_PARAMS, p->name);
            goto cleanup;
        }
        reg->p[reg->n++] = p;
    }
cleanup:
    return st;
}

gan_status gan_params_add_buffer(gan_ctx *c, gan_params *reg, const char *prefix, const char *name, gan_tensor *t)
{
    if (reg->nbuf >= GAN_MAX_PARAMS)
        return GAN_FAIL(c, GAN_ERR_ARG, "more than %d buffers (adding %s.%s)", GAN_MAX_PARAMS, prefix, name);
    gan_buffer_ref *b = &reg->buf[reg->nbuf++];
    snprintf(b->name, sizeof b->name, "%s.%s", prefix, name);
    b->t = t;
    return GAN_OK;
}

gan_status gan_params_add_counter(gan_ctx *c, gan_params *reg, const char *prefix, const char *name, int64_t *v)
{
    if (reg->ncnt >= GAN_MAX_PARAMS)
        return GAN_FAIL(c, GAN_ERR_ARG, "more than %d counters (adding %s.%s)", GAN_MAX_PARAMS, prefix, name);
    gan_counter_ref *b = &reg->cnt[reg->ncnt++];
    snprintf(b->name, sizeof b->name, "%s.%s", prefix, name);
    b->v = v;
    return GAN_OK;
}

void gan_param_free(gan_ctx *c, gan_param *p)
{
    gan_tensor_free(c, &p->w);
    gan_tensor_free(c, &p->g);
    gan_tensor_free(c, &p->m);
    gan_tensor_free(c, &p->v);
}

/* Adam on every parameter of reg, with avg (one tensor a parameter) the
 * parameter average a += rate (p - a) in the same pass (adam_ema_step). */
static gan_status params_adam(gan_ctx *c, gan_params *reg, const gan_adam_params *hp, float rate, gan_tensor *avg)
{
    if (c->dist) { /* data-parallel: the gradients summed over the ranks first (src/train/dist.c) */
        gan_status st = gan_dist_grads(c, reg);
        if (st) return st;
    }
    for (int i = 0; i < reg->n; i++) {
        gan_param *p = reg->p[i];
        gan_status st = avg ? gan_adam_ema_step(c, &p->w, &p->g, &p->m, &p->v, hp, rate, &avg[i])
                            : gan_adam_step(c, &p->w, &p->g, &p->m, &p->v, hp);
        if (st) return st;
    }
    return GAN_OK;
}

gan_status gan_params_adam(gan_ctx *c, gan_params *reg, const gan_adam_params *hp)
{
    return params_adam(c, reg, hp, 0.f, NULL);
}

gan_status gan_params_adam_ema(gan_ctx *c, gan_params *reg, const gan_adam_params *hp, float rate, gan_tensor *avg)
{
    return params_adam(c, reg, hp, rate, avg);
}

size_t gan_params_count(const gan_params *reg)
{
    size_t n = 0;
    for (int i = 0; i < reg->n; i++) n += reg->p[i]->w.numel;
    return n;
}

gan_status gan_param_normal(gan_ctx *c, gan_param *p, gan_rng *rng, float std)
{
    return gan_rng_normal(c, gan_rng_take(rng, p->w.numel, 1), 0.f, std, &p->w);
}

gan_status gan_param_uniform_fan_in(gan_ctx *c, gan_param *p, gan_rng *rng, int fan_in)
{
    /* w = bound * (2u - 1), u uniform in [0, 1); g is free at init and
     * serves as the temporary */
    float bound = 1.f / sqrtf((float)fan_in);
    gan_status st;
    if ((st = gan_rng_uniform(c, gan_rng_take(rng, p->w.numel, 0), &p->w)) || (st = gan_fill(c, &p->g, -bound)) ||
        (st = gan_axpy(c, 2.f * bound, &p->w, &p->g)) || (st = gan_copy(c, &p->g, &p->w)))
        return st;
    return gan_fill(c, &p->g, 0.f);
}

/* ---- dense ---- */

gan_status gan_nn_dense_init(gan_ctx *c, gan_nn_dense *l, gan_params *reg, const char *name, int N, int C, int O,
                             int bias)
{
    gan_status st = GAN_OK;
    memset(l, 0, sizeof *l);
    *l = (gan_nn_dense){.N = N, .C = C, .O = O, .has_bias = bias};
    int wd[2] = {O, C};
    TRY(gan_param_init(c, &l->w, reg, name, "weight", 2, wd));
    if (bias) TRY(gan_param_init(c, &l->b, reg, name, "bias", 1, &O));
    TRY(gan_tensor_alloc4(c, &l->y_buf, GAN_F32, 2, N, O, 0, 0));
    TRY(gan_tensor_alloc4(c, &l->dx_buf, GAN_F32, 2, N, C, 0, 0));
cleanup:
    return st;
}

gan_status gan_nn_dense_forward(gan_ctx *c, gan_nn_dense *l, const gan_tensor *x)
{
    gan_status st = fit(c, &l->y_buf, x, &l->y);
    if (st) return st;
    return gan_dense_forward(c, x, &l->w.w, l->has_bias ? &l->b.w : NULL, &l->y);
}

gan_status gan_nn_dense_backward(gan_ctx *c, gan_nn_dense *l, const gan_tensor *x, const gan_tensor *dy, int need_dx,
                                 int need_grads)
{
    gan_status st = fit(c, &l->dx_buf, x, &l->dx);
    if (st) return st;
    st = gan_dense_backward(c, x, &l->w.w, dy, need_dx ? &l->dx : NULL, need_grads ? &l->w.g : NULL,
                            need_grads && l->has_bias ? &l->b.g : NULL);
    return need_grads ? grads_ready(c, st, &l->w, l->has_bias ? &l->b : NULL) : st;
}

void gan_nn_dense_free(gan_ctx *c, gan_nn_dense *l)
{
    gan_param_free(c, &l->w);
    gan_param_free(c, &l->b);
    gan_tensor_free(c, &l->y_buf);
    gan_tensor_free(c, &l->dx_buf);
}

/* ---- conv / transposed conv ---- */

gan_status gan_nn_conv_init(gan_ctx *c, gan_nn_conv *l, gan_params *reg, const char *name, int transposed, int N,
                            int C, int H, int W, int O, int K, int stride, int pad, int out_pad, int bias)
{
    gan_status st = GAN_OK;
    memset(l, 0, sizeof *l);
    *l = (gan_nn_conv){.transposed = transposed, .N = N, .C = C, .O = O, .H = H, .W = W, .K = K, .has_bias = bias,
                       .p = {.stride = stride, .pad = pad, .out_pad = out_pad}};
    if (transposed) {
        l->OH = (H - 1) * stride - 2 * pad + K + out_pad;
        l->OW = (W - 1) * stride - 2 * pad + K + out_pad;
    } else {
        l->OH = (H + 2 * pad - K) / stride + 1;
        l->OW = (W + 2 * pad - K) / stride + 1;
    }
    if (l->OH < 1 || l->OW < 1) return GAN_FAIL(c, GAN_ERR_SHAPE, "layer %s: output would be %dx%d", name, l->OH, l->OW);
    int wd[4] = {transposed ? C : O, transposed ? O : C, K, K};
    TRY(gan_param_init(c, &l->w, reg, name, "weight", 4, wd));
    if (bias) TRY(gan_param_init(c, &l->b, reg, name, "bias", 1, &O));
    TRY(gan_tensor_alloc4(c, &l->y_buf, GAN_F32, 4, N, O, l->OH, l->OW));
    TRY(gan_tensor_alloc4(c, &l->dx_buf, GAN_F32, 4, N, C, H, W));
cleanup:
    return st;
}

gan_status gan_nn_conv_forward(gan_ctx *c, gan_nn_conv *l, const gan_tensor *x)
{
    gan_status st = fit(c, &l->y_buf, x, &l->y);
    if (st) return st;
    const gan_tensor *b = l->has_bias ? &l->b.w : NULL;
    return l->transposed ? gan_deconv2d_forward(c, x, &l->w.w, b, &l->y, &l->p)
                         : gan_conv2d_forward(c, x, &l->w.w, b, &l->y, &l->p);
}

gan_status gan_nn_conv_relu_forward(gan_ctx *c, gan_nn_conv *l, const gan_tensor *x)
{
    if (l->transposed) return GAN_FAIL(c, GAN_ERR_ARG, "conv layer with relu: only a conv2d, not a transposed conv");
    gan_status st = fit(c, &l->y_buf, x, &l->y);
    if (st) return st;
    return gan_conv2d_relu_forward(c, x, &l->w.w, l->has_bias ? &l->b.w : NULL, &l->y, &l->p);
}

static gan_status conv_backward(gan_ctx *c, gan_nn_conv *l, const gan_tensor *x, const gan_tensor *dy, int need_dx,
                                int need_grads, int relu)
{
    gan_tensor *dx = need_dx ? &l->dx : NULL, *dw = need_grads ? &l->w.g : NULL;
    gan_tensor *db = need_grads && l->has_bias ? &l->b.g : NULL;
    if (!dx && !dw) return GAN_OK;
    if (relu && l->transposed)
        return GAN_FAIL(c, GAN_ERR_ARG, "conv layer with relu input: only a conv2d, not a transposed conv");
    gan_status st = fit(c, &l->dx_buf, x, &l->dx);
    if (st) return st;
    st = l->transposed ? gan_deconv2d_backward(c, x, &l->w.w, dy, dx, dw, db, &l->p)
         : relu        ? gan_conv2d_relu_backward(c, x, &l->w.w, dy, dx, dw, db, &l->p)
                       : gan_conv2d_backward(c, x, &l->w.w, dy, dx, dw, db, &l->p);
    return dw ? grads_ready(c, st, &l->w, db ? &l->b : NULL) : st;
}

gan_status gan_nn_conv_backward(gan_ctx *c, gan_nn_conv *l, const gan_tensor *x, const gan_tensor *dy, int need_dx,
                                int need_grads)
{
    return conv_backward(c, l, x, dy, need_dx, need_grads, 0);
}

gan_status gan_nn_conv_relu_backward(gan_ctx *c, gan_nn_conv *l, const gan_tensor *x, const gan_tensor *dy,
                                     int need_dx, int need_grads)
{
    return conv_backward(c, l, x, dy, need_dx, need_grads, 1);
}

void gan_nn_conv_free(gan_ctx *c, gan_nn_conv *l)
{
    gan_param_free(c, &l->w);
    gan_param_free(c, &l->b);
    gan_tensor_free(c, &l->y_buf);
    gan_tensor_free(c, &l->dx_buf);
}

/* ---- batch norm ---- */

gan_status gan_nn_bn_init(gan_ctx *c, gan_nn_bn *l, gan_params *reg, const char *name, int ndim, const int *dim)
{
    gan_status st = GAN_OK;
    memset(l, 0, sizeof *l);
    l->p = (gan_bn_params){.momentum = 0.1f, .eps = 1e-5f, .training = 1};
    int C = dim[1];
    TRY(gan_param_init(c, &l->gamma, reg, name, "weight", 1, &C));
    TRY(gan_param_init(c, &l->beta, reg, name, "bias", 1, &C));
    l->gamma.no_decay = l->beta.no_decay = 1;
    TRY(gan_fill(c, &l->gamma.w, 1.f));
    TRY(gan_tensor_alloc(c, &l->run_mean, GAN_F32, 1, &C));
    TRY(gan_tensor_alloc(c, &l->run_var, GAN_F32, 1, &C));
    TRY(gan_fill(c, &l->run_var, 1.f));
    if (reg) {
        TRY(gan_params_add_buffer(c, reg, name, "running_mean", &l->run_mean));
        TRY(gan_params_add_buffer(c, reg, name, "running_var", &l->run_var));
        TRY(gan_params_add_counter(c, reg, name, "num_batches_tracked", &l->num_batches_tracked));
    }
    TRY(gan_tensor_alloc(c, &l->save_mean, GAN_F32, 1, &C));
    TRY(gan_tensor_alloc(c, &l->save_invstd, GAN_F32, 1, &C));
    TRY(gan_tensor_alloc(c, &l->y_buf, GAN_F32, ndim, dim));
    TRY(gan_tensor_alloc(c, &l->dx_buf, GAN_F32, ndim, dim));
cleanup:
    return st;
}

gan_status gan_nn_bn_forward(gan_ctx *c, gan_nn_bn *l, const gan_tensor *x, int training)
{
    gan_status st = fit(c, &l->y_buf, x, &l->y);
    if (st) return st;
    l->p.training = training;
    if (training) l->num_batches_tracked++;
    int done = 0; /* data-parallel: the global batch's statistics (src/train/dist.c) */
    if (training && c->dist && ((st = gan_dist_bn_forward(c, l, x, &done)) || done)) return st;
    return gan_batchnorm_forward(c, x, &l->gamma.w, &l->beta.w, &l->run_mean, &l->run_var, &l->save_mean,
                                 &l->save_invstd, &l->y, &l->p);
}

gan_status gan_nn_bn_backward(gan_ctx *c, gan_nn_bn *l, const gan_tensor *x, const gan_tensor *dy)
{
    gan_status st = fit(c, &l->dx_buf, x, &l->dx);
    if (st) return st;
    int done = 0;
    if (c->dist && ((st = gan_dist_bn_backward(c, l, x, dy, &done)) || done))
        return grads_ready(c, st, &l->gamma, &l->beta);
    st = gan_batchnorm_backward(c, x, &l->gamma.w, &l->save_mean, &l->save_invstd, dy, &l->dx, &l->gamma.g,
                                &l->beta.g);
    return grads_ready(c, st, &l->gamma, &l->beta);
}

void gan_nn_bn_free(gan_ctx *c, gan_nn_bn *l)
{
    gan_param_free(c, &l->gamma);
    gan_param_free(c, &l->beta);
    gan_tensor *all[] = {&l->run_mean, &l->run_var, &l->save_mean, &l->save_invstd, &l->y_buf, &l->dx_buf};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) gan_tensor_free(c, all[i]);
}

/* ---- activation ---- */

gan_status gan_nn_act_init(gan_ctx *c, gan_nn_act *l, gan_act kind, float slope, int ndim, const int *dim)
{
    gan_status st = GAN_OK;
    memset(l, 0, sizeof *l);
    l->kind = kind;
    l->slope = slope;
    TRY(gan_tensor_alloc(c, &l->y_buf, GAN_F32, ndim, dim));
    TRY(gan_tensor_alloc(c, &l->dx_buf, GAN_F32, ndim, dim));
cleanup:
    return st;
}

gan_status gan_nn_act_forward(gan_ctx *c, gan_nn_act *l, const gan_tensor *x)
{
    gan_status st = fit(c, &l->y_buf, x, &l->y);
    if (st) return st;
    return gan_act_forward(c, l->kind, l->slope, x, &l->y);
}

gan_status gan_nn_act_backward(gan_ctx *c, gan_nn_act *l, const gan_tensor *x, const gan_tensor *dy)
{
    gan_status st = fit(c, &l->dx_buf, x, &l->dx);
    if (st) return st;
    return gan_act_backward(c, l->kind, l->slope, x, &l->y, dy, &l->dx);
}

void gan_nn_act_free(gan_ctx *c, gan_nn_act *l)
{
    gan_tensor_free(c, &l->y_buf);
    gan_tensor_free(c, &l->dx_buf);
}

/* ---- dropout ---- */

gan_status gan_nn_dropout_init(gan_ctx *c, gan_nn_dropout *l, float p, int ndim, const int *dim)
{
    gan_status st = GAN_OK;
    memset(l, 0, sizeof *l);
    l->p = p;
    TRY(gan_tensor_alloc(c, &l->mask_buf, GAN_F32, ndim, dim));
    TRY(gan_tensor_alloc(c, &l->y_buf, GAN_F32, ndim, dim));
    TRY(gan_tensor_alloc(c, &l->dx_buf, GAN_F32, ndim, dim));
cleanup:
    return st;
}

gan_status gan_nn_dropout_forward(gan_ctx *c, gan_nn_dropout *l, const gan_tensor *x, int training, gan_rng *rng)
{
    gan_status st;
    if ((st = fit(c, &l->y_buf, x, &l->y)) || (st = fit(c, &l->mask_buf, x, &l->mask))) return st;
    l->active = training && l->p > 0;
    if (!l->active) return gan_copy(c, x, &l->y);
    int done = 0;
    if (c->dist && ((st = gan_dist_dropout(c, l->p, rng, x, &l->mask, &l->y, &done)) || done)) return st;
    return gan_dropout_forward(c, l->p, gan_rng_take(rng, x->numel, 0), x, &l->mask, &l->y);
}

gan_status gan_nn_dropout_backward(gan_ctx *c, gan_nn_dropout *l, const gan_tensor *dy)
{
    gan_status st = fit(c, &l->dx_buf, dy, &l->dx);
    if (st) return st;
    if (!l->active) return gan_copy(c, dy, &l->dx);
    return gan_dropout_backward(c, &l->mask, dy, &l->dx);
}

void gan_nn_dropout_free(gan_ctx *c, gan_nn_dropout *l)
{
    gan_tensor_free(c, &l->mask_buf);
    gan_tensor_free(c, &l->y_buf);
    gan_tensor_free(c, &l->dx_buf);
}
