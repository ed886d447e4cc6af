/* gancl training steps. One step of each mode runs entirely on the device:
 * no host round trips and no allocation inside a step; losses are read
 * back only when the caller asks for statistics. */
#ifndef GANCL_TRAIN_H
#define GANCL_TRAIN_H

#include "gancl/models.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum gan_loss_kind { GAN_LOSS_BCE = 0, GAN_LOSS_LSGAN = 1 } gan_loss_kind;

typedef struct gan_gan_config {
    gan_dcgan_config model;
    gan_loss_kind loss;   /* bce: non-saturating; lsgan: MSE to 1/0 */
    int batch;            /* N */
    gan_adam_params adam; /* lr 2e-4, beta1 0.5, beta2 0.999, eps 1e-8 */
    uint64_t seed;
} gan_gan_config;

gan_gan_config gan_gan_default(void);

typedef struct gan_gan {
    gan_gan_config cfg;
    gan_dcgan_g g;   /* the generator when cfg.model.arch is dcgan */
    gan_mlp_g mlp;   /* the generator when it is mlp */
    gan_gen gen;     /* the one that runs (gan_gen_out(&m->gen) is the last forward's images) */
    gan_dcgan_d d;
    gan_rng rng;     /* noise, dropout */
    int step;        /* steps taken */
    gan_tensor z;    /* [N, nz] */
    gan_tensor sample_z; /* [64, nz]: fixed noise for sample grids, checkpointed */
    gan_tensor x2;   /* [2N,1,28,28]: real then fake, one D pass for the D step */
    gan_tensor t2, t1, loss_d, loss_g, grad2, grad1;
} gan_gan;

typedef struct gan_gan_stats {
    float loss_d;   /* loss on real + loss on fake (each a batch mean) */
    float loss_g;
    float d_real;   /* mean D(x) */
    float d_fake;   /* mean D(G(z)) in the D step */
} gan_gan_stats;

gan_status gan_gan_init(gan_ctx *c, gan_gan *m, const gan_gan_config *cfg);
/* One step (D on real+fake, Adam on D; G through D, Adam on G) on a real
 * batch real[N,1,28,28] in [-1,1] already on the device. stats may be
 * NULL; when given, the losses are read back (a synchronisation). */
gan_status gan_gan_step(gan_ctx *c, gan_gan *m, const gan_tensor *real, gan_gan_stats *stats);
void gan_gan_free(gan_ctx *c, gan_gan *m);

/* Checkpoint the whole training state (parameters, Adam moments, BN
 * statistics, step, RNG position, configuration) plus the caller's extra
 * metadata (epoch, data position, ...), crash-safely. */
gan_status gan_gan_save(gan_ctx *c, const gan_gan *m, const char *path, const gan_ckpt_kv *extra, int nextra);
/* Restore into a model made with gan_gan_init: refuses a checkpoint of
 * another architecture (naming each differing field). *out (may be NULL)
 * receives the checkpoint for the caller's own metadata (gan_ckpt_free). */
gan_status gan_gan_load(gan_ctx *c, gan_gan *m, const char *path, gan_ckpt **out);

/* ---- conditional GAN (AC-GAN, Odena et al. 2017) ----
 * G gets concat(z, onehot(label)) [N, nz+K]; D (nout = 1+K) gives a
 * source logit and K class logits, split with concat_backward.
 * D step, on real then fake as one batch of 2N (as in gan mode): loss
 * BCE(source) + softmax cross entropy of the class logits against the true
 * labels (real) and the sampled labels (fake), each averaged over the 2N
 * rows, i.e. half of (BCE_real + BCE_fake + CE_real + CE_fake).
 * G step: the same fakes through the updated D, non-saturating BCE plus
 * cross entropy against the sampled labels, each averaged over N.
 * Fake labels are uniform in 0..K-1, drawn on the host from the model's
 * Philox stream (word i of the take, label = (word * K) >> 32), so a
 * resumed run draws the same ones. */

#define GAN_CGAN_GRID 10 /* columns of the class grid: fixed noise vectors per class row */

typedef struct gan_cgan_config {
    gan_dcgan_config model; /* nout is set to 1 + nclass, ncond to nclass */
    int nclass;             /* K = 10 */
    int batch;              /* N */
    gan_adam_params adam;   /* lr 2e-4, beta1 0.5, beta2 0.999, eps 1e-8 */
    uint64_t seed;
} gan_cgan_config;

gan_cgan_config gan_cgan_default(void);

typedef struct gan_cgan {
    gan_cgan_config cfg;
    gan_dcgan_g g;
    gan_mlp_g mlp;
    gan_gen gen;          /* g or mlp, by cfg.model.arch */
    gan_dcgan_d d;        /* for 2N */
    gan_rng rng;          /* noise, fake labels, dropout */
    int step;             /* steps taken */
    gan_tensor z, onehot, zin; /* [N,nz], [N,K], [N,nz+K] = concat(z, onehot) */
    gan_tensor sample_z;  /* [GAN_CGAN_GRID, nz]: fixed noise for class grids, checkpointed */
    gan_tensor x2;        /* [2N,1,28,28]: real then fake */
    gan_tensor labels2, labels_g;  /* I32 [2N] real then fake labels, [N] fake labels */
    gan_tensor t2, t1;             /* BCE targets [2N,1], [N,1] */
    gan_tensor src2, cls2, gsrc2, gcls2, dlog2; /* D step: logits split [2N,1], [2N,K]; grads; merged [2N,1+K] */
    gan_tensor src1, cls1, gsrc1, gcls1, dlog1; /* G step: the same for N rows */
    gan_tensor loss_src, loss_cls, loss_gsrc, loss_gcls; /* [1] each */
    int32_t *h_labels;    /* host staging [3N] */
    float *h_onehot;      /* [N*K] */
} gan_cgan;

typedef struct gan_cgan_stats {
    float loss_d;   /* BCE_real + BCE_fake + CE_real + CE_fake (batch means) */
    float loss_g;   /* BCE(D(G(z)), 1) + CE(class logits, sampled labels) */
    float loss_cls; /* CE_real + CE_fake: the auxiliary classifier's part of loss_d */
    float d_real;   /* mean D(x) (sigmoid of the source logit) */
    float d_fake;   /* mean D(G(z)) in the D step */
    float acc_real; /* fraction of the real batch D classifies right */
    float acc_fake; /* fraction of the fakes D assigns their sampled label (D step) */
} gan_cgan_stats;

gan_status gan_cgan_init(gan_ctx *c, gan_cgan *m, const gan_cgan_config *cfg);
/* One D step and one G step on real[N,1,28,28] in [-1,1] on the device and
 * its labels (host, N values in 0..K-1; they go to the device with the
 * sampled fake labels in one write). stats may be NULL; when given, the
 * losses and D's logits are read back (a synchronisation). */
gan_status gan_cgan_step(gan_ctx *c, gan_cgan *m, const gan_tensor *real, const int32_t *labels,
                         gan_cgan_stats *stats);
void gan_cgan_free(gan_ctx *c, gan_cgan *m);

/* Checkpoints as gan_gan_save/load; "model" = "acgan". */
gan_status gan_cgan_save(gan_ctx *c, const gan_cgan *m, const char *path, const gan_ckpt_kv *extra, int nextra);
gan_status gan_cgan_load(gan_ctx *c, gan_cgan *m, const char *path, gan_ckpt **out);

#ifdef __cplusplus
}
#endif
#endif
