/* The run report: OUTDIR/report.md, written at the end of every training
 * command, readable as plain text or rendered markdown: the command line
 * and configuration, final metrics, curves and sample grids, and the
 * FID/IS scores once `gancl eval --json OUTDIR/scores.json` has run. */
#ifndef GANCL_REPORT_H
#define GANCL_REPORT_H

#include "tool.h"

/* Write OUTDIR/report.md from the options and what OUTDIR holds
 * (checkpoint.safetensors metadata, metrics.jsonl, *.png, scores.json).
 * Prints its path; a failure is a note on stderr, never fatal to a run. */
void report_write(gan_ctx *c, const tool_opts *o, const char *outdir);
/* Rewrite only the scores section of an existing OUTDIR/report.md. */
void report_refresh(gan_ctx *c, const char *outdir);

#endif
