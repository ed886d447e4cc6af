/* `gancl train --mode cgan`: the class-conditional GAN (AC-GAN) training
 * loop, --arch dcgan (default) or mlp for the generator. Each epoch is a
 * Philox shuffle of the training set (full batches, with their labels);
 * every --log-every steps a progress line and a JSONL record; each epoch a
 * class grid (one row per class, one fixed noise vector per column), a
 * checkpoint and the loss curves. Ctrl-C finishes the step, saves and exits
 * 130; a non-finite loss stops the run and keeps the last good checkpoint.
 * The loop is the library's (gan_loop_train with gan_loop_mode_cgan); this
 * file parses and prints. */
#include "gancl/loop.h"
#include "gancl/train.h"
#include "train_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_event(void *user, const gan_loop_event *e)
{
    (void)user;
    if (e->kind == GAN_LOOP_LOGGED) {
        /* f: loss_d, loss_g, loss_cls, d_real, d_fake, acc_real, acc_fake, images_per_s, wall_s */
        train_progress("epoch %d/%d step %zu/%zu  loss_d %.4f  loss_g %.4f  D(x) %.3f  D(G(z)) %.3f  "
                       "acc real %.2f fake %.2f  %.1f img/s  ETA %.0f s",
                       e->epoch + 1, e->epochs, e->b + 1, e->per_epoch, e->f[0].value, e->f[1].value, e->f[3].value,
                       e->f[4].value, e->f[5].value, e->f[6].value, e->images_per_s, e->eta_s);
    } else {
        train_progress_end();
        printf("epoch %d done in %.1f s: class grid %s, checkpoint %s\n", e->epoch + 1, e->epoch_s, e->artifact,
               e->checkpoint);
    }
}

int cmd_train_cgan(const tool_opts *o)
{
    if (o->lsgan) {
        fprintf(stderr, "gancl train: --mode cgan trains with BCE only (AC-GAN); drop --loss lsgan\n");
        return 2;
    }
    int rc = 1;
    tool_opts ro; /* after --resume: the checkpoint's settings for the flags left out */
    gan_ctx *c = train_open_ctx(o, &ro);
    if (!c) return 1;
    o = &ro;
    gan_dataset ds = {0};
    gan_indices all = {0};
    gan_loop_cgan g;
    memset(&g, 0, sizeof g);

    if (train_open_data(c, o, &ds, NULL)) goto out;
    gan_cgan_config cfg = gan_cgan_default();
    train_dcgan_opts(o, &cfg.batch, &cfg.seed, &cfg.model, &cfg.adam);
    if (train_batch_too_big(cfg.batch, ds.n)) goto out;
    if (gan_loop_cgan_init(c, &g, &cfg)) {
        rc = train_fail(c, "model");
        goto out;
    }
    gan_loop_run run = train_run_init(o, &gan_loop_mode_cgan, &g, on_event, NULL);
    run.data = &ds;
    run.set = &all;
    run.batch = cfg.batch;
    run.seed = cfg.seed;
    if (train_resume_run(c, &run, o->resume, NULL)) goto out;
    if (train_init_gd(c, o, &g.m.gen, &g.m.d)) goto out; /* --init: from a checkpoint or a PyTorch state_dict */
    if (gan_indices_all(c, &ds, &all)) {
        rc = train_fail(c, "training set");
        goto out;
    }
    printf("cgan (AC-GAN, %s generator) on %s: %zu images, %d classes, batch %d, %d epochs, %zu parameters; "
           "output in %s\n",
           gan_arch_name(cfg.model.arch), gan_ctx_device_name(c), ds.n, cfg.nclass, cfg.batch, o->epochs,
           train_count_gd(&g.m.gen, &g.m.d), o->outdir);
    const char *curve_names[] = {"loss_d", "loss_g", "loss_cls"};
    rc = train_run(c, &run, o, "AC-GAN losses", curve_names, 3);
out:
    gan_indices_free(&all);
    gan_dataset_free(&ds);
    gan_loop_cgan_free(c, &g);
    gan_ctx_free(c);
    return rc;
}
