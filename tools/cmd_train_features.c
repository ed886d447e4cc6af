/* `gancl train --mode features`: a trained DCGAN discriminator
 * (--discriminator, a `train --mode gan` checkpoint) frozen as a feature
 * extractor and a softmax classifier trained on its features of
 * --labels-per-class labeled images per class (include/gancl/features.h);
 * then, unless --no-baseline, the same classifier on the features of a
 * random, untrained discriminator, so the gain from GAN training shows.
 *
 * Features are computed once (seconds); an epoch is a Philox shuffle of
 * the labeled rows. Progress and JSONL records every --log-every steps,
 * test accuracy about ten times per run, and at the end the per-class
 * accuracy, the confusion matrix (printed and confusion.png), curves.png
 * and a checkpoint that `gancl eval` classifies with. A whole run takes
 * under a minute on 2 CPU cores, so there is no --resume: a run is
 * repeated instead.
 * Ctrl-C ends training early; the classifier as it is then is evaluated
 * and saved, and the exit status is 130. */
#include "cls_report.h"
#include "gancl/features.h"
#include "train_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct probe_run {
    const char *tag;    /* "trained D" / "random D" */
    const char *prefix; /* metric names: "" or "baseline_" */
    double t_features, t_train;
    int steps, interrupted;
    gan_cls_eval test;
} probe_run;

static int log_metrics(gan_ctx *c, gan_jsonl *log, const char *prefix, int step, int epoch, const gan_metric *f,
                       size_t n)
{
    char names[8][64];
    gan_metric g[8];
    for (size_t i = 0; i < n && i < 8; i++) {
        snprintf(names[i], sizeof names[i], "%s%s", prefix, f[i].name);
        g[i] = (gan_metric){names[i], f[i].value};
    }
    return gan_jsonl_write(c, log, step, epoch, g, n) != GAN_OK;
}

/* Features, training and evaluation of one classifier; saves to ckpt when
 * it is not NULL. Returns 0, or the exit status of a failure. */
static int run_probe(gan_ctx *c, gan_features *m, const gan_features_config *cfg, const tool_opts *o, int epochs,
                     const gan_dataset *ds, const gan_indices *lab, const gan_dataset *ts, gan_jsonl *log,
                     const char *ckpt, int lpc, probe_run *r)
{
    size_t *order = NULL;
    gan_indices rows = {0};
    int rc = 1;
    double t0 = train_now();
    if (gan_features_init(c, m, cfg)) return train_fail(c, cfg->discriminator ? "--discriminator" : "model");
    if (gan_features_set_train(c, m, ds, lab) || gan_features_set_test(c, m, ts, NULL)) {
        rc = train_fail(c, "features");
        goto out;
    }
    r->t_features = train_now() - t0;
    printf("%s: features of %zu labeled and %zu test images (F = %d) in %.1f s\n", r->tag, m->train.n, m->test.n,
           m->F, r->t_features);
    fflush(stdout);
    size_t L = m->train.n, B = (size_t)m->cfg.batch, per_epoch = train_cap_steps((L + B - 1) / B, o->steps_per_epoch);
    int eval_every = epochs / 10 > 1 ? epochs / 10 : 1;
    order = malloc(L * sizeof *order);
    rows.n = L;
    rows.idx = malloc(L * sizeof *rows.idx);
    if (!order || !rows.idx) goto out;
    for (size_t i = 0; i < L; i++) rows.idx[i] = i;
    train_clock clk;
    train_clock_start(&clk);
    for (int epoch = 0; epoch < epochs && !r->interrupted; epoch++) {
        if (gan_epoch_order(c, &rows, m->cfg.seed, (uint64_t)epoch, order) || gan_features_set_order(c, m, order)) {
            rc = train_fail(c, "shuffle");
            goto out;
        }
        for (size_t b = 0; b < per_epoch; b++) {
            size_t at = b * B, n = L - at < B ? L - at : B;
            int logit = (m->step + 1) % o->log_every == 0;
            gan_features_stats s;
            if (gan_features_step(c, m, at, (int)n, logit ? &s : NULL)) {
                rc = train_fail(c, "training step");
                goto out;
            }
            r->steps++;
            train_clock_count(&clk, n);
            if (logit) {
                if (train_stop_nonfinite(r->tag, m->step, NULL, 1, "%g", s.loss)) goto out;
                train_clock_mark(&clk);
                gan_metric f[] = {{"loss", s.loss}, {"accuracy", s.accuracy}, {"steps_per_s", clk.sps}};
                if (log_metrics(c, log, r->prefix, m->step, epoch, f, 3)) {
                    rc = train_fail(c, "metrics log");
                    goto out;
                }
                train_progress("%s: epoch %d/%d step %zu/%zu  loss %.4f  acc %.3f  %.0f steps/s  ETA %.0f s", r->tag,
                               epoch + 1, epochs, b + 1, per_epoch, s.loss, s.accuracy, clk.sps,
                               train_clock_eta(&clk, epochs, epoch, per_epoch, b));
            }
            if (train_interrupted()) {
                r->interrupted = 1;
                break;
            }
        }
        if ((epoch + 1) % eval_every == 0 || epoch + 1 == epochs || r->interrupted) {
            gan_cls_eval tr;
            if (gan_features_evaluate(c, m, 1, &r->test) || gan_features_evaluate(c, m, 0, &tr)) {
                rc = train_fail(c, "evaluation");
                goto out;
            }
            gan_metric f[] = {{"test_accuracy", r->test.accuracy}, {"train_accuracy", tr.accuracy}};
            if (log_metrics(c, log, r->prefix, m->step, epoch, f, 2)) {
                rc = train_fail(c, "metrics log");
                goto out;
            }
            train_progress_end();
            printf("%s: epoch %d: test accuracy %.2f%%, labeled-set accuracy %.2f%%\n", r->tag, epoch + 1,
                   100.0 * r->test.accuracy, 100.0 * tr.accuracy);
            fflush(stdout);
        }
    }
    r->t_train = train_now() - clk.start;
    if (ckpt) {
        char lp[32], acc[32];
        snprintf(lp, sizeof lp, "%d", lpc);
        snprintf(acc, sizeof acc, "%.6f", r->test.accuracy);
        gan_ckpt_kv extra[4] = {{"mode", "features"},
                                {"labels_per_class", lp},
                                {"discriminator", cfg->discriminator ? cfg->discriminator : "(random)"},
                                {"test_accuracy", acc}};
        if (gan_features_save(c, m, ckpt, extra, 4)) {
            rc = train_fail(c, "checkpoint");
            goto out;
        }
    }
    rc = 0;
out:
    free(order);
    free(rows.idx);
    return rc;
}

int cmd_train_features(const tool_opts *o)
{
    if (o->resume) {
        fprintf(stderr, "gancl train: --mode features has no --resume: a whole run takes under a minute (features "
                        "once, then a linear classifier); run it again instead\n");
        return 2;
    }
    if (!o->discriminator) {
        fprintf(stderr, "gancl train: --mode features needs --discriminator FILE, a `gancl train --mode gan` "
                        "checkpoint\n");
        return 2;
    }
    int rc = 1;
    gan_ctx *c = tool_ctx(o->device);
    if (!c) return 1;
    gan_dataset ds = {0}, ts = {0};
    gan_indices all = {0}, lab = {0}, unl = {0};
    gan_features m;
    memset(&m, 0, sizeof m);
    gan_jsonl *log = NULL;
    char path[1200], ckpt[1200];
    int lpc = o->labels_per_class ? o->labels_per_class : 100, epochs = o->epochs_set ? o->epochs : 100;
    probe_run trained = {.tag = "trained D", .prefix = ""}, random = {.tag = "random D", .prefix = "baseline_"};

    if (train_open_data(c, o, &ds, &ts)) goto out;
    gan_features_config cfg = gan_features_default();
    cfg.discriminator = o->discriminator;
    cfg.standardize = o->standardize;
    cfg.batch = o->batch;
    cfg.weight_decay = o->weight_decay;
    cfg.seed = o->seed;
    if (o->lr_set) cfg.adam.lr = o->lr;
    if (o->beta1_set) cfg.adam.beta1 = o->beta1;
    if (gan_indices_all(c, &ds, &all) || gan_split_labeled(c, &ds, &all, (size_t)lpc, cfg.seed, &lab, &unl)) {
        rc = train_fail(c, "--labels-per-class");
        goto out;
    }
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", o->outdir);
    if (train_open_log(c, o->outdir, 0, &log)) {
        rc = train_fail(c, "metrics log");
        goto out;
    }
    printf("features (discriminator of %s) on %s: %d labels per class (%zu images), %zu test images, batch %d, "
           "%d epochs, lr %g, beta1 %g, weight decay %g, %s features; output in %s\n",
           o->discriminator, gan_ctx_device_name(c), lpc, lab.n, ts.n, cfg.batch, epochs, cfg.adam.lr,
           cfg.adam.beta1, cfg.weight_decay, cfg.standardize ? "standardised" : "raw", o->outdir);
    fflush(stdout);
    train_catch_sigint();
    double t_start = train_now();
    if ((rc = run_probe(c, &m, &cfg, o, epochs, &ds, &lab, &ts, log, ckpt, lpc, &trained))) goto out;
    printf("%s: %d steps in %.1f s; checkpoint %s\n", trained.tag, trained.steps, trained.t_train, ckpt);
    print_report(&trained.test);
    snprintf(path, sizeof path, "%s/confusion.png", o->outdir);
    char title[128];
    snprintf(title, sizeof title, "features (trained D), %d labels/class: %.2f%%", lpc, 100.0 * trained.test.accuracy);
    if (gan_plot_confusion(c, path, &trained.test.confusion[0][0], GAN_CNN_CLASSES, title) == GAN_OK)
        printf("confusion matrix: %s\n", path);
    else
        fprintf(stderr, "gancl train: confusion.png: %s\n", gan_ctx_error(c));
    if (!o->no_baseline && !trained.interrupted) {
        /* the same classifier, labeled images and seed, on a D that never trained */
        gan_features_config rnd = m.cfg;
        gan_features_free(c, &m);
        rnd.discriminator = NULL;
        if ((rc = run_probe(c, &m, &rnd, o, epochs, &ds, &lab, &ts, log, NULL, lpc, &random))) goto out;
        printf("%s: %d steps in %.1f s\n", random.tag, random.steps, random.t_train);
    }
    const char *curves[] = {"loss", "test_accuracy", "baseline_loss", "baseline_test_accuracy"};
    train_finish_curves(c, &log, o->outdir, "features: classifier loss and test accuracy", curves,
                        random.steps ? 4 : 2);
    printf("done in %.1f s\n", train_now() - t_start);
    if (random.steps)
        printf("random D (baseline): test accuracy %.2f%%; trained D: %+.2f points\n", 100.0 * random.test.accuracy,
               100.0 * (trained.test.accuracy - random.test.accuracy));
    printf("test accuracy: %.2f%%\n", 100.0 * trained.test.accuracy);
    rc = trained.interrupted ? 130 : 0;
out:
    if (log) gan_jsonl_close(c, log);
    gan_indices_free(&all);
    gan_indices_free(&lab);
    gan_indices_free(&unl);
    gan_dataset_free(&ds);
    gan_dataset_free(&ts);
    gan_features_free(c, &m);
    gan_ctx_free(c);
    return rc;
}
