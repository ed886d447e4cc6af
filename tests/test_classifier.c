/* The MNIST CNN classifier (include/gancl/classifier.h): training steps on
 * the device and on the reference from the same seed agree, and evaluation
 * gives a known answer on a hand-built network and fixture. */
#include "registry.h"
#include "gancl/classifier.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define STEPS 20
#define BATCH 7

/* Narrow enough to run quickly on the reference, wide enough that every
 * layer has more than one unit. */
static gan_cls_config tiny_cls(void)
{
    gan_cls_config cfg = gan_cls_default();
    cfg.batch = BATCH;
    cfg.model.c1 = 8;
    cfg.model.c2 = 16;
    cfg.model.hidden = 32;
    cfg.seed = 7;
    return cfg;
}

/* Steps alternate between the full batch and a partial one of 4, so the
 * narrowed views of every layer are exercised. */
static int step_n(int s) { return s % 3 == 2 ? 4 : BATCH; }

static int run_cls(th *t, gan_ctx *c, gan_cls *m, const float *x_h, const int32_t *y_h, float *loss)
{
    gan_cls_config cfg = tiny_cls();
    if (TH_OK(t, c, gan_cls_init(c, m, &cfg))) return -1;
    if (TH_OK(t, c, gan_tensor_write(c, &m->x, x_h)) || TH_OK(t, c, gan_tensor_write(c, &m->labels, y_h))) return -1;
    for (int s = 0; s < STEPS; s++) {
        gan_tensor x, y;
        gan_cls_stats st;
        if (TH_OK(t, c, gan_tensor_narrow(c, &m->x, step_n(s), &x)) ||
            TH_OK(t, c, gan_tensor_narrow(c, &m->labels, step_n(s), &y)) ||
            TH_OK(t, c, gan_cls_step(c, m, &x, &y, &st)))
            return -1;
        loss[s] = st.loss;
    }
    return 0;
}

/* Tolerances. Losses: the per-op tolerances (~1e-5 relative) compounded
 * over the layers and steps: atol 1e-5, rtol 1e-4 (measured: <= 3e-6).
 * Parameters: the two runs differ only by float rounding (identical dropout
 * masks from the shared Philox stream), but a ReLU input or a max-pool
 * near-tie within rounding of zero can pass a gradient on one side and not
 * the other, and Adam, dividing by sqrt(v), turns even a tiny gradient into
 * a step of up to lr = 1e-3. So a few weights may differ by a fraction of an
 * Adam step (measured: 23 of 75k elements above 1e-5, the largest 1.8e-4)
 * while a real bug moves many. Two checks per parameter: every element
 * within atol 5e-4 (half an Adam step) + rtol 1e-3, and at most 1% of the
 * elements (none for tensors under 100) beyond atol 1e-5 + rtol 1e-3. */
static void compare_param(th *t, const char *what, const float *d, const float *r, size_t n)
{
    size_t loose = 0;
    for (size_t i = 0; i < n; i++)
        if (!(fabs((double)d[i] - (double)r[i]) <= 1e-5 + 1e-3 * fabs((double)r[i]))) loose++;
    if (loose > n / 100)
        th_fail(t, "%s: %zu of %zu elements differ by more than 1e-5 + 1e-3*|ref| (at most %zu allowed)", what,
                loose, n, n / 100);
    th_compare_host(t, what, d, r, n, 5e-4, 1e-3);
}

void test_classifier_steps(th *t)
{
    size_t nx = (size_t)BATCH * 784;
    /* noise with a bright bar whose height is the label: learnable */
    float *x_h = th_rand_host(t, nx, 0, 0.3);
    int32_t y_h[BATCH];
    for (int i = 0; i < BATCH; i++) {
        y_h[i] = (int32_t)(th_uniform(t, 0, 10)) % 10;
        for (int p = 0; p < 3 * 28; p++) x_h[(size_t)i * 784 + (size_t)(2 + 2 * y_h[i]) * 28 + (size_t)p] = 1.f;
    }
    gan_cls mr, md;
    float lr[STEPS], ld[STEPS];
    int ok = run_cls(t, t->ref, &mr, x_h, y_h, lr) == 0;
    for (int s = 0; ok && s < STEPS; s++)
        if (!isfinite(lr[s])) th_fail(t, "reference step %d: non-finite loss", s);
    /* the same 7 images over and over: the network must fit them */
    if (ok && !(lr[STEPS - 1] < 0.8f * lr[0]))
        th_fail(t, "reference: loss went from %g to %g in %d steps, expected a drop", lr[0], lr[STEPS - 1], STEPS);
    if (ok && mr.step != STEPS) th_fail(t, "step counter %d after %d steps", mr.step, STEPS);
    if (ok && t->dev && run_cls(t, t->dev, &md, x_h, y_h, ld) == 0) {
        th_compare_host(t, "loss per step", ld, lr, STEPS, 1e-5, 1e-4);
        gan_params *pd = &md.net.params, *pr = &mr.net.params;
        for (int i = 0; i < pd->n && i < pr->n; i++) {
            float *d = th_read(t, t->dev, &pd->p[i]->w), *r = th_read(t, t->ref, &pr->p[i]->w);
            char what[96];
            snprintf(what, sizeof what, "%s after %d steps", pr->p[i]->name, STEPS);
            compare_param(t, what, d, r, pr->p[i]->w.numel);
            free(d);
            free(r);
        }
        if (md.rng.counter != mr.rng.counter) th_fail(t, "RNG positions differ: device %llu, reference %llu",
                                                     (unsigned long long)md.rng.counter,
                                                     (unsigned long long)mr.rng.counter);
        gan_cls_free(t->dev, &md);
    }
    gan_cls_free(t->ref, &mr);
    free(x_h);
}

/* ---- evaluation on a known answer ----
 * A network wired by hand to compute v = the image's mean intensity in
 * [0,1] (for the constant images used here: the one pixel value / 255) and
 * logits 2*c_k*v - c_k^2 with centres c_k = k/9, so it predicts the class
 * whose centre is nearest to v: round(9v). Images have pixel values at
 * least 10/255 from every midpoint between centres, so float rounding
 * cannot change a prediction. */

#define EVAL_N 23
#define EVAL_BATCH 8

static void set_param(th *t, gan_ctx *c, gan_param *p, const float *host) { TH_OK(t, c, gan_tensor_write(c, &p->w, host)); }

static void wire(th *t, gan_ctx *c, gan_cls *m)
{
    gan_cnn *n = &m->net;
    int C2 = n->cfg.c2, H = n->cfg.hidden;
    size_t big = (size_t)H * C2 * 144;
    float *w = calloc(big, sizeof *w), *z = calloc(big, sizeof *z);
    /* conv1, conv2: channel 0 passes its input's channel 0 through (centre
     * tap 1), every other weight and bias 0 */
    w[4] = 1.f; /* conv1.weight[0,0,1,1] */
    set_param(t, c, &n->conv1.w, w);
    set_param(t, c, &n->conv1.b, z);
    set_param(t, c, &n->conv2.w, w); /* conv2.weight[0,0,1,1] is the same flat index */
    set_param(t, c, &n->conv2.b, z);
    /* fc1: hidden unit 0 averages pooled channel 0 (the first 144 features) */
    w[4] = 0.f;
    for (int i = 0; i < 144; i++) w[i] = 1.f / 144.f;
    set_param(t, c, &n->fc1.w, w);
    set_param(t, c, &n->fc1.b, z);
    memset(w, 0, big * sizeof *w);
    float b[GAN_CNN_CLASSES];
    for (int k = 0; k < GAN_CNN_CLASSES; k++) {
        float ck = (float)k / 9.f;
        w[k * H] = 2.f * ck;
        b[k] = -ck * ck;
    }
    set_param(t, c, &n->fc2.w, w);
    set_param(t, c, &n->fc2.b, b);
    free(w);
    free(z);
}

static void eval_on(th *t, gan_ctx *c, const gan_dataset *d, const gan_indices *set, const gan_cls_eval *want,
                    const char *label)
{
    gan_cls_config cfg = tiny_cls();
    cfg.batch = EVAL_BATCH;
    cfg.model.c1 = 2;
    cfg.model.c2 = 3;
    cfg.model.hidden = 4;
    gan_cls m;
    gan_cls_eval got;
    if (TH_OK(t, c, gan_cls_init(c, &m, &cfg))) return;
    wire(t, c, &m);
    gan_rng before = m.rng;
    if (!TH_OK(t, c, gan_cls_evaluate(c, &m, d, set, &got))) {
        if (got.n != want->n || got.correct != want->correct)
            th_fail(t, "%s: %zu of %zu correct, want %zu of %zu", label, got.correct, got.n, want->correct, want->n);
        if (fabs(got.accuracy - want->accuracy) > 1e-12)
            th_fail(t, "%s: accuracy %.17g, want %.17g", label, got.accuracy, want->accuracy);
        for (int k = 0; k < GAN_CNN_CLASSES; k++) {
            if (got.class_n[k] != want->class_n[k] || fabs(got.class_acc[k] - want->class_acc[k]) > 1e-12)
                th_fail(t, "%s: class %d: %zu items, accuracy %g; want %zu, %g", label, k, got.class_n[k],
                        got.class_acc[k], want->class_n[k], want->class_acc[k]);
            for (int p = 0; p < GAN_CNN_CLASSES; p++)
                if (got.confusion[k][p] != want->confusion[k][p])
                    th_fail(t, "%s: confusion[%d][%d] = %zu, want %zu", label, k, p, got.confusion[k][p],
                            want->confusion[k][p]);
        }
    }
    if (m.rng.seed != before.seed || m.rng.counter != before.counter) th_fail(t, "%s: evaluation moved the RNG", label);
    gan_cls_free(c, &m);
}

/* The expected result, counted directly from the fixture. */
static void expect(const gan_dataset *d, const int *pred, const gan_indices *set, gan_cls_eval *e)
{
    memset(e, 0, sizeof *e);
    e->n = set ? set->n : d->n;
    for (size_t i = 0; i < e->n; i++) {
        size_t j = set ? set->idx[i] : i;
        int y = d->labels[j];
        e->confusion[y][pred[j]]++;
        e->class_n[y]++;
        e->correct += y == pred[j];
    }
    e->accuracy = (double)e->correct / (double)e->n;
    for (int k = 0; k < GAN_CNN_CLASSES; k++)
        e->class_acc[k] = e->class_n[k] ? (double)e->confusion[k][k] / (double)e->class_n[k] : 0.0;
}

void test_classifier_eval(th *t)
{
    gan_dataset d = {.n = EVAL_N, .h = 28, .w = 28};
    d.images = malloc(EVAL_N * 784);
    d.labels = malloc(EVAL_N);
    int pred[EVAL_N];
    for (int i = 0; i < EVAL_N; i++) {
        int k = (i * 7) % 10;
        /* centre k sits at pixel 255k/9; stay within 4 of it (midpoints are 14.2 away) */
        int px = (int)lround(255.0 * k / 9.0) + (i % 3 == 0 ? 0 : i % 3 == 1 ? -1 : 1) * (k == 0 ? 0 : 1) * (i % 5);
        if (px > 255) px = 255;
        pred[i] = (int)lround(9.0 * px / 255.0);
        memset(d.images + (size_t)i * 784, px, 784);
        /* right for two items in three, else off by one or more */
        d.labels[i] = (uint8_t)(i % 3 ? pred[i] : (pred[i] + 1 + i % 4) % 10);
    }
    size_t sub_idx[] = {22, 3, 5, 0, 17, 9, 10, 11, 12, 1};
    gan_indices sub = {.n = sizeof sub_idx / sizeof sub_idx[0], .idx = sub_idx};
    gan_cls_eval want_all, want_sub;
    expect(&d, pred, NULL, &want_all);
    expect(&d, pred, &sub, &want_sub);
    /* the fixture has right and wrong answers */
    if (want_all.correct == 0 || want_all.correct == want_all.n) th_fail(t, "fixture: degenerate answers");
    eval_on(t, t->ref, &d, NULL, &want_all, "reference, whole set (3 batches, the last of 7)");
    eval_on(t, t->ref, &d, &sub, &want_sub, "reference, subset");
    if (t->dev) {
        eval_on(t, t->dev, &d, NULL, &want_all, "device, whole set");
        eval_on(t, t->dev, &d, &sub, &want_sub, "device, subset");
    }
    gan_dataset_free(&d);
}
