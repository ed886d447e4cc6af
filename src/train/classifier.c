/* Supervised classifier training (softmax cross entropy, Adam), evaluation
 * over a dataset, and checkpoints (include/gancl/classifier.h). */
#include "gancl/classifier.h"
#include "gancl/loop.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

gan_cls_config gan_cls_default(void)
{
    return (gan_cls_config){
        .model = gan_cnn_default(),
        .batch = 64,
        .adam = {.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .step = 0},
        .seed = 1,
    };
}

gan_status gan_cls_init(gan_ctx *c, gan_cls *m, const gan_cls_config *cfg)
{
    gan_status st = GAN_OK;
    memset(m, 0, sizeof *m);
    m->cfg = *cfg;
    int N = cfg->batch;
    if (N < 1) return GAN_FAIL(c, GAN_ERR_ARG, "batch size %d: expected >= 1", N);
    m->rng = (gan_rng){.seed = cfg->seed, .counter = 0};
    TRY(gan_cnn_init(c, &m->net, &cfg->model, N, &m->rng));
    TRY(gan_tensor_alloc4(c, &m->x, GAN_F32, 4, N, 1, 28, 28));
    TRY(gan_tensor_alloc4(c, &m->labels, GAN_I32, 1, N, 0, 0, 0));
    TRY(gan_tensor_alloc4(c, &m->loss, GAN_F32, 1, 1, 0, 0, 0));
    TRY(gan_tensor_alloc4(c, &m->grad, GAN_F32, 2, N, GAN_CNN_CLASSES, 0, 0));
    m->h_x = malloc((size_t)N * 784 * sizeof *m->h_x);
    m->h_logits = malloc((size_t)N * GAN_CNN_CLASSES * sizeof *m->h_logits);
    m->h_labels = malloc((size_t)N * sizeof *m->h_labels);
    m->h_idx = malloc((size_t)N * sizeof *m->h_idx);
    if (!m->h_x || !m->h_logits || !m->h_labels || !m->h_idx)
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "classifier host buffers for batch %d", N);
cleanup:
    return st;
}

/* The class with the largest logit; the first one wins ties, and a NaN is
 * never the largest. */
static int argmax(const float *l)
{
    int best = 0;
    for (int k = 1; k < GAN_CNN_CLASSES; k++)
        if (l[k] > l[best]) best = k;
    return best;
}

gan_status gan_cls_step(gan_ctx *c, gan_cls *m, const gan_tensor *x, const gan_tensor *labels, gan_cls_stats *stats)
{
    gan_status st = GAN_OK;
    int N = m->cfg.batch, n = x->dim[0];
    gan_tensor grad;
    if (x->ndim != 4 || n < 1 || n > N || x->dim[1] != 1 || x->dim[2] != 28 || x->dim[3] != 28) {
        char b[64];
        return GAN_FAIL(c, GAN_ERR_SHAPE, "classifier batch %s: expected [1..%d, 1, 28, 28]",
                        gan_tensor_shape_str(x, b, sizeof b), N);
    }
    gan_adam_params hp = m->cfg.adam;
    hp.step = m->step + 1;
    TRY(gan_tensor_narrow(c, &m->grad, n, &grad));
    TRY(gan_cnn_forward(c, &m->net, x, 1, &m->rng));
    TRY(gan_softmax_xent(c, &m->net.fc2.y, labels, &m->loss, &grad));
    if (stats) {
        TRY(gan_tensor_read(c, &m->net.fc2.y, m->h_logits));
        TRY(gan_tensor_read(c, labels, m->h_labels));
    }
    TRY(gan_cnn_backward(c, &m->net, x, &grad));
    TRY(gan_params_adam(c, &m->net.params, &hp));
    m->step++;
    if (stats) {
        int right = 0;
        for (int i = 0; i < n; i++) right += argmax(m->h_logits + (size_t)i * GAN_CNN_CLASSES) == m->h_labels[i];
        TRY(gan_tensor_read(c, &m->loss, &stats->loss));
        stats->accuracy = (float)right / (float)n;
    }
cleanup:
    return st;
}

void gan_cls_free(gan_ctx *c, gan_cls *m)
{
    gan_cnn_free(c, &m->net);
    gan_tensor *all[] = {&m->x, &m->labels, &m->loss, &m->grad};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) gan_tensor_free(c, all[i]);
    free(m->h_x);
    free(m->h_logits);
    free(m->h_labels);
    free(m->h_idx);
    memset(m, 0, sizeof *m);
}

gan_status gan_cls_evaluate(gan_ctx *c, gan_cls *m, const gan_dataset *d, const gan_indices *set, gan_cls_eval *out)
{
    gan_status st = GAN_OK;
    size_t total = set ? set->n : d->n, N = (size_t)m->cfg.batch;
    gan_tensor x;
    memset(out, 0, sizeof *out);
    if (d->h != 28 || d->w != 28) return GAN_FAIL(c, GAN_ERR_SHAPE, "evaluation data is %dx%d: expected 28x28", d->h, d->w);
    for (size_t at = 0; at < total; at += N) {
        size_t n = total - at < N ? total - at : N;
        const size_t *idx = m->h_idx;
        if (set)
            idx = set->idx + at;
        else
            for (size_t i = 0; i < n; i++) m->h_idx[i] = at + i;
        TRY(gan_dataset_batch(c, d, idx, n, GAN_RANGE_UNIT, m->h_x, NULL));
        TRY(gan_tensor_narrow(c, &m->x, (int)n, &x));
        TRY(gan_tensor_write(c, &x, m->h_x));
        TRY(gan_cnn_forward(c, &m->net, &x, 0, NULL));
        TRY(gan_tensor_read(c, &m->net.fc2.y, m->h_logits));
        for (size_t i = 0; i < n; i++) {
            int truth = d->labels[idx[i]], pred = argmax(m->h_logits + i * GAN_CNN_CLASSES);
            if (truth >= GAN_CNN_CLASSES)
                return GAN_FAIL(c, GAN_ERR_ARG, "evaluation item %zu has label %d: expected 0..9", idx[i], truth);
            out->confusion[truth][pred]++;
            out->class_n[truth]++;
            out->correct += truth == pred;
        }
    }
    out->n = total;
    out->accuracy = total ? (double)out->correct / (double)total : 0.0;
    for (int k = 0; k < GAN_CNN_CLASSES; k++)
        out->class_acc[k] = out->class_n[k] ? (double)out->confusion[k][k] / (double)out->class_n[k] : 0.0;
cleanup:
    return st;
}

/* The fields that define the network: a checkpoint must match them all. */
static void arch_of(const gan_cls_config *cfg, gan_kvbuf *a)
{
    const gan_cnn_config *m = &cfg->model;
    *a = (gan_kvbuf){.n = 0};
    gan_kv_add(a, "model", "cnn-classifier");
    gan_kv_add(a, "conv1", "%d", m->c1);
    gan_kv_add(a, "conv2", "%d", m->c2);
    gan_kv_add(a, "hidden", "%d", m->hidden);
    gan_kv_add(a, "dropout1", "%.9g", m->drop1);
    gan_kv_add(a, "dropout2", "%.9g", m->drop2);
}

gan_status gan_cls_save(gan_ctx *c, const gan_cls *m, const char *path, const gan_ckpt_kv *extra, int nextra)
{
    gan_kvbuf a, run = {.n = 0};
    arch_of(&m->cfg, &a);
    gan_kv_add(&run, "batch", "%d", m->cfg.batch);
    gan_kv_add(&run, "lr", "%.9g", m->cfg.adam.lr);
    gan_kv_add(&run, "beta1", "%.9g", m->cfg.adam.beta1);
    gan_kv_add(&run, "beta2", "%.9g", m->cfg.adam.beta2);
    gan_params *regs[1] = {(gan_params *)&m->net.params};
    return gan_run_save(c, path, regs, 1, &a, &run, m->step, m->rng, extra, nextra);
}

gan_status gan_cls_load(gan_ctx *c, gan_cls *m, const char *path, gan_ckpt **out)
{
    gan_kvbuf a;
    arch_of(&m->cfg, &a);
    gan_params *regs[1] = {&m->net.params};
    gan_status st = gan_run_load(c, path, regs, 1, &a, &m->step, &m->rng, out);
    if (st == GAN_OK) m->cfg.seed = m->rng.seed;
    return st;
}

/* ---- the classifier mode of the training loop (include/gancl/loop.h) ---- */

static gan_status cls_step_(gan_ctx *c, void *model, size_t b, const float *x, const int32_t *labels, int n,
                            gan_loop_metrics *out)
{
    (void)b;
    gan_cls *m = &((gan_loop_cls *)model)->m;
    gan_cls_stats s;
    gan_tensor xt, yt;
    gan_status st;
    if ((st = gan_tensor_narrow(c, &m->x, n, &xt)) || (st = gan_tensor_narrow(c, &m->labels, n, &yt)) ||
        (st = gan_tensor_write(c, &xt, x)) || (st = gan_tensor_write(c, &yt, labels)) ||
        (st = gan_cls_step(c, m, &xt, &yt, out ? &s : NULL)))
        return st;
    if (out) *out = (gan_loop_metrics){2, {{"loss", s.loss}, {"accuracy", s.accuracy}}};
    return GAN_OK;
}

static int cls_steps_(const void *model) { return ((const gan_loop_cls *)model)->m.step; }

static gan_status cls_save_(gan_ctx *c, const void *model, const char *path, const gan_ckpt_kv *kv, int n)
{
    return gan_cls_save(c, &((const gan_loop_cls *)model)->m, path, kv, n);
}

static gan_status cls_load_(gan_ctx *c, void *model, const char *path, gan_ckpt **out)
{
    return gan_cls_load(c, &((gan_loop_cls *)model)->m, path, out);
}

static gan_status cls_epoch_end_(gan_ctx *c, void *model, const gan_loop_run *run, int epoch, gan_loop_metrics *out,
                                 char *artifact, size_t cap)
{
    (void)run, (void)epoch, (void)artifact, (void)cap;
    gan_loop_cls *l = model;
    gan_status st = gan_cls_evaluate(c, &l->m, l->test, NULL, &l->eval);
    if (st) return st;
    l->have_eval = 1;
    *out = (gan_loop_metrics){1, {{"test_accuracy", l->eval.accuracy}}};
    return GAN_OK;
}

const gan_loop_mode gan_loop_mode_classifier = {
    .name = "classifier",
    .range = GAN_RANGE_UNIT,
    .labels = 1,
    .full_batches = 0,
    .nloss = 1,
    .data_parallel = 1,
    .step = cls_step_,
    .steps = cls_steps_,
    .save = cls_save_,
    .load = cls_load_,
    .epoch_end = cls_epoch_end_,
};
