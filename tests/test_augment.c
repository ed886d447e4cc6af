/* augment's plan (gan_augment_plan_init, include/gancl/loop.h) on a tiny
 * synthetic dataset: the labeled subset's per-class counts, the reduced
 * classes, the generated-label cdf (sums to 1, steps by each class's
 * deficit; uniform without an imbalance), the default ratio with and
 * without an imbalance, generated rows per step, the errors, the
 * reduced-class accuracy and a baseline phase's init. Host only. */
#include "registry.h"
#include "gancl/loop.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PER 20 /* items of each class */

static void make_data(gan_dataset *d)
{
    memset(d, 0, sizeof *d);
    d->n = 10 * PER;
    d->h = d->w = 28;
    d->images = calloc(d->n, 784);
    d->labels = malloc(d->n);
    for (size_t i = 0; i < d->n; i++) d->labels[i] = (uint8_t)((i * 7) % 10); /* classes interleaved */
}

static void near(th *t, const char *what, double got, double want)
{
    if (!(fabs(got - want) <= 1e-12)) th_fail(t, "%s: got %.17g, want %.17g", what, got, want);
}

static void cdf_sums_to_one(th *t, const gan_augment_plan *p)
{
    for (int k = 1; k < GAN_CNN_CLASSES; k++)
        if (p->cdf[k] < p->cdf[k - 1]) th_fail(t, "cdf decreases at class %d", k);
    if (p->cdf[GAN_CNN_CLASSES - 1] != 1.0) th_fail(t, "cdf ends at %.17g, not 1", p->cdf[GAN_CNN_CLASSES - 1]);
}

void test_augment_plan(th *t)
{
    gan_ctx *c = t->ref;
    gan_dataset d;
    make_data(&d);
    gan_indices all = {0};
    gan_augment_plan p;
    memset(&p, 0, sizeof p);
    char what[64];
    if (TH_OK(t, c, gan_indices_all(c, &d, &all))) goto out;

    /* a uniform label budget: 10 per class, uniform labels, R = 1 */
    if (TH_OK(t, c, gan_augment_plan_init(c, &p, &d, &all, 10, NULL, 0.f, 16, 7))) goto out;
    if (p.set->n != 100) th_fail(t, "uniform: %zu labeled items, want 100", p.set->n);
    for (int k = 0; k < 10; k++) {
        if (p.count[k] != 10) th_fail(t, "uniform: class %d has %zu items, want 10", k, p.count[k]);
        snprintf(what, sizeof what, "uniform cdf[%d]", k);
        near(t, what, p.cdf[k], (k + 1) / 10.0);
    }
    if (p.nreduced) th_fail(t, "uniform: %d reduced classes, want 0", p.nreduced);
    cdf_sums_to_one(t, &p);
    near(t, "uniform ratio", p.ratio, 1.0);
    if (p.ngen != 16) th_fail(t, "uniform: %d generated per step, want 16", p.ngen);
    gan_augment_plan_free(&p);

    /* 10 per class, then class 3 kept at 0.2 (2 items) and class 5 at 0.5
     * (5): deficits 8 and 5 of the largest class's 10, total 13 */
    double keep[10];
    for (int k = 0; k < 10; k++) keep[k] = 1.0;
    keep[3] = 0.2, keep[5] = 0.5;
    if (TH_OK(t, c, gan_augment_plan_init(c, &p, &d, &all, 10, keep, 0.f, 16, 7))) goto out;
    size_t want_n = 8 * 10 + 2 + 5;
    if (p.set->n != want_n) th_fail(t, "imbalance: %zu labeled items, want %zu", p.set->n, want_n);
    for (int k = 0; k < 10; k++) {
        size_t want = k == 3 ? 2 : k == 5 ? 5 : 10;
        if (p.count[k] != want) th_fail(t, "imbalance: class %d has %zu items, want %zu", k, p.count[k], want);
        if (p.reduced[k] != (k == 3 || k == 5)) th_fail(t, "imbalance: class %d reduced %d", k, p.reduced[k]);
        double prob = p.cdf[k] - (k ? p.cdf[k - 1] : 0.0), wantp = k == 3 ? 8 / 13.0 : k == 5 ? 5 / 13.0 : 0.0;
        snprintf(what, sizeof what, "imbalance P(class %d)", k);
        near(t, what, prob, wantp);
    }
    for (size_t i = 0; i < p.set->n; i++)
        if (d.labels[p.set->idx[i]] >= 10) th_fail(t, "imbalance: item %zu out of range", p.set->idx[i]);
    if (p.nreduced != 2) th_fail(t, "imbalance: %d reduced classes, want 2", p.nreduced);
    cdf_sums_to_one(t, &p);
    near(t, "imbalance ratio", p.ratio, (double)(float)(13.0 / 87.0));
    if (p.ngen != (int)lround((float)(13.0 / 87.0) * 16)) th_fail(t, "imbalance: %d generated per step", p.ngen);
    if (p.ngen != 2) th_fail(t, "imbalance: %d generated per step, want 2", p.ngen);

    /* the reduced-class accuracy: classes 3 and 5 only */
    gan_cls_eval e;
    memset(&e, 0, sizeof e);
    for (int k = 0; k < 10; k++) e.class_n[k] = 10, e.confusion[k][k] = k == 3 ? 1 : k == 5 ? 4 : 10;
    near(t, "reduced accuracy", gan_augment_plan_reduced(&p, &e), 5 / 20.0);

    /* a baseline phase from the plan: no generated rows, batch B, the
     * plan's reduced classes, test every max(1, epochs / 10) epochs */
    gan_loop_augment a;
    gan_cls_config cfg = gan_cls_default();
    cfg.seed = 7;
    if (!TH_OK(t, c, gan_augment_phase_init(c, &a, &p, &cfg, NULL, &d, 35))) {
        if (a.ngen != 0 || a.m.cfg.batch != 16 || a.nreduced != 2 || !a.reduced[3] || a.eval_every != 3 ||
            a.test != &d)
            th_fail(t, "baseline phase: ngen %d batch %d nreduced %d eval_every %d", a.ngen, a.m.cfg.batch,
                    a.nreduced, a.eval_every);
        near(t, "baseline phase reduced accuracy", gan_loop_augment_reduced(&a, &e), 5 / 20.0);
        gan_loop_run run;
        memset(&run, 0, sizeof run);
        gan_augment_run_set(&run, &p, &a);
        if (run.data != &d || run.set != p.set || run.batch != 16 || run.model_batch != 16)
            th_fail(t, "baseline run: batch %d model_batch %d", run.batch, run.model_batch);
        gan_loop_augment_free(c, &a);
    }
    gan_augment_plan_free(&p);

    /* a given ratio wins; at least one generated row per step */
    if (TH_OK(t, c, gan_augment_plan_init(c, &p, &d, &all, 10, keep, 0.5f, 16, 7))) goto out;
    if (p.ngen != 8) th_fail(t, "ratio 0.5: %d generated per step, want 8", p.ngen);
    gan_augment_plan_free(&p);
    if (TH_OK(t, c, gan_augment_plan_init(c, &p, &d, &all, 0, NULL, 0.01f, 16, 7))) goto out;
    if (p.ngen != 1) th_fail(t, "ratio 0.01: %d generated per step, want 1", p.ngen);
    if (p.set != &all || p.set->n != d.n) th_fail(t, "no budget: the subset is not the base set");
    gan_augment_plan_free(&p);

    /* errors: an imbalance that changes nothing, one that keeps nothing,
     * more labels per class than there are */
    static const struct {
        size_t lpc;
        double keep;
        int failed;
    } bad[] = {{10, 1.0, GAN_AUGMENT_FAIL_BALANCE},
               {10, 0.0, GAN_AUGMENT_FAIL_BALANCE},
               {PER + 1, -1, GAN_AUGMENT_FAIL_LABELS}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        double kk[10];
        for (int k = 0; k < 10; k++) kk[k] = bad[i].keep;
        gan_status st = gan_augment_plan_init(c, &p, &d, &all, bad[i].lpc, bad[i].keep >= 0 ? kk : NULL, 0.f, 16, 7);
        const char *msg = gan_ctx_error(c);
        if (st != GAN_ERR_ARG) th_fail(t, "bad case %zu: status %s, want GAN_ERR_ARG", i, gan_status_name(st));
        if (p.failed != bad[i].failed) th_fail(t, "bad case %zu: failed %d, want %d", i, p.failed, bad[i].failed);
        if (bad[i].failed == GAN_AUGMENT_FAIL_BALANCE &&
            (!strstr(msg, "nothing for the generator to balance") ||
             !strstr(msg, bad[i].keep > 0 ? "every class the same size" : "no training images")))
            th_fail(t, "bad case %zu: message \"%s\"", i, msg);
        gan_ctx_clear_error(c);
        gan_augment_plan_free(&p);
    }
out:
    gan_augment_plan_free(&p);
    gan_indices_free(&all);
    gan_dataset_free(&d);
}
