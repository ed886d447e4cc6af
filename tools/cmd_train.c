/* `gancl train --mode gan`: the DCGAN training loop (--arch mlp: the MLP
 * generator against the same discriminator). Each epoch is a
 * Philox shuffle of the training set (full batches); every --log-every steps
 * a progress line and a JSONL record; each epoch a sample grid from the
 * fixed noise, a checkpoint and the loss curves. Ctrl-C finishes the step,
 * saves a checkpoint and exits 130; a non-finite loss stops the run at that
 * step and keeps the last good checkpoint. The loop is the library's
 * (gan_loop_train with gan_loop_mode_gan); this file parses and prints. */
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
        /* f: loss_d, loss_g, d_real, d_fake, images_per_s, wall_s */
        train_progress("epoch %d/%d step %zu/%zu  loss_d %.4f  loss_g %.4f  D(x) %.3f  D(G(z)) %.3f  "
                       "%.1f img/s  ETA %.0f s",
                       e->epoch + 1, e->epochs, e->b + 1, e->per_epoch, e->f[0].value, e->f[1].value, e->f[2].value,
                       e->f[3].value, e->images_per_s, e->eta_s);
    } else {
        train_progress_end();
        printf("epoch %d done in %.1f s: samples %s, checkpoint %s\n", e->epoch + 1, e->epoch_s, e->artifact,
               e->checkpoint);
    }
}

int cmd_train_gan(const tool_opts *o)
{
    int rc = 1;
    gan_ctx *c = tool_ctx(o->device);
    if (!c) return 1;
    tool_opts ro = *o; /* after --resume: the checkpoint's settings for the flags left out */
    if (train_resume_config(c, &ro)) {
        gan_ctx_free(c);
        return 1;
    }
    o = &ro;
    gan_dataset ds = {0};
    gan_indices all = {0};
    gan_loop_gan g;
    memset(&g, 0, sizeof g);

    if (train_open_data(c, o, &ds, NULL)) goto out;
    gan_gan_config cfg = gan_gan_default();
    cfg.batch = o->batch;
    cfg.seed = o->seed;
    cfg.loss = o->lsgan ? GAN_LOSS_LSGAN : GAN_LOSS_BCE;
    cfg.adam.lr = o->lr;
    cfg.adam.beta1 = o->beta1;
    if (o->ngf) cfg.model.ngf = o->ngf;
    if (o->ndf) cfg.model.ndf = o->ndf;
    if (o->arch) gan_arch_parse(o->arch, &cfg.model.arch); /* checked by the option parser */
    if (train_batch_too_big(cfg.batch, ds.n)) goto out;
    if (gan_loop_gan_init(c, &g, &cfg)) {
        rc = train_fail(c, "model");
        goto out;
    }
    gan_loop_run run = {.mode = &gan_loop_mode_gan, .model = &g, .data = &ds, .set = &all, .batch = cfg.batch,
                        .epochs = o->epochs, .log_every = o->log_every, .steps_per_epoch = o->steps_per_epoch,
                        .outdir = o->outdir, .overwrite = o->overwrite, .interrupt = train_interrupt_flag(), .on_event = on_event};
    if (o->resume) {
        if (gan_loop_resume(c, &run, o->resume)) {
            rc = train_fail(c, "--resume");
            goto out;
        }
        printf("resumed from %s at epoch %d, step %d\n", o->resume, run.epoch0, g.m.step);
    }
    { /* --init: start from the networks of a checkpoint or a PyTorch state_dict */
        gan_params *regs[] = {gan_gen_params(&g.m.gen), &g.m.d.params};
        if (train_init_from(c, o, regs, 2)) goto out;
    }
    run.seed = g.m.cfg.seed; /* the checkpoint's after a resume */
    if (gan_indices_all(c, &ds, &all)) {
        rc = train_fail(c, "training set");
        goto out;
    }
    printf("gan (%s, %s loss) on %s: %zu images, batch %d, %d epochs, %zu parameters; output in %s\n",
           gan_arch_name(cfg.model.arch), cfg.loss == GAN_LOSS_LSGAN ? "lsgan" : "bce", gan_ctx_device_name(c), ds.n,
           cfg.batch, o->epochs, gan_params_count(gan_gen_params(&g.m.gen)) + gan_params_count(&g.m.d.params),
           o->outdir);
    train_catch_sigint();
    gan_loop_result res;
    gan_status st = gan_loop_train(c, &run, &res);
    if ((rc = train_loop_end(c, st, &res, NULL))) goto out;
    gan_jsonl *log = NULL;
    const char *curve_names[] = {"loss_d", "loss_g"};
    train_finish(c, &log, o, o->outdir, "DCGAN losses", curve_names, 2);
    printf("done: %d steps in %.1f s\n", res.steps, res.seconds);
out:
    gan_indices_free(&all);
    gan_dataset_free(&ds);
    gan_loop_gan_free(c, &g);
    gan_ctx_free(c);
    return rc;
}
