/* The features mode (include/gancl/features.h): a frozen DCGAN
 * discriminator as a feature extractor and a softmax classifier on its
 * features.
 *
 * Features of a whole set are computed once, batch by batch, and placed
 * into one [n, F] tensor (copy_rows); a training step then gathers its
 * minibatch rows from there by index on the device (gather_rows), the
 * indices being a slice of the epoch's order already there. At the end,
 * the mode's table for the one training loop (gan_loop_mode_features). */
#include "gancl/features.h"
#include "gancl/loop.h"
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gan_features_config gan_features_default(void)
{
    return (gan_features_config){
        .discriminator = NULL,
        .ndf = 64,
        .nout = 1,
        .slope = 0.2f,
        .standardize = 0,
        .batch = 64,
        .adam = {.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f},
        .weight_decay = 0.f,
        .seed = 1,
    };
}

/* What a checkpoint is, for messages: "a gan checkpoint (...)". */
static const char *describe(const gan_ckpt *k, char *buf, size_t cap)
{
    const char *mode = gan_ckpt_meta(k, "mode"), *model = gan_ckpt_meta(k, "model");
    static const char *const known[][2] = {
        {"gan", "DCGAN generator and discriminator"},
        {"classifier", "the MNIST CNN classifier"},
        {"semi", "semi-supervised MLP GAN"},
        {"features", "discriminator features and a softmax layer"},
    };
    if (!mode) {
        snprintf(buf, cap, "not a gancl training checkpoint (no \"mode\" metadata)");
        return buf;
    }
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        if (!strcmp(mode, known[i][0])) {
            snprintf(buf, cap, "a %s checkpoint (%s, model \"%s\")", mode, known[i][1], model ? model : "?");
            return buf;
        }
    snprintf(buf, cap, "a %s checkpoint (model \"%s\")", mode, model ? model : "?");
    return buf;
}

static gan_status parse_int_meta(gan_ctx *c, const gan_ckpt *k, const char *key, int *out)
{
    const char *v = gan_ckpt_meta(k, key);
    char *end;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || !*v || *end || x < 1 || x > 65536)
        return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: metadata \"%s\" is %s: expected a positive integer",
                        gan_ckpt_label(k), key, v ? v : "missing");
    *out = (int)x;
    return GAN_OK;
}

static gan_status parse_float_meta(gan_ctx *c, const gan_ckpt *k, const char *key, float *out)
{
    const char *v = gan_ckpt_meta(k, key);
    char *end;
    double x = v ? strtod(v, &end) : 0;
    if (!v || !*v || *end || !isfinite(x))
        return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: metadata \"%s\" is %s: expected a number", gan_ckpt_label(k),
                        key, v ? v : "missing");
    *out = (float)x;
    return GAN_OK;
}

/* The discriminator's shape from a gan checkpoint, refusing anything else. */
static gan_status discriminator_of(gan_ctx *c, const gan_ckpt *k, gan_features_config *cfg)
{
    gan_status st = GAN_OK;
    const char *mode = gan_ckpt_meta(k, "mode"), *model = gan_ckpt_meta(k, "model");
    char what[256];
    if (!mode || strcmp(mode, "gan") || !model || strcmp(model, "dcgan"))
        return GAN_FAIL(c, GAN_ERR_MISMATCH,
                        "%s is %s: the feature extractor needs the discriminator of a `gancl train --mode gan` "
                        "checkpoint (mode \"gan\", model \"dcgan\")",
                        gan_ckpt_label(k), describe(k, what, sizeof what));
    TRY(parse_int_meta(c, k, "ndf", &cfg->ndf));
    TRY(parse_int_meta(c, k, "nout", &cfg->nout));
    TRY(parse_float_meta(c, k, "slope", &cfg->slope));
cleanup:
    return st;
}

gan_status gan_features_init(gan_ctx *c, gan_features *m, const gan_features_config *cfg)
{
    gan_status st = GAN_OK;
    gan_ckpt *k = NULL;
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    m->cfg.discriminator = NULL; /* the caller's string: not kept */
    if (cfg->batch < 1 || cfg->ndf < 1 || cfg->nout < 1)
        return GAN_FAIL(c, GAN_ERR_ARG, "features: batch %d, ndf %d, nout %d: each must be at least 1", cfg->batch,
                        cfg->ndf, cfg->nout);
    if (cfg->discriminator) {
        TRY(gan_ckpt_load(c, cfg->discriminator, &k));
        TRY(discriminator_of(c, k, &m->cfg));
    }
    const int B = m->cfg.batch, ndf = m->cfg.ndf;
    m->F = ndf * 49 + 2 * ndf * 9;
    gan_dcgan_config dc = gan_dcgan_default();
    dc.ndf = ndf;
    dc.nout = m->cfg.nout;
    dc.slope = m->cfg.slope;
    m->rng = (gan_rng){.seed = m->cfg.seed, .counter = 0};
    TRY(gan_dcgan_d_init(c, &m->d, &dc, B, &m->rng));
    if (k) {
        /* D's tensors only: the generator's and the optimizer's stay behind */
        for (int i = 0; i < m->d.params.n; i++) {
            gan_tensor *t = &m->d.params.p[i]->w;
            int64_t shape[GAN_MAX_DIMS];
            const gan_ckpt_tensor *ct;
            for (int d = 0; d < t->ndim; d++) shape[d] = t->dim[d];
            TRY(gan_ckpt_expect(c, k, m->d.params.p[i]->name, GAN_ST_F32, t->ndim, shape, &ct));
            TRY(gan_tensor_write(c, t, ct->data));
        }
    }
    TRY(gan_nn_maxpool_init(c, &m->pool, B, ndf, 14, 14));
    TRY(gan_nn_maxpool_init(c, &m->pool2, B, 2 * ndf, 7, 7));
    TRY(gan_tensor_alloc4(c, &m->cat_buf, GAN_F32, 2, B, m->F, 0, 0));
    TRY(gan_tensor_alloc4(c, &m->img, GAN_F32, 4, B, 1, 28, 28));
    TRY(gan_nn_dense_init(c, &m->fc, &m->probe, "probe.fc", B, m->F, GAN_CNN_CLASSES, 1));
    TRY(gan_param_uniform_fan_in(c, &m->fc.w, &m->rng, m->F));
    TRY(gan_param_uniform_fan_in(c, &m->fc.b, &m->rng, m->F));
    m->fc.b.no_decay = 1;
    TRY(gan_tensor_alloc4(c, &m->mean, GAN_F32, 1, m->F, 0, 0, 0));
    TRY(gan_tensor_alloc4(c, &m->invstd, GAN_F32, 1, m->F, 0, 0, 0));
    TRY(gan_fill(c, &m->mean, 0.f));
    TRY(gan_fill(c, &m->invstd, 1.f));
    TRY(gan_params_add_buffer(c, &m->probe, "probe", "mean", &m->mean));
    TRY(gan_params_add_buffer(c, &m->probe, "probe", "invstd", &m->invstd));
    TRY(gan_tensor_alloc4(c, &m->xb, GAN_F32, 2, B, m->F, 0, 0));
    TRY(gan_tensor_alloc4(c, &m->yb, GAN_I32, 1, B, 0, 0, 0));
    TRY(gan_tensor_alloc4(c, &m->rows, GAN_I32, 1, B, 0, 0, 0));
    TRY(gan_tensor_alloc4(c, &m->loss, GAN_F32, 1, 1, 0, 0, 0));
    TRY(gan_tensor_alloc4(c, &m->grad, GAN_F32, 2, B, GAN_CNN_CLASSES, 0, 0));
    m->h_img = malloc((size_t)B * 784 * sizeof *m->h_img);
    m->h_logits = malloc((size_t)B * GAN_CNN_CLASSES * sizeof *m->h_logits);
    if (!m->h_img || !m->h_logits) st = GAN_FAIL(c, GAN_ERR_NOMEM, "features: host buffers for batch %d", B);
cleanup:
    gan_ckpt_free(k);
    return st;
}

static void set_free(gan_ctx *c, gan_features_set *s)
{
    gan_tensor_free(c, &s->x);
    gan_tensor_free(c, &s->y);
    gan_tensor_free(c, &s->logits);
    free(s->h_y);
    memset(s, 0, sizeof *s);
}

/* Features of the items of d into s, batch by batch: D in inference mode
 * (its dropout would be a copy, so it is left out), conv1's and conv2's
 * activations pooled, concatenated. */
static gan_status extract(gan_ctx *c, gan_features *m, const gan_dataset *d, const gan_indices *set,
                          gan_features_set *s)
{
    gan_status st = GAN_OK;
    size_t n = set ? set->n : d->n, B = (size_t)m->cfg.batch;
    size_t *idx = NULL;
    set_free(c, s);
    if (d->h != 28 || d->w != 28) return GAN_FAIL(c, GAN_ERR_SHAPE, "features of %dx%d images: expected 28x28", d->h, d->w);
    if (n < 1 || n > (size_t)INT32_MAX / (size_t)m->F)
        return GAN_FAIL(c, GAN_ERR_ARG, "features of %zu images: expected 1..%zu", n, (size_t)INT32_MAX / (size_t)m->F);
    if (set)
        for (size_t i = 0; i < n; i++)
            if (set->idx[i] >= d->n) return GAN_FAIL(c, GAN_ERR_ARG, "item %zu of a set of %zu images", set->idx[i], d->n);
    s->n = n;
    TRY(gan_tensor_alloc4(c, &s->x, GAN_F32, 2, (int)n, m->F, 0, 0));
    TRY(gan_tensor_alloc4(c, &s->y, GAN_I32, 1, (int)n, 0, 0, 0));
    TRY(gan_tensor_alloc4(c, &s->logits, GAN_F32, 2, (int)n, GAN_CNN_CLASSES, 0, 0));
    if (!(s->h_y = malloc(n * sizeof *s->h_y)) || !(idx = malloc(B * sizeof *idx))) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "features of %zu images", n);
        goto cleanup;
    }
    for (size_t at = 0; at < n; at += B) {
        size_t k = n - at < B ? n - at : B;
        const size_t *items = idx;
        gan_tensor x, cat, p1, p2;
        if (set)
            items = set->idx + at;
        else
            for (size_t i = 0; i < k; i++) idx[i] = at + i;
        TRY(gan_dataset_batch(c, d, items, k, GAN_RANGE_TANH, m->h_img, s->h_y + at));
        TRY(gan_tensor_narrow(c, &m->img, (int)k, &x));
        TRY(gan_tensor_write(c, &x, m->h_img));
        TRY(gan_nn_conv_forward(c, &m->d.c1, &x));
        TRY(gan_nn_act_forward(c, &m->d.a1, &m->d.c1.y));
        TRY(gan_nn_conv_forward(c, &m->d.c2, &m->d.a1.y));
        TRY(gan_nn_act_forward(c, &m->d.a2, &m->d.c2.y));
        TRY(gan_nn_maxpool_forward(c, &m->pool, &m->d.a1.y));
        TRY(gan_nn_maxpool_forward(c, &m->pool2, &m->d.a2.y));
        int d1[2] = {(int)k, m->cfg.ndf * 49}, d2[2] = {(int)k, 2 * m->cfg.ndf * 9};
        TRY(gan_tensor_view(c, &m->pool.y, 2, d1, &p1));
        TRY(gan_tensor_view(c, &m->pool2.y, 2, d2, &p2));
        TRY(gan_tensor_narrow(c, &m->cat_buf, (int)k, &cat));
        TRY(gan_concat_forward(c, &p1, &p2, &cat));
        TRY(gan_copy_rows(c, &cat, 0, &s->x, (int)at, (int)k));
    }
    TRY(gan_tensor_write(c, &s->y, s->h_y));
cleanup:
    free(idx);
    return st;
}

/* Mean and 1/std of every feature over the training rows, on the host in
 * double, a minibatch of rows at a time (copied into xb). */
static gan_status compute_stats(gan_ctx *c, gan_features *m)
{
    gan_status st = GAN_OK;
    size_t F = (size_t)m->F, n = m->train.n, B = (size_t)m->cfg.batch;
    double *sum = calloc(F, sizeof *sum), *sq = calloc(F, sizeof *sq);
    float *h = malloc(B * F * sizeof *h), *mu = malloc(F * sizeof *mu), *is = malloc(F * sizeof *is);
    if (!sum || !sq || !h || !mu || !is) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "feature statistics");
        goto cleanup;
    }
    for (int pass = 0; pass < 2; pass++) {
        for (size_t at = 0; at < n; at += B) {
            size_t k = n - at < B ? n - at : B;
            gan_tensor v;
            TRY(gan_copy_rows(c, &m->train.x, (int)at, &m->xb, 0, (int)k));
            TRY(gan_tensor_narrow(c, &m->xb, (int)k, &v));
            TRY(gan_tensor_read(c, &v, h));
            for (size_t r = 0; r < k; r++)
                for (size_t f = 0; f < F; f++) {
                    double x = h[r * F + f];
                    if (pass == 0)
                        sum[f] += x;
                    else
                        sq[f] += (x - sum[f]) * (x - sum[f]);
                }
        }
        if (pass == 0)
            for (size_t f = 0; f < F; f++) sum[f] /= (double)n;
    }
    /* A feature nearly constant on the labeled images would be blown up by
     * 1/std on the test set: the variance gets a floor of 1e-5 of the mean
     * variance (scale-free, unlike a fixed eps). */
    double mean_var = 0;
    for (size_t f = 0; f < F; f++) mean_var += sq[f] / (double)n;
    mean_var /= (double)F;
    for (size_t f = 0; f < F; f++) {
        mu[f] = (float)sum[f];
        is[f] = mean_var > 0 ? (float)(1.0 / sqrt(sq[f] / (double)n + 1e-5 * mean_var)) : 1.f;
    }
    TRY(gan_tensor_write(c, &m->mean, mu));
    TRY(gan_tensor_write(c, &m->invstd, is));
    m->have_stats = 1;
cleanup:
    free(sum);
    free(sq);
    free(h);
    free(mu);
    free(is);
    return st;
}

gan_status gan_features_set_train(gan_ctx *c, gan_features *m, const gan_dataset *d, const gan_indices *set)
{
    gan_status st = GAN_OK;
    gan_tensor_free(c, &m->order);
    free(m->h_order);
    m->h_order = NULL;
    TRY(extract(c, m, d, set, &m->train));
    TRY(gan_tensor_alloc4(c, &m->order, GAN_I32, 1, (int)m->train.n, 0, 0, 0));
    if (!(m->h_order = malloc(m->train.n * sizeof *m->h_order))) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "order of %zu rows", m->train.n);
        goto cleanup;
    }
    for (size_t i = 0; i < m->train.n; i++) m->h_order[i] = (int32_t)i;
    TRY(gan_tensor_write(c, &m->order, m->h_order));
    if (m->cfg.standardize) {
        if (!m->have_stats) TRY(compute_stats(c, m));
        TRY(gan_standardize(c, &m->train.x, &m->mean, &m->invstd, &m->train.x));
    }
cleanup:
    return st;
}

gan_status gan_features_set_test(gan_ctx *c, gan_features *m, const gan_dataset *d, const gan_indices *set)
{
    gan_status st = GAN_OK;
    if (m->cfg.standardize && !m->have_stats)
        return GAN_FAIL(c, GAN_ERR_ARG, "features: the evaluation set needs the standardisation statistics: set "
                                        "the training set first (or load a checkpoint)");
    TRY(extract(c, m, d, set, &m->test));
    if (m->cfg.standardize) TRY(gan_standardize(c, &m->test.x, &m->mean, &m->invstd, &m->test.x));
cleanup:
    return st;
}

gan_status gan_features_set_order(gan_ctx *c, gan_features *m, const size_t *order)
{
    if (!m->train.n) return GAN_FAIL(c, GAN_ERR_ARG, "features: no training set to order");
    for (size_t i = 0; i < m->train.n; i++) {
        if (order[i] >= m->train.n)
            return GAN_FAIL(c, GAN_ERR_ARG, "features: order[%zu] = %zu, expected 0..%zu", i, order[i],
                            m->train.n - 1);
        m->h_order[i] = (int32_t)order[i];
    }
    return gan_tensor_write(c, &m->order, m->h_order);
}

static int argmax10(const float *l)
{
    int best = 0;
    for (int k = 1; k < GAN_CNN_CLASSES; k++)
        if (l[k] > l[best]) best = k;
    return best;
}

gan_status gan_features_step(gan_ctx *c, gan_features *m, size_t at, int n, gan_features_stats *stats)
{
    gan_status st = GAN_OK;
    gan_tensor x, y, g;
    if (n < 1 || n > m->cfg.batch || at + (size_t)n > m->train.n)
        return GAN_FAIL(c, GAN_ERR_ARG, "features step on rows %zu..%zu: expected 1..%d rows within 0..%zu", at,
                        at + (size_t)n, m->cfg.batch, m->train.n);
    TRY(gan_tensor_narrow(c, &m->xb, n, &x));
    TRY(gan_tensor_narrow(c, &m->yb, n, &y));
    TRY(gan_copy_rows(c, &m->order, (int)at, &m->rows, 0, n));
    TRY(gan_gather_rows(c, &m->train.x, &m->rows, &x));
    TRY(gan_gather_rows(c, &m->train.y, &m->rows, &y));
    TRY(gan_tensor_narrow(c, &m->grad, n, &g));
    TRY(gan_nn_dense_forward(c, &m->fc, &x));
    TRY(gan_softmax_xent(c, &m->fc.y, &y, &m->loss, &g));
    TRY(gan_nn_dense_backward(c, &m->fc, &x, &g, 0, 1));
    if (m->cfg.weight_decay > 0) {
        TRY(gan_axpy(c, m->cfg.weight_decay, &m->fc.w.w, &m->fc.w.g));
        TRY(gan_dist_grad_ready(c, &m->fc.w)); /* the gradient changed after its backward */
    }
    gan_adam_params hp = m->cfg.adam;
    hp.step = ++m->step;
    TRY(gan_params_adam(c, &m->probe, &hp));
    if (stats) {
        /* the logits are the forward's, before this step's update */
        TRY(gan_tensor_read(c, &m->loss, &stats->loss));
        TRY(gan_tensor_read(c, &m->fc.y, m->h_logits));
        int right = 0;
        for (int i = 0; i < n; i++)
            right += argmax10(m->h_logits + (size_t)i * GAN_CNN_CLASSES) == m->train.h_y[m->h_order[at + (size_t)i]];
        stats->accuracy = (float)right / (float)n;
    }
cleanup:
    return st;
}

gan_status gan_cls_eval_tally(gan_ctx *c, const int32_t *truth, const int32_t *pred, size_t n, gan_cls_eval *e)
{
    memset(e, 0, sizeof *e);
    for (size_t i = 0; i < n; i++) {
        if (truth[i] < 0 || truth[i] >= GAN_CNN_CLASSES || pred[i] < 0 || pred[i] >= GAN_CNN_CLASSES)
            return GAN_FAIL(c, GAN_ERR_ARG, "item %zu: label %d, prediction %d: expected 0..%d", i, (int)truth[i],
                            (int)pred[i], GAN_CNN_CLASSES - 1);
        e->confusion[truth[i]][pred[i]]++;
        e->class_n[truth[i]]++;
        e->correct += truth[i] == pred[i];
    }
    e->n = n;
    e->accuracy = n ? (double)e->correct / (double)n : 0.0;
    for (int k = 0; k < GAN_CNN_CLASSES; k++)
        e->class_acc[k] = e->class_n[k] ? (double)e->confusion[k][k] / (double)e->class_n[k] : 0.0;
    return GAN_OK;
}

gan_status gan_features_evaluate(gan_ctx *c, gan_features *m, int test, gan_cls_eval *out)
{
    gan_status st = GAN_OK;
    gan_features_set *s = test ? &m->test : &m->train;
    float *lg = NULL;
    int32_t *pred = NULL;
    memset(out, 0, sizeof *out);
    if (!s->n) return GAN_FAIL(c, GAN_ERR_ARG, "features: no %s set to evaluate", test ? "evaluation" : "training");
    lg = malloc(s->n * GAN_CNN_CLASSES * sizeof *lg);
    pred = malloc(s->n * sizeof *pred);
    if (!lg || !pred) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "logits of %zu images", s->n);
        goto cleanup;
    }
    /* the whole set in one dense op: it is on the device already */
    TRY(gan_dense_forward(c, &s->x, &m->fc.w.w, &m->fc.b.w, &s->logits));
    TRY(gan_tensor_read(c, &s->logits, lg));
    for (size_t i = 0; i < s->n; i++) pred[i] = argmax10(lg + i * GAN_CNN_CLASSES);
    TRY(gan_cls_eval_tally(c, s->h_y, pred, s->n, out));
cleanup:
    free(lg);
    free(pred);
    return st;
}

void gan_features_free(gan_ctx *c, gan_features *m)
{
    gan_dcgan_d_free(c, &m->d);
    gan_nn_maxpool_free(c, &m->pool);
    gan_nn_maxpool_free(c, &m->pool2);
    gan_nn_dense_free(c, &m->fc);
    set_free(c, &m->train);
    set_free(c, &m->test);
    gan_tensor *all[] = {&m->cat_buf, &m->img, &m->mean, &m->invstd, &m->order, &m->rows, &m->xb, &m->yb, &m->loss, &m->grad};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) gan_tensor_free(c, all[i]);
    free(m->h_img);
    free(m->h_logits);
    free(m->h_order);
    memset(m, 0, sizeof *m);
}

/* The fields that define the model: a checkpoint must match them all. */
static void arch_of(const gan_features *m, gan_kvbuf *a)
{
    *a = (gan_kvbuf){.n = 0};
    gan_kv_add(a, "model", "dcgan-features");
    gan_kv_add(a, "ndf", "%d", m->cfg.ndf);
    gan_kv_add(a, "nout", "%d", m->cfg.nout);
    gan_kv_add(a, "slope", "%.9g", m->cfg.slope);
    gan_kv_add(a, "features", "pool2(conv1)+pool2(conv2):%d", m->F);
    gan_kv_add(a, "standardize", "%d", m->cfg.standardize);
}

gan_status gan_features_save(gan_ctx *c, const gan_features *m, const char *path, const gan_ckpt_kv *extra,
                             int nextra)
{
    gan_kvbuf a, run = {.n = 0};
    arch_of(m, &a);
    gan_kv_add(&run, "batch", "%d", m->cfg.batch);
    gan_kv_add(&run, "lr", "%.9g", m->cfg.adam.lr);
    gan_kv_add(&run, "beta1", "%.9g", m->cfg.adam.beta1);
    gan_kv_add(&run, "weight_decay", "%.9g", m->cfg.weight_decay);
    gan_kv_add(&run, "seed", "%llu", (unsigned long long)m->cfg.seed);
    gan_params *regs[2] = {(gan_params *)&m->d.params, (gan_params *)&m->probe};
    return gan_run_save(c, path, regs, 2, &a, &run, m->step, m->rng, extra, nextra);
}

gan_status gan_features_load(gan_ctx *c, gan_features *m, const char *path, int batch, gan_ckpt **out)
{
    gan_status st = GAN_OK;
    gan_ckpt *k = NULL;
    memset(m, 0, sizeof *m);
    if (out) *out = NULL;
    TRY(gan_ckpt_load(c, path, &k));
    const char *mode = gan_ckpt_meta(k, "mode"), *model = gan_ckpt_meta(k, "model");
    if (!mode || strcmp(mode, "features") || !model || strcmp(model, "dcgan-features")) {
        char what[256];
        st = GAN_FAIL(c, GAN_ERR_MISMATCH, "%s is %s: expected a features checkpoint (mode \"features\")", path,
                      describe(k, what, sizeof what));
        goto cleanup;
    }
    gan_features_config cfg = gan_features_default();
    TRY(parse_int_meta(c, k, "ndf", &cfg.ndf));
    TRY(parse_int_meta(c, k, "nout", &cfg.nout));
    TRY(parse_float_meta(c, k, "slope", &cfg.slope));
    TRY(parse_int_meta(c, k, "batch", &cfg.batch));
    const char *sd = gan_ckpt_meta(k, "standardize");
    cfg.standardize = sd && !strcmp(sd, "1");
    if (batch > 0) cfg.batch = batch;
    gan_ckpt_free(k);
    k = NULL;
    TRY(gan_features_init(c, m, &cfg));
    gan_kvbuf a;
    arch_of(m, &a);
    gan_params *regs[2] = {&m->d.params, &m->probe};
    TRY(gan_run_load(c, path, regs, 2, &a, &m->step, &m->rng, out));
    m->have_stats = 1;
cleanup:
    gan_ckpt_free(k);
    return st;
}

/* ---- the features mode of the training loop (include/gancl/loop.h) ---- */

gan_status gan_loop_features_init(gan_ctx *c, gan_loop_features *l, const gan_features_config *cfg,
                                  const gan_dataset *data, const gan_indices *lab, const gan_dataset *test)
{
    memset(l, 0, sizeof *l);
    l->data = data;
    l->lab = lab;
    l->test = test;
    l->eval_every = 1;
    size_t L = lab->n;
    l->rows.idx = malloc((L ? L : 1) * sizeof *l->rows.idx);
    l->order = malloc((L ? L : 1) * sizeof *l->order);
    if (!l->rows.idx || !l->order) return GAN_FAIL(c, GAN_ERR_NOMEM, "features: order of %zu rows", L);
    l->rows.n = L;
    for (size_t i = 0; i < L; i++) l->rows.idx[i] = i;
    return gan_features_init(c, &l->m, cfg);
}

gan_status gan_loop_features_extract(gan_ctx *c, gan_loop_features *l)
{
    gan_status st = gan_features_set_train(c, &l->m, l->data, l->lab);
    if (!st) st = gan_features_set_test(c, &l->m, l->test, NULL);
    return st;
}

void gan_loop_features_free(gan_ctx *c, gan_loop_features *l)
{
    gan_features_free(c, &l->m);
    gan_indices_free(&l->rows);
    free(l->order);
    l->order = NULL;
}

/* The loop's shuffle of the rows (its seed and key), on the device. */
static gan_status feat_epoch_begin_(gan_ctx *c, void *model, const gan_loop_run *run, int epoch)
{
    gan_loop_features *l = model;
    gan_status st = gan_epoch_order(c, run->set, run->seed, (uint64_t)epoch, l->order);
    if (!st) st = gan_features_set_order(c, &l->m, l->order);
    return st;
}

static gan_status feat_step_(gan_ctx *c, void *model, size_t b, const float *x, const int32_t *labels, int n,
                             gan_loop_metrics *out)
{
    (void)x, (void)labels; /* the rows are on the device already */
    gan_loop_features *l = model;
    gan_features_stats s;
    gan_status st = gan_features_step(c, &l->m, b * (size_t)l->m.cfg.batch, n, out ? &s : NULL);
    if (!st && out) *out = (gan_loop_metrics){2, {{"loss", s.loss}, {"accuracy", s.accuracy}}};
    return st;
}

static int feat_steps_(const void *model) { return ((const gan_loop_features *)model)->m.step; }

static gan_status feat_save_(gan_ctx *c, const void *model, const char *path, const gan_ckpt_kv *kv, int n)
{
    return gan_features_save(c, &((const gan_loop_features *)model)->m, path, kv, n);
}

/* The checkpoint's model replaces the run's; the optimiser settings and the
 * seed, which gan_features_load leaves at their defaults, are the
 * checkpoint's too (the run's when it has none). */
static gan_status feat_load_(gan_ctx *c, void *model, const char *path, gan_ckpt **out)
{
    gan_loop_features *l = model;
    gan_features_config run = l->m.cfg;
    gan_features_free(c, &l->m);
    gan_status st = gan_features_load(c, &l->m, path, run.batch, out);
    if (st) return st;
    gan_features_config *cfg = &l->m.cfg;
    const char *v;
    cfg->adam.lr = (v = gan_ckpt_meta(*out, "lr")) ? strtof(v, NULL) : run.adam.lr;
    cfg->adam.beta1 = (v = gan_ckpt_meta(*out, "beta1")) ? strtof(v, NULL) : run.adam.beta1;
    cfg->adam.beta2 = run.adam.beta2;
    cfg->adam.eps = run.adam.eps;
    cfg->weight_decay = (v = gan_ckpt_meta(*out, "weight_decay")) ? strtof(v, NULL) : run.weight_decay;
    cfg->seed = (v = gan_ckpt_meta(*out, "seed")) ? strtoull(v, NULL, 10) : run.seed;
    return GAN_OK;
}

static int feat_state_(void *model, gan_ckpt_kv *out)
{
    gan_loop_features *l = model;
    if (!l->have_eval) return 0;
    snprintf(l->acc, sizeof l->acc, "%.6f", l->eval.accuracy);
    out[0] = (gan_ckpt_kv){"test_accuracy", l->acc};
    return 1;
}

static gan_status feat_epoch_end_(gan_ctx *c, void *model, const gan_loop_run *run, int epoch, gan_loop_metrics *out,
                                  char *artifact, size_t cap)
{
    (void)artifact, (void)cap;
    gan_loop_features *l = model;
    l->scored = (epoch + 1) % l->eval_every == 0 || epoch + 1 == run->epochs;
    if (!l->scored) return GAN_OK;
    gan_status st = gan_features_evaluate(c, &l->m, 1, &l->eval);
    if (!st) st = gan_features_evaluate(c, &l->m, 0, &l->train_eval);
    if (st) return st;
    l->have_eval = 1;
    *out = (gan_loop_metrics){2, {{"test_accuracy", l->eval.accuracy}, {"train_accuracy", l->train_eval.accuracy}}};
    return GAN_OK;
}

const gan_loop_mode gan_loop_mode_features = {
    .name = "features",
    .range = GAN_RANGE_TANH,
    .labels = 0,
    .full_batches = 0,
    .nloss = 1,
    .no_batch = 1,
    .step = feat_step_,
    .steps = feat_steps_,
    .save = feat_save_,
    .load = feat_load_,
    .epoch_end = feat_epoch_end_,
    .state = feat_state_,
    .epoch_begin = feat_epoch_begin_,
};
