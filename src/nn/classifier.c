/* The Keras MNIST CNN (include/gancl/classifier.h) and the 2x2 max-pool
 * layer it needs, built on the layers of nn.h. */
#include "gancl/classifier.h"
#include "internal.h"

#include <string.h>

gan_cnn_config gan_cnn_default(void)
{
    return (gan_cnn_config){.c1 = 32, .c2 = 64, .hidden = 128, .drop1 = 0.25f, .drop2 = 0.5f};
}

/* ---- max pool ---- */

gan_status gan_nn_maxpool_init(gan_ctx *c, gan_nn_maxpool *l, int N, int C, int H, int W)
{
    gan_status st = GAN_OK;
    memset(l, 0, sizeof *l);
    TRY(gan_tensor_alloc4(c, &l->y_buf, GAN_F32, 4, N, C, H / 2, W / 2));
    TRY(gan_tensor_alloc4(c, &l->idx_buf, GAN_I32, 4, N, C, H / 2, W / 2));
    TRY(gan_tensor_alloc4(c, &l->dx_buf, GAN_F32, 4, N, C, H, W));
cleanup:
    return st;
}

static gan_status maxpool_forward(gan_ctx *c, gan_nn_maxpool *l, const gan_tensor *x, int relu)
{
    gan_status st;
    if ((st = gan_tensor_narrow(c, &l->y_buf, x->dim[0], &l->y)) ||
        (st = gan_tensor_narrow(c, &l->idx_buf, x->dim[0], &l->idx)))
        return st;
    return relu ? gan_maxpool2_relu_forward(c, x, &l->y, &l->idx) : gan_maxpool2_forward(c, x, &l->y, &l->idx);
}

static gan_status maxpool_backward(gan_ctx *c, gan_nn_maxpool *l, const gan_tensor *x, const gan_tensor *dy, int relu)
{
    gan_status st = gan_tensor_narrow(c, &l->dx_buf, x->dim[0], &l->dx);
    if (st) return st;
    return relu ? gan_maxpool2_relu_backward(c, &l->idx, &l->y, dy, &l->dx)
                : gan_maxpool2_backward(c, &l->idx, dy, &l->dx);
}

gan_status gan_nn_maxpool_forward(gan_ctx *c, gan_nn_maxpool *l, const gan_tensor *x)
{
    return maxpool_forward(c, l, x, 0);
}

gan_status gan_nn_maxpool_backward(gan_ctx *c, gan_nn_maxpool *l, const gan_tensor *x, const gan_tensor *dy)
{
    return maxpool_backward(c, l, x, dy, 0);
}

gan_status gan_nn_maxpool_relu_forward(gan_ctx *c, gan_nn_maxpool *l, const gan_tensor *x)
{
    return maxpool_forward(c, l, x, 1);
}

gan_status gan_nn_maxpool_relu_backward(gan_ctx *c, gan_nn_maxpool *l, const gan_tensor *x, const gan_tensor *dy)
{
    return maxpool_backward(c, l, x, dy, 1);
}

void gan_nn_maxpool_free(gan_ctx *c, gan_nn_maxpool *l)
{
    gan_tensor_free(c, &l->y_buf);
    gan_tensor_free(c, &l->idx_buf);
    gan_tensor_free(c, &l->dx_buf);
}

/* ---- the network ---- */

gan_status gan_cnn_init(gan_ctx *c, gan_cnn *m, const gan_cnn_config *cfg, int N, gan_rng *rng)
{
    gan_status st = GAN_OK;
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    m->N = N;
    if (N < 1 || cfg->c1 < 1 || cfg->c2 < 1 || cfg->hidden < 1)
        return GAN_FAIL(c, GAN_ERR_ARG, "classifier: batch %d, widths %d/%d/%d: expected all >= 1", N, cfg->c1,
                        cfg->c2, cfg->hidden);
    if (!(cfg->drop1 >= 0 && cfg->drop1 < 1 && cfg->drop2 >= 0 && cfg->drop2 < 1))
        return GAN_FAIL(c, GAN_ERR_ARG, "classifier: dropout %g/%g: expected [0, 1)", cfg->drop1, cfg->drop2);
    int c1 = cfg->c1, c2 = cfg->c2, hid = cfg->hidden;
    int hp[4] = {N, c2, 12, 12}, hd[2] = {N, hid};
    gan_params *r = &m->params;
    TRY(gan_nn_conv_init(c, &m->conv1, r, "cls.conv1", 0, N, 1, 28, 28, c1, 3, 1, 0, 0, 1));
    TRY(gan_nn_conv_init(c, &m->conv2, r, "cls.conv2", 0, N, c1, 26, 26, c2, 3, 1, 0, 0, 1));
    TRY(gan_nn_maxpool_init(c, &m->pool, N, c2, 24, 24));
    TRY(gan_nn_dropout_init(c, &m->dr1, cfg->drop1, 4, hp));
    TRY(gan_nn_dense_init(c, &m->fc1, r, "cls.fc1", N, c2 * 144, hid, 1));
    TRY(gan_nn_act_init(c, &m->a3, GAN_ACT_RELU, 0.f, 2, hd));
    TRY(gan_nn_dropout_init(c, &m->dr2, cfg->drop2, 2, hd));
    TRY(gan_nn_dense_init(c, &m->fc2, r, "cls.fc2", N, hid, GAN_CNN_CLASSES, 1));
    /* PyTorch's default: weight and bias both U(+-1/sqrt(fan_in)), fan_in
     * the weight's inputs per output (C*K*K for a conv) */
    gan_param *ps[4][2] = {{&m->conv1.w, &m->conv1.b}, {&m->conv2.w, &m->conv2.b}, {&m->fc1.w, &m->fc1.b},
                           {&m->fc2.w, &m->fc2.b}};
    for (int i = 0; i < 4; i++) {
        int fan_in = (int)(ps[i][0]->w.numel / (size_t)ps[i][0]->w.dim[0]);
        TRY(gan_param_uniform_fan_in(c, ps[i][0], rng, fan_in));
        TRY(gan_param_uniform_fan_in(c, ps[i][1], rng, fan_in));
    }
cleanup:
    return st;
}

gan_status gan_cnn_forward(gan_ctx *c, gan_cnn *m, const gan_tensor *x, int training, gan_rng *rng)
{
    gan_status st = GAN_OK;
    int flat[2] = {x->dim[0], m->cfg.c2 * 144};
    if (training && !rng) return GAN_FAIL(c, GAN_ERR_ARG, "classifier: a training forward needs an rng");
    /* conv1's ReLU in its last pass (conv1.y is the activation), and its
     * backward in conv2's data gradient: the same floats as the separate
     * activation layer, one pass over 32x26x26 per image less each way */
    TRY(gan_nn_conv_relu_forward(c, &m->conv1, x));
    TRY(gan_nn_conv_forward(c, &m->conv2, &m->conv1.y));
    /* ReLU then max pool, computed as max pool then ReLU: relu(max x) =
     * max(relu x) for a nondecreasing activation, and the gradients agree
     * (where the window's max is <= 0 both are 0; elsewhere the same
     * element is the first max), so the result is the same to the bit
     * while the activation touches a quarter of the elements; both in the
     * pool's pass (maxpool2_relu_*) */
    TRY(gan_nn_maxpool_relu_forward(c, &m->pool, &m->conv2.y));
    TRY(gan_nn_dropout_forward(c, &m->dr1, &m->pool.y, training, rng));
    TRY(gan_tensor_view(c, &m->dr1.y, 2, flat, &m->flat));
    TRY(gan_nn_dense_forward(c, &m->fc1, &m->flat));
    TRY(gan_nn_act_forward(c, &m->a3, &m->fc1.y));
    TRY(gan_nn_dropout_forward(c, &m->dr2, &m->a3.y, training, rng));
    TRY(gan_nn_dense_forward(c, &m->fc2, &m->dr2.y));
cleanup:
    return st;
}

gan_status gan_cnn_backward(gan_ctx *c, gan_cnn *m, const gan_tensor *x, const gan_tensor *dlogits)
{
    gan_status st = GAN_OK;
    TRY(gan_nn_dense_backward(c, &m->fc2, &m->dr2.y, dlogits, 1, 1));
    TRY(gan_nn_dropout_backward(c, &m->dr2, &m->fc2.dx));
    TRY(gan_nn_act_backward(c, &m->a3, &m->fc1.y, &m->dr2.dx));
    TRY(gan_nn_dense_backward(c, &m->fc1, &m->flat, &m->a3.dx, 1, 1));
    TRY(gan_tensor_view(c, &m->fc1.dx, 4, m->dr1.y.dim, &m->fc1_dx_img));
    TRY(gan_nn_dropout_backward(c, &m->dr1, &m->fc1_dx_img));
    TRY(gan_nn_maxpool_relu_backward(c, &m->pool, &m->conv2.y, &m->dr1.dx));
    TRY(gan_nn_conv_relu_backward(c, &m->conv2, &m->conv1.y, &m->pool.dx, 1, 1));
    TRY(gan_nn_conv_backward(c, &m->conv1, x, &m->conv2.dx, 0, 1));
cleanup:
    return st;
}

void gan_cnn_free(gan_ctx *c, gan_cnn *m)
{
    gan_nn_conv_free(c, &m->conv1);
    gan_nn_conv_free(c, &m->conv2);
    gan_nn_act_free(c, &m->a3);
    gan_nn_maxpool_free(c, &m->pool);
    gan_nn_dropout_free(c, &m->dr1);
    gan_nn_dropout_free(c, &m->dr2);
    gan_nn_dense_free(c, &m->fc1);
    gan_nn_dense_free(c, &m->fc2);
    memset(m, 0, sizeof *m);
}
