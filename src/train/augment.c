/* The augment mode of the training loop (include/gancl/loop.h): the MNIST
 * CNN classifier (include/gancl/classifier.h) on batches of real images
 * joined by images of a class-conditional generator handle, their labels
 * and noise from their own checkpointed Philox stream. */
#include "gancl/loop.h"
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gan_status gan_loop_augment_init(gan_ctx *c, gan_loop_augment *a, const gan_cls_config *cfg, gan_generator *gen,
                                 int ngen, const double *cdf, uint64_t gen_seed)
{
    memset(a, 0, sizeof *a);
    a->gen = gen;
    a->ngen = gen ? ngen : 0;
    memcpy(a->cdf, cdf, sizeof a->cdf);
    a->gen_rng = (gan_rng){.seed = gen_seed, .counter = 0};
    a->eval_every = 1;
    return gan_cls_init(c, &a->m, cfg);
}

void gan_loop_augment_free(gan_ctx *c, gan_loop_augment *a)
{
    gan_cls_free(c, &a->m);
}

static double reduced_acc(const int *reduced, const gan_cls_eval *e)
{
    size_t right = 0, n = 0;
    for (int k = 0; k < GAN_CNN_CLASSES; k++)
        if (reduced[k]) right += e->confusion[k][k], n += e->class_n[k];
    return n ? (double)right / (double)n : 0.0;
}

double gan_loop_augment_reduced(const gan_loop_augment *a, const gan_cls_eval *e)
{
    return reduced_acc(a->reduced, e);
}

double gan_augment_plan_reduced(const gan_augment_plan *p, const gan_cls_eval *e)
{
    return reduced_acc(p->reduced, e);
}

gan_status gan_augment_plan_init(gan_ctx *c, gan_augment_plan *p, const gan_dataset *d, const gan_indices *base,
                                 size_t labels_per_class, const double *keep, float ratio, int batch,
                                 uint64_t seed)
{
    enum { K = GAN_CNN_CLASSES };
    gan_status st;
    memset(p, 0, sizeof *p);
    if (!d || !base || batch < 1)
        return GAN_FAIL(c, GAN_ERR_ARG, "gan_augment_plan_init: %s", batch < 1 ? "batch < 1" : "NULL dataset");
    p->data = d;
    p->batch = batch;
    p->set = base;
    if (labels_per_class) {
        if ((st = gan_split_labeled(c, d, p->set, labels_per_class, seed, &p->labeled, &p->unlabeled))) {
            p->failed = GAN_AUGMENT_FAIL_LABELS;
            return st;
        }
        p->set = &p->labeled;
    }
    if (keep) {
        if ((st = gan_imbalance(c, d, p->set, keep, seed, &p->kept))) {
            p->failed = GAN_AUGMENT_FAIL_IMBALANCE;
            return st;
        }
        p->set = &p->kept;
    }
    const gan_indices *set = p->set;
    size_t most = 0;
    for (size_t i = 0; i < set->n; i++) {
        int l = d->labels[set->idx[i]];
        if (l >= K) {
            p->failed = GAN_AUGMENT_FAIL_LABELS;
            return GAN_FAIL(c, GAN_ERR_ARG, "augment: label %d of item %zu is not a class 0..%d", l,
                            set->idx[i], K - 1);
        }
        p->count[l]++;
    }
    for (int k = 0; k < K; k++) most = p->count[k] > most ? p->count[k] : most;
    double deficit[K], total = 0;
    for (int k = 0; k < K; k++) {
        p->reduced[k] = keep && keep[k] < 1.0;
        p->nreduced += p->reduced[k];
        deficit[k] = keep ? (double)(most - p->count[k]) : 1.0;
        total += deficit[k];
    }
    if (set->n == 0 || total <= 0) {
        p->failed = GAN_AUGMENT_FAIL_BALANCE;
        return GAN_FAIL(c, GAN_ERR_ARG, "augment: the imbalance leaves %s: nothing for the generator to balance",
                        set->n ? "every class the same size" : "no training images");
    }
    for (int k = 0; k < K; k++) p->cdf[k] = (k ? p->cdf[k - 1] : 0) + deficit[k] / total;
    p->cdf[K - 1] = 1.0;
    p->ratio = ratio > 0 ? ratio : keep ? (float)(total / (double)set->n) : 1.f;
    p->ngen = gan_augment_generated(p->ratio, batch);
    return GAN_OK;
}

int gan_augment_generated(float ratio, int batch)
{
    int n = (int)lround(ratio * batch);
    return n < 1 ? 1 : n;
}

void gan_augment_plan_free(gan_augment_plan *p)
{
    gan_indices_free(&p->labeled);
    gan_indices_free(&p->unlabeled);
    gan_indices_free(&p->kept);
    p->set = NULL;
}

gan_status gan_augment_phase_init(gan_ctx *c, gan_loop_augment *a, const gan_augment_plan *p,
                                  const gan_cls_config *cfg, gan_generator *gen, const gan_dataset *test,
                                  int epochs)
{
    gan_cls_config run_cfg = *cfg;
    int G = gen ? p->ngen : 0;
    run_cfg.batch = p->batch + G;
    gan_status st = gan_loop_augment_init(c, a, &run_cfg, gen, G, p->cdf,
                                          cfg->seed ^ 0x6175676d656e74ull /* "augment" */);
    if (st) return st;
    a->test = test;
    memcpy(a->reduced, p->reduced, sizeof a->reduced);
    a->nreduced = p->nreduced;
    a->eval_every = epochs / 10 > 1 ? epochs / 10 : 1;
    return GAN_OK;
}

void gan_augment_run_set(gan_loop_run *run, const gan_augment_plan *p, const gan_loop_augment *a)
{
    run->data = p->data;
    run->set = p->set;
    run->batch = p->batch;
    run->model_batch = p->batch + a->ngen;
}

/* Labels from the cumulative distribution cdf: word i%4 of Philox block
 * counter + i/4 as a uniform in [0, 1). */
static void draw_classes(gan_rng *rng, const double *cdf, int n, int32_t *out)
{
    gan_rng at = gan_rng_take(rng, (size_t)n, 0);
    uint32_t key[2] = {(uint32_t)at.seed, (uint32_t)(at.seed >> 32)}, w[4] = {0, 0, 0, 0};
    for (int i = 0; i < n; i++) {
        if (i % 4 == 0) {
            uint64_t b = at.counter + (uint64_t)(i / 4);
            uint32_t ctr[4] = {(uint32_t)b, (uint32_t)(b >> 32), 0, 0};
            gan_philox4x32_10(ctr, key, w);
        }
        double u = w[i % 4] / 4294967296.0;
        int k = 0;
        while (k < GAN_CNN_CLASSES - 1 && u >= cdf[k]) k++;
        out[i] = k;
    }
}

static gan_status aug_step_(gan_ctx *c, void *model, size_t b, const float *x, const int32_t *labels, int n,
                            gan_loop_metrics *out)
{
    (void)b;
    gan_loop_augment *a = model;
    gan_cls *m = &a->m;
    int G = a->ngen;
    gan_status st;
    memcpy(m->h_x, x, (size_t)n * 784 * sizeof *x);
    memcpy(m->h_labels, labels, (size_t)n * sizeof *labels);
    if (G) {
        int32_t *gl = m->h_labels + n;
        draw_classes(&a->gen_rng, a->cdf, G, gl);
        /* in the classifier's [0, 1] */
        if ((st = gan_generator_generate(c, a->gen, G, gl, &a->gen_rng, 1, m->h_x + (size_t)n * 784))) return st;
    }
    int rows = n + G;
    gan_cls_stats s;
    gan_tensor xt, yt;
    if ((st = gan_tensor_narrow(c, &m->x, rows, &xt)) || (st = gan_tensor_narrow(c, &m->labels, rows, &yt)) ||
        (st = gan_tensor_write(c, &xt, m->h_x)) || (st = gan_tensor_write(c, &yt, m->h_labels)) ||
        (st = gan_cls_step(c, m, &xt, &yt, out ? &s : NULL)))
        return st;
    if (out) *out = (gan_loop_metrics){2, {{"loss", s.loss}, {"accuracy", s.accuracy}}};
    return GAN_OK;
}

static int aug_steps_(const void *model) { return ((const gan_loop_augment *)model)->m.step; }

static gan_status aug_save_(gan_ctx *c, const void *model, const char *path, const gan_ckpt_kv *kv, int n)
{
    return gan_cls_save(c, &((const gan_loop_augment *)model)->m, path, kv, n);
}

static gan_status aug_load_(gan_ctx *c, void *model, const char *path, gan_ckpt **out)
{
    gan_loop_augment *a = model;
    gan_status st = gan_cls_load(c, &a->m, path, out);
    if (st) return st;
    const char *g = gan_ckpt_meta(*out, "gen_rng_counter");
    a->gen_rng.counter = g ? strtoull(g, NULL, 10) : 0;
    return GAN_OK;
}

static int aug_state_(void *model, gan_ckpt_kv *out)
{
    gan_loop_augment *a = model;
    snprintf(a->counter, sizeof a->counter, "%llu", (unsigned long long)a->gen_rng.counter);
    out[0] = (gan_ckpt_kv){"gen_rng_counter", a->counter};
    return 1;
}

/* A small label budget makes epochs of a step or two: scoring the 10,000
 * test images after each would cost more than training. */
static gan_status aug_epoch_end_(gan_ctx *c, void *model, const gan_loop_run *run, int epoch, gan_loop_metrics *out,
                                 char *artifact, size_t cap)
{
    (void)artifact, (void)cap;
    gan_loop_augment *a = model;
    a->scored = (epoch + 1) % a->eval_every == 0 || epoch + 1 == run->epochs;
    if (!a->scored) return GAN_OK;
    gan_status st = gan_cls_evaluate(c, &a->m, a->test, NULL, &a->eval);
    if (st) return st;
    *out = (gan_loop_metrics){1, {{"test_accuracy", a->eval.accuracy}}};
    if (a->nreduced) out->f[out->n++] = (gan_metric){"test_accuracy_reduced", gan_loop_augment_reduced(a, &a->eval)};
    return GAN_OK;
}

const gan_loop_mode gan_loop_mode_augment = {
    .name = "augment",
    .range = GAN_RANGE_UNIT,
    .labels = 1,
    .full_batches = 0,
    .nloss = 1,
    .step = aug_step_,
    .steps = aug_steps_,
    .save = aug_save_,
    .load = aug_load_,
    .epoch_end = aug_epoch_end_,
    .state = aug_state_,
};
