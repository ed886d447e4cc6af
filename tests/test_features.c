/* The features mode (include/gancl/features.h): feature extraction checked
 * against a hand-assembled reference (D's own forward, pooled on the host)
 * and on the device against the reference; classifier steps on both
 * backends from the same seed; checkpoints round-trip and refuse the wrong
 * kind. */
#include "registry.h"
#include "gancl/features.h"
#include "gancl/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define NIMG 13
#define BATCH 5
#define NDF 4

/* NIMG random images (label i % 10) with a bright bar whose height is the
 * label, so even a random D's features separate the classes. */
static void make_data(th *t, gan_dataset *d)
{
    d->n = NIMG;
    d->h = d->w = 28;
    d->images = malloc(NIMG * 784);
    d->labels = malloc(NIMG);
    for (size_t i = 0; i < NIMG; i++) {
        d->labels[i] = (uint8_t)(i % 10);
        for (size_t p = 0; p < 784; p++) d->images[i * 784 + p] = (uint8_t)th_uniform(t, 0, 90);
        for (size_t p = 0; p < 3 * 28; p++) d->images[i * 784 + (2 + 2 * (i % 10)) * 28 + p] = 255;
    }
}

static gan_features_config tiny(int standardize)
{
    gan_features_config cfg = gan_features_default();
    cfg.ndf = NDF;
    cfg.batch = BATCH;
    cfg.standardize = standardize;
    cfg.seed = 5;
    return cfg;
}

/* Items 12, 0, 7, 3, 9, 4, 11 (7 of them, out of order: two batches, the
 * second partial) as the training set. */
static const size_t train_items[] = {12, 0, 7, 3, 9, 4, 11};
static const gan_indices train_set = {7, (size_t *)train_items};

static int setup(th *t, gan_ctx *c, gan_features *m, const gan_dataset *d, int standardize)
{
    gan_features_config cfg = tiny(standardize);
    memset(m, 0, sizeof *m);
    if (TH_OK(t, c, gan_features_init(c, m, &cfg)) || TH_OK(t, c, gan_features_set_train(c, m, d, &train_set)) ||
        TH_OK(t, c, gan_features_set_test(c, m, d, NULL)))
        return -1;
    return 0;
}

/* Rows of the raw features of the items given, from D's own inference
 * forward on the reference (in batches of up to BATCH, what D holds):
 * pool(a1) and pool(a2) on the host (2x2, stride 2, floor). */
static void expected_rows(th *t, gan_features *m, const gan_dataset *d, const size_t *items, size_t n, float *out)
{
    gan_ctx *c = t->ref;
    size_t F = (size_t)m->F, f1 = NDF, f2 = 2 * NDF;
    gan_tensor x;
    float img[BATCH * 784];
    for (size_t at = 0; at < n; at += BATCH) {
        size_t k = n - at < BATCH ? n - at : BATCH;
        if (TH_OK(t, c, gan_tensor_alloc4(c, &x, GAN_F32, 4, (int)k, 1, 28, 28))) return;
        TH_OK(t, c, gan_dataset_batch(c, d, items + at, k, GAN_RANGE_TANH, img, NULL));
        TH_OK(t, c, gan_tensor_write(c, &x, img));
        TH_OK(t, c, gan_dcgan_d_forward(c, &m->d, &x, 0, NULL));
        float *a1 = th_read(t, c, &m->d.a1.y), *a2 = th_read(t, c, &m->d.a2.y);
        for (size_t r = 0; r < k; r++) {
            float *row = out + (at + r) * F;
            for (size_t ch = 0; ch < f1; ch++)
                for (size_t i = 0; i < 7; i++)
                    for (size_t j = 0; j < 7; j++) {
                        const float *p = a1 + ((r * f1 + ch) * 14 + 2 * i) * 14 + 2 * j;
                        row[(ch * 7 + i) * 7 + j] = fmaxf(fmaxf(p[0], p[1]), fmaxf(p[14], p[15]));
                    }
            for (size_t ch = 0; ch < f2; ch++)
                for (size_t i = 0; i < 3; i++)
                    for (size_t j = 0; j < 3; j++) {
                        const float *p = a2 + ((r * f2 + ch) * 7 + 2 * i) * 7 + 2 * j;
                        row[f1 * 49 + (ch * 3 + i) * 3 + j] = fmaxf(fmaxf(p[0], p[1]), fmaxf(p[7], p[8]));
                    }
        }
        free(a1);
        free(a2);
        gan_tensor_free(c, &x);
    }
}

/* Tolerances: raw features are two convolutions, a LeakyReLU and a max
 * (the per-op tolerances): atol 1e-5, rtol 1e-4. Standardised features are
 * (x - mean) / std with std as small as the labeled set's spread, which
 * scales the raw error by up to |x| / std: atol 1e-4, rtol 1e-4, also for
 * the reference against the standardisation redone in double on the host.
 * The reference against D's own forward on the same backend is exact up to
 * the order of float operations: atol 1e-6, rtol 1e-6. */
void test_features_extract(th *t)
{
    gan_dataset d;
    float *raw_tr = NULL, *raw_te = NULL; /* the reference's raw features, for the standardised pass */
    make_data(t, &d);
    for (int standardize = 0; standardize <= 1; standardize++) {
        gan_features mr, md;
        if (setup(t, t->ref, &mr, &d, standardize)) goto next;
        size_t F = (size_t)mr.F;
        float *trx = th_read(t, t->ref, &mr.train.x), *tex = th_read(t, t->ref, &mr.test.x);
        if (!standardize) {
            raw_tr = trx;
            raw_te = tex;
        }
        if (!standardize) {
            float *want = malloc(NIMG * F * sizeof *want);
            size_t all[NIMG];
            for (size_t i = 0; i < NIMG; i++) all[i] = i;
            expected_rows(t, &mr, &d, train_items, train_set.n, want);
            th_compare_host(t, "training rows vs D's forward", trx, want, train_set.n * F, 1e-6, 1e-6);
            expected_rows(t, &mr, &d, all, NIMG, want);
            th_compare_host(t, "test rows vs D's forward", tex, want, NIMG * F, 1e-6, 1e-6);
            free(want);
        } else if (raw_tr && raw_te) {
            /* the documented standardisation of the raw features: mean and
             * variance over the training rows, the variance floored at 1e-5
             * of the mean variance */
            float *want_tr = malloc(train_set.n * F * sizeof *want_tr), *want_te = malloc(NIMG * F * sizeof *want_te);
            double *mu = calloc(F, sizeof *mu), *var = calloc(F, sizeof *var), mean_var = 0;
            for (size_t f = 0; f < F; f++) {
                for (size_t r = 0; r < train_set.n; r++) mu[f] += raw_tr[r * F + f];
                mu[f] /= (double)train_set.n;
                for (size_t r = 0; r < train_set.n; r++) var[f] += pow(raw_tr[r * F + f] - mu[f], 2);
                var[f] /= (double)train_set.n;
                mean_var += var[f] / (double)F;
            }
            for (size_t f = 0; f < F; f++) {
                double is = 1.0 / sqrt(var[f] + 1e-5 * mean_var);
                for (size_t r = 0; r < train_set.n; r++) want_tr[r * F + f] = (float)((raw_tr[r * F + f] - mu[f]) * is);
                for (size_t r = 0; r < NIMG; r++) want_te[r * F + f] = (float)((raw_te[r * F + f] - mu[f]) * is);
            }
            th_compare_host(t, "standardised training rows", trx, want_tr, train_set.n * F, 1e-4, 1e-4);
            th_compare_host(t, "standardised test rows", tex, want_te, NIMG * F, 1e-4, 1e-4);
            free(want_tr);
            free(want_te);
            free(mu);
            free(var);
        }
        int32_t *labels = malloc(NIMG * sizeof *labels);
        gan_tensor_read(t->ref, &mr.train.y, labels);
        for (size_t r = 0; r < train_set.n; r++)
            if (labels[r] != (int32_t)(train_items[r] % 10)) {
                th_fail(t, "training label %zu is %d, expected %d", r, (int)labels[r], (int)(train_items[r] % 10));
                break;
            }
        free(labels);
        if (t->dev && !setup(t, t->dev, &md, &d, standardize)) {
            float *dtr = th_read(t, t->dev, &md.train.x), *dte = th_read(t, t->dev, &md.test.x);
            double at = standardize ? 1e-4 : 1e-5;
            th_compare_host(t, standardize ? "standardised training features" : "training features", dtr, trx,
                            train_set.n * F, at, 1e-4);
            th_compare_host(t, standardize ? "standardised test features" : "test features", dte, tex, NIMG * F, at,
                            1e-4);
            free(dtr);
            free(dte);
        }
        if (t->dev) gan_features_free(t->dev, &md);
        if (standardize) {
            free(trx);
            free(tex);
        }
    next:
        gan_features_free(t->ref, &mr);
    }
    free(raw_tr);
    free(raw_te);
    gan_dataset_free(&d);
}

#define STEPS 12

/* Steps alternate full and partial minibatches over a fixed order. */
static int run_steps(th *t, gan_ctx *c, gan_features *m, const gan_dataset *d, float *loss)
{
    static const size_t order[7] = {3, 6, 0, 5, 1, 4, 2};
    if (setup(t, c, m, d, 1) || TH_OK(t, c, gan_features_set_order(c, m, order))) return -1;
    for (int s = 0; s < STEPS; s++) {
        gan_features_stats st;
        size_t at = s % 2 ? BATCH : 0;
        int n = s % 2 ? 2 : BATCH;
        if (TH_OK(t, c, gan_features_step(c, m, at, n, &st))) return -1;
        loss[s] = st.loss;
    }
    return 0;
}

/* The first step's loss from the host: softmax cross-entropy of the
 * gathered rows under the initial weights. */
static double host_loss(const float *x, const int32_t *y, const size_t *rows, int n, const float *w, const float *b,
                        size_t F)
{
    double sum = 0;
    for (int i = 0; i < n; i++) {
        double z[10], mx = -INFINITY, se = 0;
        for (int k = 0; k < 10; k++) {
            z[k] = b[k];
            for (size_t f = 0; f < F; f++) z[k] += (double)w[k * F + f] * x[rows[i] * F + f];
            mx = fmax(mx, z[k]);
        }
        for (int k = 0; k < 10; k++) se += exp(z[k] - mx);
        sum += mx + log(se) - z[y[rows[i]]];
    }
    return sum / n;
}

/* Tolerances: losses atol 1e-5, rtol 1e-4 (a dense layer and a softmax over
 * features equal to 1e-4). Weights: Adam divides by sqrt(v), so a gradient
 * element within rounding of zero can take a different step of up to
 * lr = 1e-3 on the two backends (as in test_classifier.c): every element
 * within atol 1e-3 + rtol 1e-3, and at most 1% beyond atol 1e-5 + rtol 1e-3. */
void test_features_steps(th *t)
{
    gan_dataset d;
    make_data(t, &d);
    gan_features mr, md;
    float lr_[STEPS], ld[STEPS];
    if (run_steps(t, t->ref, &mr, &d, lr_)) goto out;
    {
        /* redo the first step's loss on the host from a fresh model */
        gan_features m0;
        static const size_t first[BATCH] = {3, 6, 0, 5, 1};
        if (!setup(t, t->ref, &m0, &d, 1)) {
            float *x = th_read(t, t->ref, &m0.train.x), *w = th_read(t, t->ref, &m0.fc.w.w),
                  *b = th_read(t, t->ref, &m0.fc.b.w);
            double want = host_loss(x, m0.train.h_y, first, BATCH, w, b, (size_t)m0.F);
            if (!(fabs(want - lr_[0]) <= 1e-5 + 1e-5 * fabs(want)))
                th_fail(t, "first step's loss %.7f, host %.7f", lr_[0], want);
            free(x);
            free(w);
            free(b);
        }
        gan_features_free(t->ref, &m0);
    }
    if (!(lr_[STEPS - 2] < lr_[0])) th_fail(t, "loss did not fall: %g -> %g", lr_[0], lr_[STEPS - 2]);
    gan_cls_eval er;
    TH_OK(t, t->ref, gan_features_evaluate(t->ref, &mr, 0, &er));
    if (er.n != train_set.n || er.correct != train_set.n)
        th_fail(t, "labeled-set accuracy after %d steps: %zu of %zu", STEPS, er.correct, er.n);
    if (t->dev && !run_steps(t, t->dev, &md, &d, ld)) {
        th_compare_host(t, "losses", ld, lr_, STEPS, 1e-5, 1e-4);
        float *wd = th_read(t, t->dev, &md.fc.w.w), *wr = th_read(t, t->ref, &mr.fc.w.w);
        size_t n = mr.fc.w.w.numel, loose = 0;
        for (size_t i = 0; i < n; i++) loose += !(fabs((double)wd[i] - wr[i]) <= 1e-5 + 1e-3 * fabs((double)wr[i]));
        if (loose > n / 100) th_fail(t, "weights: %zu of %zu beyond 1e-5 + 1e-3*|ref|", loose, n);
        th_compare_host(t, "weights", wd, wr, n, 1e-3, 1e-3);
        gan_cls_eval ed, trd, trr;
        TH_OK(t, t->dev, gan_features_evaluate(t->dev, &md, 1, &ed));
        TH_OK(t, t->ref, gan_features_evaluate(t->ref, &mr, 1, &trr));
        TH_OK(t, t->dev, gan_features_evaluate(t->dev, &md, 0, &trd));
        if (ed.correct != trr.correct || trd.correct != er.correct)
            th_fail(t, "accuracy: device %zu/%zu (test), %zu (train); reference %zu, %zu", ed.correct, ed.n,
                    trd.correct, trr.correct, er.correct);
        free(wd);
        free(wr);
    }
    if (t->dev) gan_features_free(t->dev, &md);
out:
    gan_features_free(t->ref, &mr);
    gan_dataset_free(&d);
}

static void checkpoints_on(th *t, gan_ctx *c, const char *dir, const gan_dataset *d)
{
    char gan_path[256], cls_path[256], feat_path[256];
    snprintf(gan_path, sizeof gan_path, "%s/gan.safetensors", dir);
    snprintf(cls_path, sizeof cls_path, "%s/cls.safetensors", dir);
    snprintf(feat_path, sizeof feat_path, "%s/feat.safetensors", dir);
    /* a tiny gan checkpoint: its D must become the extractor */
    gan_gan g;
    gan_gan_config gc = gan_gan_default();
    gc.model.ngf = 3;
    gc.model.ndf = NDF + 1;
    gc.batch = 2;
    gc.seed = 11;
    gan_ckpt_kv gan_mode[1] = {{"mode", "gan"}};
    if (TH_OK(t, c, gan_gan_init(c, &g, &gc)) || TH_OK(t, c, gan_gan_save(c, &g, gan_path, gan_mode, 1))) return;
    gan_features_config cfg = tiny(1);
    cfg.discriminator = gan_path;
    gan_features m, m2;
    memset(&m2, 0, sizeof m2);
    if (!TH_OK(t, c, gan_features_init(c, &m, &cfg))) {
        if (m.cfg.ndf != NDF + 1 || m.F != 67 * (NDF + 1)) th_fail(t, "ndf %d, F %d from the checkpoint", m.cfg.ndf, m.F);
        for (int i = 0; i < g.d.params.n && i < m.d.params.n; i++) {
            float *a = th_read(t, c, &g.d.params.p[i]->w), *b = th_read(t, c, &m.d.params.p[i]->w);
            th_compare_bits(t, g.d.params.p[i]->name, b, a, g.d.params.p[i]->w.numel);
            free(a);
            free(b);
        }
        static const size_t order[7] = {6, 5, 4, 3, 2, 1, 0};
        gan_ckpt_kv mode[1] = {{"mode", "features"}};
        gan_cls_eval e1, e2;
        if (!TH_OK(t, c, gan_features_set_train(c, &m, d, &train_set)) &&
            !TH_OK(t, c, gan_features_set_test(c, &m, d, NULL)) && !TH_OK(t, c, gan_features_set_order(c, &m, order)) &&
            !TH_OK(t, c, gan_features_step(c, &m, 0, BATCH, NULL)) && !TH_OK(t, c, gan_features_evaluate(c, &m, 1, &e1)) &&
            !TH_OK(t, c, gan_features_save(c, &m, feat_path, mode, 1)) &&
            !TH_OK(t, c, gan_features_load(c, &m2, feat_path, 0, NULL)) &&
            !TH_OK(t, c, gan_features_set_test(c, &m2, d, NULL)) && !TH_OK(t, c, gan_features_evaluate(c, &m2, 1, &e2))) {
            /* the loaded model recomputes the same standardised features and logits */
            float *x1 = th_read(t, c, &m.test.x), *x2 = th_read(t, c, &m2.test.x);
            float *l1 = th_read(t, c, &m.test.logits), *l2 = th_read(t, c, &m2.test.logits);
            th_compare_bits(t, "reloaded test features", x2, x1, m.test.x.numel);
            th_compare_bits(t, "reloaded logits", l2, l1, m.test.logits.numel);
            if (memcmp(e1.confusion, e2.confusion, sizeof e1.confusion) || m2.step != 1)
                th_fail(t, "reloaded evaluation differs (or step %d, expected 1)", m2.step);
            free(x1);
            free(x2);
            free(l1);
            free(l2);
        }
    }
    gan_features_free(c, &m);
    gan_features_free(c, &m2);
    /* wrong kinds: a classifier as --discriminator, a gan as a features checkpoint */
    gan_cls cls;
    gan_cls_config cc = gan_cls_default();
    cc.batch = 2;
    cc.model.c1 = 2;
    cc.model.c2 = 2;
    cc.model.hidden = 4;
    gan_ckpt_kv cls_mode[1] = {{"mode", "classifier"}};
    if (!TH_OK(t, c, gan_cls_init(c, &cls, &cc)) && !TH_OK(t, c, gan_cls_save(c, &cls, cls_path, cls_mode, 1))) {
        cfg.discriminator = cls_path;
        gan_status st = gan_features_init(c, &m, &cfg);
        if (st == GAN_ERR_MISMATCH && (!strstr(gan_ctx_error(c), "is a classifier checkpoint") ||
                                       !strstr(gan_ctx_error(c), "mode \"gan\"")))
            th_fail(t, "message for a classifier as the discriminator: %s", gan_ctx_error(c));
        th_expect_error(t, c, st, GAN_ERR_MISMATCH, "classifier checkpoint as the discriminator");
        gan_features_free(c, &m);
        st = gan_features_load(c, &m, gan_path, 0, NULL);
        if (st == GAN_ERR_MISMATCH && !strstr(gan_ctx_error(c), "is a gan checkpoint"))
            th_fail(t, "message for a gan checkpoint as a features one: %s", gan_ctx_error(c));
        th_expect_error(t, c, st, GAN_ERR_MISMATCH, "gan checkpoint loaded as features");
        gan_features_free(c, &m);
    }
    gan_cls_free(c, &cls);
    gan_gan_free(c, &g);
    unlink(gan_path);
    unlink(cls_path);
    unlink(feat_path);
}

void test_features_checkpoints(th *t)
{
    char dir[] = "/tmp/gancl-features-XXXXXX";
    gan_dataset d;
    if (!mkdtemp(dir)) {
        th_fail(t, "mkdtemp failed");
        return;
    }
    make_data(t, &d);
    checkpoints_on(t, t->ref, dir, &d);
    if (t->dev) checkpoints_on(t, t->dev, dir, &d);
    gan_dataset_free(&d);
    rmdir(dir);
}
