/* `gancl train --mode cgan`: the class-conditional GAN (AC-GAN) training
 * loop, --arch dcgan (default) or mlp for the generator. Each epoch is a
 * Philox shuffle of the training set (full batches, with their labels);
 * every --log-every steps a progress line and a JSONL record; each epoch a
 * class grid (one row per class, one fixed noise vector per column), a
 * checkpoint and the loss curves. Ctrl-C finishes the step, saves and exits
 * 130; a non-finite loss stops the run and keeps the last good checkpoint. */
#include "gancl/train.h"
#include "train_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static gan_status write_grid(gan_ctx *c, gan_cgan *m, const char *path)
{
    gan_status st = GAN_OK;
    int K = m->cfg.nclass, n = K * GAN_CGAN_GRID;
    float *h = malloc((size_t)n * 784 * sizeof *h);
    int32_t *labels = malloc((size_t)n * sizeof *labels);
    if (!h || !labels) {
        st = GAN_ERR_NOMEM;
        goto done;
    }
    for (int i = 0; i < n; i++) labels[i] = i / GAN_CGAN_GRID;
    if ((st = gan_cgan_generate(c, m, labels, n, NULL, h))) goto done;
    gan_grid_opts go = gan_grid_defaults();
    go.nrow = GAN_CGAN_GRID;
    st = gan_png_write_grid(c, path, h, n, 1, 28, 28, &go);
done:
    free(h);
    free(labels);
    return st;
}

static gan_status save(gan_ctx *c, gan_cgan *m, const char *path, int epoch, size_t pos)
{
    char e[32], p[32];
    snprintf(e, sizeof e, "%d", epoch);
    snprintf(p, sizeof p, "%zu", pos);
    gan_ckpt_kv extra[3] = {{"mode", "cgan"}, {"epoch", e}, {"data_pos", p}};
    return gan_cgan_save(c, m, path, extra, 3);
}

int cmd_train_cgan(const tool_opts *o)
{
    if (o->lsgan) {
        fprintf(stderr, "gancl train: --mode cgan trains with BCE only (AC-GAN); drop --loss lsgan\n");
        return 2;
    }
    int rc = 1;
    gan_ctx *c = tool_ctx(o->device);
    if (!c) return 1;
    gan_dataset ds = {0};
    gan_indices all = {0};
    size_t *order = NULL;
    float *batch_h = NULL;
    int32_t *labels_h = NULL;
    gan_cgan m;
    memset(&m, 0, sizeof m);
    gan_tensor real = {0};
    gan_jsonl *log = NULL;
    char path[1200], ckpt[1200];
    int epoch0 = 0;
    size_t pos0 = 0;

    if (train_open_data(c, o, &ds, NULL)) goto out;
    gan_cgan_config cfg = gan_cgan_default();
    cfg.batch = o->batch;
    cfg.seed = o->seed;
    cfg.adam.lr = o->lr;
    cfg.adam.beta1 = o->beta1;
    if (o->ngf) cfg.model.ngf = o->ngf;
    if (o->ndf) cfg.model.ndf = o->ndf;
    if (o->arch) gan_arch_parse(o->arch, &cfg.model.arch); /* checked by the option parser */
    if (train_batch_too_big(cfg.batch, ds.n)) goto out;
    if (gan_cgan_init(c, &m, &cfg) || gan_tensor_alloc4(c, &real, GAN_F32, 4, cfg.batch, 1, 28, 28)) {
        rc = train_fail(c, "model");
        goto out;
    }
    snprintf(ckpt, sizeof ckpt, "%s/checkpoint.safetensors", o->outdir);
    if (o->resume) {
        gan_ckpt *k = NULL;
        if (gan_cgan_load(c, &m, o->resume, &k) || train_resume_check(c, k, cfg.batch, NULL, 0)) {
            gan_ckpt_free(k);
            rc = train_fail(c, "--resume");
            goto out;
        }
        train_resumed(k, o->resume, m.step, &epoch0, &pos0);
    }
    if (train_open_log(c, o->outdir, o->resume != NULL, &log) || gan_indices_all(c, &ds, &all)) {
        rc = train_fail(c, "metrics log");
        goto out;
    }
    order = malloc(ds.n * sizeof *order);
    batch_h = malloc((size_t)cfg.batch * 784 * sizeof *batch_h);
    labels_h = malloc((size_t)cfg.batch * sizeof *labels_h);
    if (!order || !batch_h || !labels_h) goto out;

    printf("cgan (AC-GAN, %s generator) on %s: %zu images, %d classes, batch %d, %d epochs, %zu parameters; "
           "output in %s\n",
           gan_arch_name(cfg.model.arch), gan_ctx_device_name(c), ds.n, cfg.nclass, cfg.batch, o->epochs,
           gan_params_count(gan_gen_params(&m.gen)) + gan_params_count(&m.d.params), o->outdir);
    train_catch_sigint();
    size_t per_epoch = train_cap_steps(ds.n / (size_t)cfg.batch, o->steps_per_epoch);
    train_clock clk;
    train_clock_start(&clk);
    for (int epoch = epoch0; epoch < o->epochs; epoch++) {
        double t_epoch = train_now();
        if (gan_epoch_order(c, &all, cfg.seed, (uint64_t)epoch, order)) {
            rc = train_fail(c, "shuffle");
            goto out;
        }
        for (size_t b = epoch == epoch0 ? pos0 : 0; b < per_epoch; b++) {
            int logit = (m.step + 1) % o->log_every == 0 || b + 1 == per_epoch;
            gan_cgan_stats s;
            if (gan_dataset_batch(c, &ds, order + b * (size_t)cfg.batch, (size_t)cfg.batch, GAN_RANGE_TANH, batch_h,
                                  labels_h) ||
                gan_tensor_write(c, &real, batch_h) || gan_cgan_step(c, &m, &real, labels_h, logit ? &s : NULL)) {
                rc = train_fail(c, "training step");
                goto out;
            }
            train_clock_count(&clk, (size_t)cfg.batch);
            if (logit) {
                if (train_stop_nonfinite(NULL, m.step, ckpt, 2, "loss_d %g, loss_g %g", s.loss_d, s.loss_g))
                    goto out;
                double wall = train_clock_mark(&clk);
                gan_metric f[] = {{"loss_d", s.loss_d},     {"loss_g", s.loss_g},      {"loss_cls", s.loss_cls},
                                  {"d_real", s.d_real},     {"d_fake", s.d_fake},      {"acc_real", s.acc_real},
                                  {"acc_fake", s.acc_fake}, {"images_per_s", clk.ips}, {"wall_s", wall}};
                if (gan_jsonl_write(c, log, m.step, epoch, f, sizeof f / sizeof f[0])) {
                    rc = train_fail(c, "metrics log");
                    goto out;
                }
                train_progress("epoch %d/%d step %zu/%zu  loss_d %.4f  loss_g %.4f  D(x) %.3f  D(G(z)) %.3f  "
                               "acc real %.2f fake %.2f  %.1f img/s  ETA %.0f s",
                               epoch + 1, o->epochs, b + 1, per_epoch, s.loss_d, s.loss_g, s.d_real, s.d_fake,
                               s.acc_real, s.acc_fake, clk.ips, train_clock_eta(&clk, o->epochs, epoch, per_epoch, b));
            }
            if (train_interrupted()) {
                int last = b + 1 == per_epoch;
                rc = train_interrupt_exit(c, save(c, &m, ckpt, last ? epoch + 1 : epoch, last ? 0 : b + 1), ckpt);
                goto out;
            }
        }
        snprintf(path, sizeof path, "%s/samples_epoch%03d.png", o->outdir, epoch + 1);
        if (write_grid(c, &m, path) || save(c, &m, ckpt, epoch + 1, 0)) {
            rc = train_fail(c, "end of epoch");
            goto out;
        }
        train_progress_end();
        printf("epoch %d done in %.1f s: class grid %s, checkpoint %s\n", epoch + 1, train_now() - t_epoch, path,
               ckpt);
    }
    const char *curve_names[] = {"loss_d", "loss_g", "loss_cls"};
    train_finish(c, &log, o, o->outdir, "AC-GAN losses", curve_names, 3);
    printf("done: %d steps in %.1f s\n", clk.total, train_now() - clk.start);
    rc = 0;
out:
    if (log) gan_jsonl_close(c, log);
    free(order);
    free(batch_h);
    free(labels_h);
    gan_indices_free(&all);
    gan_dataset_free(&ds);
    gan_tensor_free(c, &real);
    gan_cgan_free(c, &m);
    gan_ctx_free(c);
    return rc;
}
