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
 * and exits 130; a non-finite loss stops the run at that step. The loop is
 * the library's (gan_loop_train with gan_loop_mode_semi); this file parses
 * and prints. */
#include "gancl/loop.h"
#include "gancl/semi.h"
#include "train_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void on_event(void *user, const gan_loop_event *e)
{
    const gan_loop_semi *s = user;
    if (e->kind == GAN_LOOP_LOGGED) {
        /* f: loss_lab, loss_unl, loss_g, train_acc, d_real, d_fake, images_per_s, wall_s */
        train_progress("epoch %d/%d step %zu/%zu  loss_lab %.4f  loss_unl %.4f  loss_g %.4f  train acc "
                       "%.2f  D(x) %.3f  D(G(z)) %.3f  %.1f img/s  ETA %.0f s",
                       e->epoch + 1, e->epochs, e->b + 1, e->per_epoch, e->f[0].value, e->f[1].value, e->f[2].value,
                       e->f[3].value, e->f[4].value, e->f[5].value, e->images_per_s, e->eta_s);
    } else {
        train_progress_end();
        printf("epoch %d done in %.1f s: test accuracy: %.2f%% (error %.2f%%), with the current parameters %.2f%%; "
               "samples %s, checkpoint %s\n",
               e->epoch + 1, e->epoch_train_s, 100 * s->acc, 100 * (1 - s->acc), 100 * s->raw, e->artifact,
               e->checkpoint);
        fflush(stdout);
    }
}

int cmd_train_semi(const tool_opts *o)
{
    int rc = 1;
    tool_opts ro; /* after --resume: the checkpoint's settings for the flags left out */
    gan_ctx *c = train_open_ctx(o, &ro);
    if (!c) return 1;
    o = &ro;
    gan_dataset ds = {0}, test = {0};
    gan_indices all = {0}, lab = {0}, rest = {0};
    gan_loop_semi s;
    memset(&s, 0, sizeof s);
    int labels = o->labels ? o->labels : 100;
    char lab_s[32];
    snprintf(lab_s, sizeof lab_s, "%d", labels);
    gan_ckpt_kv config[1] = {{"labels", lab_s}};

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
    if (o->beta2_set) cfg.adam.beta2 = o->beta2;
    /* G's Adam: D's unless given */
    cfg.g_adam = cfg.adam;
    if (o->g_lr_set) cfg.g_adam.lr = o->g_lr;
    if (o->g_beta1_set) cfg.g_adam.beta1 = o->g_beta1;
    if (o->g_beta2_set) cfg.g_adam.beta2 = o->g_beta2;
    if (o->ema_set) cfg.ema = o->ema;
    if (o->unl_weight_set) cfg.unl_weight = o->unl_weight;
    if (o->consistency_set) cfg.consistency = o->consistency;
    if (o->lr_decay_set) cfg.lr_decay_from = o->lr_decay_from;
    if (train_batch_too_big(cfg.batch, ds.n)) goto out;
    if (gan_indices_all(c, &ds, &all) ||
        gan_split_labeled(c, &ds, &all, (size_t)labels / GAN_MNIST_CLASSES, cfg.seed, &lab, &rest)) {
        rc = train_fail(c, "--labels");
        goto out;
    }
    if (gan_loop_semi_init(c, &s, &cfg)) {
        rc = train_fail(c, "model");
        goto out;
    }
    s.data = &ds;
    s.test = &test;
    s.all = &all;
    s.lab = &lab;
    gan_loop_run run = train_run_init(o, &gan_loop_mode_semi, &s, on_event, &s);
    run.data = &ds;
    run.set = &all;
    run.batch = cfg.batch;
    run.seed = cfg.seed;
    run.config = config;
    run.nconfig = 1;
    if (train_resume_run(c, &run, o->resume, NULL)) goto out;
    if (!o->resume && gan_loop_semi_data_init(c, &s)) {
        /* Salimans' data-dependent initialisation on 3N unlabeled images */
        rc = train_fail(c, "initialisation");
        goto out;
    }
    printf("semi (Salimans MLP, %d labels) on %s: %zu images (%zu labeled), batch %d, D Adam lr %g beta1 %g beta2 "
           "%g, G Adam lr %g beta1 %g beta2 %g, ",
           labels, gan_ctx_device_name(c), ds.n, lab.n, cfg.batch, cfg.adam.lr, cfg.adam.beta1, cfg.adam.beta2,
           cfg.g_adam.lr, cfg.g_adam.beta1, cfg.g_adam.beta2);
    if (cfg.lr_decay_from >= 0)
        printf("lr decay from epoch %d, ", cfg.lr_decay_from);
    else
        printf("constant lr, ");
    printf("average rate %g, unlabeled weight %g, consistency %g, %d epochs, %zu parameters; output in %s\n", cfg.ema,
           cfg.unl_weight, cfg.consistency, o->epochs, gan_params_count(&s.m.g.params) + gan_params_count(&s.m.d.params),
           o->outdir);
    const char *curve_names[] = {"loss_lab", "loss_unl", "loss_g"};
    rc = train_run(c, &run, o, "semi-supervised GAN losses", curve_names, 3);
out:
    gan_indices_free(&all);
    gan_indices_free(&lab);
    gan_indices_free(&rest);
    gan_dataset_free(&ds);
    gan_dataset_free(&test);
    gan_loop_semi_free(c, &s);
    gan_ctx_free(c);
    return rc;
}
