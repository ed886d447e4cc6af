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
#include "report.h"
#include "train_common.h"

#include <math.h>
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
    char path[1200], ckpt[1200], lpc[32];
    int epoch0 = 0;
    size_t pos0 = 0;
    snprintf(lpc, sizeof lpc, "%d", o->labels_per_class);

    if (train_outdir(o->outdir)) goto out;
    if (gan_mnist_load(c, o->data, GAN_MNIST_TRAIN, &ds) || gan_mnist_load(c, o->data, GAN_MNIST_TEST, &ts)) {
        rc = train_fail(c, "data");
        goto out;
    }
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
        if (gan_cls_load(c, &m, o->resume, &k)) {
            rc = train_fail(c, "--resume");
            goto out;
        }
        /* the data order depends on these too: a resume under others would
         * not continue the same run */
        char b[32];
        snprintf(b, sizeof b, "%d", cfg.batch);
        gan_ckpt_kv run[2] = {{"batch", b}, {"labels_per_class", lpc}};
        if (gan_ckpt_compare_config(c, k, run, 2)) {
            gan_ckpt_free(k);
            rc = train_fail(c, "--resume");
            goto out;
        }
        const char *e = gan_ckpt_meta(k, "epoch"), *p = gan_ckpt_meta(k, "data_pos");
        epoch0 = e ? atoi(e) : 0;
        pos0 = p ? (size_t)strtoull(p, NULL, 10) : 0;
        gan_ckpt_free(k);
        printf("resumed from %s at epoch %d, step %d\n", o->resume, epoch0, m.step);
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
    snprintf(path, sizeof path, "%s/metrics.jsonl", o->outdir);
    if (gan_jsonl_open(c, path, o->resume != NULL, &log)) {
        rc = train_fail(c, "metrics log");
        goto out;
    }
    order = malloc(set->n * sizeof *order);
    if (!order) goto out;

    size_t B = (size_t)cfg.batch, per_epoch = (set->n + B - 1) / B;
    if (o->steps_per_epoch && (size_t)o->steps_per_epoch < per_epoch) per_epoch = (size_t)o->steps_per_epoch;
    printf("classifier (cnn) on %s: %zu training images%s, %zu test images, batch %d, %d epochs of %zu steps, "
           "lr %g, beta1 %g, %zu parameters; output in %s\n",
           gan_ctx_device_name(c), set->n, o->labels_per_class ? " (labeled subset)" : "", ts.n, cfg.batch,
           o->epochs, per_epoch, cfg.adam.lr, cfg.adam.beta1, gan_params_count(&m.net.params), o->outdir);
    train_catch_sigint();
    double t_start = train_now(), t_mark = t_start;
    int steps_done = 0;
    size_t imgs_mark = 0, steps_mark = 0;
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
            steps_done++;
            imgs_mark += n;
            steps_mark++;
            if (logit) {
                if (!isfinite(s.loss)) {
                    train_progress_end();
                    fprintf(stderr,
                            "gancl train: non-finite loss at step %d (%g); stopped, the last good checkpoint is %s\n",
                            m.step, s.loss, ckpt);
                    rc = 1;
                    goto out;
                }
                double t = train_now(), ips = (double)imgs_mark / (t - t_mark),
                       sps = (double)steps_mark / (t - t_mark);
                t_mark = t;
                imgs_mark = steps_mark = 0;
                double left = ((double)(o->epochs - epoch) * (double)per_epoch - (double)(b + 1)) / sps;
                gan_metric f[] = {{"loss", s.loss}, {"accuracy", s.accuracy}, {"images_per_s", ips},
                                  {"wall_s", t - t_start}};
                if (gan_jsonl_write(c, log, m.step, epoch, f, sizeof f / sizeof f[0])) {
                    rc = train_fail(c, "metrics log");
                    goto out;
                }
                train_progress("epoch %d/%d step %zu/%zu  loss %.4f  acc %.3f  %.1f img/s  ETA %.0f s", epoch + 1,
                               o->epochs, b + 1, per_epoch, s.loss, s.accuracy, ips, left);
            }
            if (train_interrupted()) {
                size_t next = b + 1 < per_epoch ? b + 1 : per_epoch;
                if (save(c, &m, ckpt, next < per_epoch ? epoch : epoch + 1, next < per_epoch ? next : 0, lpc)) {
                    rc = train_fail(c, "checkpoint");
                    goto out;
                }
                train_progress_end();
                printf("interrupted: checkpoint %s (resume with --resume %s)\n", ckpt, ckpt);
                rc = 130;
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
    train_finish_curves(c, &log, o->outdir, "classifier: loss and accuracy", curve_names, 3);
    report_write(c, o, o->outdir);
    print_report(&ev);
    printf("done: %d steps in %.1f s\n", steps_done, train_now() - t_start);
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
