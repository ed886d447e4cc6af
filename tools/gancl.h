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
} tool_opts;

int cmd_bench_ops(const tool_opts *o);
int cmd_check(const tool_opts *o);
int cmd_bench_gan(const tool_opts *o);
int cmd_bench_classifier(const tool_opts *o);
int cmd_train_gan(const tool_opts *o);
int cmd_train_classifier(const tool_opts *o);
int cmd_train_semi(const tool_opts *o);
int cmd_bench_gemm(const tool_opts *o);

/* Create a context or print why not (to stderr) and return NULL. */
gan_ctx *tool_ctx(const char *selector);

#endif
