/* gancl supervised classifier: the Keras MNIST CNN, its training step,
 * evaluation (accuracy, per-class accuracy, confusion matrix) and
 * checkpoints.
 *
 * Network (c1 = 32, c2 = 64, hidden = 128 by default; widths configurable
 * so tests can run small instances):
 *   x[N,1,28,28] in [0,1] -> conv c1 3x3 s1 p0 -> ReLU -> [N,c1,26,26]
 *   -> conv c2 3x3 s1 p0 -> ReLU -> [N,c2,24,24] -> 2x2 max pool [N,c2,12,12]
 *   -> dropout 0.25 -> flatten [N, c2*144] -> dense hidden -> ReLU
 *   -> dropout 0.5 -> dense 10 (logits)
 * Every layer has a bias; weights and biases start from PyTorch's default
 * U(-1/sqrt(fan_in), +1/sqrt(fan_in)). Parameters are named
 * "cls.conv1.weight", "cls.conv1.bias", "cls.conv2.*", "cls.fc1.*",
 * "cls.fc2.*". */
#ifndef GANCL_CLASSIFIER_H
#define GANCL_CLASSIFIER_H

#include "gancl/data.h"
#include "gancl/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GAN_CNN_CLASSES 10

typedef struct gan_cnn_config {
    int c1, c2;         /* conv widths: 32, 64 */
    int hidden;         /* dense width: 128 */
    float drop1, drop2; /* dropout after the pool and after the hidden layer: 0.25, 0.5 */
} gan_cnn_config;

gan_cnn_config gan_cnn_default(void);

/* 2x2 max pool, stride 2: x[N,C,H,W] -> y[N,C,H/2,W/2]; like the layers in
 * nn.h it serves any batch up to N through narrowed views. */
typedef struct gan_nn_maxpool {
    gan_tensor y_buf, idx_buf, dx_buf, y, idx, dx;
} gan_nn_maxpool;
gan_status gan_nn_maxpool_init(gan_ctx *c, gan_nn_maxpool *l, int N, int C, int H, int W);
gan_status gan_nn_maxpool_forward(gan_ctx *c, gan_nn_maxpool *l, const gan_tensor *x);
/* dx (the shape of the forward's x) from dy. */
gan_status gan_nn_maxpool_backward(gan_ctx *c, gan_nn_maxpool *l, const gan_tensor *x, const gan_tensor *dy);
/* The pool followed by a ReLU, in one op each way (y = relu(max)). */
gan_status gan_nn_maxpool_relu_forward(gan_ctx *c, gan_nn_maxpool *l, const gan_tensor *x);
gan_status gan_nn_maxpool_relu_backward(gan_ctx *c, gan_nn_maxpool *l, const gan_tensor *x, const gan_tensor *dy);
void gan_nn_maxpool_free(gan_ctx *c, gan_nn_maxpool *l);

typedef struct gan_cnn {
    gan_cnn_config cfg;
    int N;
    gan_params params;
    gan_nn_conv conv1, conv2;
    gan_nn_act a3; /* the ReLUs of conv1 and the pool are in their ops (gan_nn_*_relu_*) */
    gan_nn_maxpool pool;
    gan_nn_dropout dr1, dr2;
    gan_nn_dense fc1, fc2;
    gan_tensor flat, fc1_dx_img; /* views between the conv and dense parts */
} gan_cnn;

/* Allocate for batches of up to N and initialise every parameter from rng. */
gan_status gan_cnn_init(gan_ctx *c, gan_cnn *m, const gan_cnn_config *cfg, int N, gan_rng *rng);
/* x[n,1,28,28], n <= N -> m->fc2.y [n,10] logits; training enables dropout
 * (masks from rng; rng is not touched when training is 0). */
gan_status gan_cnn_forward(gan_ctx *c, gan_cnn *m, const gan_tensor *x, int training, gan_rng *rng);
/* dlogits[n,10] -> every parameter gradient (after a forward on x). */
gan_status gan_cnn_backward(gan_ctx *c, gan_cnn *m, const gan_tensor *x, const gan_tensor *dlogits);
void gan_cnn_free(gan_ctx *c, gan_cnn *m);

/* ---- training ---- */

typedef struct gan_cls_config {
    gan_cnn_config model;
    int batch;            /* N, the largest batch: 64 */
    gan_adam_params adam; /* lr 1e-3, beta1 0.9, beta2 0.999, eps 1e-8 */
    uint64_t seed;        /* weights and dropout */
} gan_cls_config;

gan_cls_config gan_cls_default(void);

typedef struct gan_cls {
    gan_cls_config cfg;
    gan_cnn net;
    gan_rng rng;  /* dropout masks, after the initial weights */
    int step;     /* steps taken */
    /* Staging buffers for a batch (x in [0,1], labels 0..9) that callers may
     * fill and narrow; gan_cls_evaluate uses x. */
    gan_tensor x, labels;
    gan_tensor loss, grad; /* [1], [N,10] */
    /* host staging: a batch of images, labels, item indices, logits */
    float *h_x, *h_logits;
    int32_t *h_labels;
    size_t *h_idx;
} gan_cls;

typedef struct gan_cls_stats {
    float loss;     /* batch-mean cross entropy (with dropout) */
    float accuracy; /* fraction of the batch whose training-mode logits pick the label */
} gan_cls_stats;

gan_status gan_cls_init(gan_ctx *c, gan_cls *m, const gan_cls_config *cfg);
/* One Adam step on x[n,1,28,28], labels[n] (I32, 0..9) already on the device,
 * 1 <= n <= batch. stats may be NULL; when given, the loss and the logits
 * are read back (a synchronisation). */
gan_status gan_cls_step(gan_ctx *c, gan_cls *m, const gan_tensor *x, const gan_tensor *labels, gan_cls_stats *stats);
void gan_cls_free(gan_ctx *c, gan_cls *m);

/* ---- evaluation ---- */

typedef struct gan_cls_eval {
    size_t n, correct;
    double accuracy;                        /* correct / n */
    size_t class_n[GAN_CNN_CLASSES];        /* items per true class */
    double class_acc[GAN_CNN_CLASSES];      /* per true class; 0 for a class with no items */
    size_t confusion[GAN_CNN_CLASSES][GAN_CNN_CLASSES]; /* [true][predicted] */
} gan_cls_eval;

/* Inference (dropout off) over the items `set` of d (NULL: all of d), in
 * batches of the model's N through m->x, the last one narrowed. Pixels are
 * scaled to [0,1]. Ties in the logits go to the lower class. Changes no
 * parameter and no RNG position. */
gan_status gan_cls_evaluate(gan_ctx *c, gan_cls *m, const gan_dataset *d, const gan_indices *set, gan_cls_eval *out);

/* ---- checkpoints ---- */

/* The whole training state (parameters, Adam moments, step, RNG position,
 * configuration, "model" = "cnn-classifier") plus the caller's metadata,
 * crash-safely. */
gan_status gan_cls_save(gan_ctx *c, const gan_cls *m, const char *path, const gan_ckpt_kv *extra, int nextra);
/* Restore into a model made with gan_cls_init; refuses another architecture
 * (naming each differing field). The checkpoint's seed replaces cfg.seed.
 * *out (may be NULL) receives the checkpoint for the caller's metadata
 * (gan_ckpt_free). */
gan_status gan_cls_load(gan_ctx *c, gan_cls *m, const char *path, gan_ckpt **out);

#ifdef __cplusplus
}
#endif
#endif
