/* `gancl train --mode semi`: semi-supervised GAN training (Salimans et al.
 * 2016) with --labels labeled images (labels/10 per class, chosen from the
 * seed) and every training image as unlabeled data, as in their code.
 *
 * An epoch is one pass over the unlabeled set in a Philox order; the
 * discriminator's labeled batches cycle through fresh permutations of the
 * small labeled set, and the generator step takes its unlabeled batch from
 * a second, independent order. All three orders depend only on (seed,
 * epoch), so --resume continues exactly. Every --log-every steps a progress
 * line and a JSONL record; each epoch the test accuracy (inference, no
 * noise) with D's parameter average (the one reported, as in Salimans'
 * code) and with its current parameters, a sample grid, and a checkpoint. Ctrl-C finishes the step, saves
 * and exits 130; a non-finite loss stops the run at that step. */
#include "gancl/semi.h"
#include "train_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The "epoch" argument of gan_epoch_order for each stream: its purpose in
 * the top byte, then the epoch, then the round r of a cycled labeled set. */
enum { ORDER_UNL = 1, ORDER_UNL2 = 2, ORDER_LAB = 3, ORDER_INIT = 4 };
static uint64_t order_key(int purpose, int epoch, size_t r)
{
    return (uint64_t)purpose << 56 | (uint64_t)(uint32_t)epoch << 24 | (uint64_t)(r & 0xffffff);
}

/* The labeled indices of a whole epoch: permutation after permutation of
 * the labeled set, n entries. */
static gan_status labeled_order(gan_ctx *c, const gan_indices *lab, uint64_t seed, int epoch, size_t n, size_t *out)
{
    for (size_t r = 0; r * lab->n < n; r++) {
        size_t at = r * lab->n, take = n - at < lab->n ? n - at : lab->n;
        size_t *perm = malloc(lab->n * sizeof *perm);
        if (!perm) return GAN_ERR_NOMEM;
        gan_status st = gan_epoch_order(c, lab, seed, order_key(ORDER_LAB, epoch, r), perm);
        if (st == GAN_OK) memcpy(out + at, perm, take * sizeof *perm);
        free(perm);
        if (st) return st;
    }
    return GAN_OK;
}

/* Test accuracy in [0, 1] over the whole test set, in batches of up to the
 * discriminator's 3N rows, with D's averaged or current parameters. */
static gan_status test_accuracy(gan_ctx *c, gan_semi *m, const gan_dataset *test, gan_tensor *x, float *xh,
                                int32_t *yh, int32_t *pred, int averaged, double *acc)
{
    gan_status st = GAN_OK;
    size_t cap = (size_t)x->dim[0], correct = 0;
    size_t *idx = malloc(cap * sizeof *idx);
    if (!idx) return GAN_ERR_NOMEM;
    for (size_t at = 0; at < test->n; at += cap) {
        size_t n = test->n - at < cap ? test->n - at : cap;
        gan_tensor xv;
        for (size_t i = 0; i < n; i++) idx[i] = at + i;
        if ((st = gan_dataset_batch(c, test, idx, n, GAN_RANGE_UNIT, xh, yh)) ||
            (st = gan_tensor_narrow(c, x, (int)n, &xv)) || (st = gan_tensor_write(c, &xv, xh)) ||
            (st = gan_semi_classify(c, m, &xv, averaged, pred)))
            break;
        for (size_t i = 0; i < n; i++) correct += pred[i] == yh[i];
    }
    free(idx);
    *acc = test->n ? (double)correct / (double)test->n : 0;
    return st;
}

static gan_status write_grid(gan_ctx *c, gan_semi *m, const char *path)
{
    int rows = m->cfg.batch < 64 ? m->cfg.batch : 64;
    float *h = malloc((size_t)rows * 784 * sizeof *h);
    if (!h) return GAN_ERR_NOMEM;
    gan_grid_opts go = gan_grid_defaults();
    go.lo = 0.f;
    go.hi = 1.f;
    gan_status st = gan_semi_sample(c, m, rows, h);
    if (st == GAN_OK) st = gan_png_write_grid(c, path, h, rows, 1, 28, 28, &go);
    free(h);
    return st;
}

static gan_status save(gan_ctx *c, gan_semi *m, const char *path, int epoch, size_t pos, int labels)
{
    char e[32], p[32], l[32];
    snprintf(e, sizeof e, "%d", epoch);
    snprintf(p, sizeof p, "%zu", pos);
    snprintf(l, sizeof l, "%d", labels);
    gan_ckpt_kv extra[4] = {{"mode", "semi"}, {"epoch", e}, {"data_pos", p}, {"labels", l}};
    return gan_semi_save(c, m, path, extra, 4);
}

int cmd_train_semi(const tool_opts *o)
{
    int rc = 1;
    gan_ctx *c = tool_ctx(o->device);
    if (!c) return 1;
    gan_dataset ds = {0}, test = {0};
    gan_indices all = {0}, lab = {0}, rest = {0};
    size_t *ord_unl = NULL, *ord_unl2 = NULL, *ord_lab = NULL;
    float *xh = NULL, *xh_test = NULL;
    int32_t *yh = NULL, *yh_test = NULL, *pred = NULL;
    gan_semi m;
    memset(&m, 0, sizeof m);
    gan_tensor x_lab = {0}, x_unl = {0}, x_unl2 = {0}, y_lab = {0}, x_test = {0};
    gan_jsonl *log = NULL;
    char path[1200], ckpt[1200];
    int epoch0 = 0, labels = o->labels ? o->labels : 100;
    size_t pos0 = 0;

    if (labels % GAN_MNIST_CLASSES) {
        fprintf(stderr, "gancl train: --labels %d is not a multiple of %d (the same number per class)\n", labels,
                GAN_MNIST_CLASSES);
        gan_ctx_free(c);
        return 2;
    }
    if (train_open_data(c, o, &ds, &test)) goto out;
    gan_semi_config cfg = gan_semi_default();
    cfg.batch = o->batch;
    cfg.seed = o->seed;
    if (o->lr_set) cfg.adam.lr = o->lr;
    if (o->beta1_set) cfg.adam.beta1 = o->beta1;
    size_t N = (size_t)cfg.batch;
    if (train_batch_too_big(cfg.batch, ds.n)) goto out;
    if (gan_indices_all(c, &ds, &all) ||
        gan_split_labeled(c, &ds, &all, (size_t)labels / GAN_MNIST_CLASSES, cfg.seed, &lab, &rest)) {
        rc = train_fail(c, "--labels");
        goto out;
    }
    if (gan_semi_init(c, &m, &cfg) || gan_tensor_alloc4(c, &x_lab, GAN_F32, 2, cfg.batch, 784, 0, 0) ||
        gan_tensor_alloc4(c, &x_unl, GAN_F32, 2, cfg.batch, 784, 0, 0) ||
        gan_tensor_alloc4(c, &x_unl2, GAN_F32, 2, cfg.batch, 784, 0, 0) ||
        gan_tensor_alloc4(c, &y_lab, GAN_I32, 1, cfg.batch, 0, 0, 0) ||
        gan_tensor_alloc4(c, &x_test, GAN_F32, 2, 3 * cfg.batch, 784, 0, 0)) {
        rc = train_fail(c, "model");
        goto out;
    }
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", o->outdir);
    if (o->resume) {
        gan_ckpt *k = NULL;
        if (gan_semi_load(c, &m, o->resume, &k)) {
            rc = train_fail(c, "--resume");
            goto out;
        }
        const char *l = gan_ckpt_meta(k, "labels");
        if (!l || atoi(l) != labels) {
            fprintf(stderr, "gancl train: --resume %s: labels: checkpoint %s, run %d\n", o->resume, l ? l : "(none)",
                    labels);
            gan_ckpt_free(k);
            goto out;
        }
        train_resumed(k, o->resume, m.step, &epoch0, &pos0);
    }
    if (!o->resume) {
        /* Salimans' data-dependent initialisation on 3N unlabeled images */
        size_t n = 3 * N < all.n ? 3 * N : all.n, *init = malloc(all.n * sizeof *init);
        float *h = malloc(n * 784 * sizeof *h);
        gan_tensor xi;
        int bad = !init || !h || gan_epoch_order(c, &all, cfg.seed, order_key(ORDER_INIT, 0, 0), init) ||
                  gan_dataset_batch(c, &ds, init, n, GAN_RANGE_UNIT, h, NULL) ||
                  gan_tensor_narrow(c, &x_test, (int)n, &xi) || gan_tensor_write(c, &xi, h) ||
                  gan_semi_data_init(c, &m, &xi);
        free(init);
        free(h);
        if (bad) {
            rc = train_fail(c, "initialisation");
            goto out;
        }
    }
    if (train_open_log(c, o->outdir, o->resume != NULL, &log)) {
        rc = train_fail(c, "metrics log");
        goto out;
    }
    size_t per_epoch = train_cap_steps(all.n / N, o->steps_per_epoch);
    ord_unl = malloc(all.n * sizeof *ord_unl);
    ord_unl2 = malloc(all.n * sizeof *ord_unl2);
    ord_lab = malloc(per_epoch * N * sizeof *ord_lab);
    xh = malloc(N * 784 * sizeof *xh);
    yh = malloc(N * sizeof *yh);
    xh_test = malloc(3 * N * 784 * sizeof *xh_test);
    yh_test = malloc(3 * N * sizeof *yh_test);
    pred = malloc(3 * N * sizeof *pred);
    if (!ord_unl || !ord_unl2 || !ord_lab || !xh || !yh || !xh_test || !yh_test || !pred) goto out;

    printf("semi (Salimans MLP, %d labels) on %s: %zu images (%zu labeled), batch %d, lr %g, beta1 %g, %d epochs, "
           "%zu parameters; output in %s\n",
           labels, gan_ctx_device_name(c), ds.n, lab.n, cfg.batch, cfg.adam.lr, cfg.adam.beta1, o->epochs,
           gan_params_count(&m.g.params) + gan_params_count(&m.d.params), o->outdir);
    train_catch_sigint();
    train_clock clk;
    train_clock_start(&clk);
    for (int epoch = epoch0; epoch < o->epochs; epoch++) {
        double t_epoch = train_now();
        if (gan_epoch_order(c, &all, cfg.seed, order_key(ORDER_UNL, epoch, 0), ord_unl) ||
            gan_epoch_order(c, &all, cfg.seed, order_key(ORDER_UNL2, epoch, 0), ord_unl2) ||
            labeled_order(c, &lab, cfg.seed, epoch, per_epoch * N, ord_lab)) {
            rc = train_fail(c, "shuffle");
            goto out;
        }
        for (size_t b = epoch == epoch0 ? pos0 : 0; b < per_epoch; b++) {
            int logit = (m.step + 1) % o->log_every == 0 || b + 1 == per_epoch;
            gan_semi_stats s;
            if (gan_dataset_batch(c, &ds, ord_lab + b * N, N, GAN_RANGE_UNIT, xh, yh) ||
                gan_tensor_write(c, &x_lab, xh) || gan_tensor_write(c, &y_lab, yh) ||
                gan_dataset_batch(c, &ds, ord_unl + b * N, N, GAN_RANGE_UNIT, xh, NULL) ||
                gan_tensor_write(c, &x_unl, xh) ||
                gan_dataset_batch(c, &ds, ord_unl2 + b * N, N, GAN_RANGE_UNIT, xh, NULL) ||
                gan_tensor_write(c, &x_unl2, xh) ||
                gan_semi_step(c, &m, &x_lab, &y_lab, &x_unl, &x_unl2, logit ? &s : NULL)) {
                rc = train_fail(c, "training step");
                goto out;
            }
            /* images/s counts unlabeled images, the ones an epoch is made of */
            train_clock_count(&clk, N);
            if (logit) {
                if (train_stop_nonfinite(NULL, m.step, ckpt, 3, "loss_lab %g, loss_unl %g, loss_g %g", s.loss_lab,
                                         s.loss_unl, s.loss_g))
                    goto out;
                double wall = train_clock_mark(&clk);
                gan_metric f[] = {{"loss_lab", s.loss_lab}, {"loss_unl", s.loss_unl}, {"loss_g", s.loss_g},
                                  {"train_acc", s.train_acc}, {"d_real", s.d_real},   {"d_fake", s.d_fake},
                                  {"images_per_s", clk.ips},  {"wall_s", wall}};
                if (gan_jsonl_write(c, log, m.step, epoch, f, sizeof f / sizeof f[0])) {
                    rc = train_fail(c, "metrics log");
                    goto out;
                }
                train_progress("epoch %d/%d step %zu/%zu  loss_lab %.4f  loss_unl %.4f  loss_g %.4f  train acc "
                               "%.2f  D(x) %.3f  D(G(z)) %.3f  %.1f img/s  ETA %.0f s",
                               epoch + 1, o->epochs, b + 1, per_epoch, s.loss_lab, s.loss_unl, s.loss_g, s.train_acc,
                               s.d_real, s.d_fake, clk.ips, train_clock_eta(&clk, o->epochs, epoch, per_epoch, b));
            }
            if (train_interrupted()) {
                int last = b + 1 == per_epoch;
                rc = train_interrupt_exit(c, save(c, &m, ckpt, last ? epoch + 1 : epoch, last ? 0 : b + 1, labels),
                                          ckpt);
                goto out;
            }
        }
        double acc, raw, t_train = train_now() - t_epoch;
        if (test_accuracy(c, &m, &test, &x_test, xh_test, yh_test, pred, 1, &acc) ||
            test_accuracy(c, &m, &test, &x_test, xh_test, yh_test, pred, 0, &raw)) {
            rc = train_fail(c, "test accuracy");
            goto out;
        }
        gan_metric f[] = {{"test_acc", acc}, {"test_error", 1 - acc}, {"test_acc_current", raw}, {"epoch_s", t_train}};
        snprintf(path, sizeof path, "%s/samples_epoch%03d.png", o->outdir, epoch + 1);
        if (gan_jsonl_write(c, log, m.step, epoch, f, sizeof f / sizeof f[0]) || write_grid(c, &m, path) ||
            save(c, &m, ckpt, epoch + 1, 0, labels)) {
            rc = train_fail(c, "end of epoch");
            goto out;
        }
        train_progress_end();
        printf("epoch %d done in %.1f s: test accuracy: %.2f%% (error %.2f%%), with the current parameters %.2f%%; "
               "samples %s, checkpoint %s\n",
               epoch + 1, t_train, 100 * acc, 100 * (1 - acc), 100 * raw, path, ckpt);
        fflush(stdout);
    }
    const char *curve_names[] = {"loss_lab", "loss_unl", "loss_g"};
    train_finish(c, &log, o, o->outdir, "semi-supervised GAN losses", curve_names, 3);
    printf("done: %d steps in %.1f s\n", clk.total, train_now() - clk.start);
    rc = 0;
out:
    if (log) gan_jsonl_close(c, log);
    free(ord_unl);
    free(ord_unl2);
    free(ord_lab);
    free(xh);
    free(yh);
    free(xh_test);
    free(yh_test);
    free(pred);
    gan_indices_free(&all);
    gan_indices_free(&lab);
    gan_indices_free(&rest);
    gan_dataset_free(&ds);
    gan_dataset_free(&test);
    gan_tensor *ts[] = {&x_lab, &x_unl, &x_unl2, &y_lab, &x_test};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) gan_tensor_free(c, ts[i]);
    gan_semi_free(c, &m);
    gan_ctx_free(c);
    return rc;
}
