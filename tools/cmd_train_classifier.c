/* `gancl train --mode classifier`: supervised training of the MNIST CNN
 * (include/gancl/classifier.h). Each epoch is a Philox shuffle of the
 * training set (or of --labels-per-class labeled images), the last batch
 * partial; every --log-every steps a progress line and a JSONL record; each
 * epoch the test-set accuracy and a checkpoint; at the end per-class
 * accuracy, the confusion matrix and curves.png. Ctrl-C finishes the step,
 * saves and exits 130; a non-finite loss stops the run and keeps the last
 * good checkpoint. */
#include "cls_report.h"
#include "gancl/classifier.h"
#include "train_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static gan_status save(gan_ctx *c, gan_cls *m, const char *path, int epoch, size_t pos, const char *lpc)
{
    char e[32], p[32];
    snprintf(e, sizeof e, "%d", epoch);
    snprintf(p, sizeof p, "%zu", pos);
    gan_ckpt_kv extra[4] = {{"mode", "classifier"}, {"epoch", e}, {"data_pos", p}, {"labels_per_class", lpc}};
    return gan_cls_save(c, m, path, extra, 4);
}

int cmd_train_classifier(const tool_opts *o)
{
    int rc = 1;
    gan_ctx *c = tool_ctx(o->device);
    if (!c) return 1;
    gan_dataset ds = {0}, ts = {0};
    gan_indices all = {0}, labeled = {0}, unlabeled = {0};
    const gan_indices *set = &all;
    size_t *order = NULL;
    gan_cls m;
    memset(&m, 0, sizeof m);
    gan_jsonl *log = NULL;
    gan_cls_eval ev;
    int have_eval = 0;
    char ckpt[1200], lpc[32];
    int epoch0 = 0;
    size_t pos0 = 0;
    snprintf(lpc, sizeof lpc, "%d", o->labels_per_class);

    if (train_open_data(c, o, &ds, &ts)) goto out;
    gan_cls_config cfg = gan_cls_default();
    cfg.batch = o->batch;
    cfg.seed = o->seed;
    if (o->lr_set) cfg.adam.lr = o->lr;
    if (o->beta1_set) cfg.adam.beta1 = o->beta1;
    if (gan_cls_init(c, &m, &cfg)) {
        rc = train_fail(c, "model");
        goto out;
    }
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", o->outdir);
    if (o->resume) {
        gan_ckpt *k = NULL;
        gan_ckpt_kv run[1] = {{"labels_per_class", lpc}};
        if (gan_cls_load(c, &m, o->resume, &k) || train_resume_check(c, k, cfg.batch, run, 1)) {
            gan_ckpt_free(k);
            rc = train_fail(c, "--resume");
            goto out;
        }
        train_resumed(k, o->resume, m.step, &epoch0, &pos0);
    }
    /* m.cfg.seed is the checkpoint's after a resume, so the split and the
     * shuffles are the original run's */
    if (gan_indices_all(c, &ds, &all)) {
        rc = train_fail(c, "training set");
        goto out;
    }
    if (o->labels_per_class) {
        if (gan_split_labeled(c, &ds, &all, (size_t)o->labels_per_class, m.cfg.seed, &labeled, &unlabeled)) {
            rc = train_fail(c, "--labels-per-class");
            goto out;
        }
        set = &labeled;
    }
    if (train_open_log(c, o->outdir, o->resume != NULL, &log)) {
        rc = train_fail(c, "metrics log");
        goto out;
    }
    order = malloc(set->n * sizeof *order);
    if (!order) goto out;

    size_t B = (size_t)cfg.batch, per_epoch = train_cap_steps((set->n + B - 1) / B, o->steps_per_epoch);
    printf("classifier (cnn) on %s: %zu training images%s, %zu test images, batch %d, %d epochs of %zu steps, "
           "lr %g, beta1 %g, %zu parameters; output in %s\n",
           gan_ctx_device_name(c), set->n, o->labels_per_class ? " (labeled subset)" : "", ts.n, cfg.batch,
           o->epochs, per_epoch, cfg.adam.lr, cfg.adam.beta1, gan_params_count(&m.net.params), o->outdir);
    train_catch_sigint();
    train_clock clk;
    train_clock_start(&clk);
    for (int epoch = epoch0; epoch < o->epochs; epoch++) {
        double t_epoch = train_now();
        if (gan_epoch_order(c, set, m.cfg.seed, (uint64_t)epoch, order)) {
            rc = train_fail(c, "shuffle");
            goto out;
        }
        for (size_t b = epoch == epoch0 ? pos0 : 0; b < per_epoch; b++) {
            size_t at = b * B, n = set->n - at < B ? set->n - at : B;
            int logit = (m.step + 1) % o->log_every == 0 || b + 1 == per_epoch;
            gan_cls_stats s;
            gan_tensor x, y;
            if (gan_dataset_batch(c, &ds, order + at, n, GAN_RANGE_UNIT, m.h_x, m.h_labels) ||
                gan_tensor_narrow(c, &m.x, (int)n, &x) || gan_tensor_narrow(c, &m.labels, (int)n, &y) ||
                gan_tensor_write(c, &x, m.h_x) || gan_tensor_write(c, &y, m.h_labels) ||
                gan_cls_step(c, &m, &x, &y, logit ? &s : NULL)) {
                rc = train_fail(c, "training step");
                goto out;
            }
            train_clock_count(&clk, n);
            if (logit) {
                if (train_stop_nonfinite(NULL, m.step, ckpt, 1, "%g", s.loss)) goto out;
                double wall = train_clock_mark(&clk);
                gan_metric f[] = {{"loss", s.loss}, {"accuracy", s.accuracy}, {"images_per_s", clk.ips},
                                  {"wall_s", wall}};
                if (gan_jsonl_write(c, log, m.step, epoch, f, sizeof f / sizeof f[0])) {
                    rc = train_fail(c, "metrics log");
                    goto out;
                }
                train_progress("epoch %d/%d step %zu/%zu  loss %.4f  acc %.3f  %.1f img/s  ETA %.0f s", epoch + 1,
                               o->epochs, b + 1, per_epoch, s.loss, s.accuracy, clk.ips,
                               train_clock_eta(&clk, o->epochs, epoch, per_epoch, b));
            }
            if (train_interrupted()) {
                int last = b + 1 == per_epoch;
                rc = train_interrupt_exit(c, save(c, &m, ckpt, last ? epoch + 1 : epoch, last ? 0 : b + 1, lpc), ckpt);
                goto out;
            }
        }
        double t_train = train_now() - t_epoch;
        if (gan_cls_evaluate(c, &m, &ts, NULL, &ev)) {
            rc = train_fail(c, "test-set evaluation");
            goto out;
        }
        have_eval = 1;
        double t_all = train_now() - t_epoch;
        gan_metric f[] = {{"test_accuracy", ev.accuracy}, {"epoch_train_s", t_train}, {"epoch_s", t_all}};
        if (gan_jsonl_write(c, log, m.step, epoch, f, sizeof f / sizeof f[0]) ||
            save(c, &m, ckpt, epoch + 1, 0, lpc)) {
            rc = train_fail(c, "end of epoch");
            goto out;
        }
        train_progress_end();
        printf("epoch %d done: test accuracy %.2f%% (%zu of %zu), %.1f s training + %.1f s evaluation; "
               "checkpoint %s\n",
               epoch + 1, 100.0 * ev.accuracy, ev.correct, ev.n, t_train, t_all - t_train, ckpt);
    }
    if (!have_eval && gan_cls_evaluate(c, &m, &ts, NULL, &ev)) {
        rc = train_fail(c, "test-set evaluation");
        goto out;
    }
    const char *curve_names[] = {"loss", "accuracy", "test_accuracy"};
    train_finish(c, &log, o, o->outdir, "classifier: loss and accuracy", curve_names, 3);
    print_report(&ev);
    printf("done: %d steps in %.1f s\n", clk.total, train_now() - clk.start);
    printf("test accuracy: %.2f%%\n", 100.0 * ev.accuracy);
    rc = 0;
out:
    if (log) gan_jsonl_close(c, log);
    free(order);
    gan_indices_free(&all);
    gan_indices_free(&labeled);
    gan_indices_free(&unlabeled);
    gan_dataset_free(&ds);
    gan_dataset_free(&ts);
    gan_cls_free(c, &m);
    gan_ctx_free(c);
    return rc;
}
