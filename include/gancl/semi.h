/* Semi-supervised GAN (Salimans et al. 2016, "Improved Techniques for
 * Training GANs", MNIST with 100 labels): a generator and a discriminator
 * that is the K-class classifier, its (K+1)-th "fake" logit fixed at 0.
 *
 * Discriminator (d_hidden = 1000, 500, 250, 250, 250; training only: the
 * Gaussian noise layers; as in Salimans' code the hidden layers' g stays
 * at its (data-dependent) initial value, the output layer's g learns):
 *   x[N,784] in [0,1] -> noise 0.3 -> WN dense 1000 -> ReLU
 *   -> noise 0.5 -> WN dense 500 -> ReLU -> noise 0.5 -> WN dense 250 -> ReLU
 *   -> noise 0.5 -> WN dense 250 -> ReLU -> noise 0.5 -> WN dense 250 -> ReLU
 *   (the features of feature matching) -> noise 0.5 -> WN dense K (logits)
 * Generator:
 *   z[N,100] ~ U[0,1) -> dense 500 -> BN -> softplus -> dense 500 -> BN
 *   -> softplus -> WN dense 784 -> sigmoid (images in [0,1])
 *
 * WN dense is a weight-normalized Linear (PyTorch weight_norm, dim 0):
 * parameters "<name>.weight_v" [O,C], "<name>.weight_g" [O] (PyTorch keeps
 * g as [O,1]) and "<name>.bias" [O]; w = g * v / ||v_row||. */
#ifndef GANCL_SEMI_H
#define GANCL_SEMI_H

#include "gancl/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- weight-normalized dense with its activation: x[N,C] -> y[N,O] ----
 * One wn_dense op each way: forward is the GEMM t = x v^T and one pass for
 * the scale g/||v_row||, the bias, the activation and, in a noisy layer,
 * the next layer's Gaussian input noise h = y + std * N(0,1); no weight
 * matrix is formed. train_g = 0 keeps g fixed (Salimans' hidden layers:
 * only the direction v and the bias learn, so the layer cannot scale its
 * output up past the discriminator's noise): g is then a registry buffer,
 * saved in checkpoints but not updated by Adam. */
typedef struct gan_nn_wndense {
    int N, C, O, train_g, act, noisy; /* act: a wn_dense act (GAN_ACT_RELU, ..., GAN_WN_LINEAR) */
    float slope;
    gan_param v, g, b;
    gan_tensor norm; /* [O]: ||v_row|| in the last forward */
    gan_tensor t_buf, y_buf, h_buf, dt_buf, dx_buf;
    gan_tensor t, y, h, dt, dx; /* the last call's batch: x v^T, the output, y + noise, dL/dt, dL/dx */
} gan_nn_wndense;
/* noisy: the layer draws the Gaussian noise of the next layer's input
 * (allocates h). */
gan_status gan_nn_wndense_init(gan_ctx *c, gan_nn_wndense *l, gan_params *reg, const char *name, int N, int C, int O,
                               int train_g, int act, int noisy);
/* v ~ N(0, std), g = 1, bias 0. */
gan_status gan_nn_wndense_init_params(gan_ctx *c, gan_nn_wndense *l, gan_rng *rng, float std);
/* l->y; and l->h = l->y + std * N(0,1) drawn from rng when std > 0 (noisy
 * layers only). */
gan_status gan_nn_wndense_forward(gan_ctx *c, gan_nn_wndense *l, const gan_tensor *x, float std, gan_rng *rng);
/* Backward from dy = dL/dy (= dL/dh) for x, the input of the last forward
 * or its first rows (then dy has as many): l->dx when need_dx, and the
 * gradients of v, bias (and g when trained) when need_grads. */
gan_status gan_nn_wndense_backward(gan_ctx *c, gan_nn_wndense *l, const gan_tensor *x, const gan_tensor *dy,
                                   int need_dx, int need_grads);
void gan_nn_wndense_free(gan_ctx *c, gan_nn_wndense *l);

#define GAN_SEMI_DEPTH 5 /* hidden layers of the discriminator */

typedef struct gan_semi_config {
    int nz;                        /* 100 */
    int g_hidden;                  /* 500 */
    int d_hidden[GAN_SEMI_DEPTH];  /* 1000, 500, 250, 250, 250 */
    int nclass;                    /* K = 10 */
    float noise_in, noise_hidden;  /* discriminator noise std: 0.3 on the input, 0.5 elsewhere */
    float init_std;                /* v ~ N(0, 0.05) */
    int batch;                     /* N = 100: each of labeled, unlabeled, fake */
    gan_adam_params adam;          /* D's Adam: lr 0.003, beta1 0.5, beta2 0.999, eps 1e-4 (Salimans'
                                      Adam adds 1e-8 under the square root: about 1e-4 outside it) */
    gan_adam_params g_adam;        /* G's Adam: the same as D's by default, as in Salimans' code */
    float ema;                     /* rate r of the discriminator's parameter average used for
                                      evaluation: 1e-4 (0: none), the rate of Salimans' last
                                      commit (improved-gan 0fa06b5, train_mnist_feature_matching.py) */
    float unl_weight;              /* u: L_D = L_lab + u * L_unl (Salimans' --unlabeled_weight, 1) */
    float consistency;             /* W of the consistency term (CT-GAN) on the unlabeled batch (0: off) */
    int lr_decay_from;             /* E >= 0: both learning rates flat to epoch E, then linearly down to
                                      0 at the end of the run (gan_semi_lr_factor); -1: constant */
    uint64_t seed;
} gan_semi_config;

gan_semi_config gan_semi_default(void);
/* The factor of both learning rates in epoch e (0-based) of a run of
 * `epochs` epochs, constant over the epoch: 1 without a schedule, else
 * min(1, (epochs - e) / (epochs - E)), Salimans' earlier MNIST schedule
 * lr * min(3 - e/100, 1) for E = 200 of 300 (the last epoch runs at
 * 1/(epochs - E); 1 when E >= epochs). */
float gan_semi_lr_factor(const gan_semi_config *cfg, int e, int epochs);

typedef struct gan_semi_d {
    gan_params params;
    /* fc[l], l < DEPTH: ReLU, and the noise of fc[l + 1]'s input in its h;
     * fc[DEPTH]: the logits */
    gan_nn_wndense fc[GAN_SEMI_DEPTH + 1];
    gan_tensor noise_buf, noise; /* the input with its noise */
    const gan_tensor *in[GAN_SEMI_DEPTH + 1]; /* each layer's input in the last forward */
    float std[GAN_SEMI_DEPTH + 1];
} gan_semi_d;

typedef struct gan_semi_g {
    gan_params params;
    gan_nn_dense fc1, fc2;
    gan_nn_bn bn1, bn2;
    gan_nn_act sp1, sp2;
    gan_nn_wndense out; /* with the sigmoid: out.y are the images */
} gan_semi_g;

/* Discriminator for batches up to N: x[n,784] -> d->fc[DEPTH].y [n,K]
 * (logits) and d->fc[DEPTH-1].y [n,F] (features); training adds the
 * noise, drawn from rng. features_only stops at the features (the output
 * layer and its input noise are skipped). */
gan_status gan_semi_d_init(gan_ctx *c, gan_semi_d *d, const gan_semi_config *cfg, int N, gan_rng *rng);
gan_status gan_semi_d_forward(gan_ctx *c, gan_semi_d *d, const gan_tensor *x, int training, int features_only,
                              gan_rng *rng);
/* Backward of the last forward from dlogits[n,K], or (from_features) from
 * dfeatures[n,F], which skips the output layer; n may be less than the
 * forward's batch: the backward is then of its first n rows. d->fc[0].dx
 * is d(loss)/dx when need_dx; parameter gradients when need_grads. */
gan_status gan_semi_d_backward(gan_ctx *c, gan_semi_d *d, const gan_tensor *dtop, int from_features, int need_dx,
                               int need_grads);
void gan_semi_d_free(gan_ctx *c, gan_semi_d *d);

/* Generator: z[n,nz] -> g->out.y [n,784]; training selects BN batch statistics. */
gan_status gan_semi_g_init(gan_ctx *c, gan_semi_g *g, const gan_semi_config *cfg, int N, gan_rng *rng);
gan_status gan_semi_g_forward(gan_ctx *c, gan_semi_g *g, const gan_tensor *z, int training);
gan_status gan_semi_g_backward(gan_ctx *c, gan_semi_g *g, const gan_tensor *z, const gan_tensor *dimg);
void gan_semi_g_free(gan_ctx *c, gan_semi_g *g);

/* ---- the training step ----
 * D: one pass over the concatenated batch [labeled; unlabeled; fake] (3N
 * rows; the discriminator has no batch statistics, so this equals three
 * passes), loss L_lab + u * L_unl with L_unl = 0.5 * (lse_loss(unl, real)
 * + lse_loss(fake)) and u = cfg.unl_weight (1: Salimans' --unlabeled_weight).
 * With cfg.consistency = W > 0 (CT-GAN, Wei et al. 2018) the pass has a
 * fourth block, the unlabeled batch again with independent noise draws,
 * and L_D gains W * mean_n ||softmax(l1_n) - softmax(l2_n)||^2 (op
 * consistency), the softmax over the K class logits of the two passes
 * (the class posterior; the fixed fake logit is left out: the unlabeled
 * loss already covers real vs fake). CT-GAN's second term on the hidden
 * features is not included. Both Adam steps run at their lr times
 * m->lr_scale.
 * G: feature matching, mean((mean_n f(x_unl2) - mean_n f(G(z)))^2) with f
 * the last hidden ReLU layer of the updated D (noise on), from one pass
 * over [fake; unlabeled] (2N rows) that stops at f; the backward takes the
 * fake rows only, and D's parameter gradients are not computed. D's Adam
 * step and the average below are one pass per parameter (adam_ema_step).
 * Evaluation: Salimans test with an exponential moving average of D's
 * parameters (theirs: rate 1e-4 over 300 epochs, started from zero). Here
 * a = (1 - r) a + r p after every step from a = 0, and the average used is
 * a / (1 - (1 - r)^t), which removes the start's bias toward zero. */
typedef struct gan_semi {
    gan_semi_config cfg;
    gan_semi_g g;
    gan_semi_d d;
    gan_rng rng;          /* noise of z and of D's layers */
    int step;             /* steps taken */
    float lr_scale;       /* multiplies both learning rates (1 after init; the loop sets
                             gan_semi_lr_factor each epoch) */
    gan_tensor z;         /* [N, nz] */
    gan_tensor sample_z;  /* [64, nz]: fixed noise for sample grids, checkpointed */
    gan_tensor x3;        /* [3N, 784] ([4N, 784] with consistency): D's input, [labeled; unlabeled;
                             fake (; unlabeled)], then [fake; unlabeled] */
    gan_tensor lg_lab, lg_rest, lg_unl, lg_fake; /* logits split: [N,K], [2N,K], [N,K], [N,K] */
    gan_tensor gr_lab, gr_unl, gr_fake, gr_rest, gr_rest_half, gr3; /* gr3: [3N or 4N, K] */
    gan_tensor loss_lab, loss_unl, loss_fake, loss_g;
    gan_tensor m_unl, m_gen, dm, dfeat; /* feature means [F], their gradient, [N, F] */
    gan_tensor f_unl;                   /* [N, F]: the unlabeled rows' features */
    gan_tensor ema[GAN_MAX_PARAMS];     /* per trainable D parameter (cfg.ema > 0), checkpointed */
    gan_tensor lg_unl2, gr_ct1, gr_ct2, gr_ct2w, loss_ct; /* consistency (cfg.consistency > 0): the second
                                                              pass's logits [N,K], the op's gradients, W times
                                                              the second, the term */
} gan_semi;

typedef struct gan_semi_stats {
    float loss_lab;  /* cross-entropy on the labeled batch */
    float loss_unl;  /* 0.5 * (lse_loss real on unlabeled + lse_loss fake) */
    float loss_g;    /* feature matching */
    float train_acc; /* accuracy on the labeled batch (noise on) */
    float d_real;    /* mean D(x) = sigmoid(lse) on the unlabeled batch */
    float d_fake;    /* mean D(G(z)) in the D step */
    float loss_ct;   /* the consistency term, before its weight W (0 when off) */
} gan_semi_stats;

gan_status gan_semi_init(gan_ctx *c, gan_semi *m, const gan_semi_config *cfg);
/* One D step and one G step. x_lab, x_unl, x_unl2 [n,784] in [0,1] and
 * labels [n] (I32) on the device: the labeled batch, the unlabeled batch of
 * the D step and the one of the G step, n = N (cfg.batch) or, data-parallel
 * (include/gancl/dist.h), this rank's slice of each (gan_dist_shard with G
 * = N): then z, the noise layers' draws, the feature matching's batch means
 * and the gradients are the global batch's, each rank's statistics its own
 * rows'. stats may be NULL; when given, the losses and the labeled logits
 * are read back (a synchronisation). */
gan_status gan_semi_step(gan_ctx *c, gan_semi *m, const gan_tensor *x_lab, const gan_tensor *labels,
                         const gan_tensor *x_unl, const gan_tensor *x_unl2, gan_semi_stats *stats);
/* Salimans' data-dependent initialisation of the discriminator, layer by
 * layer from the input up: with g = 1 and bias 0, each unit's
 * pre-activation on x[n,784] (2 <= n <= 3N; noise on, as in training) has
 * mean mu and standard deviation s over the batch; then g = 1/s and
 * bias = -mu/s, so it starts with zero mean and unit variance. Statistics
 * are computed on the host (init only). Call after gan_semi_init, before
 * the first step; not after loading a checkpoint. Data-parallel, every rank
 * calls it on the same x (outside a step's slice), as one process does. */
gan_status gan_semi_data_init(gan_ctx *c, gan_semi *m, const gan_tensor *x);
/* Classify x[n,784] (n <= 3N) in inference mode (no noise): pred[n] gets
 * the argmax of the K logits; averaged selects the parameter average (when
 * cfg.ema > 0 and a step was taken; the current parameters otherwise). */
gan_status gan_semi_classify(gan_ctx *c, gan_semi *m, const gan_tensor *x, int averaged, int32_t *pred);
void gan_semi_free(gan_ctx *c, gan_semi *m);

/* Checkpoints: parameters, Adam moments, BN statistics, sample noise, step,
 * RNG position and the configuration ("model" = "semi-mlp" and the widths
 * are compared on load), plus the caller's metadata. */
gan_status gan_semi_save(gan_ctx *c, const gan_semi *m, const char *path, const gan_ckpt_kv *extra, int nextra);
gan_status gan_semi_load(gan_ctx *c, gan_semi *m, const char *path, gan_ckpt **out);

#ifdef __cplusplus
}
#endif
#endif
