/* gancl layers: each kind is a small struct with _init/_forward/_backward/
 * _free, written llm.c style (explicit forward and backward, no autograd
 * tape). A layer allocates its parameters, gradients, Adam moments, output
 * and input-gradient buffers once, at init, for a fixed batch size N; a
 * training step allocates nothing. Parameter names follow PyTorch's module
 * naming ("gen.deconv1.weight") and layouts (Linear [out,in], Conv2d
 * [out,in,kh,kw], ConvTranspose2d [in,out,kh,kw]).
 *
 * A layer serves any batch up to the N it was made for: forward and
 * backward narrow the owned buffers (y_buf, dx_buf) to the input's batch and
 * leave the views in y and dx, which are what callers read. */
#ifndef GANCL_NN_H
#define GANCL_NN_H

#include "gancl/ckpt.h"
#include "gancl/gancl.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gan_param {
    char name[64];
    gan_tensor w, g, m, v; /* value, gradient, Adam first and second moments */
    int no_decay;
} gan_param;

#define GAN_MAX_PARAMS 64

/* A named non-trainable tensor a checkpoint must keep (BN running stats). */
typedef struct gan_buffer_ref {
    char name[64];
    gan_tensor *t;
} gan_buffer_ref;

/* A named host-side integer a checkpoint keeps as an I64 scalar (BN's
 * num_batches_tracked). */
typedef struct gan_counter_ref {
    char name[64];
    int64_t *v;
} gan_counter_ref;

/* Every parameter and buffer of a model, for the optimizer and checkpoints. */
typedef struct gan_params {
    gan_param *p[GAN_MAX_PARAMS];
    int n;
    gan_buffer_ref buf[GAN_MAX_PARAMS];
    int nbuf;
    gan_counter_ref cnt[GAN_MAX_PARAMS];
    int ncnt;
} gan_params;

/* Take the next n draws from a stream: returns the stream position to pass
 * to a random op and advances *r past the blocks it uses (n/4 blocks for
 * uniform draws, n/2 for normal ones, rounded up). */
gan_rng gan_rng_take(gan_rng *r, size_t n, int normal);

gan_status gan_param_init(gan_ctx *c, gan_param *p, gan_params *reg, const char *prefix, const char *name, int ndim,
                          const int *dim);
void gan_param_free(gan_ctx *c, gan_param *p);
gan_status gan_params_add_buffer(gan_ctx *c, gan_params *reg, const char *prefix, const char *name, gan_tensor *t);
gan_status gan_params_add_counter(gan_ctx *c, gan_params *reg, const char *prefix, const char *name, int64_t *v);
/* Adam step on every parameter in reg (hp->step is the step being taken). */
gan_status gan_params_adam(gan_ctx *c, gan_params *reg, const gan_adam_params *hp);
/* The same, and the parameter average avg[i] += rate (p - avg[i]) of
 * parameter i in the same pass (op adam_ema_step; avg: reg->n tensors). */
gan_status gan_params_adam_ema(gan_ctx *c, gan_params *reg, const gan_adam_params *hp, float rate, gan_tensor *avg);
/* Number of scalars in all parameters. */
size_t gan_params_count(const gan_params *reg);

/* Initialisers: N(0, std) (DCGAN) or PyTorch's default U(-1/sqrt(fan_in), +). */
gan_status gan_param_normal(gan_ctx *c, gan_param *p, gan_rng *rng, float std);
gan_status gan_param_uniform_fan_in(gan_ctx *c, gan_param *p, gan_rng *rng, int fan_in);

/* ---- dense: x[N,C] -> y[N,O] ---- */
typedef struct gan_nn_dense {
    int N, C, O, has_bias;
    gan_param w, b;
    gan_tensor y_buf, dx_buf, y, dx;
} gan_nn_dense;
gan_status gan_nn_dense_init(gan_ctx *c, gan_nn_dense *l, gan_params *reg, const char *name, int N, int C, int O,
                             int bias);
gan_status gan_nn_dense_forward(gan_ctx *c, gan_nn_dense *l, const gan_tensor *x);
/* Writes l->dx when need_dx, and the parameter gradients when need_grads. */
gan_status gan_nn_dense_backward(gan_ctx *c, gan_nn_dense *l, const gan_tensor *x, const gan_tensor *dy, int need_dx,
                                 int need_grads);
void gan_nn_dense_free(gan_ctx *c, gan_nn_dense *l);

/* ---- conv / transposed conv: x[N,C,H,W] -> y[N,O,OH,OW] ---- */
typedef struct gan_nn_conv {
    int transposed, N, C, O, H, W, OH, OW, K, has_bias;
    gan_conv2d_params p;
    gan_param w, b;
    gan_tensor y_buf, dx_buf, y, dx;
} gan_nn_conv;
gan_status gan_nn_conv_init(gan_ctx *c, gan_nn_conv *l, gan_params *reg, const char *name, int transposed, int N,
                            int C, int H, int W, int O, int K, int stride, int pad, int out_pad, int bias);
gan_status gan_nn_conv_forward(gan_ctx *c, gan_nn_conv *l, const gan_tensor *x);
/* A conv (not transposed) followed by a ReLU, in one op: y = relu(conv(x)). */
gan_status gan_nn_conv_relu_forward(gan_ctx *c, gan_nn_conv *l, const gan_tensor *x);
gan_status gan_nn_conv_backward(gan_ctx *c, gan_nn_conv *l, const gan_tensor *x, const gan_tensor *dy, int need_dx,
                                int need_grads);
/* The backward of a conv (not transposed) whose input x came out of a ReLU
 * (x = relu(u)): dx is dL/du, the ReLU's backward folded in. */
gan_status gan_nn_conv_relu_backward(gan_ctx *c, gan_nn_conv *l, const gan_tensor *x, const gan_tensor *dy,
                                     int need_dx, int need_grads);
void gan_nn_conv_free(gan_ctx *c, gan_nn_conv *l);

/* ---- batch norm over [N,C] or [N,C,H,W] ---- */
typedef struct gan_nn_bn {
    gan_param gamma, beta;
    gan_tensor run_mean, run_var, save_mean, save_invstd, y_buf, dx_buf, y, dx;
    gan_bn_params p;
    int64_t num_batches_tracked; /* training forwards (running-statistics updates), as PyTorch counts them */
} gan_nn_bn;
gan_status gan_nn_bn_init(gan_ctx *c, gan_nn_bn *l, gan_params *reg, const char *name, int ndim, const int *dim);
gan_status gan_nn_bn_forward(gan_ctx *c, gan_nn_bn *l, const gan_tensor *x, int training);
gan_status gan_nn_bn_backward(gan_ctx *c, gan_nn_bn *l, const gan_tensor *x, const gan_tensor *dy);
void gan_nn_bn_free(gan_ctx *c, gan_nn_bn *l);

/* ---- activation ---- */
typedef struct gan_nn_act {
    gan_act kind;
    float slope;
    gan_tensor y_buf, dx_buf, y, dx;
} gan_nn_act;
gan_status gan_nn_act_init(gan_ctx *c, gan_nn_act *l, gan_act kind, float slope, int ndim, const int *dim);
gan_status gan_nn_act_forward(gan_ctx *c, gan_nn_act *l, const gan_tensor *x);
gan_status gan_nn_act_backward(gan_ctx *c, gan_nn_act *l, const gan_tensor *x, const gan_tensor *dy);
void gan_nn_act_free(gan_ctx *c, gan_nn_act *l);

/* ---- dropout (a copy when not training, so y is always the output) ---- */
typedef struct gan_nn_dropout {
    float p;
    int active; /* whether the last forward dropped (training) */
    gan_tensor mask_buf, y_buf, dx_buf, mask, y, dx;
} gan_nn_dropout;
gan_status gan_nn_dropout_init(gan_ctx *c, gan_nn_dropout *l, float p, int ndim, const int *dim);
gan_status gan_nn_dropout_forward(gan_ctx *c, gan_nn_dropout *l, const gan_tensor *x, int training, gan_rng *rng);
gan_status gan_nn_dropout_backward(gan_ctx *c, gan_nn_dropout *l, const gan_tensor *dy);
void gan_nn_dropout_free(gan_ctx *c, gan_nn_dropout *l);

/* ---- model state in safetensors checkpoints ----
 * Tensors: each parameter under its name (PyTorch's state_dict names), its
 * Adam moments as "optim.<name>.exp_avg" / ".exp_avg_sq", each buffer under
 * its name. meta: the caller's key/value pairs (config, step, RNG state). */
gan_status gan_state_save(gan_ctx *c, const char *path, gan_params *const *regs, int nregs, const gan_ckpt_kv *meta,
                          int nmeta);
/* Refuses (GAN_ERR_MISMATCH, naming every differing field) a checkpoint
 * whose values for the `arch` keys differ, or whose tensors are missing or
 * shaped differently; otherwise restores every tensor. *meta_out (may be
 * NULL) receives the loaded checkpoint for reading further metadata
 * (gan_ckpt_meta); the caller frees it with gan_ckpt_free. */
gan_status gan_state_load(gan_ctx *c, const char *path, gan_params *const *regs, int nregs, const gan_ckpt_kv *arch,
                          int narch, gan_ckpt **meta_out);
/* Restore regs' parameters, buffers and counters (with optim, also their
 * Adam moments; never from an imported PyTorch state_dict, which has none)
 * from a loaded checkpoint, every tensor checked for name, dtype and shape
 * before any is written (GAN_ERR_MISMATCH naming what differs). */
gan_status gan_params_restore(gan_ctx *c, const gan_ckpt *k, gan_params *const *regs, int nregs, int optim);
/* Start a model from the networks of a checkpoint or an imported PyTorch
 * state_dict (train --init): every registry whose tensors the file has is
 * restored whole and strictly (parameters, buffers, counters); Adam
 * moments, the parameter average and the sample noise are left as they
 * are. A file with none of the registries' tensors is a GAN_ERR_MISMATCH
 * listing expected and found names. */
gan_status gan_params_init_from(gan_ctx *c, const char *path, gan_params *const *regs, int nregs);

/* ---- a trainer's checkpoint: model state plus step and RNG position ----
 * Key/value metadata is built with gan_kv_add ("ngf", "%d", 64). */
#define GAN_KV_MAX 24
typedef struct gan_kvbuf {
    gan_ckpt_kv kv[GAN_KV_MAX];
    char val[GAN_KV_MAX][64];
    int n;
} gan_kvbuf;
void gan_kv_add(gan_kvbuf *b, const char *key, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Save regs with: arch (the fields a resume must match), run (hyper-
 * parameters, informational), step, rng, and the caller's extra pairs. */
gan_status gan_run_save(gan_ctx *c, const char *path, gan_params *const *regs, int nregs, const gan_kvbuf *arch,
                        const gan_kvbuf *run, int step, gan_rng rng, const gan_ckpt_kv *extra, int nextra);
/* Load regs, refusing another architecture; returns step and rng, and
 * the checkpoint in *out when out is not NULL (gan_ckpt_free). */
gan_status gan_run_load(gan_ctx *c, const char *path, gan_params *const *regs, int nregs, const gan_kvbuf *arch,
                        int *step, gan_rng *rng, gan_ckpt **out);

#ifdef __cplusplus
}
#endif
#endif
