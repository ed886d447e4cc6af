/* Semi-supervised GAN training step (Salimans et al. 2016), checkpoints and
 * inference (include/gancl/semi.h).
 *
 * D's three loss terms share one forward and one backward: the labeled,
 * unlabeled and fake batches are concatenated into 3N rows (the
 * discriminator has no batch statistics, so rows do not interact), the
 * logits are split back with concat_backward, each term's gradient is
 * written by its loss op, and the gradients are concatenated again. That
 * gives the summed parameter gradients from one backward pass, with GEMMs
 * three times taller than three separate passes would run. The unlabeled
 * terms carry Salimans' factor 0.5:
 *   L_D = xent(lab) + 0.5 * lse_loss(unl, real) + 0.5 * lse_loss(fake),
 * (times the unlabeled weight, 1 by default), the 0.5 applied to their
 * gradients with a fill and an axpy (the loss
 * ops and these moves of [3N, K] logits take ~0.1 ms of a ~40 ms step).
 * The batches are placed with copy_rows into one [3N, 784] input, which
 * the G step reuses for its [fake; unlabeled] pass. Nothing in a step
 * waits for the device unless statistics are asked for.
 * The consistency term (cfg.consistency = W > 0) appends the unlabeled
 * batch as a fourth block of N rows to the same pass, so its noise draws
 * are independent of the first block's; the consistency op's gradients
 * are added, times W, to the first block's and written to the fourth's. */
#include "gancl/dist.h"
#include "gancl/semi.h"
#include "gancl/loop.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

gan_semi_config gan_semi_default(void)
{
    return (gan_semi_config){
        .nz = 100,
        .g_hidden = 500,
        .d_hidden = {1000, 500, 250, 250, 250},
        .nclass = 10,
        .noise_in = 0.3f,
        .noise_hidden = 0.5f,
        .init_std = 0.05f,
        .batch = 100,
        .adam = {.lr = 3e-3f, .beta1 = 0.5f, .beta2 = 0.999f, .eps = 1e-4f, .step = 0},
        .g_adam = {.lr = 3e-3f, .beta1 = 0.5f, .beta2 = 0.999f, .eps = 1e-4f, .step = 0},
        .ema = 1e-4f,
        .unl_weight = 1.f,
        .consistency = 0.f,
        .lr_decay_from = -1,
        .seed = 1,
    };
}

float gan_semi_lr_factor(const gan_semi_config *cfg, int e, int epochs)
{
    int E = cfg->lr_decay_from;
    if (E < 0 || E >= epochs || e < E) return 1.f;
    return (float)((double)(epochs - e) / (double)(epochs - E));
}

gan_status gan_semi_init(gan_ctx *c, gan_semi *m, const gan_semi_config *cfg)
{
    gan_status st = GAN_OK;
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    m->lr_scale = 1.f;
    int N = cfg->batch, K = cfg->nclass, F = cfg->d_hidden[GAN_SEMI_DEPTH - 1];
    if (N < 1) return GAN_FAIL(c, GAN_ERR_ARG, "batch size %d: expected >= 1", N);
    if (!(cfg->unl_weight >= 0) || !(cfg->consistency >= 0) || cfg->lr_decay_from < -1)
        return GAN_FAIL(c, GAN_ERR_ARG, "unlabeled weight %g, consistency weight %g, lr decay epoch %d: expected "
                        ">= 0, >= 0, >= -1", cfg->unl_weight, cfg->consistency, cfg->lr_decay_from);
    /* the D pass's rows: [labeled; unlabeled; fake], and the unlabeled
     * batch again for the consistency term */
    int R = cfg->consistency > 0 ? 4 * N : 3 * N;
    if (cfg->nz < 1 || cfg->g_hidden < 1 || K < 1)
        return GAN_FAIL(c, GAN_ERR_ARG, "nz %d, g_hidden %d, nclass %d: expected >= 1", cfg->nz, cfg->g_hidden, K);
    for (int l = 0; l < GAN_SEMI_DEPTH; l++)
        if (cfg->d_hidden[l] < 1) return GAN_FAIL(c, GAN_ERR_ARG, "d_hidden[%d] is %d: expected >= 1", l, cfg->d_hidden[l]);
    m->rng = (gan_rng){.seed = cfg->seed, .counter = 0};
    TRY(gan_semi_g_init(c, &m->g, cfg, N, &m->rng));
    TRY(gan_semi_d_init(c, &m->d, cfg, R, &m->rng));
    TRY(gan_tensor_alloc4(c, &m->z, GAN_F32, 2, N, cfg->nz, 0, 0));
    TRY(gan_tensor_alloc4(c, &m->sample_z, GAN_F32, 2, 64, cfg->nz, 0, 0));
    TRY(gan_rng_uniform(c, gan_rng_take(&m->rng, m->sample_z.numel, 0), &m->sample_z));
    TRY(gan_params_add_buffer(c, &m->g.params, "state", "sample_noise", &m->sample_z));
    TRY(gan_tensor_alloc4(c, &m->x3, GAN_F32, 2, R, 784, 0, 0));
    gan_tensor *nk[] = {&m->lg_lab, &m->lg_unl, &m->lg_fake, &m->gr_lab, &m->gr_unl, &m->gr_fake};
    for (size_t i = 0; i < sizeof nk / sizeof nk[0]; i++) TRY(gan_tensor_alloc4(c, nk[i], GAN_F32, 2, N, K, 0, 0));
    TRY(gan_tensor_alloc4(c, &m->lg_rest, GAN_F32, 2, 2 * N, K, 0, 0));
    TRY(gan_tensor_alloc4(c, &m->gr_rest, GAN_F32, 2, 2 * N, K, 0, 0));
    TRY(gan_tensor_alloc4(c, &m->gr_rest_half, GAN_F32, 2, 2 * N, K, 0, 0));
    TRY(gan_tensor_alloc4(c, &m->gr3, GAN_F32, 2, R, K, 0, 0));
    if (cfg->consistency > 0) {
        gan_tensor *ct[] = {&m->lg_unl2, &m->gr_ct1, &m->gr_ct2, &m->gr_ct2w};
        for (size_t i = 0; i < sizeof ct / sizeof ct[0]; i++) TRY(gan_tensor_alloc4(c, ct[i], GAN_F32, 2, N, K, 0, 0));
        TRY(gan_tensor_alloc4(c, &m->loss_ct, GAN_F32, 1, 1, 0, 0, 0));
    }
    gan_tensor *l1[] = {&m->loss_lab, &m->loss_unl, &m->loss_fake, &m->loss_g};
    for (size_t i = 0; i < sizeof l1 / sizeof l1[0]; i++) TRY(gan_tensor_alloc4(c, l1[i], GAN_F32, 1, 1, 0, 0, 0));
    TRY(gan_tensor_alloc4(c, &m->m_unl, GAN_F32, 1, F, 0, 0, 0));
    TRY(gan_tensor_alloc4(c, &m->m_gen, GAN_F32, 1, F, 0, 0, 0));
    TRY(gan_tensor_alloc4(c, &m->dm, GAN_F32, 1, F, 0, 0, 0));
    TRY(gan_tensor_alloc4(c, &m->dfeat, GAN_F32, 2, N, F, 0, 0));
    TRY(gan_tensor_alloc4(c, &m->f_unl, GAN_F32, 2, N, F, 0, 0));
    if (cfg->ema > 0) {
        gan_params *r = &m->d.params;
        for (int i = 0; i < r->n; i++) {
            gan_param *p = r->p[i];
            TRY(gan_tensor_alloc(c, &m->ema[i], GAN_F32, p->w.ndim, p->w.dim));
            TRY(gan_fill(c, &m->ema[i], 0.f));
            TRY(gan_params_add_buffer(c, r, "ema", p->name, &m->ema[i]));
        }
    }
cleanup:
    return st;
}

/* Adam on D's parameters and, with cfg.ema > 0, the average a += r (p - a)
 * in the same pass (adam_ema_step). */
static gan_status d_adam(gan_ctx *c, gan_semi *m, const gan_adam_params *hp)
{
    if (!(m->cfg.ema > 0)) return gan_params_adam(c, &m->d.params, hp);
    return gan_params_adam_ema(c, &m->d.params, hp, m->cfg.ema, m->ema);
}

/* Swap the debiased average into D's parameters (in: the parameters go to
 * their gradient buffers, which a step rewrites anyway) or back (out). */
static gan_status ema_swap(gan_ctx *c, gan_semi *m, int in)
{
    gan_status st = GAN_OK;
    double debias = 1 - pow(1 - (double)m->cfg.ema, (double)m->step);
    for (int i = 0; i < m->d.params.n; i++) {
        gan_param *p = m->d.params.p[i];
        if (in) {
            TRY(gan_copy(c, &p->w, &p->g));
            TRY(gan_fill(c, &p->w, 0.f));
            TRY(gan_axpy(c, (float)(1 / debias), &m->ema[i], &p->w));
        } else {
            TRY(gan_copy(c, &p->g, &p->w));
        }
    }
cleanup:
    return st;
}

/* Rows viewed as one long row: concat along dim 1 of these views stacks
 * the batches. */
static gan_status flat(gan_ctx *c, const gan_tensor *t, gan_tensor *out)
{
    int d[2] = {1, (int)t->numel};
    return gan_tensor_view(c, t, 2, d, out);
}

static gan_status concat_rows(gan_ctx *c, const gan_tensor *a, const gan_tensor *b, gan_tensor *y)
{
    gan_status st = GAN_OK;
    gan_tensor fa, fb, fy;
    TRY(flat(c, a, &fa));
    TRY(flat(c, b, &fb));
    TRY(flat(c, y, &fy));
    TRY(gan_concat_forward(c, &fa, &fb, &fy));
cleanup:
    return st;
}

static gan_status split_rows(gan_ctx *c, const gan_tensor *y, gan_tensor *a, gan_tensor *b)
{
    gan_status st = GAN_OK;
    gan_tensor fa, fb, fy;
    TRY(flat(c, a, &fa));
    TRY(flat(c, b, &fb));
    TRY(flat(c, y, &fy));
    TRY(gan_concat_backward(c, &fy, &fa, &fb));
cleanup:
    return st;
}

static gan_status check_batch(gan_ctx *c, const gan_tensor *x, int n, int N, const char *what)
{
    if (x->ndim != 2 || x->dim[0] != n || x->dim[1] != 784 || n < 1 || n > N) {
        char b[64];
        return GAN_FAIL(c, GAN_ERR_SHAPE, "%s batch %s: expected [%d, 784], the labeled batch's rows (1 to %d)", what,
                        gan_tensor_shape_str(x, b, sizeof b), n, N);
    }
    return GAN_OK;
}

static double host_lse(const float *row, int K)
{
    double mx = row[0], s = 0;
    for (int k = 1; k < K; k++) mx = fmax(mx, row[k]);
    for (int k = 0; k < K; k++) s += exp((double)row[k] - mx);
    return mx + log(s);
}

static int host_argmax(const float *row, int K)
{
    int best = 0;
    for (int k = 1; k < K; k++)
        if (row[k] > row[best]) best = k;
    return best;
}

/* Statistics of the D step from its logits [3N, K] (N the step's rows). */
static gan_status d_stats(gan_ctx *c, gan_semi *m, const gan_tensor *labels, gan_semi_stats *s)
{
    gan_status st = GAN_OK;
    int N = labels->dim[0], K = m->cfg.nclass;
    float *lg = malloc((size_t)3 * N * K * sizeof *lg);
    int32_t *y = malloc((size_t)N * sizeof *y);
    if (!lg || !y) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "step statistics");
        goto cleanup;
    }
    gan_tensor y3;
    TRY(gan_tensor_narrow(c, &m->d.fc[GAN_SEMI_DEPTH].y, 3 * N, &y3));
    TRY(gan_tensor_read(c, &y3, lg));
    TRY(gan_tensor_read(c, labels, y));
    double acc = 0, dr = 0, df = 0;
    for (int n = 0; n < N; n++) {
        acc += host_argmax(lg + (size_t)n * K, K) == y[n];
        dr += 1.0 / (1.0 + exp(-host_lse(lg + (size_t)(N + n) * K, K)));
        df += 1.0 / (1.0 + exp(-host_lse(lg + (size_t)(2 * N + n) * K, K)));
    }
    s->train_acc = (float)(acc / N);
    s->d_real = (float)(dr / N);
    s->d_fake = (float)(df / N);
cleanup:
    free(lg);
    free(y);
    return st;
}

gan_status gan_semi_step(gan_ctx *c, gan_semi *m, const gan_tensor *x_lab, const gan_tensor *labels,
                         const gan_tensor *x_unl, const gan_tensor *x_unl2, gan_semi_stats *stats)
{
    gan_status st = GAN_OK;
    /* N: the step's rows, the model's batch or (data-parallel) the rank's
     * slice of it; every tensor below is a view of its first rows */
    int M = m->cfg.batch, N = x_lab->dim[0];
    TRY(check_batch(c, x_lab, N, M, "labeled"));
    TRY(check_batch(c, x_unl, N, M, "unlabeled"));
    TRY(check_batch(c, x_unl2, N, M, "second unlabeled"));
    if (labels->dtype != GAN_I32 || labels->ndim != 1 || labels->dim[0] != N) {
        char b[64];
        return GAN_FAIL(c, GAN_ERR_SHAPE, "labels %s: expected [%d] I32", gan_tensor_shape_str(labels, b, sizeof b), N);
    }
    gan_adam_params hp = m->cfg.adam, hg = m->cfg.g_adam;
    hp.step = hg.step = m->step + 1;
    hp.lr *= m->lr_scale;
    hg.lr *= m->lr_scale;
    const gan_tensor *fake = &m->g.out.y;
    float W = m->cfg.consistency;
    gan_tensor y3, g3, gu, z, x3, lg_lab, lg_unl, lg_fake, lg_rest, gr_lab, gr_unl, gr_fake, gr_rest, gr_half, gr4;
    gan_tensor lg_unl2, gr_ct1, gr_ct2, gr_ct2w, dfeat, f_unl;
    gan_rng at;
    struct {
        gan_tensor *buf, *view;
        int rows;
    } v[] = {
        {&m->z, &z, N},
        {&m->x3, &x3, (W > 0 ? 4 : 3) * N},
        {&m->lg_lab, &lg_lab, N},
        {&m->lg_unl, &lg_unl, N},
        {&m->lg_fake, &lg_fake, N},
        {&m->lg_rest, &lg_rest, 2 * N},
        {&m->gr_lab, &gr_lab, N},
        {&m->gr_unl, &gr_unl, N},
        {&m->gr_fake, &gr_fake, N},
        {&m->gr_rest, &gr_rest, 2 * N},
        {&m->gr_rest_half, &gr_half, 2 * N},
        {&m->gr3, &gr4, (W > 0 ? 4 : 3) * N},
        {&m->dfeat, &dfeat, N},
        {&m->f_unl, &f_unl, N},
        {&m->lg_unl2, &lg_unl2, N}, /* the consistency term's (W > 0) */
        {&m->gr_ct1, &gr_ct1, N},
        {&m->gr_ct2, &gr_ct2, N},
        {&m->gr_ct2w, &gr_ct2w, N},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++)
        if (v[i].buf->numel) TRY(gan_tensor_narrow(c, v[i].buf, v[i].rows, v[i].view));

    /* D step: [labeled; unlabeled; fake] in one pass, and with W > 0 the
     * unlabeled batch once more (its own noise draws); data-parallel, noise
     * and z go by global row */
    TRY(gan_rng_take_rows(c, &m->rng, &z, 0, &at));
    TRY(gan_rng_uniform(c, at, &z));
    TRY(gan_semi_g_forward(c, &m->g, &z, 1));
    TRY(gan_copy_rows(c, x_lab, 0, &x3, 0, N));
    TRY(gan_copy_rows(c, x_unl, 0, &x3, N, N));
    TRY(gan_copy_rows(c, fake, 0, &x3, 2 * N, N));
    if (W > 0) TRY(gan_copy_rows(c, x_unl, 0, &x3, 3 * N, N));
    TRY(gan_semi_d_forward(c, &m->d, &x3, 1, 0, &m->rng));
    TRY(gan_tensor_narrow(c, &m->d.fc[GAN_SEMI_DEPTH].y, 3 * N, &y3));
    TRY(split_rows(c, &y3, &lg_lab, &lg_rest));
    TRY(split_rows(c, &lg_rest, &lg_unl, &lg_fake));
    TRY(gan_softmax_xent(c, &lg_lab, labels, &m->loss_lab, &gr_lab));
    TRY(gan_lse_loss(c, &lg_unl, 1, &m->loss_unl, &gr_unl));
    TRY(gan_lse_loss(c, &lg_fake, 0, &m->loss_fake, &gr_fake));
    TRY(concat_rows(c, &gr_unl, &gr_fake, &gr_rest));
    TRY(gan_fill(c, &gr_half, 0.f));
    TRY(gan_axpy(c, 0.5f * m->cfg.unl_weight, &gr_rest, &gr_half));
    if (W > 0) {
        /* + W * consistency: its gradient wrt the first pass's logits goes
         * to the unlabeled rows (the first N of gr_half), the one wrt the
         * second pass's to rows 3N.. */
        TRY(gan_copy_rows(c, &m->d.fc[GAN_SEMI_DEPTH].y, 3 * N, &lg_unl2, 0, N));
        TRY(gan_consistency(c, &lg_unl, &lg_unl2, &m->loss_ct, &gr_ct1, &gr_ct2));
        TRY(gan_tensor_narrow(c, &gr_half, N, &gu));
        TRY(gan_axpy(c, W, &gr_ct1, &gu));
        TRY(gan_fill(c, &gr_ct2w, 0.f));
        TRY(gan_axpy(c, W, &gr_ct2, &gr_ct2w));
        TRY(gan_copy_rows(c, &gr_ct2w, 0, &gr4, 3 * N, N));
    }
    TRY(gan_tensor_narrow(c, &gr4, 3 * N, &g3));
    TRY(concat_rows(c, &gr_lab, &gr_half, &g3));
    if (stats) TRY(d_stats(c, m, labels, stats));
    TRY(gan_semi_d_backward(c, &m->d, &gr4, 0, 0, 1));
    TRY(d_adam(c, m, &hp));

    /* G step: feature matching against the updated D, on [fake; unlabeled]
     * in one pass that stops at the features; the backward takes the fake
     * rows only. Data-parallel, the batch means are the global batch's
     * (gan_dist_mean) before the loss, so the loss and its gradient are the
     * one process's, in the rank's scale of its mean's backward. */
    gan_tensor xg, feat, feat_gen;
    TRY(gan_rng_take_rows(c, &m->rng, &z, 0, &at));
    TRY(gan_rng_uniform(c, at, &z));
    TRY(gan_semi_g_forward(c, &m->g, &z, 1));
    TRY(gan_tensor_narrow(c, &x3, 2 * N, &xg));
    TRY(gan_copy_rows(c, fake, 0, &xg, 0, N));
    TRY(gan_copy_rows(c, x_unl2, 0, &xg, N, N));
    TRY(gan_semi_d_forward(c, &m->d, &xg, 1, 1, &m->rng));
    feat = m->d.fc[GAN_SEMI_DEPTH - 1].y;
    TRY(gan_tensor_narrow(c, &feat, N, &feat_gen));
    TRY(gan_copy_rows(c, &feat, N, &f_unl, 0, N));
    TRY(gan_batch_mean_forward(c, &feat_gen, &m->m_gen));
    TRY(gan_batch_mean_forward(c, &f_unl, &m->m_unl));
    TRY(gan_dist_mean(c, &m->m_gen));
    TRY(gan_dist_mean(c, &m->m_unl));
    TRY(gan_mse(c, &m->m_gen, &m->m_unl, &m->loss_g, &m->dm));
    TRY(gan_batch_mean_backward(c, &m->dm, &dfeat));
    TRY(gan_semi_d_backward(c, &m->d, &dfeat, 1, 1, 0));
    TRY(gan_semi_g_backward(c, &m->g, &z, &m->d.fc[0].dx));
    TRY(gan_params_adam(c, &m->g.params, &hg));
    m->step++;

    if (stats) {
        float lab, unl, fk, lg;
        TRY(gan_tensor_read(c, &m->loss_lab, &lab));
        TRY(gan_tensor_read(c, &m->loss_unl, &unl));
        TRY(gan_tensor_read(c, &m->loss_fake, &fk));
        TRY(gan_tensor_read(c, &m->loss_g, &lg));
        stats->loss_lab = lab;
        stats->loss_unl = 0.5f * (unl + fk);
        stats->loss_g = lg;
        stats->loss_ct = 0.f;
        if (W > 0) TRY(gan_tensor_read(c, &m->loss_ct, &stats->loss_ct));
    }
cleanup:
    return st;
}

gan_status gan_semi_data_init(gan_ctx *c, gan_semi *m, const gan_tensor *x)
{
    gan_status st = GAN_OK;
    int n = x->dim[0];
    float *y = NULL, *g = NULL, *b = NULL;
    if (x->ndim != 2 || x->dim[1] != 784 || n < 2 || n > 3 * m->cfg.batch) {
        char buf[64];
        return GAN_FAIL(c, GAN_ERR_SHAPE, "initialisation batch %s: expected [n, 784] with 2 <= n <= %d",
                        gan_tensor_shape_str(x, buf, sizeof buf), 3 * m->cfg.batch);
    }
    for (int l = 0; l <= GAN_SEMI_DEPTH; l++) {
        gan_nn_wndense *fc = &m->d.fc[l];
        int O = fc->O;
        free(y);
        free(g);
        free(b);
        y = malloc((size_t)n * O * sizeof *y);
        g = malloc((size_t)O * sizeof *g);
        b = malloc((size_t)O * sizeof *b);
        if (!y || !g || !b) {
            st = GAN_FAIL(c, GAN_ERR_NOMEM, "data-dependent initialisation");
            goto cleanup;
        }
        TRY(gan_fill(c, &fc->g.w, 1.f));
        TRY(gan_fill(c, &fc->b.w, 0.f));
        /* with g = 1 and bias 0 the pre-activation is t / norm */
        TRY(gan_semi_d_forward(c, &m->d, x, 1, 0, &m->rng));
        TRY(gan_tensor_read(c, &fc->t, y));
        TRY(gan_tensor_read(c, &fc->norm, g));
        for (int o = 0; o < O; o++) {
            double mu = 0, var = 0;
            for (int i = 0; i < n; i++) mu += y[(size_t)i * O + o] / (double)g[o];
            mu /= n;
            for (int i = 0; i < n; i++) {
                double d = y[(size_t)i * O + o] / (double)g[o] - mu;
                var += d * d;
            }
            /* a unit (nearly) constant on the batch keeps unit scale */
            double s = sqrt(var / n);
            if (!(s > 1e-6)) s = 1;
            g[o] = (float)(1 / s);
            b[o] = (float)(-mu / s);
        }
        TRY(gan_tensor_write(c, &fc->g.w, g));
        TRY(gan_tensor_write(c, &fc->b.w, b));
    }
cleanup:
    free(y);
    free(g);
    free(b);
    return st;
}

gan_status gan_semi_classify(gan_ctx *c, gan_semi *m, const gan_tensor *x, int averaged, int32_t *pred)
{
    gan_status st = GAN_OK;
    int n = x->dim[0], K = m->cfg.nclass, swapped = 0;
    float *lg = NULL;
    if (x->ndim != 2 || x->dim[1] != 784 || n < 1 || n > 3 * m->cfg.batch) {
        char b[64];
        return GAN_FAIL(c, GAN_ERR_SHAPE, "images %s: expected [n, 784] with 1 <= n <= %d",
                        gan_tensor_shape_str(x, b, sizeof b), 3 * m->cfg.batch);
    }
    if (!(lg = malloc((size_t)n * K * sizeof *lg))) return GAN_FAIL(c, GAN_ERR_NOMEM, "logits");
    if (averaged && m->cfg.ema > 0 && m->step > 0) {
        TRY(ema_swap(c, m, 1));
        swapped = 1;
    }
    TRY(gan_semi_d_forward(c, &m->d, x, 0, 0, &m->rng));
    TRY(gan_tensor_read(c, &m->d.fc[GAN_SEMI_DEPTH].y, lg));
    for (int i = 0; i < n; i++) pred[i] = host_argmax(lg + (size_t)i * K, K);
cleanup:
    if (swapped) {
        gan_status st2 = ema_swap(c, m, 0);
        if (st == GAN_OK) st = st2;
    }
    free(lg);
    return st;
}

void gan_semi_free(gan_ctx *c, gan_semi *m)
{
    gan_semi_g_free(c, &m->g);
    gan_semi_d_free(c, &m->d);
    gan_tensor *all[] = {&m->z,       &m->sample_z, &m->f_unl,    &m->x3,       &m->lg_lab,       &m->lg_rest,
                         &m->lg_unl,  &m->lg_fake,  &m->gr_lab,   &m->gr_unl,   &m->gr_fake,      &m->gr_rest,
                         &m->gr_rest_half, &m->gr3, &m->loss_lab, &m->loss_unl, &m->loss_fake,    &m->loss_g,
                         &m->m_unl,   &m->m_gen,    &m->dm,       &m->dfeat,   &m->lg_unl2,      &m->gr_ct1,
                         &m->gr_ct2,  &m->gr_ct2w,  &m->loss_ct};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) gan_tensor_free(c, all[i]);
    for (int i = 0; i < GAN_MAX_PARAMS; i++) gan_tensor_free(c, &m->ema[i]);
    memset(m, 0, sizeof *m);
}

/* The fields that define the networks: a checkpoint must match them all. */
static void arch_of(const gan_semi_config *cfg, gan_kvbuf *a)
{
    const int *h = cfg->d_hidden;
    *a = (gan_kvbuf){.n = 0};
    gan_kv_add(a, "model", "semi-mlp");
    gan_kv_add(a, "nz", "%d", cfg->nz);
    gan_kv_add(a, "g_hidden", "%d", cfg->g_hidden);
    gan_kv_add(a, "d_hidden", "%d,%d,%d,%d,%d", h[0], h[1], h[2], h[3], h[4]);
    gan_kv_add(a, "nclass", "%d", cfg->nclass);
    gan_kv_add(a, "noise", "%.9g,%.9g", cfg->noise_in, cfg->noise_hidden);
}

gan_status gan_semi_save(gan_ctx *c, const gan_semi *m, const char *path, const gan_ckpt_kv *extra, int nextra)
{
    gan_kvbuf a, run = {.n = 0};
    arch_of(&m->cfg, &a);
    gan_kv_add(&run, "batch", "%d", m->cfg.batch);
    gan_kv_add(&run, "lr", "%.9g", m->cfg.adam.lr);
    gan_kv_add(&run, "beta1", "%.9g", m->cfg.adam.beta1);
    gan_kv_add(&run, "ema", "%.9g", m->cfg.ema);
    gan_kv_add(&run, "beta2", "%.9g", m->cfg.adam.beta2);
    gan_kv_add(&run, "g_lr", "%.9g", m->cfg.g_adam.lr);
    gan_kv_add(&run, "g_beta1", "%.9g", m->cfg.g_adam.beta1);
    gan_kv_add(&run, "g_beta2", "%.9g", m->cfg.g_adam.beta2);
    gan_kv_add(&run, "unl_weight", "%.9g", m->cfg.unl_weight);
    gan_kv_add(&run, "consistency", "%.9g", m->cfg.consistency);
    gan_kv_add(&run, "lr_decay_from", "%d", m->cfg.lr_decay_from);
    gan_params *regs[2] = {(gan_params *)&m->g.params, (gan_params *)&m->d.params};
    return gan_run_save(c, path, regs, 2, &a, &run, m->step, m->rng, extra, nextra);
}

gan_status gan_semi_load(gan_ctx *c, gan_semi *m, const char *path, gan_ckpt **out)
{
    gan_kvbuf a;
    arch_of(&m->cfg, &a);
    gan_params *regs[2] = {&m->g.params, &m->d.params};
    return gan_run_load(c, path, regs, 2, &a, &m->step, &m->rng, out);
}

/* ---- the semi mode of the training loop (include/gancl/loop.h) ---- */

uint64_t gan_loop_semi_key(int purpose, int epoch, size_t r)
{
    return (uint64_t)purpose << 56 | (uint64_t)(uint32_t)epoch << 24 | (uint64_t)(r & 0xffffff);
}

gan_status gan_loop_semi_init(gan_ctx *c, gan_loop_semi *s, const gan_semi_config *cfg)
{
    memset(s, 0, sizeof *s);
    size_t N = (size_t)cfg->batch;
    gan_status st;
    if ((st = gan_semi_init(c, &s->m, cfg)) ||
        (st = gan_tensor_alloc4(c, &s->x_lab, GAN_F32, 2, cfg->batch, 784, 0, 0)) ||
        (st = gan_tensor_alloc4(c, &s->x_unl, GAN_F32, 2, cfg->batch, 784, 0, 0)) ||
        (st = gan_tensor_alloc4(c, &s->x_unl2, GAN_F32, 2, cfg->batch, 784, 0, 0)) ||
        (st = gan_tensor_alloc4(c, &s->y_lab, GAN_I32, 1, cfg->batch, 0, 0, 0)) ||
        (st = gan_tensor_alloc4(c, &s->x_test, GAN_F32, 2, 3 * cfg->batch, 784, 0, 0)))
        return st;
    s->xh = malloc(N * 784 * sizeof *s->xh);
    s->yh = malloc(N * sizeof *s->yh);
    s->xh_test = malloc(3 * N * 784 * sizeof *s->xh_test);
    s->yh_test = malloc(3 * N * sizeof *s->yh_test);
    s->pred = malloc(3 * N * sizeof *s->pred);
    if (!s->xh || !s->yh || !s->xh_test || !s->yh_test || !s->pred)
        return GAN_FAIL(c, GAN_ERR_NOMEM, "semi: staging for batch %d", cfg->batch);
    gan_generator_info info = gan_generator_info_semi(&s->m.cfg);
    return gan_generator_wrap(c, &s->gen, &info, NULL, &s->m.g, cfg->batch);
}

gan_status gan_loop_semi_data_init(gan_ctx *c, gan_loop_semi *s)
{
    size_t N = (size_t)s->m.cfg.batch, n = 3 * N < s->all->n ? 3 * N : s->all->n;
    size_t *init = malloc(s->all->n * sizeof *init);
    float *h = malloc(n * 784 * sizeof *h);
    gan_tensor xi;
    gan_status st = GAN_OK;
    if (!init || !h) st = GAN_FAIL(c, GAN_ERR_NOMEM, "semi: initialisation batch");
    if (!st) st = gan_epoch_order(c, s->all, s->m.cfg.seed, gan_loop_semi_key(GAN_SEMI_ORDER_INIT, 0, 0), init);
    if (!st) st = gan_dataset_batch(c, s->data, init, n, GAN_RANGE_UNIT, h, NULL);
    if (!st) st = gan_tensor_narrow(c, &s->x_test, (int)n, &xi);
    if (!st) st = gan_tensor_write(c, &xi, h);
    if (!st) st = gan_semi_data_init(c, &s->m, &xi);
    free(init);
    free(h);
    return st;
}

void gan_loop_semi_free(gan_ctx *c, gan_loop_semi *s)
{
    gan_tensor *ts[] = {&s->x_lab, &s->x_unl, &s->x_unl2, &s->y_lab, &s->x_test};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) gan_tensor_free(c, ts[i]);
    free(s->ord_unl2);
    free(s->ord_lab);
    free(s->xh);
    free(s->yh);
    free(s->xh_test);
    free(s->yh_test);
    free(s->pred);
    gan_generator_free(c, &s->gen);
    gan_semi_free(c, &s->m);
}

static uint64_t semi_order_key_(int epoch) { return gan_loop_semi_key(GAN_SEMI_ORDER_UNL, epoch, 0); }

/* The G step's unlabeled order, and the labeled indices of the epoch:
 * permutation after permutation of the labeled set; the epoch's learning
 * rate factor. */
static gan_status semi_epoch_begin_(gan_ctx *c, void *model, const gan_loop_run *run, int epoch)
{
    gan_loop_semi *s = model;
    s->m.lr_scale = gan_semi_lr_factor(&s->m.cfg, epoch, run->epochs);
    size_t N = (size_t)s->m.cfg.batch, per = gan_loop_per_epoch(run), need = per * N, lab_n = s->lab->n;
    if (!s->ord_unl2 || s->per_epoch != per) {
        free(s->ord_unl2);
        free(s->ord_lab);
        s->ord_unl2 = malloc(s->all->n * sizeof *s->ord_unl2);
        s->ord_lab = malloc((need ? need : 1) * sizeof *s->ord_lab);
        s->per_epoch = per;
        if (!s->ord_unl2 || !s->ord_lab) return GAN_FAIL(c, GAN_ERR_NOMEM, "semi: epoch orders");
    }
    gan_status st = gan_epoch_order(c, s->all, run->seed, gan_loop_semi_key(GAN_SEMI_ORDER_UNL2, epoch, 0), s->ord_unl2);
    if (st) return st;
    if (lab_n == 0) return GAN_FAIL(c, GAN_ERR_ARG, "semi: no labeled images");
    size_t *perm = malloc(lab_n * sizeof *perm);
    if (!perm) return GAN_FAIL(c, GAN_ERR_NOMEM, "semi: labeled order");
    for (size_t r = 0; r * lab_n < need && !st; r++) {
        size_t at = r * lab_n, take = need - at < lab_n ? need - at : lab_n;
        st = gan_epoch_order(c, s->lab, run->seed, gan_loop_semi_key(GAN_SEMI_ORDER_LAB, epoch, r), perm);
        if (!st) memcpy(s->ord_lab + at, perm, take * sizeof *perm);
    }
    free(perm);
    return st;
}

static gan_status semi_step_(gan_ctx *c, void *model, size_t b, const float *x, const int32_t *labels, int n,
                             gan_loop_metrics *out)
{
    (void)labels; /* full batches of N; data-parallel, x holds this rank's n rows [r0, r0 + n) of them */
    gan_loop_semi *s = model;
    size_t N = (size_t)s->m.cfg.batch;
    gan_semi_stats t;
    gan_tensor xl, yl, xu, xu2;
    int r0, rows;
    gan_status st;
    /* the labeled and second unlabeled batches: the same rows of theirs */
    if ((st = gan_dist_shard(c, (int)N, &r0, &rows))) return st;
    if (rows != n) return GAN_FAIL(c, GAN_ERR_ARG, "semi: a step of %d rows, the rank's slice has %d", n, rows);
    size_t at = b * N + (size_t)r0;
    if ((st = gan_tensor_narrow(c, &s->x_lab, n, &xl)) || (st = gan_tensor_narrow(c, &s->y_lab, n, &yl)) ||
        (st = gan_tensor_narrow(c, &s->x_unl, n, &xu)) || (st = gan_tensor_narrow(c, &s->x_unl2, n, &xu2)) ||
        (st = gan_dataset_batch(c, s->data, s->ord_lab + at, (size_t)n, GAN_RANGE_UNIT, s->xh, s->yh)) ||
        (st = gan_tensor_write(c, &xl, s->xh)) || (st = gan_tensor_write(c, &yl, s->yh)) ||
        (st = gan_tensor_write(c, &xu, x)) ||
        (st = gan_dataset_batch(c, s->data, s->ord_unl2 + at, (size_t)n, GAN_RANGE_UNIT, s->xh, NULL)) ||
        (st = gan_tensor_write(c, &xu2, s->xh)) ||
        (st = gan_semi_step(c, &s->m, &xl, &yl, &xu, &xu2, out ? &t : NULL)))
        return st;
    if (out) {
        *out = (gan_loop_metrics){6, {{"loss_lab", t.loss_lab}, {"loss_unl", t.loss_unl}, {"loss_g", t.loss_g},
                                      {"train_acc", t.train_acc}, {"d_real", t.d_real}, {"d_fake", t.d_fake}}};
        if (s->m.cfg.consistency > 0) out->f[out->n++] = (gan_metric){"loss_ct", t.loss_ct};
    }
    return GAN_OK;
}

static int semi_steps_(const void *model) { return ((const gan_loop_semi *)model)->m.step; }

static gan_status semi_save_(gan_ctx *c, const void *model, const char *path, const gan_ckpt_kv *kv, int n)
{
    return gan_semi_save(c, &((const gan_loop_semi *)model)->m, path, kv, n);
}

static gan_status semi_load_(gan_ctx *c, void *model, const char *path, gan_ckpt **out)
{
    return gan_semi_load(c, &((gan_loop_semi *)model)->m, path, out);
}

/* Test accuracy in [0, 1] over the whole test set, in batches of up to the
 * discriminator's 3N rows, with D's averaged or current parameters. */
static gan_status semi_test_accuracy(gan_ctx *c, gan_loop_semi *s, int averaged, double *acc)
{
    gan_status st = GAN_OK;
    const gan_dataset *test = s->test;
    size_t cap = (size_t)s->x_test.dim[0], correct = 0;
    size_t *idx = malloc(cap * sizeof *idx);
    if (!idx) return GAN_FAIL(c, GAN_ERR_NOMEM, "semi: test batch");
    for (size_t at = 0; at < test->n; at += cap) {
        size_t n = test->n - at < cap ? test->n - at : cap;
        gan_tensor xv;
        for (size_t i = 0; i < n; i++) idx[i] = at + i;
        if ((st = gan_dataset_batch(c, test, idx, n, GAN_RANGE_UNIT, s->xh_test, s->yh_test)) ||
            (st = gan_tensor_narrow(c, &s->x_test, (int)n, &xv)) || (st = gan_tensor_write(c, &xv, s->xh_test)) ||
            (st = gan_semi_classify(c, &s->m, &xv, averaged, s->pred)))
            break;
        for (size_t i = 0; i < n; i++) correct += s->pred[i] == s->yh_test[i];
    }
    free(idx);
    *acc = test->n ? (double)correct / (double)test->n : 0;
    return st;
}

static gan_status semi_epoch_end_(gan_ctx *c, void *model, const gan_loop_run *run, int epoch, gan_loop_metrics *out,
                                  char *artifact, size_t cap)
{
    gan_loop_semi *s = model;
    gan_status st;
    if ((st = semi_test_accuracy(c, s, 1, &s->acc)) || (st = semi_test_accuracy(c, s, 0, &s->raw))) return st;
    *out = (gan_loop_metrics){3, {{"test_acc", s->acc}, {"test_error", 1 - s->acc}, {"test_acc_current", s->raw}}};
    int rows = s->m.cfg.batch < 64 ? s->m.cfg.batch : 64;
    snprintf(artifact, cap, "%s/samples_epoch%03d.png", run->outdir, epoch + 1);
    return gan_train_grid(c, &s->gen, &s->m.sample_z, rows, NULL, artifact);
}

const gan_loop_mode gan_loop_mode_semi = {
    .name = "semi",
    .range = GAN_RANGE_UNIT,
    .labels = 0,
    .full_batches = 1,
    .nloss = 3,
    .data_parallel = 1,
    .step = semi_step_,
    .steps = semi_steps_,
    .save = semi_save_,
    .load = semi_load_,
    .epoch_end = semi_epoch_end_,
    .order_key = semi_order_key_,
    .epoch_begin = semi_epoch_begin_,
};
