/* The training loop, once for every mode (DESIGN.md: "One training loop,
 * modes as tables"). gan_loop_train owns the epochs (a seeded Philox
 * shuffle of the training items per epoch), batch assembly (images, and
 * labels when the mode wants them, into host buffers), the logging cadence
 * (every log_every steps and the last step of an epoch: one metrics.jsonl
 * record), the non-finite stop, interruption (a flag the caller sets, e.g.
 * from SIGINT: the step finishes, a checkpoint is saved), the epoch-end
 * hook and its record, and the checkpoint each epoch (written atomically by
 * the mode's save, the gan_ckpt writer). gan_loop_resume is the one resume
 * path: the mode's load, then one compatibility check of the batch size and
 * every run setting the caller names, then where the run stopped.
 *
 * A mode is a table of functions over its own model struct; the per-network
 * forward/backward code stays in the mode's step. The library never prints:
 * progress goes to the caller's on_event callback. */
#ifndef GANCL_LOOP_H
#define GANCL_LOOP_H

#include "gancl/ckpt.h"
#include "gancl/data.h"

#include <signal.h>

#ifdef __cplusplus
extern "C" {
#endif

#define GAN_LOOP_MAX_METRICS 16

/* Named values of one step or one epoch, in record order. */
typedef struct gan_loop_metrics {
    int n;
    gan_metric f[GAN_LOOP_MAX_METRICS];
} gan_loop_metrics;

typedef struct gan_loop_run gan_loop_run;

typedef struct gan_loop_mode {
    const char *name;      /* the checkpoint's "mode" value: "gan", "cgan", "classifier" */
    gan_pixel_range range; /* pixel range of the batches */
    int labels;            /* 1: step gets the batch's labels */
    int full_batches;      /* 1: only full batches (an epoch drops the rest); 0: a partial last batch */
    int nloss;             /* the first nloss metrics of a logged step must be finite */
    int data_parallel;     /* 1: the step takes a rank's slice of the batch (include/gancl/dist.h) */
    int no_batch;          /* 1: the step reads its rows itself (features: already on the device, in the
                              epoch order epoch_begin set): the loop assembles no batch, x = labels = NULL */
    /* One training step on n host images x[n*784] (labels[n] when .labels).
     * st == NULL: no metrics wanted (no read-back); else the step's metrics,
     * losses first. */
    gan_status (*step)(gan_ctx *c, void *model, size_t b, const float *x, const int32_t *labels, int n,
                       gan_loop_metrics *st); /* b: the batch's place in the epoch */
    int (*steps)(const void *model); /* training steps taken (checkpointed) */
    gan_status (*save)(gan_ctx *c, const void *model, const char *path, const gan_ckpt_kv *extra, int nextra);
    gan_status (*load)(gan_ctx *c, void *model, const char *path, gan_ckpt **out);
    /* After an epoch's steps, before its checkpoint (may be NULL): e.g. a
     * sample grid or a test-set evaluation. Metrics put in out (out->n = 0
     * on entry) make an epoch record, followed by epoch_train_s and epoch_s;
     * a file written may be named in artifact (cap bytes; "" otherwise). */
    gan_status (*epoch_end)(gan_ctx *c, void *model, const gan_loop_run *run, int epoch, gan_loop_metrics *out,
                            char *artifact, size_t cap);
    /* The mode's own moving state for a checkpoint (may be NULL): up to 4
     * entries written after the run's config, e.g. a generator's stream
     * position; the values may point into model. Returns the count. */
    int (*state)(void *model, gan_ckpt_kv *out);
    /* The epoch argument of the items' gan_epoch_order (NULL: the epoch). */
    uint64_t (*order_key)(int epoch);
    /* Before an epoch's first step (may be NULL): e.g. a mode's own further
     * data orders for the epoch. */
    gan_status (*epoch_begin)(gan_ctx *c, void *model, const gan_loop_run *run, int epoch);
} gan_loop_mode;

typedef enum gan_loop_event_kind {
    GAN_LOOP_LOGGED = 0, /* a logged step: its record is in f */
    GAN_LOOP_EPOCH = 1,  /* an epoch done, its checkpoint written; its record (if any) in f */
} gan_loop_event_kind;

typedef struct gan_loop_event {
    gan_loop_event_kind kind;
    int epoch, epochs;       /* 0-based epoch; the run's epochs */
    size_t b, per_epoch;     /* 0-based batch within the epoch; batches per epoch */
    int step;                /* the model's steps after this one */
    const gan_metric *f;     /* the record written (LOGGED: the step's metrics, images_per_s, wall_s) */
    int nf;
    double images_per_s, eta_s;     /* LOGGED: since the last logged step; time left at that rate */
    double steps_per_s;             /* LOGGED: since the last logged step */
    double epoch_train_s, epoch_s;  /* EPOCH: the steps; all of it */
    const char *checkpoint;  /* EPOCH: the checkpoint written */
    const char *artifact;    /* EPOCH: what epoch_end wrote ("" if nothing) */
} gan_loop_event;

struct gan_loop_run {
    const gan_loop_mode *mode;
    void *model;
    const gan_dataset *data;  /* training images */
    const gan_indices *set;   /* the items trained on (all, or a labeled subset) */
    int batch;                /* B */
    uint64_t seed;            /* the data order's seed */
    int epochs;               /* run until this many epochs are done */
    int log_every;            /* >= 1 */
    int steps_per_epoch;      /* 0: the whole set; else at most this many batches */
    const char *outdir;       /* metrics.jsonl and checkpoint.safetensors go here (it must exist) */
    const gan_ckpt_kv *tag;   /* written right after "mode" (e.g. augment's phase); not compared */
    int ntag;
    const gan_ckpt_kv *config; /* run settings written into every checkpoint after mode, tag, epoch, data_pos */
    int nconfig;
    int model_batch;          /* the batch the model's checkpoint records, when it is not `batch` (else 0) */
    int epoch0;               /* where to start: 0, 0 or gan_loop_resume's */
    size_t pos0;
    int resumed;              /* 1: continue metrics.jsonl, cut back to the checkpoint's step */
    int resumed_step;         /* the checkpoint's step (gan_loop_resume sets it) */
    int overwrite;            /* 1: a fresh run may replace a run already in outdir */
    /* NULL: the outdir's own run. Else a companion of it, e.g. features'
     * random-D comparison "baseline_": each metric name gets the prefix,
     * its records join OUTDIR/metrics.jsonl (earlier records of the prefix
     * are dropped: it always starts afresh) and it writes no checkpoint, so
     * it needs no --resume or --overwrite; Ctrl-C stops it like any run. */
    const char *prefix;
    const volatile sig_atomic_t *interrupt; /* nonzero: stop after the current step (may be NULL) */
    void (*on_event)(void *user, const gan_loop_event *e); /* may be NULL */
    void *user;
};

typedef enum gan_loop_end {
    GAN_LOOP_DONE = 0,        /* every epoch ran */
    GAN_LOOP_INTERRUPTED = 1, /* *interrupt was set; a checkpoint was saved */
    GAN_LOOP_NONFINITE = 2,   /* a logged loss was not finite; nothing saved */
} gan_loop_end;

typedef struct gan_loop_result {
    gan_loop_end end;
    int steps;               /* steps this call took */
    double seconds;          /* since the call began */
    int step;                /* the model's steps at the end */
    gan_metric loss[GAN_LOOP_MAX_METRICS]; /* NONFINITE: the step's nloss losses */
    int nloss;
    int have_checkpoint;     /* a checkpoint exists in outdir (written by this run or an earlier one) */
    char checkpoint[1100];   /* OUTDIR/checkpoint.safetensors */
} gan_loop_result;

/* Resume from path: mode->load into model, then one check that the
 * checkpoint's batch and the n settings in config (the same keys the run
 * writes) equal the run's; all differences are named in one
 * GAN_ERR_MISMATCH error ("batch: checkpoint 8, run 16"). Sets run->epoch0,
 * run->pos0 and run->resumed. */
gan_status gan_loop_resume(gan_ctx *c, gan_loop_run *run, const char *path);

/* Train from run->epoch0/pos0 to run->epochs; *res says how it ended.
 * Safety: the run holds OUTDIR/.gancl.lock (flock) while it trains, so a
 * second run in the same outdir fails with GAN_ERR_IO naming the lock; a
 * fresh run (not resumed, no overwrite) in an outdir that holds
 * checkpoint.safetensors is refused (GAN_ERR_ARG) naming the checkpoint and
 * the choices (--resume, another --outdir, --overwrite); a resumed run cuts
 * metrics.jsonl back to the records of steps <= the checkpoint's step, so
 * no step appears twice. */
gan_status gan_loop_train(gan_ctx *c, gan_loop_run *run, gan_loop_result *res);

/* Batches per epoch: ceil(n/B), or floor with full_batches, at most
 * steps_per_epoch when that is nonzero. */
size_t gan_loop_per_epoch(const gan_loop_run *run);

/* ---- the modes ----------------------------------------------------------- */

#include "gancl/classifier.h"
#include "gancl/features.h"
#include "gancl/generator.h"
#include "gancl/semi.h"
#include "gancl/train.h"

/* gan: a gan_gan with its staging tensor for the real batch and a
 * generator handle over its G (the sample grids). */
typedef struct gan_loop_gan {
    gan_gan m;
    gan_tensor real; /* [N,1,28,28] */
    gan_generator gen;
} gan_loop_gan;
gan_status gan_loop_gan_init(gan_ctx *c, gan_loop_gan *g, const gan_gan_config *cfg);
void gan_loop_gan_free(gan_ctx *c, gan_loop_gan *g);
/* Model: gan_loop_gan; epoch end: OUTDIR/samples_epochNNN.png, G on its fixed noise. */
extern const gan_loop_mode gan_loop_mode_gan;

/* cgan: a gan_cgan with its staging tensor and a generator handle over its G. */
typedef struct gan_loop_cgan {
    gan_cgan m;
    gan_tensor real;
    gan_generator gen;
} gan_loop_cgan;
gan_status gan_loop_cgan_init(gan_ctx *c, gan_loop_cgan *g, const gan_cgan_config *cfg);
void gan_loop_cgan_free(gan_ctx *c, gan_loop_cgan *g);
/* Model: gan_loop_cgan; epoch end: the class grid OUTDIR/samples_epochNNN.png. */
extern const gan_loop_mode gan_loop_mode_cgan;

/* classifier: a gan_cls and the test set it is scored on each epoch. */
typedef struct gan_loop_cls {
    gan_cls m;
    const gan_dataset *test;
    gan_cls_eval eval; /* the last epoch's evaluation */
    int have_eval;
} gan_loop_cls;
/* Model: gan_loop_cls; epoch end: test accuracy (record test_accuracy). */
extern const gan_loop_mode gan_loop_mode_classifier;

/* semi: the semi-supervised GAN (include/gancl/semi.h). The loop's items
 * are every training image, as unlabeled data, in the order
 * gan_loop_semi_key(GAN_SEMI_ORDER_UNL, epoch, 0); each epoch the labeled
 * batches cycle through fresh permutations of the labeled set and the G
 * step's unlabeled batch comes from a second order, all from (seed, epoch),
 * so a resume continues exactly. Epoch end: the test accuracy with D's
 * parameter average and with its current parameters (record test_acc,
 * test_error, test_acc_current), and OUTDIR/samples_epochNNN.png. */
enum { GAN_SEMI_ORDER_UNL = 1, GAN_SEMI_ORDER_UNL2 = 2, GAN_SEMI_ORDER_LAB = 3, GAN_SEMI_ORDER_INIT = 4 };
/* The purpose in the top byte, then the epoch, then the round r of a cycled labeled set. */
uint64_t gan_loop_semi_key(int purpose, int epoch, size_t r);
typedef struct gan_loop_semi {
    gan_semi m;
    const gan_dataset *data, *test;
    const gan_indices *all, *lab;   /* every training image; the labeled ones */
    gan_tensor x_lab, x_unl, x_unl2, y_lab, x_test; /* [N,784] x3, I32 [N], [3N,784] */
    size_t *ord_unl2, *ord_lab;     /* this epoch's G-step and labeled orders */
    size_t per_epoch;
    float *xh, *xh_test;
    int32_t *yh, *yh_test, *pred;
    double acc, raw;                /* the last epoch's test accuracy: averaged, current parameters */
    gan_generator gen;              /* over the model's G: the sample grids */
} gan_loop_semi;
/* The model and its staging; data/test/all/lab must be set before training. */
gan_status gan_loop_semi_init(gan_ctx *c, gan_loop_semi *s, const gan_semi_config *cfg);
/* Salimans' data-dependent initialisation on the first 3N images of the
 * GAN_SEMI_ORDER_INIT order of s->all (a fresh run only, not a resume). */
gan_status gan_loop_semi_data_init(gan_ctx *c, gan_loop_semi *s);
void gan_loop_semi_free(gan_ctx *c, gan_loop_semi *s);
extern const gan_loop_mode gan_loop_mode_semi;

/* augment: the classifier on B real images per step joined by ngen images
 * of a class-conditional generator handle, made for chunks of ngen (ngen
 * = 0 or gen = NULL: the baseline, real images only). Generated labels are
 * drawn from the cumulative
 * distribution cdf with word i%4 of Philox block counter + i/4 of gen_rng
 * (checkpointed as "gen_rng_counter"); pixels go from the generator's
 * [-1, 1] to [0, 1]. The test set is scored every eval_every epochs and
 * after the last (record test_accuracy, and test_accuracy_reduced when
 * classes are marked reduced). */
typedef struct gan_loop_augment {
    gan_cls m;                      /* batch B + ngen */
    const gan_dataset *test;
    gan_generator *gen;
    int ngen;
    double cdf[GAN_CNN_CLASSES];
    gan_rng gen_rng;
    int reduced[GAN_CNN_CLASSES];   /* 1: a class --imbalance reduced */
    int nreduced;
    int epochs, eval_every;
    gan_cls_eval eval;              /* the last scoring */
    int scored;                     /* the epoch just ended was scored */
    char counter[32];
} gan_loop_augment;
/* cfg->batch must be B + ngen; gen_seed keys the generated labels and noise. */
gan_status gan_loop_augment_init(gan_ctx *c, gan_loop_augment *a, const gan_cls_config *cfg, gan_generator *gen,
                                 int ngen, const double *cdf, uint64_t gen_seed);
void gan_loop_augment_free(gan_ctx *c, gan_loop_augment *a);
/* Accuracy over the reduced classes of an evaluation (0 when none). */
double gan_loop_augment_reduced(const gan_loop_augment *a, const gan_cls_eval *e);
extern const gan_loop_mode gan_loop_mode_augment;

/* Generated rows a step takes beside batch real ones at ratio R:
 * round(R * batch), at least 1. */
int gan_augment_generated(float ratio, int batch);
/* augment's plan: what both of its runs (the baseline on real images only,
 * then the augmented run with generated images) share, computed from a
 * dataset, a base item set and the label budget.
 *   - the labeled subset: base, then labels_per_class items of every class
 *     (gan_split_labeled; 0: all), then the imbalance keep[] (gan_imbalance;
 *     keep NULL: none), both seeded by seed;
 *   - count[k], the subset's items of class k; reduced[k]: keep[k] < 1;
 *   - the generated labels' cumulative distribution cdf: class k with
 *     probability proportional to its deficit (the largest count minus
 *     count[k]) with an imbalance, uniform without;
 *   - ratio R: the given one when > 0, else the total deficit over the
 *     subset's size with an imbalance, else 1; ngen = round(R * batch), at
 *     least 1, generated images per step of batch real ones.
 * Errors are GAN_ERR_ARG (or the data calls' statuses), with `failed` telling
 * which part: GAN_AUGMENT_FAIL_LABELS (the split, e.g. a class with too few
 * items), GAN_AUGMENT_FAIL_IMBALANCE (gan_imbalance), GAN_AUGMENT_FAIL_BALANCE
 * (the imbalance leaves every class the same size, or no images: nothing for
 * the generator to balance; set and count are then filled in). */
enum { GAN_AUGMENT_FAIL_LABELS = 1, GAN_AUGMENT_FAIL_IMBALANCE = 2, GAN_AUGMENT_FAIL_BALANCE = 3 };
typedef struct gan_augment_plan {
    const gan_dataset *data;
    const gan_indices *set;         /* the labeled subset: base or one below */
    gan_indices labeled, unlabeled, kept; /* owned */
    size_t count[GAN_CNN_CLASSES];
    int reduced[GAN_CNN_CLASSES];
    int nreduced;
    double cdf[GAN_CNN_CLASSES];
    float ratio;
    int batch;                      /* real images per step */
    int ngen;                       /* generated images per step */
    int failed;                     /* on error: GAN_AUGMENT_FAIL_*; 0 otherwise */
} gan_augment_plan;
gan_status gan_augment_plan_init(gan_ctx *c, gan_augment_plan *p, const gan_dataset *d, const gan_indices *base,
                                 size_t labels_per_class, const double *keep, float ratio, int batch,
                                 uint64_t seed);
void gan_augment_plan_free(gan_augment_plan *p);
/* Accuracy over the plan's reduced classes of an evaluation (0 when none). */
double gan_augment_plan_reduced(const gan_augment_plan *p, const gan_cls_eval *e);
/* One run of the plan: gen NULL is the baseline (batch real images per
 * step), a cgan generator handle made for chunks of p->ngen the augmented
 * run. cfg's batch is replaced by the run's rows per step; the generated
 * labels and noise are keyed by cfg->seed ^ "augment". test is scored every
 * max(1, epochs / 10) epochs and after the last. */
gan_status gan_augment_phase_init(gan_ctx *c, gan_loop_augment *a, const gan_augment_plan *p,
                                  const gan_cls_config *cfg, gan_generator *gen, const gan_dataset *test,
                                  int epochs);
/* Point a run (gan_loop_run, mode gan_loop_mode_augment, model a) at the
 * plan: its data, its labeled subset, batch and model_batch. */
void gan_augment_run_set(gan_loop_run *run, const gan_augment_plan *p, const gan_loop_augment *a);

/* features: a softmax layer on a frozen discriminator's features
 * (include/gancl/features.h). The loop's items are the labeled rows 0..L-1
 * (rows), whose features sit on the device; each epoch's order of them is
 * the loop's shuffle (the same seed and key), uploaded by epoch_begin. The
 * test and labeled sets are scored every eval_every epochs and after the
 * last (record test_accuracy, train_accuracy). The checkpoint holds the
 * last test accuracy ("test_accuracy"). load replaces the model with the
 * checkpoint's (gan_features_load, keeping the run's optimiser settings);
 * features are extracted afterwards with gan_loop_features_extract. */
typedef struct gan_loop_features {
    gan_features m;
    const gan_dataset *data, *test;
    const gan_indices *lab;     /* the labeled images: row i is data item lab->idx[i] */
    gan_indices rows;           /* 0..L-1: the loop's items */
    size_t *order;              /* [L] */
    int eval_every;
    gan_cls_eval eval, train_eval; /* the last scoring: test set, labeled set */
    int scored;                 /* the epoch just ended was scored */
    int have_eval;
    char acc[32];
} gan_loop_features;
/* The model (cfg->discriminator NULL: a random D), no features yet. */
gan_status gan_loop_features_init(gan_ctx *c, gan_loop_features *l, const gan_features_config *cfg,
                                  const gan_dataset *data, const gan_indices *lab, const gan_dataset *test);
/* Features of the labeled and the test images (after a resume's load). */
gan_status gan_loop_features_extract(gan_ctx *c, gan_loop_features *l);
void gan_loop_features_free(gan_ctx *c, gan_loop_features *l);
extern const gan_loop_mode gan_loop_mode_features;

#ifdef __cplusplus
}
#endif
#endif
