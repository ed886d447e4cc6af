/* Shared declarations of the gancl command-line tool's subcommands. */
#ifndef GANCL_TOOL_H
#define GANCL_TOOL_H
#include "gancl/gancl.h"
int gancl_bench_ops(gan_ctx *dev, gan_ctx *ref, int batch, int reps, int skip_ref);
#endif
