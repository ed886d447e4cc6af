/* What every `gancl train --mode ...` loop shares: the output directory,
 * the clock, Ctrl-C handling, the progress line and MNIST loading. */
#ifndef GANCL_TRAIN_COMMON_H
#define GANCL_TRAIN_COMMON_H

#include "gancl.h"
#include "gancl/data.h"

double train_now(void);
/* mkdir -p; prints the reason and returns -1 on failure. */
int train_outdir(const char *dir);
/* Ctrl-C sets a flag instead of killing the process. */
void train_catch_sigint(void);
int train_interrupted(void);
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
/* Print "gancl train: WHAT: <context error>" and return 1. */
int train_fail(gan_ctx *c, const char *what);

#endif
