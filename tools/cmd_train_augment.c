/* `gancl train --mode augment`: does a class-conditional generator help a
 * classifier that has few labels? The MNIST CNN classifier
 * (include/gancl/classifier.h) is trained twice with the same seed on the
 * same labeled subset of the training set (--labels-per-class N and/or
 * --imbalance CLASSES:FRACTION): the baseline on the real images only, the
 * augmented run with every batch of B real images joined by round(R * B)
 * images from --generator's cgan (labels chosen below), so both take the
 * same steps over the same real data. Both are scored on the test set,
 * overall and on the reduced classes.
 *
 * Generated labels: with --imbalance, class k is drawn with probability
 * proportional to its deficit (the largest class count in the subset minus
 * k's), so the generator fills the reduced classes; R then defaults to the
 * total deficit over the real count, which makes every class equally
 * frequent in an epoch. Without --imbalance (a uniform label budget) labels
 * are uniform and R defaults to 1. Labels and noise come from their own
 * Philox stream, checkpointed with the classifier.
 *
 * Outputs under --outdir: baseline/ and augmented/ each with
 * checkpoint.safetensors (each epoch and on Ctrl-C), metrics.jsonl (test
 * accuracy every max(1, epochs/10) epochs and after the last) and
 * curves.png; metrics.jsonl with the two final results and summary.json.
 * --resume takes either run's checkpoint: a baseline one continues the
 * baseline and then trains the augmented run; an augmented one first
 * continues (or, when it has all its epochs, only scores) the baseline from
 * --outdir's baseline/checkpoint.safetensors, then the augmented run. */
#include "gancl/classifier.h"
#include "gancl/loop.h"
#include "gancl/train.h"
#include "train_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define K GAN_CNN_CLASSES

/* What both runs share: the library's plan (gan_augment_plan, the labeled
 * subset, the reduced classes, the generated labels and ratio) and the
 * checkpoint configuration strings. */
typedef struct aug_setup {
    const tool_opts *o;
    gan_dataset *ts;
    gan_augment_plan plan;
    gan_generator *gen;
    char lpc[32], imb[128], ratio_s[32];
} aug_setup;

static const char *phase_name(int phase) { return phase ? "augmented" : "baseline"; }

static void on_event(void *user, const gan_loop_event *e)
{
    const gan_loop_augment *a = user;
    const char *name = a->ngen ? "augmented" : "baseline";
    if (e->kind == GAN_LOOP_LOGGED) {
        /* f: loss, accuracy, images_per_s, wall_s */
        train_progress("%s epoch %d/%d step %zu/%zu  loss %.4f  acc %.3f  %.1f img/s  ETA %.0f s", name,
                       e->epoch + 1, e->epochs, e->b + 1, e->per_epoch, e->f[0].value, e->f[1].value,
                       e->images_per_s, e->eta_s);
    } else {
        train_progress_end();
        if (a->scored) {
            printf("%s epoch %d done: test accuracy %.2f%%", name, e->epoch + 1, 100.0 * a->eval.accuracy);
            if (a->nreduced) printf(", reduced classes %.2f%%", 100.0 * gan_loop_augment_reduced(a, &a->eval));
            printf("; checkpoint %s\n", e->checkpoint);
        }
    }
}

/* One classifier run (phase 0 baseline, 1 augmented) on the library loop
 * (gan_loop_mode_augment); its final test evaluation goes to *ev. resume: a
 * checkpoint of this phase or NULL. Returns the exit status (0, 1, 130). */
static int run_phase(gan_ctx *c, const aug_setup *s, int phase, const char *resume, gan_cls_eval *ev)
{
    const tool_opts *o = s->o;
    const gan_augment_plan *p = &s->plan;
    int rc = 1, B = p->batch;
    gan_loop_augment a;
    memset(&a, 0, sizeof a);
    char dir[1100], who[32];

    snprintf(dir, sizeof dir, "%s/%s", o->outdir, phase_name(phase));
    snprintf(who, sizeof who, "%s run", phase_name(phase));
    if (train_outdir(dir)) return 1;
    gan_cls_config cfg = gan_cls_default();
    cfg.seed = o->seed;
    if (o->lr_set) cfg.adam.lr = o->lr;
    if (o->beta1_set) cfg.adam.beta1 = o->beta1;
    if (gan_augment_phase_init(c, &a, p, &cfg, phase ? s->gen : NULL, s->ts, o->epochs)) {
        rc = train_fail(c, "classifier");
        goto out;
    }
    gan_ckpt_kv tag[1] = {{"phase", phase_name(phase)}};
    gan_ckpt_kv config[4] = {{"labels_per_class", s->lpc}, {"imbalance", s->imb}, {"ratio", s->ratio_s},
                             {"generator", o->generator}};
    gan_loop_run run = train_run_init(o, &gan_loop_mode_augment, &a, on_event, &a);
    gan_augment_run_set(&run, p, &a);
    run.seed = o->seed;
    run.outdir = dir;
    run.tag = tag;
    run.ntag = 1;
    run.config = config;
    run.nconfig = 4;
    if (train_resume_run(c, &run, resume, phase_name(phase))) goto out;
    size_t per_epoch = gan_loop_per_epoch(&run);
    if (phase)
        printf("augmented: each step %d real + %d generated images (ratio %g), %d epochs of %zu steps\n", B, a.ngen,
               p->ratio, o->epochs, per_epoch);
    else
        printf("baseline: each step %d real images, %d epochs of %zu steps\n", B, o->epochs, per_epoch);
    if (a.eval_every > 1) printf("test accuracy every %d epochs and after the last\n", a.eval_every);
    gan_loop_result res;
    if ((rc = train_loop(c, &run, &res, who))) goto out;
    if (!a.scored && gan_cls_evaluate(c, &a.m, s->ts, NULL, &a.eval)) {
        rc = train_fail(c, "test-set evaluation");
        goto out;
    }
    *ev = a.eval;
    gan_jsonl *log = NULL;
    const char *curve_names[] = {"loss", "accuracy", "test_accuracy"};
    train_finish(c, &log, o, dir, phase ? "classifier with cgan samples" : "classifier on real images only",
                 curve_names, 3);
    rc = 0;
out:
    gan_loop_augment_free(c, &a);
    return rc;
}

static void json_string(FILE *fp, const char *v)
{
    fputc('"', fp);
    for (const unsigned char *p = (const unsigned char *)v; *p; p++) {
        if (*p == '"' || *p == '\\') fprintf(fp, "\\%c", *p);
        else if (*p < 0x20) fprintf(fp, "\\u%04x", *p);
        else fputc(*p, fp);
    }
    fputc('"', fp);
}

static int write_summary(gan_ctx *c, const aug_setup *s, const gan_cls_eval *base, const gan_cls_eval *aug)
{
    char path[1200];
    gan_jsonl *log = NULL;
    const gan_augment_plan *p = &s->plan;
    double rb = gan_augment_plan_reduced(p, base), ra = gan_augment_plan_reduced(p, aug);
    snprintf(path, sizeof path, "%s/metrics.jsonl", s->o->outdir);
    gan_metric f[] = {{"baseline_accuracy", base->accuracy},  {"augmented_accuracy", aug->accuracy},
                      {"difference", aug->accuracy - base->accuracy}, {"ratio", p->ratio},
                      {"baseline_accuracy_reduced", rb},    {"augmented_accuracy_reduced", ra},
                      {"difference_reduced", ra - rb}};
    if (gan_jsonl_open(c, path, 0, &log) || gan_jsonl_write(c, log, 0, s->o->epochs, f, p->nreduced ? 7 : 4) ||
        gan_jsonl_close(c, log))
        return train_fail(c, "summary metrics");
    snprintf(path, sizeof path, "%s/summary.json", s->o->outdir);
    FILE *fp = fopen(path, "w");
    if (!fp) {
        fprintf(stderr, "gancl train: cannot write %s\n", path);
        return 1;
    }
    fprintf(fp, "{\"mode\":\"augment\",\"generator\":");
    json_string(fp, s->o->generator);
    fprintf(fp, ",\"labels_per_class\":%s,\"imbalance\":", s->lpc);
    json_string(fp, s->imb);
    fprintf(fp, ",");
    fprintf(fp, "\"ratio\":%.6g,\"generated_per_step\":%d,\"train_images\":%zu,\"epochs\":%d,", p->ratio, p->ngen,
            p->set->n, s->o->epochs);
    fprintf(fp, "\"baseline\":{\"accuracy\":%.6f", base->accuracy);
    if (p->nreduced) fprintf(fp, ",\"accuracy_reduced\":%.6f", rb);
    fprintf(fp, "},\"augmented\":{\"accuracy\":%.6f", aug->accuracy);
    if (p->nreduced) fprintf(fp, ",\"accuracy_reduced\":%.6f", ra);
    fprintf(fp, "},\"difference\":%.6f", aug->accuracy - base->accuracy);
    if (p->nreduced) fprintf(fp, ",\"difference_reduced\":%.6f", ra - rb);
    fprintf(fp, "}\n");
    if (fclose(fp)) {
        fprintf(stderr, "gancl train: cannot write %s\n", path);
        return 1;
    }
    printf("per-class test accuracy   baseline  augmented\n");
    for (int k = 0; k < K; k++)
        printf("  %d%s %8.2f%%  %8.2f%%\n", k, p->reduced[k] ? "*" : " ", 100.0 * base->class_acc[k],
               100.0 * aug->class_acc[k]);
    printf("baseline  (real only):          test accuracy %.2f%%", 100.0 * base->accuracy);
    if (p->nreduced) printf(", reduced classes (*) %.2f%%", 100.0 * rb);
    printf("\naugmented (real + cgan, r=%g): test accuracy %.2f%%", p->ratio, 100.0 * aug->accuracy);
    if (p->nreduced) printf(", reduced classes (*) %.2f%%", 100.0 * ra);
    printf("\ndifference: %+.2f points overall", 100.0 * (aug->accuracy - base->accuracy));
    if (p->nreduced) printf(", %+.2f points on the reduced classes", 100.0 * (ra - rb));
    printf("\nsummary: %s\n", path);
    return 0;
}

int cmd_train_augment(const tool_opts *o)
{
    tool_opts ro; /* after --resume: the checkpoint's settings for the flags left out */
    gan_ctx *c = train_open_ctx(o, &ro);
    if (!c) return 1;
    int rc = 0, resume_phase = 0;
    o = &ro;
    if (!rc && !o->generator) {
        fprintf(stderr, "gancl train: --mode augment needs --generator FILE (a checkpoint of train --mode cgan)\n");
        rc = 2;
    }
    if (!rc && !o->labels_per_class && !o->imbalance) {
        fprintf(stderr, "gancl train: --mode augment needs a label budget: --labels-per-class N and/or "
                        "--imbalance CLASSES:FRACTION\n");
        rc = 2;
    }
    if (rc) {
        gan_ctx_free(c);
        return rc;
    }
    rc = 1;
    gan_dataset ds = {0}, ts = {0};
    gan_indices all = {0};
    gan_generator gen;
    memset(&gen, 0, sizeof gen);
    gan_cls_eval base, aug;
    aug_setup s;
    memset(&s, 0, sizeof s);
    s.o = o;
    s.ts = &ts;
    s.gen = &gen;
    gan_augment_plan *p = &s.plan;
    double keep[K];
    for (int k = 0; k < K; k++) keep[k] = 1.0;
    snprintf(s.lpc, sizeof s.lpc, "%d", o->labels_per_class);
    snprintf(s.imb, sizeof s.imb, "%s", o->imbalance ? o->imbalance : "none");
    if (o->imbalance && gan_imbalance_parse(c, o->imbalance, keep)) {
        fprintf(stderr, "gancl train: --imbalance: %s\n", gan_ctx_error(c));
        rc = 2;
        goto out;
    }
    if (o->resume) {
        gan_ckpt *k = NULL;
        if (gan_ckpt_load(c, o->resume, &k)) {
            rc = train_fail(c, "--resume");
            goto out;
        }
        const char *mode = gan_ckpt_meta(k, "mode"), *ph = gan_ckpt_meta(k, "phase");
        if (!mode || strcmp(mode, "augment") || !ph || (strcmp(ph, "baseline") && strcmp(ph, "augmented"))) {
            fprintf(stderr, "gancl train: --resume %s: not a checkpoint of --mode augment (mode %s, phase %s)\n",
                    o->resume, mode ? mode : "(absent)", ph ? ph : "(absent)");
            gan_ckpt_free(k);
            goto out;
        }
        resume_phase = !strcmp(ph, "augmented");
        gan_ckpt_free(k);
    }
    if (train_open_data(c, o, &ds, &ts)) goto out;

    /* the generator */
    gan_generator_info info;
    if (gan_generator_probe(c, o->generator, &info)) {
        rc = train_fail(c, "--generator");
        goto out;
    }
    if (!info.conditional || info.nclass != K) {
        fprintf(stderr, "gancl train: --generator %s is a %s checkpoint: augment needs a cgan one of %d classes "
                        "(train --mode cgan)\n", o->generator,
                info.conditional ? "cgan (other classes)" : info.kind == GAN_GEN_SEMI ? "semi" : "gan", K);
        goto out;
    }

    /* the labeled subset, the reduced classes and the generated labels */
    if (gan_indices_all(c, &ds, &all)) {
        rc = train_fail(c, "training set");
        goto out;
    }
    if (gan_augment_plan_init(c, p, &ds, &all, (size_t)o->labels_per_class, o->imbalance ? keep : NULL, o->ratio,
                              o->batch, o->seed)) {
        if (p->failed == GAN_AUGMENT_FAIL_BALANCE)
            fprintf(stderr, "gancl train: --imbalance %s leaves %s: nothing for the generator to balance\n",
                    o->imbalance, p->set->n ? "every class the same size" : "no training images");
        else
            rc = train_fail(c, p->failed == GAN_AUGMENT_FAIL_IMBALANCE ? "--imbalance"
                               : p->failed == GAN_AUGMENT_FAIL_LABELS  ? "--labels-per-class"
                                                                       : "augment");
        goto out;
    }
    snprintf(s.ratio_s, sizeof s.ratio_s, "%.9g", p->ratio);

    if (gan_generator_load(c, &gen, o->generator, p->ngen)) {
        rc = train_fail(c, "--generator");
        goto out;
    }
    printf("augment on %s: %zu labeled training images (", gan_ctx_device_name(c), p->set->n);
    for (int k = 0; k < K; k++) printf("%s%d: %zu%s", k ? ", " : "", k, p->count[k], p->reduced[k] ? "*" : "");
    printf("), %zu test images; generator %s (%s, step %d); batch %d + %d generated; output in %s\n", ts.n,
           o->generator, gan_arch_name(info.model.arch), info.step, o->batch, p->ngen, o->outdir);
    train_catch_sigint();

    if (resume_phase == 1) {
        /* the baseline goes first: finish it (or only score it when it has
         * all its epochs) from its checkpoint in --outdir */
        char bpath[1200];
        snprintf(bpath, sizeof bpath, "%s/baseline/checkpoint.safetensors", o->outdir);
        rc = run_phase(c, &s, 0, bpath, &base);
    } else {
        rc = run_phase(c, &s, 0, o->resume, &base);
    }
    if (rc) goto out;
    rc = run_phase(c, &s, 1, resume_phase == 1 ? o->resume : NULL, &aug);
    if (rc) goto out;
    rc = write_summary(c, &s, &base, &aug);
out:
    gan_indices_free(&all);
    gan_augment_plan_free(&s.plan);
    gan_dataset_free(&ds);
    gan_dataset_free(&ts);
    gan_generator_free(c, &gen);
    gan_ctx_free(c);
    return rc;
}
