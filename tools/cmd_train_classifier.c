/* `gancl train --mode classifier`: supervised training of the MNIST CNN
 * (include/gancl/classifier.h). Each epoch is a Philox shuffle of the
 * training set (or of --labels-per-class labeled images), the last batch
 * partial; every --log-every steps a progress line and a JSONL record; each
 * epoch the test-set accuracy and a checkpoint; at the end per-class
 * accuracy, the confusion matrix and curves.png. Ctrl-C finishes the step,
 * saves and exits 130; a non-finite loss stops the run and keeps the last
 * good checkpoint. The loop is the library's (gan_loop_train with
 * gan_loop_mode_classifier); this file parses and prints. */
#include "cls_report.h"
#include "gancl/classifier.h"
#include "gancl/loop.h"
#include "train_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_event(void *user, const gan_loop_event *e)
{
    const gan_loop_cls *l = user;
    if (e->kind == GAN_LOOP_LOGGED) {
        /* f: loss, accuracy, images_per_s, wall_s */
        train_progress("epoch %d/%d step %zu/%zu  loss %.4f  acc %.3f  %.1f img/s  ETA %.0f s", e->epoch + 1,
                       e->epochs, e->b + 1, e->per_epoch, e->f[0].value, e->f[1].value, e->images_per_s, e->eta_s);
    } else {
        train_progress_end();
        printf("epoch %d done: test accuracy %.2f%% (%zu of %zu), %.1f s training + %.1f s evaluation; "
               "checkpoint %s\n",
               e->epoch + 1, 100.0 * l->eval.accuracy, l->eval.correct, l->eval.n, e->epoch_train_s,
               e->epoch_s - e->epoch_train_s, e->checkpoint);
    }
}

int cmd_train_classifier(const tool_opts *o)
{
    int rc = 1;
    tool_opts ro; /* after --resume: the checkpoint's settings for the flags left out */
    gan_ctx *c = train_open_ctx(o, &ro);
    if (!c) return 1;
    o = &ro;
    gan_dataset ds = {0}, ts = {0};
    gan_indices all = {0}, labeled = {0}, unlabeled = {0};
    const gan_indices *set = &all;
    gan_loop_cls l;
    memset(&l, 0, sizeof l);
    l.test = &ts;
    char lpc[32];
    snprintf(lpc, sizeof lpc, "%d", o->labels_per_class);
    gan_ckpt_kv config[1] = {{"labels_per_class", lpc}};

    if (train_open_data(c, o, &ds, &ts)) goto out;
    gan_cls_config cfg = gan_cls_default();
    cfg.batch = o->batch;
    cfg.seed = o->seed;
    if (o->lr_set) cfg.adam.lr = o->lr;
    if (o->beta1_set) cfg.adam.beta1 = o->beta1;
    if (gan_cls_init(c, &l.m, &cfg)) {
        rc = train_fail(c, "model");
        goto out;
    }
    gan_loop_run run = train_run_init(o, &gan_loop_mode_classifier, &l, on_event, &l);
    run.data = &ds;
    run.batch = cfg.batch;
    run.config = config;
    run.nconfig = 1;
    if (train_resume_run(c, &run, o->resume, NULL)) goto out;
    { /* --init: start from the networks of a checkpoint or a PyTorch state_dict */
        gan_params *regs[] = {&l.m.net.params};
        if (train_init_from(c, o, regs, 1)) goto out;
    }
    /* m.cfg.seed is the checkpoint's after a resume, so the split and the
     * shuffles are the original run's */
    run.seed = l.m.cfg.seed;
    if (gan_indices_all(c, &ds, &all)) {
        rc = train_fail(c, "training set");
        goto out;
    }
    if (o->labels_per_class) {
        if (gan_split_labeled(c, &ds, &all, (size_t)o->labels_per_class, l.m.cfg.seed, &labeled, &unlabeled)) {
            rc = train_fail(c, "--labels-per-class");
            goto out;
        }
        set = &labeled;
    }
    run.set = set;

    printf("classifier (cnn) on %s: %zu training images%s, %zu test images, batch %d, %d epochs of %zu steps, "
           "lr %g, beta1 %g, %zu parameters; output in %s\n",
           gan_ctx_device_name(c), set->n, o->labels_per_class ? " (labeled subset)" : "", ts.n, cfg.batch,
           o->epochs, gan_loop_per_epoch(&run), cfg.adam.lr, cfg.adam.beta1, gan_params_count(&l.m.net.params),
           o->outdir);
    gan_loop_result res;
    if ((rc = train_loop(c, &run, &res, NULL))) goto out;
    if (!l.have_eval && gan_cls_evaluate(c, &l.m, &ts, NULL, &l.eval)) {
        rc = train_fail(c, "test-set evaluation");
        goto out;
    }
    gan_jsonl *log = NULL;
    const char *curve_names[] = {"loss", "accuracy", "test_accuracy"};
    train_finish(c, &log, o, o->outdir, "classifier: loss and accuracy", curve_names, 3);
    print_report(&l.eval);
    printf("done: %d steps in %.1f s\n", res.steps, res.seconds);
    printf("test accuracy: %.2f%%\n", 100.0 * l.eval.accuracy);
    rc = 0;
out:
    gan_indices_free(&all);
    gan_indices_free(&labeled);
    gan_indices_free(&unlabeled);
    gan_dataset_free(&ds);
    gan_dataset_free(&ts);
    gan_cls_free(c, &l.m);
    gan_ctx_free(c);
    return rc;
}
