/* Subcommands of the gancl command-line tool. Each returns the process
 * exit status (0 ok, 1 failure, 2 usage). */
#ifndef GANCL_TOOL_H
#define GANCL_TOOL_H

#include "gancl/gancl.h"

typedef struct tool_opts {
    const char *device; /* --device; NULL: $GANCL_DEVICE or the default */
    int batch;          /* --batch-size */
    int reps;           /* --reps */
    int skip_ref;       /* --skip-ref */
    uint64_t seed;      /* --seed */
    /* train */
    const char *mode;   /* --mode */
    int epochs;         /* --epochs */
    float lr, beta1;    /* --lr, --beta1 */
    int lr_set, beta1_set; /* whether --lr / --beta1 were given (else each mode's default) */
    const char *data;   /* --data (NULL: the default search) */
    const char *outdir; /* --outdir */
    const char *resume; /* --resume */
    int lsgan;          /* --loss lsgan */
    int ngf, ndf;       /* --ngf, --ndf (0: the model's default) */
    int steps_per_epoch; /* --steps-per-epoch (0: all) */
    int log_every;      /* --log-every */
    int labels_per_class; /* --labels-per-class (0: every label) */
    int labels;         /* --labels, semi (0: its default, 100) */
    /* semi's recipe (tools/cmd_train_semi.c), each with whether it was given */
    float beta2, g_lr, g_beta1, g_beta2, ema, consistency, unl_weight; /* --beta2, --g-lr, ... */
    int lr_decay_from; /* --lr-decay-from E; --lr-schedule const: -1 */
    int beta2_set, g_lr_set, g_beta1_set, g_beta2_set, ema_set, consistency_set, unl_weight_set, lr_decay_set;
    /* gan, cgan, augment (helper A) */
    const char *arch;      /* --arch dcgan|mlp (NULL: dcgan), checked by the parser */
    const char *generator; /* --generator FILE, augment: a cgan checkpoint */
    float ratio;           /* --ratio R, augment: generated images per real one (default 1) */
    const char *imbalance; /* --imbalance CLASSES:FRACTION, augment */
    /* features, eval --checkpoint (helper B) */
    int epochs_set;            /* whether --epochs was given (features: default 100) */
    const char *discriminator; /* --discriminator FILE, features: a gan checkpoint */
    int no_baseline;           /* --no-baseline, features: skip the random-D classifier */
    int overwrite;             /* --overwrite, train: a fresh run may replace the run in --outdir */
    int batch_set, seed_set, loss_set; /* whether --batch-size / --seed / --loss were given (a resume takes
                                          the checkpoint's otherwise) */
    int standardize;           /* --standardize, features: standardise the features */
    float weight_decay;        /* --weight-decay X, features: L2 on the classifier's weight */
    int weight_decay_set;      /* whether --weight-decay was given */
    const char *checkpoint;    /* --checkpoint FILE, eval */
    const char *out;           /* --out FILE, eval: the confusion heatmap (default next to the checkpoint) */
    int json;                  /* --json, eval: one JSON summary line on stdout */
    int fid, is;               /* --fid, --is, eval: score a generator (tools/cmd_eval_gen.c) */
    /* tune (helper D) */
    int quick;               /* --quick: a test-sized search */
    const char *batch_sizes; /* --batch-sizes 64,256: the steps whose GEMMs are tuned */
    /* eval --fid/--is, sample, run reports (helper C) */
    const char *images;      /* --images FILE, eval: score IDX images instead of a generator */
    const char *reference;   /* --reference FILE, eval --fid: IDX images to compare with (default: the test set) */
    int n;                   /* --n N: images to generate (0: eval 10000, sample 64) */
    const char *evaluator;   /* --evaluator FILE: a classifier checkpoint as FID/IS evaluator */
    const char *expect_evaluator; /* --expect-evaluator HASH: refuse another evaluator */
    int evaluator_steps;     /* --evaluator-steps N: the evaluator recipe's steps (0: its default) */
    int interpolate;         /* --interpolate STEPS, sample: rows from one noise vector to another */
    int lerp;                /* --lerp, sample: linear instead of spherical interpolation */
    int fixed;               /* --fixed, sample: the training grid, from the checkpoint's state.sample_noise */
    const char *raw;         /* --raw FILE, sample: also the images as float32 [n,784] in [0,1] */
    const char *init;        /* --init FILE, train (gan, cgan, classifier): start from its networks' weights */
    int argc;                /* the command line, for run reports */
    char **argv;
} tool_opts;

int cmd_bench_ops(const tool_opts *o);
int cmd_check(const tool_opts *o);
int cmd_bench_gan(const tool_opts *o);
int cmd_bench_classifier(const tool_opts *o);
int cmd_bench_dist(const tool_opts *o);
int cmd_bench_semi(const tool_opts *o);
int cmd_train_gan(const tool_opts *o);
int cmd_train_classifier(const tool_opts *o);
int cmd_train_semi(const tool_opts *o);
int cmd_train_cgan(const tool_opts *o);
int cmd_train_augment(const tool_opts *o);
int cmd_bench_gemm(const tool_opts *o);
int cmd_tune(const tool_opts *o);
int cmd_train_features(const tool_opts *o);
int cmd_eval(const tool_opts *o);
int cmd_eval_gen(const tool_opts *o);
int cmd_sample(const tool_opts *o);

/* Create a context or print why not (to stderr) and return NULL. */
gan_ctx *tool_ctx(const char *selector);

#endif
