/* What every `gancl train --mode ...` loop shares: the output directory and
 * MNIST loading, resuming, the clock, Ctrl-C handling, the progress line,
 * the stops (non-finite loss, Ctrl-C) and the curves and report at the end. */
#ifndef GANCL_TRAIN_COMMON_H
#define GANCL_TRAIN_COMMON_H

#include "tool.h"
#include "gancl/ckpt.h"
#include "gancl/data.h"
#include "gancl/loop.h"

double train_now(void);
/* mkdir -p; prints the reason and returns -1 on failure. */
int train_outdir(const char *dir);
/* Create --outdir and load the MNIST training set, and the test set too
 * when test is not NULL; prints the reason and returns 1 on failure. */
int train_open_data(gan_ctx *c, const tool_opts *o, gan_dataset *train, gan_dataset *test);
/* A batch of full batches needs batch <= n images: prints why and returns
 * 1 when it does not fit, else 0. */
int train_batch_too_big(int batch, size_t n);
/* The steps of an epoch: n, or --steps-per-epoch when that is fewer. */
size_t train_cap_steps(size_t n, int steps_per_epoch);
/* Open DIR/metrics.jsonl, appending to it on a resume. */
gan_status train_open_log(gan_ctx *c, const char *dir, int append, gan_jsonl **log);

/* Throughput since the last progress line and the time left. */
typedef struct train_clock {
    double start, mark;   /* run start; the last mark */
    size_t images, steps; /* since the last mark */
    int total;            /* steps of this process */
    double ips, sps;      /* images/s and steps/s at the last mark */
} train_clock;
void train_clock_start(train_clock *k);
/* One training step of `images` images. */
void train_clock_count(train_clock *k, size_t images);
/* Rates since the previous mark into ips/sps; returns the seconds since
 * the start. */
double train_clock_mark(train_clock *k);
/* Seconds left, at the last mark's step rate, after step b (0-based) of
 * epoch `epoch` (0-based) of `epochs` epochs of per_epoch steps. */
double train_clock_eta(const train_clock *k, int epochs, int epoch, size_t per_epoch, size_t b);

/* Ctrl-C sets a flag instead of killing the process. */
void train_catch_sigint(void);
int train_interrupted(void);
/* After the Ctrl-C checkpoint (saved: its status): prints where it is and
 * returns 130, or the failure's 1. */
int train_interrupt_exit(gan_ctx *c, gan_status saved, const char *ckpt);
/* The n doubles after fmt are the step's losses; when one is not finite,
 * prints "gancl train: [WHO: ]non-finite loss at step S (fmt); stopped[,
 * the last good checkpoint is CKPT]" and returns 1; else 0. */
int train_stop_nonfinite(const char *who, int step, const char *ckpt, int n, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* Print a progress line: a carriage-return line on a terminal, plain lines
 * otherwise (printf format). */
void train_progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* End a progress line before ordinary output. */
void train_progress_end(void);
/* Close the run's metrics log and draw the named series from it into
 * OUTDIR/curves.png (printing where); a missing or unreadable log only
 * means no curves. */
void train_finish_curves(gan_ctx *c, gan_jsonl **log, const char *outdir, const char *title,
                         const char *const *names, int n);
/* train_finish_curves, then DIR/report.md. */
void train_finish(gan_ctx *c, gan_jsonl **log, const tool_opts *o, const char *dir, const char *title,
                  const char *const *names, int n);
/* Print "gancl train: WHAT: <context error>" and return 1. */
int train_fail(gan_ctx *c, const char *what);
/* --init FILE: restore the networks in regs from a checkpoint or a PyTorch
 * state_dict (refused together with --resume); prints what went wrong and
 * returns 1, else 0 (also when --init is not given). */
int train_init_from(gan_ctx *c, const tool_opts *o, gan_params *const *regs, int nregs);

/* --resume takes the run's configuration from the checkpoint: a flag left
 * out gets the checkpoint's value, a flag given with another value is
 * refused. Settings: batch and seed (every mode on the loop but augment,
 * whose checkpoint batch includes the generated images), gan and cgan: ngf,
 * ndf, arch, lr, and gan's loss; classifier: labels_per_class, lr, beta1;
 * features: those and weight_decay, standardize, discriminator;
 * semi: labels, lr, beta1, beta2, g_lr, g_beta1, g_beta2, ema, unl_weight,
 * consistency, lr_decay_from.
 * All differences go in one message, each "KEY: checkpoint A, run B
 * (--FLAG)". Returns 0, or 1 after printing. */
int train_resume_config(gan_ctx *c, tool_opts *o);

/* The flag train_catch_sigint's handler sets, for gan_loop_run.interrupt. */
const volatile sig_atomic_t *train_interrupt_flag(void);
/* How gan_loop_train ended, for the user: a failure ("gancl train: training:
 * <error>") is 1; an interruption prints where the checkpoint is and is 130;
 * a non-finite loss prints "gancl train: [WHO: ]non-finite loss at step S
 * (loss_d nan, loss_g 0.7); stopped[, the last good checkpoint is CKPT]"
 * (naming a checkpoint only when one exists) and is 1; a finished run is 0. */
int train_loop_end(gan_ctx *c, gan_status st, const gan_loop_result *r, const char *who);

/* gan and cgan: --batch, --seed, --lr, --beta1, --ngf, --ndf and --arch
 * (checked by the option parser) into the run's, the model's and Adam's
 * settings. */
void train_dcgan_opts(const tool_opts *o, int *batch, uint64_t *seed, gan_dcgan_config *model,
                      gan_adam_params *adam);
/* gan and cgan: train_init_from into G and D. */
int train_init_gd(gan_ctx *c, const tool_opts *o, const gan_gen *g, gan_dcgan_d *d);
/* The parameters of G and D together. */
size_t train_count_gd(const gan_gen *g, const gan_dcgan_d *d);

/* The start of every train command: the context on --device, then *ro = *o
 * with --resume's settings for the flags left out (train_resume_config).
 * Returns the context, or NULL after printing (exit status 1). */
gan_ctx *train_open_ctx(const tool_opts *o, tool_opts *ro);
/* A run with what every mode takes from the options: epochs, log_every,
 * steps_per_epoch, outdir, overwrite, the Ctrl-C flag; and the mode, its
 * model and the progress callback. The rest (data, set, batch, seed,
 * config...) is the caller's. */
gan_loop_run train_run_init(const tool_opts *o, const gan_loop_mode *mode, void *model,
                            void (*on_event)(void *user, const gan_loop_event *e), void *user);
/* --resume FILE (nothing when resume is NULL): gan_loop_resume, then
 * "resumed from FILE at epoch E, step S" ("resumed the PHASE run from ..."
 * when phase is not NULL). Returns 0, or 1 after printing. */
int train_resume_run(gan_ctx *c, gan_loop_run *run, const char *resume, const char *phase);
/* Ctrl-C caught, gan_loop_train, and train_loop_end's exit status (0, 1, 130). */
int train_loop(gan_ctx *c, gan_loop_run *run, gan_loop_result *res, const char *who);
/* train_loop, then (when it finished) train_finish on run->outdir with the
 * named curves and "done: N steps in S s". Returns the exit status. */
int train_run(gan_ctx *c, gan_loop_run *run, const tool_opts *o, const char *title, const char *const *curves,
              int ncurves);

#endif
