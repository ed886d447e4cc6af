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
