/* `gancl train --mode features`: a trained DCGAN discriminator
 * (--discriminator, a `train --mode gan` checkpoint) frozen as a feature
 * extractor and a softmax classifier trained on its features of
 * --labels-per-class labeled images per class (include/gancl/features.h);
 * then, unless --no-baseline, the same classifier on the features of a
 * random, untrained discriminator, so the gain from GAN training shows.
 *
 * Both are runs of the library's loop (gan_loop_train with
 * gan_loop_mode_features); this file parses and prints. Features are
 * computed once (seconds); an epoch is a Philox shuffle of the labeled
 * rows. Progress and JSONL records every --log-every steps, test accuracy
 * about ten times per run, and at the end the per-class accuracy, the
 * confusion matrix (printed and confusion.png), curves.png. The trained-D
 * run owns --outdir's checkpoint (each epoch and on Ctrl-C; `gancl eval`
 * classifies with it) and its metrics; the random-D run is its companion:
 * its records join metrics.jsonl with names "baseline_...", and it writes
 * no checkpoint. --resume continues the trained-D run like any mode's (the
 * settings left out from the checkpoint, another value refused), then runs
 * the baseline afresh: it takes seconds, and a run's product is the
 * trained-D classifier. Ctrl-C saves, exits 130 and skips the baseline. */
#include "cls_report.h"
#include "gancl/features.h"
#include "gancl/loop.h"
#include "train_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct probe_run {
    const char *tag;    /* "trained D" / "random D" */
    const char *prefix; /* metric names: NULL or "baseline_" */
    gan_loop_features l;
    gan_loop_result res;
    gan_cls_eval test;  /* the final test-set evaluation */
} probe_run;

static void on_event(void *user, const gan_loop_event *e)
{
    const probe_run *r = user;
    if (e->kind == GAN_LOOP_LOGGED) {
        /* f: loss, accuracy, images_per_s, wall_s */
        train_progress("%s: epoch %d/%d step %zu/%zu  loss %.4f  acc %.3f  %.0f steps/s  ETA %.0f s", r->tag,
                       e->epoch + 1, e->epochs, e->b + 1, e->per_epoch, e->f[0].value, e->f[1].value,
                       e->steps_per_s, e->eta_s);
    } else if (r->l.scored) {
        train_progress_end();
        printf("%s: epoch %d: test accuracy %.2f%%, labeled-set accuracy %.2f%%\n", r->tag, e->epoch + 1,
               100.0 * r->l.eval.accuracy, 100.0 * r->l.train_eval.accuracy);
        fflush(stdout);
    }
}

/* One classifier: the model (resumed from resume when not NULL), its
 * features, the loop. Returns 0, or the exit status (1, 130). */
static int run_probe(gan_ctx *c, probe_run *r, const gan_features_config *cfg, const tool_opts *o, int epochs,
                     const gan_dataset *ds, const gan_indices *lab, const gan_dataset *ts, const gan_ckpt_kv *config,
                     const char *resume)
{
    double t0 = train_now();
    if (gan_loop_features_init(c, &r->l, cfg, ds, lab, ts))
        return train_fail(c, cfg->discriminator ? "--discriminator" : "model");
    r->l.eval_every = epochs / 10 > 1 ? epochs / 10 : 1;
    gan_loop_run run = train_run_init(o, &gan_loop_mode_features, &r->l, on_event, r);
    run.data = ds;
    run.set = &r->l.rows;
    run.batch = cfg->batch;
    run.seed = cfg->seed;
    run.epochs = epochs;
    run.config = config;
    run.nconfig = 2;
    run.prefix = r->prefix;
    if (train_resume_run(c, &run, resume, NULL)) return 1;
    if (resume) run.seed = r->l.m.cfg.seed;
    if (gan_loop_features_extract(c, &r->l)) return train_fail(c, "features");
    printf("%s: features of %zu labeled and %zu test images (F = %d) in %.1f s\n", r->tag, r->l.m.train.n,
           r->l.m.test.n, r->l.m.F, train_now() - t0);
    fflush(stdout);
    int rc = train_loop(c, &run, &r->res, r->tag);
    if (rc) return rc;
    if (!r->l.have_eval && gan_features_evaluate(c, &r->l.m, 1, &r->l.eval)) /* resumed with every epoch done */
        return train_fail(c, "evaluation");
    r->test = r->l.eval;
    return 0;
}

int cmd_train_features(const tool_opts *o)
{
    if (!o->discriminator && !o->resume) {
        fprintf(stderr, "gancl train: --mode features needs --discriminator FILE, a `gancl train --mode gan` "
                        "checkpoint\n");
        return 2;
    }
    int rc = 1;
    tool_opts ro; /* after --resume: the checkpoint's settings for the flags left out */
    gan_ctx *c = train_open_ctx(o, &ro);
    if (!c) return 1;
    o = &ro;
    gan_dataset ds = {0}, ts = {0};
    gan_indices all = {0}, lab = {0}, unl = {0};
    char path[1200], lp[32];
    int lpc = o->labels_per_class ? o->labels_per_class : 100, epochs = o->epochs_set ? o->epochs : 100;
    probe_run trained = {.tag = "trained D"}, random = {.tag = "random D", .prefix = "baseline_"};
    snprintf(lp, sizeof lp, "%d", lpc);
    const char *disc = o->discriminator ? o->discriminator : "(random)";
    gan_ckpt_kv config[2] = {{"labels_per_class", lp}, {"discriminator", disc}};

    if (train_open_data(c, o, &ds, &ts)) goto out;
    gan_features_config cfg = gan_features_default();
    cfg.discriminator = o->resume ? NULL : o->discriminator; /* a resume loads D from the checkpoint */
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
    printf("features (discriminator of %s) on %s: %d labels per class (%zu images), %zu test images, batch %d, "
           "%d epochs, lr %g, beta1 %g, weight decay %g, %s features; output in %s\n",
           disc, gan_ctx_device_name(c), lpc, lab.n, ts.n, cfg.batch, epochs, cfg.adam.lr,
           cfg.adam.beta1, cfg.weight_decay, cfg.standardize ? "standardised" : "raw", o->outdir);
    fflush(stdout);
    train_catch_sigint();
    double t_start = train_now();
    if ((rc = run_probe(c, &trained, &cfg, o, epochs, &ds, &lab, &ts, config, o->resume))) goto out;
    printf("%s: %d steps in %.1f s; checkpoint %s\n", trained.tag, trained.res.steps, trained.res.seconds,
           trained.res.checkpoint);
    print_report(&trained.test);
    snprintf(path, sizeof path, "%s/confusion.png", o->outdir);
    char title[128];
    snprintf(title, sizeof title, "features (trained D), %d labels/class: %.2f%%", lpc, 100.0 * trained.test.accuracy);
    if (gan_plot_confusion(c, path, &trained.test.confusion[0][0], GAN_CNN_CLASSES, title) == GAN_OK)
        printf("confusion matrix: %s\n", path);
    else
        fprintf(stderr, "gancl train: confusion.png: %s\n", gan_ctx_error(c));
    if (!o->no_baseline) {
        /* the same classifier, labeled images and seed, on a D that never trained */
        gan_features_config rnd = trained.l.m.cfg;
        gan_loop_features_free(c, &trained.l);
        rnd.discriminator = NULL;
        if ((rc = run_probe(c, &random, &rnd, o, epochs, &ds, &lab, &ts, config, NULL))) goto out;
        printf("%s: %d steps in %.1f s\n", random.tag, random.res.steps, random.res.seconds);
    }
    gan_jsonl *log = NULL;
    const char *curves[] = {"loss", "test_accuracy", "baseline_loss", "baseline_test_accuracy"};
    train_finish_curves(c, &log, o->outdir, "features: classifier loss and test accuracy", curves,
                        random.res.steps ? 4 : 2);
    printf("done in %.1f s\n", train_now() - t_start);
    if (random.res.steps)
        printf("random D (baseline): test accuracy %.2f%%; trained D: %+.2f points\n", 100.0 * random.test.accuracy,
               100.0 * (trained.test.accuracy - random.test.accuracy));
    printf("test accuracy: %.2f%%\n", 100.0 * trained.test.accuracy);
    rc = 0;
out:
    gan_indices_free(&all);
    gan_indices_free(&lab);
    gan_indices_free(&unl);
    gan_dataset_free(&ds);
    gan_dataset_free(&ts);
    gan_loop_features_free(c, &trained.l);
    gan_loop_features_free(c, &random.l);
    gan_ctx_free(c);
    return rc;
}
