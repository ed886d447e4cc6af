/* A trained DCGAN discriminator frozen as a feature extractor, and a
 * softmax classifier (one dense layer) trained on its features with a few
 * labels per class: how much of MNIST the GAN's discriminator learned
 * without labels (Radford et al. 2016, section 5.1).
 *
 * Features of an image x[1,28,28] in [-1,1] (the GAN's pixel range), with D
 * in inference mode (no dropout):
 *   conv1 -> LeakyReLU [ndf,14,14] -> 2x2 max pool [ndf,7,7]
 *   conv2 -> LeakyReLU [2ndf,7,7]   -> 2x2 max pool [2ndf,3,3]
 *   concatenated: F = 67 * ndf features (4288 for ndf 64).
 * Every layer pooled, as in Radford et al.'s CIFAR-10 features. Measured on
 * MNIST with a DCGAN D after one epoch (raw features, test accuracy with 10
 * / 100 labels per class, trained D vs random D): this 80.6 / 94.7% vs
 * 80.0 / 93.3%; pool(conv1) + unpooled conv2 (9408 features) 75.9 / 93.2%
 * vs 77.7 / 92.5%; conv2 alone 74.0 / 92.1%; pool(conv1) alone 78.9 /
 * 93.6%. Pooling conv2 (whose 7th row and column the floor drops) helps
 * most with few labels, and it is the one where the trained D beats the
 * random one at both label counts.
 * They are computed once for the labeled training images and for the test
 * set and kept on the device; with `standardize` each feature is then
 * shifted and scaled by the mean and standard deviation over the labeled
 * set (kept in the checkpoint, so evaluation applies the same). On MNIST
 * that measured worse (every feature weighs the same, noise included, and
 * the labeled set is separated within a few epochs), so it is off by
 * default.
 * Classifier: logits[n,10] = x W^T + b ("probe.fc.weight" [10,F],
 * "probe.fc.bias"), softmax cross-entropy, Adam, optional L2 weight decay
 * on W (added to its gradient, PyTorch Adam's weight_decay).
 *
 * Checkpoints hold D ("disc.*"), the classifier and the feature statistics
 * ("probe.mean", "probe.invstd"), metadata "model" = "dcgan-features". */
#ifndef GANCL_FEATURES_H
#define GANCL_FEATURES_H

#include "gancl/classifier.h"
#include "gancl/models.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct gan_features_config {
    const char *discriminator; /* a `train --mode gan` checkpoint whose D is used;
                                  NULL: a random (untrained) D from the seed */
    int ndf;                   /* D's width (taken from the checkpoint when one is given): 64 */
    int nout;                  /* D's outputs (likewise; unused by the features): 1 */
    float slope;               /* LeakyReLU slope (likewise): 0.2 */
    int standardize;           /* 1: standardise features with the labeled set's statistics: 0 */
    int batch;                 /* minibatch of the classifier and of the extraction: 64 */
    gan_adam_params adam;      /* lr 1e-3, beta1 0.9, beta2 0.999, eps 1e-8 */
    float weight_decay;        /* L2 on the classifier's weight: 0 */
    uint64_t seed;             /* random D, classifier weights */
} gan_features_config;

gan_features_config gan_features_default(void);

/* One set of images turned into features: rows [n, F] on the device,
 * labels both on the device (I32, for the training gather) and on the host. */
typedef struct gan_features_set {
    size_t n;
    gan_tensor x, y, logits; /* [n, F], [n] I32, [n, 10] */
    int32_t *h_y;
} gan_features_set;

typedef struct gan_features {
    gan_features_config cfg;
    int F;                   /* features per image */
    gan_dcgan_d d;           /* frozen */
    gan_nn_maxpool pool, pool2; /* of conv1's and of conv2's activations */
    gan_tensor img;          /* [batch, 1, 28, 28]: one batch of images in [-1, 1] */
    gan_tensor cat_buf;      /* [batch, F]: their features */
    gan_params probe;        /* the classifier's parameters and the feature statistics */
    gan_nn_dense fc;
    gan_tensor mean, invstd; /* [F]: buffers "probe.mean", "probe.invstd" (0 and 1 without standardize) */
    int have_stats;          /* mean/invstd computed (or loaded) */
    gan_features_set train, test;
    gan_tensor order;        /* [train.n] I32: the epoch's order of the labeled rows */
    gan_tensor xb, yb;       /* a gathered minibatch [batch, F], [batch] */
    gan_tensor rows;         /* [batch] I32: the minibatch's slice of order */
    gan_tensor loss, grad;   /* [1], [batch, 10] */
    float *h_img, *h_logits; /* host staging: a batch of images; logits of a minibatch */
    int32_t *h_order;
    gan_rng rng;             /* after the initial weights */
    int step;                /* classifier steps taken */
} gan_features;

typedef struct gan_features_stats {
    float loss;     /* minibatch cross entropy */
    float accuracy; /* fraction of the minibatch classified right */
} gan_features_stats;

/* Allocate for cfg.batch; initialise D (from cfg.discriminator, refusing a
 * checkpoint that holds no DCGAN discriminator, naming its "mode") and the
 * classifier (PyTorch's default U(+-1/sqrt(F))). The random draws are the
 * same with and without a checkpoint, so the classifier starts from the
 * same weights in both. */
gan_status gan_features_init(gan_ctx *c, gan_features *m, const gan_features_config *cfg);
/* Features of the items `set` of d (NULL: all) as the training (labeled)
 * set: also computes the standardisation statistics from them when
 * cfg.standardize (and none were loaded), then standardises. */
gan_status gan_features_set_train(gan_ctx *c, gan_features *m, const gan_dataset *d, const gan_indices *set);
/* The same as the evaluation set (standardised with the existing statistics;
 * with standardize, set_train or a load must come first). */
gan_status gan_features_set_test(gan_ctx *c, gan_features *m, const gan_dataset *d, const gan_indices *set);
/* Order of the training rows for the next steps: order[i] in 0..train.n-1
 * (e.g. gan_epoch_order over 0..n-1). Uploaded once; steps read it. */
gan_status gan_features_set_order(gan_ctx *c, gan_features *m, const size_t *order);
/* One Adam step on the training rows order[at .. at+n), 1 <= n <= batch.
 * No host transfer unless stats is given (the loss and logits are read). */
gan_status gan_features_step(gan_ctx *c, gan_features *m, size_t at, int n, gan_features_stats *stats);
/* Classify the training (test = 0) or evaluation (test = 1) set: accuracy,
 * per-class accuracy, confusion matrix. Ties go to the lower class. */
gan_status gan_features_evaluate(gan_ctx *c, gan_features *m, int test, gan_cls_eval *out);
void gan_features_free(gan_ctx *c, gan_features *m);

/* Checkpoint: D, the classifier (with Adam moments), the statistics, step,
 * RNG position, the configuration, plus the caller's metadata. */
gan_status gan_features_save(gan_ctx *c, const gan_features *m, const char *path, const gan_ckpt_kv *extra,
                             int nextra);
/* Initialise m from a features checkpoint (its configuration, batch as
 * given) and restore it. A checkpoint of another kind is GAN_ERR_MISMATCH
 * naming its "mode". *out (may be NULL) receives the checkpoint. */
gan_status gan_features_load(gan_ctx *c, gan_features *m, const char *path, int batch, gan_ckpt **out);

/* Tally n predictions against true labels (0..9) into e (zeroed first):
 * what gan_cls_evaluate reports, for any classifier. Labels outside 0..9
 * are GAN_ERR_ARG. */
gan_status gan_cls_eval_tally(gan_ctx *c, const int32_t *truth, const int32_t *pred, size_t n, gan_cls_eval *e);

#ifdef __cplusplus
}
#endif
#endif
