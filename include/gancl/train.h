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
    gan_dcgan_g g;
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

#ifdef __cplusplus
}
#endif
#endif
