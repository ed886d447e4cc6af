/* The FID/IS evaluator (include/gancl/eval.h): the MNIST CNN classifier
 * trained by a fixed recipe, identified by a hash of its parameters, run in
 * inference mode to give penultimate-layer features and class
 * probabilities. */
#include "gancl/eval.h"
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gan_eval_recipe gan_eval_recipe_default(void)
{
    return (gan_eval_recipe){.seed = 1, .steps = 1875, .batch = 64, .lr = 1e-3f};
}

void gan_eval_recipe_name(const gan_eval_recipe *r, char *buf, size_t cap)
{
    snprintf(buf, cap, "mnist-cnn-s%llu-n%d-b%d-lr%g", (unsigned long long)r->seed, r->steps, r->batch, r->lr);
}

gan_status gan_eval_cache_dir(gan_ctx *c, int mkdirs, char *out, size_t cap)
{
    return ocl_cache_dir(c, "evaluator", mkdirs, out, cap);
}

gan_status gan_evaluator_train(gan_ctx *c, const gan_eval_recipe *r, const gan_dataset *train,
                               const gan_dataset *test, const char *path, double *accuracy)
{
    gan_status st = GAN_OK;
    gan_cls m;
    memset(&m, 0, sizeof m);
    gan_indices all = {0};
    size_t *order = NULL;
    if (r->steps < 1 || r->batch < 1 || !(r->lr > 0))
        return GAN_FAIL(c, GAN_ERR_ARG, "evaluator recipe: steps %d, batch %d, lr %g: expected all > 0", r->steps,
                        r->batch, r->lr);
    if (train->h != 28 || train->w != 28 || (test && (test->h != 28 || test->w != 28)))
        return GAN_FAIL(c, GAN_ERR_SHAPE, "evaluator: expected 28x28 MNIST images");
    gan_cls_config cfg = gan_cls_default();
    cfg.batch = r->batch;
    cfg.seed = r->seed;
    cfg.adam.lr = r->lr;
    TRY(gan_cls_init(c, &m, &cfg));
    TRY(gan_indices_all(c, train, &all));
    if (!(order = malloc(all.n * sizeof *order))) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "evaluator training order");
        goto cleanup;
    }
    size_t B = (size_t)r->batch, per_epoch = (all.n + B - 1) / B;
    for (uint64_t epoch = 0; m.step < r->steps; epoch++) {
        TRY(gan_epoch_order(c, &all, r->seed, epoch, order));
        for (size_t b = 0; b < per_epoch && m.step < r->steps; b++) {
            size_t at = b * B, n = all.n - at < B ? all.n - at : B;
            gan_tensor x, y;
            TRY(gan_dataset_batch(c, train, order + at, n, GAN_RANGE_UNIT, m.h_x, m.h_labels));
            TRY(gan_tensor_narrow(c, &m.x, (int)n, &x));
            TRY(gan_tensor_narrow(c, &m.labels, (int)n, &y));
            TRY(gan_tensor_write(c, &x, m.h_x));
            TRY(gan_tensor_write(c, &y, m.h_labels));
            TRY(gan_cls_step(c, &m, &x, &y, NULL));
        }
    }
    char name[96], acc[32] = "";
    gan_eval_recipe_name(r, name, sizeof name);
    double a = NAN;
    if (test) {
        gan_cls_eval ev;
        TRY(gan_cls_evaluate(c, &m, test, NULL, &ev));
        a = ev.accuracy;
        snprintf(acc, sizeof acc, "%.6f", a);
    }
    gan_ckpt_kv extra[3] = {{"mode", "evaluator"}, {"evaluator_recipe", name}, {"test_accuracy", acc}};
    TRY(gan_cls_save(c, &m, path, extra, test ? 3 : 2));
    if (accuracy) *accuracy = a;
cleanup:
    free(order);
    gan_indices_free(&all);
    gan_cls_free(c, &m);
    return st;
}

gan_status gan_evaluator_hash(gan_ctx *c, const gan_ckpt *k, char out[GAN_EVAL_HASH_LEN + 1])
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a 64 offset basis */
    int found = 0;
#define FNV_BYTES(p, len)                                                         \
    for (size_t i_ = 0; i_ < (size_t)(len); i_++) {                               \
        h ^= ((const unsigned char *)(p))[i_];                                    \
        h *= 1099511628211ull;                                                    \
    }
    for (int i = 0; i < gan_ckpt_count(k); i++) {
        const gan_ckpt_tensor *t = gan_ckpt_tensor_at(k, i);
        if (strncmp(t->name, "cls.", 4)) continue;
        found++;
        FNV_BYTES(t->name, strlen(t->name) + 1);
        for (int d = 0; d < t->ndim; d++) {
            unsigned char le[8];
            for (int b = 0; b < 8; b++) le[b] = (unsigned char)((uint64_t)t->shape[d] >> (8 * b));
            FNV_BYTES(le, 8);
        }
        FNV_BYTES(t->data, t->nbytes);
    }
#undef FNV_BYTES
    if (!found)
        return GAN_FAIL(c, GAN_ERR_MISMATCH, "%s has no classifier parameters (cls.*) to identify an evaluator by",
                        gan_ckpt_label(k));
    snprintf(out, GAN_EVAL_HASH_LEN + 1, "%016llx", (unsigned long long)h);
    return GAN_OK;
}

gan_status gan_evaluator_load(gan_ctx *c, gan_evaluator *e, const char *path, int batch)
{
    gan_status st = GAN_OK;
    gan_ckpt *k = NULL;
    memset(e, 0, sizeof *e);
    e->test_accuracy = NAN;
    if (batch < 1) return GAN_FAIL(c, GAN_ERR_ARG, "evaluator batch %d: expected >= 1", batch);
    TRY(gan_ckpt_load(c, path, &k));
    const char *model = gan_ckpt_meta(k, "model");
    if (!model || strcmp(model, "cnn-classifier")) {
        st = GAN_FAIL(c, GAN_ERR_MISMATCH,
                      "%s is not an evaluator: its model is %s%s%s; expected an MNIST CNN classifier checkpoint "
                      "(model \"cnn-classifier\", as `gancl train --mode classifier` or the evaluator cache writes)",
                      path, model ? "\"" : "", model ? model : "not named", model ? "\"" : "");
        goto cleanup;
    }
    gan_cls_config cfg = gan_cls_default();
    cfg.batch = batch;
    /* absent: the default */
    gan_ckpt_meta_int(k, "conv1", &cfg.model.c1);
    gan_ckpt_meta_int(k, "conv2", &cfg.model.c2);
    gan_ckpt_meta_int(k, "hidden", &cfg.model.hidden);
    const char *d1 = gan_ckpt_meta(k, "dropout1"), *d2 = gan_ckpt_meta(k, "dropout2");
    if (d1) cfg.model.drop1 = strtof(d1, NULL);
    if (d2) cfg.model.drop2 = strtof(d2, NULL);
    TRY(gan_evaluator_hash(c, k, e->hash));
    const char *rec = gan_ckpt_meta(k, "evaluator_recipe"), *acc = gan_ckpt_meta(k, "test_accuracy");
    snprintf(e->recipe, sizeof e->recipe, "%s", rec ? rec : "");
    if (acc && *acc) e->test_accuracy = strtod(acc, NULL);
    TRY(gan_cls_init(c, &e->cls, &cfg));
    TRY(gan_cls_load(c, &e->cls, path, NULL));
    e->nfeat = cfg.model.hidden;
    e->h_feat = malloc((size_t)batch * (size_t)e->nfeat * sizeof *e->h_feat);
    if (!e->h_feat) st = GAN_FAIL(c, GAN_ERR_NOMEM, "evaluator staging for batch %d", batch);
cleanup:
    gan_ckpt_free(k);
    if (st) gan_evaluator_free(c, e);
    return st;
}

void gan_evaluator_free(gan_ctx *c, gan_evaluator *e)
{
    gan_cls_free(c, &e->cls);
    free(e->h_feat);
    memset(e, 0, sizeof *e);
}

gan_status gan_evaluator_run(gan_ctx *c, gan_evaluator *e, const float *x, size_t n, gan_pixel_range range,
                             gan_moments *mom, double *probs)
{
    gan_status st = GAN_OK;
    size_t N = (size_t)e->cls.cfg.batch;
    if (mom && mom->d != e->nfeat)
        return GAN_FAIL(c, GAN_ERR_SHAPE, "evaluator features are %d wide, the moments %d", e->nfeat, mom->d);
    for (size_t at = 0; at < n; at += N) {
        size_t b = n - at < N ? n - at : N;
        const float *src = x + at * 784;
        /* the classifier was trained on [0, 1] pixels */
        for (size_t i = 0; i < b * 784; i++) e->cls.h_x[i] = range == GAN_RANGE_TANH ? 0.5f * (src[i] + 1.f) : src[i];
        gan_tensor xb;
        TRY(gan_tensor_narrow(c, &e->cls.x, (int)b, &xb));
        TRY(gan_tensor_write(c, &xb, e->cls.h_x));
        TRY(gan_cnn_forward(c, &e->cls.net, &xb, 0, NULL));
        if (mom) {
            TRY(gan_tensor_read(c, &e->cls.net.a3.y, e->h_feat));
            TRY(gan_moments_add(c, mom, e->h_feat, b));
        }
        if (probs) {
            TRY(gan_tensor_read(c, &e->cls.net.fc2.y, e->cls.h_logits));
            for (size_t i = 0; i < b; i++) {
                const float *l = e->cls.h_logits + i * GAN_CNN_CLASSES;
                double *p = probs + (at + i) * GAN_CNN_CLASSES, mx = l[0], s = 0;
                for (int k = 1; k < GAN_CNN_CLASSES; k++) mx = l[k] > mx ? l[k] : mx;
                for (int k = 0; k < GAN_CNN_CLASSES; k++) s += p[k] = exp((double)l[k] - mx);
                for (int k = 0; k < GAN_CNN_CLASSES; k++) p[k] /= s;
            }
        }
    }
cleanup:
    return st;
}
