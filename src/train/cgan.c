/* Conditional GAN training (AC-GAN: the generator gets the label, the
 * discriminator has an auxiliary K-class head) and checkpoints
 * (include/gancl/train.h); labeled generation is a gan_generator's
 * (include/gancl/generator.h), over the same one-hot/concat input. 
 *
 * The discriminator's [rows, 1+K] logits are split into the source column
 * and the class columns with concat_backward, and their gradients merged
 * back with concat_forward, so no new op is needed. Labels are the one
 * thing that comes from the host each step: the real ones (from the data
 * loader) and the fake ones (drawn from the model's Philox stream on the
 * host) go up together with their one-hot codes. */
#include "gancl/dist.h"
#include "gancl/train.h"
#include "gancl/loop.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

gan_cgan_config gan_cgan_default(void)
{
    gan_cgan_config cfg = {
        .model = gan_dcgan_default(),
        .nclass = 10,
        .batch = 64,
        .adam = {.lr = 2e-4f, .beta1 = 0.5f, .beta2 = 0.999f, .eps = 1e-8f, .step = 0},
        .seed = 1,
    };
    cfg.model.nout = 1 + cfg.nclass;
    cfg.model.ncond = cfg.nclass;
    return cfg;
}

gan_status gan_cgan_init(gan_ctx *c, gan_cgan *m, const gan_cgan_config *cfg)
{
    gan_status st = GAN_OK;
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    int N = cfg->batch, K = cfg->nclass, nz = cfg->model.nz;
    if (N < 1) return GAN_FAIL(c, GAN_ERR_ARG, "batch size %d: expected >= 1", N);
    if (K < 2) return GAN_FAIL(c, GAN_ERR_ARG, "%d classes: expected >= 2", K);
    m->cfg.model.nout = 1 + K;
    m->cfg.model.ncond = K;
    m->rng = (gan_rng){.seed = cfg->seed, .counter = 0};
    TRY(gan_gen_init(c, &m->gen, &m->g, &m->mlp, &m->cfg.model, N, &m->rng));
    TRY(gan_dcgan_d_init(c, &m->d, &m->cfg.model, 2 * N, &m->rng));
    TRY(gan_tensor_alloc4(c, &m->z, GAN_F32, 2, N, nz, 0, 0));
    TRY(gan_tensor_alloc4(c, &m->onehot, GAN_F32, 2, N, K, 0, 0));
    TRY(gan_tensor_alloc4(c, &m->zin, GAN_F32, 2, N, nz + K, 0, 0));
    TRY(gan_tensor_alloc4(c, &m->sample_z, GAN_F32, 2, GAN_CGAN_GRID, nz, 0, 0));
    TRY(gan_rng_normal(c, gan_rng_take(&m->rng, m->sample_z.numel, 1), 0.f, 1.f, &m->sample_z));
    TRY(gan_params_add_buffer(c, gan_gen_params(&m->gen), "state", "sample_noise", &m->sample_z));
    TRY(gan_tensor_alloc4(c, &m->x2, GAN_F32, 4, 2 * N, 1, 28, 28));
    TRY(gan_tensor_alloc4(c, &m->labels2, GAN_I32, 1, 2 * N, 0, 0, 0));
    TRY(gan_tensor_alloc4(c, &m->labels_g, GAN_I32, 1, N, 0, 0, 0));
    TRY(gan_tensor_alloc4(c, &m->t2, GAN_F32, 2, 2 * N, 1, 0, 0));
    TRY(gan_tensor_alloc4(c, &m->t1, GAN_F32, 2, N, 1, 0, 0));
    for (int h = 0; h < 2; h++) {
        int rows = h ? N : 2 * N;
        gan_tensor *src = h ? &m->src1 : &m->src2, *cls = h ? &m->cls1 : &m->cls2;
        gan_tensor *gsrc = h ? &m->gsrc1 : &m->gsrc2, *gcls = h ? &m->gcls1 : &m->gcls2;
        TRY(gan_tensor_alloc4(c, src, GAN_F32, 2, rows, 1, 0, 0));
        TRY(gan_tensor_alloc4(c, gsrc, GAN_F32, 2, rows, 1, 0, 0));
        TRY(gan_tensor_alloc4(c, cls, GAN_F32, 2, rows, K, 0, 0));
        TRY(gan_tensor_alloc4(c, gcls, GAN_F32, 2, rows, K, 0, 0));
        TRY(gan_tensor_alloc4(c, h ? &m->dlog1 : &m->dlog2, GAN_F32, 2, rows, 1 + K, 0, 0));
    }
    gan_tensor *losses[4] = {&m->loss_src, &m->loss_cls, &m->loss_gsrc, &m->loss_gcls};
    for (int i = 0; i < 4; i++) TRY(gan_tensor_alloc4(c, losses[i], GAN_F32, 1, 1, 0, 0, 0));
    TRY(gan_train_targets(c, &m->t2, N));
    TRY(gan_train_targets(c, &m->t1, N));
    m->h_labels = malloc(3 * (size_t)N * sizeof *m->h_labels);
    m->h_onehot = malloc((size_t)N * (size_t)K * sizeof *m->h_onehot);
    if (!m->h_labels || !m->h_onehot) st = GAN_FAIL(c, GAN_ERR_NOMEM, "cgan host buffers for batch %d", N);
cleanup:
    return st;
}

/* n labels uniform in 0..K-1 from the Philox stream: word i%4 of block
 * counter + i/4 (the uniform-fill convention); (word * K) >> 32 maps a
 * 32-bit word to 0..K-1 with a bias below K / 2^32. */
static void draw_labels(gan_rng at, int K, int n, int32_t *out)
{
    uint32_t key[2] = {(uint32_t)at.seed, (uint32_t)(at.seed >> 32)}, w[4] = {0, 0, 0, 0};
    for (int i = 0; i < n; i++) {
        if (i % 4 == 0) {
            uint64_t b = at.counter + (uint64_t)(i / 4);
            uint32_t ctr[4] = {(uint32_t)b, (uint32_t)(b >> 32), 0, 0};
            gan_philox4x32_10(ctr, key, w);
        }
        out[i] = (int32_t)(((uint64_t)w[i % 4] * (uint64_t)K) >> 32);
    }
}

/* zin = concat(z, onehot(labels)) for the first n rows; z must hold the
 * noise already. */
static gan_status condition(gan_ctx *c, gan_cgan *m, const int32_t *labels, int n, gan_tensor *zin)
{
    gan_tensor z;
    gan_status st = gan_tensor_narrow(c, &m->z, n, &z);
    *zin = m->zin;
    if (!st) st = gan_onehot_concat(c, &z, labels, n, m->cfg.nclass, m->h_onehot, &m->onehot, zin);
    return st;
}

/* Fraction of rows whose largest class logit (columns 1..K) is the label. */
static double class_acc(const float *l, const int32_t *labels, int rows, int K)
{
    int right = 0;
    for (int i = 0; i < rows; i++) {
        const float *r = l + (size_t)i * (size_t)(K + 1) + 1;
        int best = 0;
        for (int k = 1; k < K; k++)
            if (r[k] > r[best]) best = k;
        right += best == labels[i];
    }
    return (double)right / rows;
}

gan_status gan_cgan_step(gan_ctx *c, gan_cgan *m, const gan_tensor *real, const int32_t *labels,
                         gan_cgan_stats *stats)
{
    gan_status st = GAN_OK;
    /* N: the rows of this step, the batch or (data-parallel, include/
     * gancl/dist.h) this rank's slice of it; the step's tensors are views
     * of their first N or 2N rows */
    int N = real->ndim == 4 && real->dim[0] >= 1 && real->dim[0] <= m->cfg.batch ? real->dim[0] : m->cfg.batch;
    int K = m->cfg.nclass;
    float *logits = NULL;
    const gan_tensor *fake = gan_gen_out(&m->gen);
    gan_tensor z, zin, x2, lab2t, labgt, t2, t1, src2, cls2, gsrc2, gcls2, dlog2, src1, cls1, gsrc1, gcls1, dlog1;
    gan_tensor *all[][2] = {{&m->x2, &x2},     {&m->labels2, &lab2t}, {&m->t2, &t2},       {&m->src2, &src2},
                            {&m->cls2, &cls2}, {&m->gsrc2, &gsrc2},   {&m->gcls2, &gcls2}, {&m->dlog2, &dlog2},
                            {&m->z, &z},       {&m->labels_g, &labgt}, {&m->t1, &t1},      {&m->src1, &src1},
                            {&m->cls1, &cls1}, {&m->gsrc1, &gsrc1},   {&m->gcls1, &gcls1}, {&m->dlog1, &dlog1}};
    gan_rng at;
    TRY(gan_train_check_real(c, real, N));
    for (int i = 0; i < 16; i++) TRY(gan_tensor_narrow(c, all[i][0], i < 8 ? 2 * N : N, all[i][1]));
    if (N < m->cfg.batch) TRY(gan_train_targets(c, &t2, N)); /* N ones then N zeros; restored below */
    for (int i = 0; i < N; i++)
        if (labels[i] < 0 || labels[i] >= K)
            return GAN_FAIL(c, GAN_ERR_ARG, "label %d of the real batch is %d: expected 0..%d", i, labels[i], K - 1);
    gan_adam_params hp = m->cfg.adam;
    hp.step = m->step + 1;

    /* labels: [real; fake] for the D step, the fake ones again for G's */
    int32_t *lab2 = m->h_labels, *fake_lab = m->h_labels + N, *lab_g = m->h_labels + 2 * N;
    memcpy(lab2, labels, (size_t)N * sizeof *lab2);
    TRY(gan_rng_take_rows(c, &m->rng, &z, 1, &at));
    TRY(gan_rng_normal(c, at, 0.f, 1.f, &z));
    gan_tensor rows = {.dtype = GAN_I32, .ndim = 1, .dim = {N}, .numel = (size_t)N}; /* one draw a row */
    TRY(gan_rng_take_rows(c, &m->rng, &rows, 0, &at));
    draw_labels(at, K, N, fake_lab);
    memcpy(lab_g, fake_lab, (size_t)N * sizeof *lab_g);
    TRY(gan_tensor_write(c, &lab2t, lab2));
    TRY(gan_tensor_write(c, &labgt, lab_g));

    /* D step */
    TRY(condition(c, m, fake_lab, N, &zin));
    TRY(gan_gen_forward(c, &m->gen, &zin, 1));
    TRY(gan_train_join(c, real, fake, &x2, N));
    TRY(gan_dcgan_d_forward(c, &m->d, &x2, 1, &m->rng));
    if (stats) {
        logits = malloc(2 * (size_t)N * (size_t)(K + 1) * sizeof *logits);
        if (!logits) {
            st = GAN_FAIL(c, GAN_ERR_NOMEM, "logits");
            goto cleanup;
        }
        TRY(gan_tensor_read(c, &m->d.fc.y, logits));
    }
    TRY(gan_concat_backward(c, &m->d.fc.y, &src2, &cls2));
    TRY(gan_bce_logits(c, &src2, &t2, &m->loss_src, &gsrc2));
    if (N < m->cfg.batch) TRY(gan_train_targets(c, &m->t2, m->cfg.batch));
    TRY(gan_softmax_xent(c, &cls2, &lab2t, &m->loss_cls, &gcls2));
    TRY(gan_concat_forward(c, &gsrc2, &gcls2, &dlog2));
    TRY(gan_dcgan_d_backward(c, &m->d, &x2, &dlog2, 0, 1));
    TRY(gan_params_adam(c, &m->d.params, &hp));

    /* G step: the same fakes through the updated D, labelled real and of
     * their sampled class */
    TRY(gan_dcgan_d_forward(c, &m->d, fake, 1, &m->rng));
    TRY(gan_concat_backward(c, &m->d.fc.y, &src1, &cls1));
    TRY(gan_bce_logits(c, &src1, &t1, &m->loss_gsrc, &gsrc1));
    TRY(gan_softmax_xent(c, &cls1, &labgt, &m->loss_gcls, &gcls1));
    TRY(gan_concat_forward(c, &gsrc1, &gcls1, &dlog1));
    TRY(gan_dcgan_d_backward(c, &m->d, fake, &dlog1, 1, 0));
    TRY(gan_gen_backward(c, &m->gen, &zin, &m->d.c1.dx));
    TRY(gan_params_adam(c, gan_gen_params(&m->gen), &hp));
    m->step++;

    if (stats) {
        float ls, lc, lgs, lgc;
        TRY(gan_tensor_read(c, &m->loss_src, &ls));
        TRY(gan_tensor_read(c, &m->loss_cls, &lc));
        TRY(gan_tensor_read(c, &m->loss_gsrc, &lgs));
        TRY(gan_tensor_read(c, &m->loss_gcls, &lgc));
        size_t off = (size_t)N * (size_t)(K + 1);
        stats->loss_d = 2.f * (ls + lc);
        stats->loss_cls = 2.f * lc;
        stats->loss_g = lgs + lgc;
        stats->d_real = (float)gan_train_mean_sigmoid(logits, N, K + 1);
        stats->d_fake = (float)gan_train_mean_sigmoid(logits + off, N, K + 1);
        stats->acc_real = (float)class_acc(logits, labels, N, K);
        stats->acc_fake = (float)class_acc(logits + off, fake_lab, N, K);
    }
cleanup:
    free(logits);
    return st;
}

void gan_cgan_free(gan_ctx *c, gan_cgan *m)
{
    gan_gen_free(c, &m->gen);
    gan_dcgan_d_free(c, &m->d);
    gan_tensor *all[] = {&m->z,     &m->onehot, &m->zin,   &m->sample_z,  &m->x2,       &m->labels2,   &m->labels_g,
                         &m->t2,    &m->t1,     &m->src2,  &m->cls2,      &m->gsrc2,    &m->gcls2,     &m->dlog2,
                         &m->src1,  &m->cls1,   &m->gsrc1, &m->gcls1,     &m->dlog1,    &m->loss_src,  &m->loss_cls,
                         &m->loss_gsrc, &m->loss_gcls};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) gan_tensor_free(c, all[i]);
    free(m->h_labels);
    free(m->h_onehot);
    memset(m, 0, sizeof *m);
}

/* The fields that define the networks: a checkpoint must match them all. */
static void arch_of(const gan_cgan_config *cfg, gan_kvbuf *a)
{
    const gan_dcgan_config *m = &cfg->model;
    *a = (gan_kvbuf){.n = 0};
    gan_kv_add(a, "model", "acgan");
    gan_kv_add(a, "arch", "%s", gan_arch_name(m->arch));
    gan_kv_add(a, "nz", "%d", m->nz);
    gan_kv_add(a, "nclass", "%d", cfg->nclass);
    if (m->arch == GAN_ARCH_MLP)
        gan_kv_add(a, "hidden", "%d", m->hidden);
    else
        gan_kv_add(a, "ngf", "%d", m->ngf);
    gan_kv_add(a, "ndf", "%d", m->ndf);
    gan_kv_add(a, "nout", "%d", 1 + cfg->nclass);
    gan_kv_add(a, "slope", "%.9g", m->slope);
    gan_kv_add(a, "dropout", "%.9g", m->drop);
}

gan_status gan_cgan_save(gan_ctx *c, const gan_cgan *m, const char *path, const gan_ckpt_kv *extra, int nextra)
{
    gan_kvbuf a, run = {.n = 0};
    arch_of(&m->cfg, &a);
    gan_kv_add(&run, "batch", "%d", m->cfg.batch);
    gan_kv_add(&run, "lr", "%.9g", m->cfg.adam.lr);
    gan_kv_add(&run, "beta1", "%.9g", m->cfg.adam.beta1);
    gan_params *regs[2] = {gan_gen_params(&m->gen), (gan_params *)&m->d.params};
    return gan_run_save(c, path, regs, 2, &a, &run, m->step, m->rng, extra, nextra);
}

gan_status gan_cgan_load(gan_ctx *c, gan_cgan *m, const char *path, gan_ckpt **out)
{
    gan_kvbuf a;
    arch_of(&m->cfg, &a);
    gan_params *regs[2] = {gan_gen_params(&m->gen), &m->d.params};
    return gan_run_load(c, path, regs, 2, &a, &m->step, &m->rng, out);
}

/* ---- the cgan mode of the training loop (include/gancl/loop.h) ---- */

gan_status gan_loop_cgan_init(gan_ctx *c, gan_loop_cgan *g, const gan_cgan_config *cfg)
{
    memset(g, 0, sizeof *g);
    gan_status st = gan_cgan_init(c, &g->m, cfg);
    if (!st) st = gan_tensor_alloc4(c, &g->real, GAN_F32, 4, cfg->batch, 1, 28, 28);
    gan_generator_info info = gan_generator_info_gan(&g->m.cfg.model, g->m.cfg.nclass);
    if (!st) st = gan_generator_wrap(c, &g->gen, &info, &g->m.gen, NULL, cfg->batch);
    return st;
}

void gan_loop_cgan_free(gan_ctx *c, gan_loop_cgan *g)
{
    gan_generator_free(c, &g->gen);
    gan_tensor_free(c, &g->real);
    gan_cgan_free(c, &g->m);
}

static gan_status cgan_step_(gan_ctx *c, void *model, size_t b, const float *x, const int32_t *labels, int n,
                             gan_loop_metrics *out)
{
    (void)b;
    gan_loop_cgan *g = model;
    gan_cgan_stats s;
    gan_tensor real; /* full batches; a rank's slice of one when data-parallel */
    gan_status st = gan_tensor_narrow(c, &g->real, n, &real);
    if (!st) st = gan_tensor_write(c, &real, x);
    if (!st) st = gan_cgan_step(c, &g->m, &real, labels, out ? &s : NULL);
    if (!st && out)
        *out = (gan_loop_metrics){7, {{"loss_d", s.loss_d}, {"loss_g", s.loss_g}, {"loss_cls", s.loss_cls},
                                      {"d_real", s.d_real}, {"d_fake", s.d_fake}, {"acc_real", s.acc_real},
                                      {"acc_fake", s.acc_fake}}};
    return st;
}

static int cgan_steps_(const void *model) { return ((const gan_loop_cgan *)model)->m.step; }

static gan_status cgan_save_(gan_ctx *c, const void *model, const char *path, const gan_ckpt_kv *kv, int n)
{
    return gan_cgan_save(c, &((const gan_loop_cgan *)model)->m, path, kv, n);
}

static gan_status cgan_load_(gan_ctx *c, void *model, const char *path, gan_ckpt **out)
{
    return gan_cgan_load(c, &((gan_loop_cgan *)model)->m, path, out);
}

/* The class grid: a row per class, a fixed noise vector per column. */
static gan_status cgan_epoch_end_(gan_ctx *c, void *model, const gan_loop_run *run, int epoch,
                                  gan_loop_metrics *out, char *artifact, size_t cap)
{
    (void)out;
    gan_loop_cgan *g = model;
    int n = g->m.cfg.nclass * GAN_CGAN_GRID;
    int32_t *labels = malloc((size_t)n * sizeof *labels);
    if (!labels) return GAN_FAIL(c, GAN_ERR_NOMEM, "class grid: out of memory");
    snprintf(artifact, cap, "%s/samples_epoch%03d.png", run->outdir, epoch + 1);
    for (int i = 0; i < n; i++) labels[i] = i / GAN_CGAN_GRID;
    gan_status st = gan_train_grid(c, &g->gen, &g->m.sample_z, n, labels, artifact);
    free(labels);
    return st;
}

const gan_loop_mode gan_loop_mode_cgan = {
    .name = "cgan",
    .range = GAN_RANGE_TANH,
    .labels = 1,
    .full_batches = 1,
    .nloss = 2,
    .data_parallel = 1,
    .step = cgan_step_,
    .steps = cgan_steps_,
    .save = cgan_save_,
    .load = cgan_load_,
    .epoch_end = cgan_epoch_end_,
};
