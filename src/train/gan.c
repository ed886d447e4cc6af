/* Unconditional GAN training step (DCGAN or MLP generator, DCGAN
 * discriminator), non-saturating BCE or LSGAN, its checkpoints, and the
 * pieces of a step the cgan trainer shares (gan_train_*, src/internal.h).
 * At the end, the gan mode of the training loop (gan_loop_mode_gan) and
 * the epoch's sample grid that the gan, cgan and semi modes draw
 * (gan_train_grid).
 *
 * The D step runs real and fake through D as one batch of 2N (they are
 * concatenated with the concat op over [1, N*784] views), so D's parameter
 * gradients come from one backward pass. Its loss is the mean over the 2N
 * logits, half of PyTorch's loss_real + loss_fake; Adam is invariant to that
 * constant factor (up to eps), and the reported loss_d is scaled back. */
#include "gancl/dist.h"
#include "gancl/generator.h"
#include "gancl/loop.h"
#include "gancl/train.h"
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gan_gan_config gan_gan_default(void)
{
    return (gan_gan_config){
        .model = gan_dcgan_default(),
        .loss = GAN_LOSS_BCE,
        .batch = 64,
        .adam = {.lr = 2e-4f, .beta1 = 0.5f, .beta2 = 0.999f, .eps = 1e-8f, .step = 0},
        .seed = 1,
    };
}

gan_status gan_train_targets(gan_ctx *c, gan_tensor *t, int ones)
{
    float *h = malloc(t->numel * sizeof *h);
    if (!h) return GAN_FAIL(c, GAN_ERR_NOMEM, "targets");
    for (size_t i = 0; i < t->numel; i++) h[i] = (int)i < ones ? 1.f : 0.f;
    gan_status st = gan_tensor_write(c, t, h);
    free(h);
    return st;
}

gan_status gan_gan_init(gan_ctx *c, gan_gan *m, const gan_gan_config *cfg)
{
    gan_status st = GAN_OK;
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    int N = cfg->batch;
    if (N < 1) return GAN_FAIL(c, GAN_ERR_ARG, "batch size %d: expected >= 1", N);
    m->rng = (gan_rng){.seed = cfg->seed, .counter = 0};
    TRY(gan_gen_init(c, &m->gen, &m->g, &m->mlp, &cfg->model, N, &m->rng));
    TRY(gan_dcgan_d_init(c, &m->d, &cfg->model, 2 * N, &m->rng));
    TRY(gan_tensor_alloc4(c, &m->z, GAN_F32, 2, N, cfg->model.nz, 0, 0));
    TRY(gan_tensor_alloc4(c, &m->sample_z, GAN_F32, 2, 64, cfg->model.nz, 0, 0));
    TRY(gan_rng_normal(c, gan_rng_take(&m->rng, m->sample_z.numel, 1), 0.f, 1.f, &m->sample_z));
    TRY(gan_params_add_buffer(c, gan_gen_params(&m->gen), "state", "sample_noise", &m->sample_z));
    TRY(gan_tensor_alloc4(c, &m->x2, GAN_F32, 4, 2 * N, 1, 28, 28));
    TRY(gan_tensor_alloc4(c, &m->t2, GAN_F32, 2, 2 * N, 1, 0, 0));
    TRY(gan_tensor_alloc4(c, &m->t1, GAN_F32, 2, N, 1, 0, 0));
    TRY(gan_tensor_alloc4(c, &m->grad2, GAN_F32, 2, 2 * N, 1, 0, 0));
    TRY(gan_tensor_alloc4(c, &m->grad1, GAN_F32, 2, N, 1, 0, 0));
    TRY(gan_tensor_alloc4(c, &m->loss_d, GAN_F32, 1, 1, 0, 0, 0));
    TRY(gan_tensor_alloc4(c, &m->loss_g, GAN_F32, 1, 1, 0, 0, 0));
    TRY(gan_train_targets(c, &m->t2, N));
    TRY(gan_train_targets(c, &m->t1, N));
cleanup:
    return st;
}

static gan_status loss(gan_ctx *c, gan_loss_kind kind, const gan_tensor *logits, const gan_tensor *t, gan_tensor *l,
                       gan_tensor *g)
{
    return kind == GAN_LOSS_LSGAN ? gan_mse(c, logits, t, l, g) : gan_bce_logits(c, logits, t, l, g);
}

double gan_train_mean_sigmoid(const float *x, int rows, int stride)
{
    double s = 0;
    for (int i = 0; i < rows; i++) s += 1.0 / (1.0 + exp(-(double)x[(size_t)i * (size_t)stride]));
    return s / rows;
}

gan_status gan_train_check_real(gan_ctx *c, const gan_tensor *real, int N)
{
    if (real->ndim == 4 && real->dim[0] == N && real->dim[1] == 1 && real->dim[2] == 28 && real->dim[3] == 28)
        return GAN_OK;
    char b[64];
    return GAN_FAIL(c, GAN_ERR_SHAPE, "real batch %s: expected [%d, 1, 28, 28]",
                    gan_tensor_shape_str(real, b, sizeof b), N);
}

gan_status gan_train_join(gan_ctx *c, const gan_tensor *real, const gan_tensor *fake, gan_tensor *x2, int N)
{
    gan_status st = GAN_OK;
    gan_tensor real_flat, fake_flat, x2_flat;
    int half[2] = {1, N * 784}, both[2] = {1, 2 * N * 784};
    TRY(gan_tensor_view(c, real, 2, half, &real_flat));
    TRY(gan_tensor_view(c, fake, 2, half, &fake_flat));
    TRY(gan_tensor_view(c, x2, 2, both, &x2_flat));
    TRY(gan_concat_forward(c, &real_flat, &fake_flat, &x2_flat));
cleanup:
    return st;
}

gan_status gan_gan_step(gan_ctx *c, gan_gan *m, const gan_tensor *real, gan_gan_stats *stats)
{
    gan_status st = GAN_OK;
    /* N: the rows of this step, the batch or (data-parallel, include/
     * gancl/dist.h) this rank's slice of it; z, x2, targets and gradients
     * are views of their first N or 2N rows */
    int N = real->ndim == 4 && real->dim[0] >= 1 && real->dim[0] <= m->cfg.batch ? real->dim[0] : m->cfg.batch;
    float *logits = NULL;
    const gan_tensor *fake = gan_gen_out(&m->gen);
    gan_tensor z, x2, t2, t1, grad2, grad1;
    gan_rng at;
    TRY(gan_train_check_real(c, real, N));
    TRY(gan_tensor_narrow(c, &m->z, N, &z));
    TRY(gan_tensor_narrow(c, &m->x2, 2 * N, &x2));
    TRY(gan_tensor_narrow(c, &m->t2, 2 * N, &t2));
    TRY(gan_tensor_narrow(c, &m->t1, N, &t1));
    TRY(gan_tensor_narrow(c, &m->grad2, 2 * N, &grad2));
    TRY(gan_tensor_narrow(c, &m->grad1, N, &grad1));
    if (N < m->cfg.batch) TRY(gan_train_targets(c, &t2, N)); /* N ones then N zeros; restored below */
    gan_adam_params hp = m->cfg.adam;
    hp.step = m->step + 1;

    /* D step */
    TRY(gan_rng_take_rows(c, &m->rng, &z, 1, &at));
    TRY(gan_rng_normal(c, at, 0.f, 1.f, &z));
    TRY(gan_gen_forward(c, &m->gen, &z, 1));
    TRY(gan_train_join(c, real, fake, &x2, N));
    TRY(gan_dcgan_d_forward(c, &m->d, &x2, 1, &m->rng));
    if (stats) {
        logits = malloc(2 * (size_t)N * sizeof *logits);
        if (!logits) {
            st = GAN_FAIL(c, GAN_ERR_NOMEM, "logits");
            goto cleanup;
        }
        TRY(gan_tensor_read(c, &m->d.fc.y, logits));
    }
    TRY(loss(c, m->cfg.loss, &m->d.fc.y, &t2, &m->loss_d, &grad2));
    if (N < m->cfg.batch) TRY(gan_train_targets(c, &m->t2, m->cfg.batch));
    TRY(gan_dcgan_d_backward(c, &m->d, &x2, &grad2, 0, 1));
    TRY(gan_params_adam(c, &m->d.params, &hp));

    /* G step: the same fakes through the updated D, labelled real */
    TRY(gan_dcgan_d_forward(c, &m->d, fake, 1, &m->rng));
    TRY(loss(c, m->cfg.loss, &m->d.fc.y, &t1, &m->loss_g, &grad1));
    TRY(gan_dcgan_d_backward(c, &m->d, fake, &grad1, 1, 0));
    TRY(gan_gen_backward(c, &m->gen, &z, &m->d.c1.dx));
    TRY(gan_params_adam(c, gan_gen_params(&m->gen), &hp));
    m->step++;

    if (stats) {
        float ld, lg;
        TRY(gan_tensor_read(c, &m->loss_d, &ld));
        TRY(gan_tensor_read(c, &m->loss_g, &lg));
        stats->loss_d = 2.f * ld;
        stats->loss_g = lg;
        stats->d_real = (float)gan_train_mean_sigmoid(logits, N, 1);
        stats->d_fake = (float)gan_train_mean_sigmoid(logits + N, N, 1);
    }
cleanup:
    free(logits);
    return st;
}

void gan_gan_free(gan_ctx *c, gan_gan *m)
{
    gan_gen_free(c, &m->gen);
    gan_dcgan_d_free(c, &m->d);
    gan_tensor *all[] = {&m->z, &m->sample_z, &m->x2, &m->t2, &m->t1, &m->loss_d, &m->loss_g, &m->grad2, &m->grad1};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) gan_tensor_free(c, all[i]);
    memset(m, 0, sizeof *m);
}

/* The fields that define the networks: a checkpoint must match them all.
 * A dcgan-arch list is the one of checkpoints from before the mlp arch
 * (which have no "arch" key), so they still load. */
static void arch_of(const gan_gan_config *cfg, gan_kvbuf *a)
{
    const gan_dcgan_config *m = &cfg->model;
    *a = (gan_kvbuf){.n = 0};
    gan_kv_add(a, "model", "dcgan");
    if (m->arch == GAN_ARCH_MLP) gan_kv_add(a, "arch", "mlp");
    gan_kv_add(a, "nz", "%d", m->nz);
    if (m->arch == GAN_ARCH_MLP)
        gan_kv_add(a, "hidden", "%d", m->hidden);
    else
        gan_kv_add(a, "ngf", "%d", m->ngf);
    gan_kv_add(a, "ndf", "%d", m->ndf);
    gan_kv_add(a, "nout", "%d", m->nout);
    gan_kv_add(a, "slope", "%.9g", m->slope);
    gan_kv_add(a, "dropout", "%.9g", m->drop);
}

gan_status gan_gan_save(gan_ctx *c, const gan_gan *m, const char *path, const gan_ckpt_kv *extra, int nextra)
{
    gan_kvbuf a, run = {.n = 0};
    arch_of(&m->cfg, &a);
    if (m->cfg.model.arch == GAN_ARCH_DCGAN) gan_kv_add(&run, "arch", "dcgan");
    gan_kv_add(&run, "loss", "%s", m->cfg.loss == GAN_LOSS_LSGAN ? "lsgan" : "bce");
    gan_kv_add(&run, "batch", "%d", m->cfg.batch);
    gan_kv_add(&run, "lr", "%.9g", m->cfg.adam.lr);
    gan_params *regs[2] = {gan_gen_params(&m->gen), (gan_params *)&m->d.params};
    return gan_run_save(c, path, regs, 2, &a, &run, m->step, m->rng, extra, nextra);
}

gan_status gan_gan_load(gan_ctx *c, gan_gan *m, const char *path, gan_ckpt **out)
{
    gan_kvbuf a;
    gan_generator_info info;
    gan_status st = gan_generator_probe(c, path, &info);
    if (st) return st;
    if (info.kind != GAN_GEN_GAN)
        return GAN_FAIL(c, GAN_ERR_MISMATCH, "%s is a %s checkpoint: expected a gan one (model dcgan)", path,
                        info.model_name);
    if (info.conditional)
        return GAN_FAIL(c, GAN_ERR_MISMATCH, "%s is a cgan checkpoint (model acgan): expected a gan one (model dcgan)",
                        path);
    if (info.model.arch != m->cfg.model.arch)
        return GAN_FAIL(c, GAN_ERR_MISMATCH, "checkpoint %s was written by a different architecture: arch: checkpoint "
                        "%s, run %s", path, gan_arch_name(info.model.arch), gan_arch_name(m->cfg.model.arch));
    arch_of(&m->cfg, &a);
    gan_params *regs[2] = {gan_gen_params(&m->gen), &m->d.params};
    return gan_run_load(c, path, regs, 2, &a, &m->step, &m->rng, out);
}

/* ---- the gan mode of the training loop (include/gancl/loop.h) ---- */

gan_status gan_loop_gan_init(gan_ctx *c, gan_loop_gan *g, const gan_gan_config *cfg)
{
    memset(g, 0, sizeof *g);
    gan_status st = gan_gan_init(c, &g->m, cfg);
    if (!st) st = gan_tensor_alloc4(c, &g->real, GAN_F32, 4, cfg->batch, 1, 28, 28);
    gan_generator_info info = gan_generator_info_gan(&g->m.cfg.model, 0);
    if (!st) st = gan_generator_wrap(c, &g->gen, &info, &g->m.gen, NULL, cfg->batch);
    return st;
}

void gan_loop_gan_free(gan_ctx *c, gan_loop_gan *g)
{
    gan_generator_free(c, &g->gen);
    gan_tensor_free(c, &g->real);
    gan_gan_free(c, &g->m);
}

static gan_status gan_step_(gan_ctx *c, void *model, size_t b, const float *x, const int32_t *labels, int n,
                            gan_loop_metrics *out)
{
    (void)b;
    (void)labels;
    gan_loop_gan *g = model;
    gan_gan_stats s;
    gan_tensor real; /* full batches; a rank's slice of one when data-parallel */
    gan_status st = gan_tensor_narrow(c, &g->real, n, &real);
    if (!st) st = gan_tensor_write(c, &real, x);
    if (!st) st = gan_gan_step(c, &g->m, &real, out ? &s : NULL);
    if (!st && out)
        *out = (gan_loop_metrics){4, {{"loss_d", s.loss_d}, {"loss_g", s.loss_g}, {"d_real", s.d_real},
                                      {"d_fake", s.d_fake}}};
    return st;
}

static int gan_steps_(const void *model) { return ((const gan_loop_gan *)model)->m.step; }

static gan_status gan_save_(gan_ctx *c, const void *model, const char *path, const gan_ckpt_kv *kv, int n)
{
    return gan_gan_save(c, &((const gan_loop_gan *)model)->m, path, kv, n);
}

static gan_status gan_load_(gan_ctx *c, void *model, const char *path, gan_ckpt **out)
{
    return gan_gan_load(c, &((gan_loop_gan *)model)->m, path, out);
}


gan_status gan_train_grid(gan_ctx *c, gan_generator *g, const gan_tensor *sample_z, int n, const int32_t *labels,
                          const char *path)
{
    int R = sample_z->dim[0], nz = g->info.nz;
    float *zr = malloc((size_t)R * (size_t)nz * sizeof *zr), *z = malloc((size_t)n * (size_t)nz * sizeof *z),
          *h = malloc((size_t)n * 784 * sizeof *h);
    gan_status st = !zr || !z || !h ? GAN_FAIL(c, GAN_ERR_NOMEM, "sample grid: out of memory") : GAN_OK;
    if (!st) st = gan_tensor_read(c, sample_z, zr);
    for (int i = 0; i < n && !st; i++)
        memcpy(z + (size_t)i * (size_t)nz, zr + (size_t)(i % R) * (size_t)nz, (size_t)nz * sizeof *z);
    if (!st) st = gan_generator_generate_z(c, g, n, labels, z, 0, h);
    gan_grid_opts go = gan_grid_defaults();
    if (labels) go.nrow = R; /* the class grid: a row per class */
    if (!g->info.tanh) go.lo = 0.f, go.hi = 1.f;
    if (!st) st = gan_png_write_grid(c, path, h, n, 1, 28, 28, &go);
    free(zr);
    free(z);
    free(h);
    return st;
}


/* The fixed-noise grid: G in inference mode on its checkpointed noise. */
static gan_status gan_epoch_end_(gan_ctx *c, void *model, const gan_loop_run *run, int epoch, gan_loop_metrics *out,
                                 char *artifact, size_t cap)
{
    (void)out;
    gan_loop_gan *g = model;
    /* the generator serves any batch up to its own; the grid wants 64 */
    int rows = g->m.cfg.batch < 64 ? g->m.cfg.batch : 64;
    snprintf(artifact, cap, "%s/samples_epoch%03d.png", run->outdir, epoch + 1);
    return gan_train_grid(c, &g->gen, &g->m.sample_z, rows, NULL, artifact);
}

const gan_loop_mode gan_loop_mode_gan = {
    .name = "gan",
    .range = GAN_RANGE_TANH,
    .labels = 0,
    .full_batches = 1,
    .nloss = 2,
    .data_parallel = 1,
    .step = gan_step_,
    .steps = gan_steps_,
    .save = gan_save_,
    .load = gan_load_,
    .epoch_end = gan_epoch_end_,
};
