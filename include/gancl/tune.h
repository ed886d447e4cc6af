/* Per-device GEMM tuning (src/ocl/tune.c, tune_file.c; `gancl tune`).
 *
 * gan_tune times CLBlast's GEMM under a small set of kernel parameter sets
 * (its defaults for the device first) and every own kernel of cl/gemm.cl
 * (each register shape) on a list of GEMM shapes, checks every result of
 * every parameter set and kernel on every shape against a plain
 * double-precision host GEMM (one that fails on any shape can never win),
 * and stores the CLBlast winner, the faster path and the fastest own kernel
 * per shape, and the best own kernels overall in the cache directory:
 *   $GANCL_CACHE_DIR, else $XDG_CACHE_HOME/gancl, else ~/.cache/gancl,
 *   file tune/<device name>-<driver version>.json.
 * Every later context on that device loads it: CLBlast gets the parameters
 * (CLBlastOverrideParameters, which holds for the whole process) and each
 * listed shape takes its path and own kernel; other shapes keep the device
 * default path (own kernels on CPU devices, CLBlast elsewhere) with the
 * file's best own kernels. GANCL_GEMM=own|clblast still forces one path,
 * GANCL_GEMM_TILE the own kernels; GANCL_TUNE=0 skips the file. A missing, corrupt or stale
 * file (other device or driver) leaves the defaults, and gan_tune_status
 * says why. */
#ifndef GANCL_TUNE_H
#define GANCL_TUNE_H

#include "gancl/gancl.h"

/* A GEMM as ocl_gemm_run sees it: C[M,N] = op(A)[M,K] op(B)[K,N], ta/tb
 * transposing A/B, over `batch` matrices. */
typedef struct gan_gemm_shape {
    int ta, tb, M, N, K, batch;
} gan_gemm_shape;

/* Start (on = 1, forgetting earlier shapes) or stop recording the distinct
 * GEMM shapes the context runs, so a tuner can tune exactly those. At most
 * GAN_GEMM_RECORD_MAX shapes are kept. */
#define GAN_GEMM_RECORD_MAX 256
gan_status gan_gemm_record(gan_ctx *c, int on);
/* The shapes recorded so far; returns their count. */
int gan_gemm_recorded(const gan_ctx *c, const gan_gemm_shape **shapes);

typedef struct gan_tune_opts {
    const gan_gemm_shape *shapes;
    int nshapes;
    int quick; /* two parameter sets only, for tests */
    int reps;  /* timed runs per shape and path, median kept (0: 3) */
    /* called (when not NULL) with one line after each step of the search */
    void (*progress)(void *arg, const char *line);
    void *progress_arg;
} gan_tune_opts;

/* The own GEMM kernels of cl/gemm.cl by name: register tiles MRxNR of
 * floatVW, "8x48f16" ... "6x8f4", and dot-product tiles for A B^T,
 * "dot4x4f16" ... Fills names[0 .. min(count, cap)); returns the count. */
#define GAN_GEMM_KERNELS_MAX 16
int gan_gemm_kernel_names(const char **names, int cap);

/* Time one GEMM shape on c (an OpenCL context): how = NULL as c runs it
 * (its path and kernel: device defaults, tune file, GANCL_GEMM and
 * GANCL_GEMM_TILE), "clblast" through CLBlast, or an own kernel's name (a
 * tile kernel for any layout, a dot kernel for ta 0 tb 1 only). Random
 * inputs; one untimed run whose C is checked against double host sums at 64
 * sampled elements (GAN_ERR_NUMERIC on a mismatch), then reps timed runs
 * (GEMM and clFinish): *ms gets the median wall time, *cpu_ms (when not
 * NULL) the median CPU time of the process over a run (all its threads,
 * the device's worker threads on a CPU driver; steadier than wall time on a
 * shared machine). ran, when not NULL, gets what ran: "own 8x48f16" or
 * "clblast". */
gan_status gan_gemm_time(gan_ctx *c, const gan_gemm_shape *s, const char *how, int reps, double *ms, double *cpu_ms,
                         char *ran, size_t rcap);

typedef struct gan_tune_shape {
    gan_gemm_shape s;
    double ms_default, ms_tuned, ms_own; /* median ms; < 0: failed validation */
    int own;                             /* 1: the own kernels run this shape */
    int kernel;                          /* the fastest valid own kernel (index into the report's kernels), -1 none */
    /* ms of each own kernel on this shape (one run when already 3x slower
     * than the best so far); 0: the kernel does not compute this layout,
     * < 0: it failed validation here */
    double ms_kernel[GAN_GEMM_KERNELS_MAX];
} gan_tune_shape;

typedef struct gan_tune_kernel {
    char name[16];
    int dot;     /* 1: an A B^T kernel */
    int valid;   /* matched the reference on every shape of its layout */
    int nshapes; /* shapes of its layout */
    double ms;   /* ms summed over them */
} gan_tune_kernel;

typedef struct gan_tune_cand {
    char desc[192]; /* the parameter set, in words */
    int valid;      /* matched the reference on every shape */
    double ms;      /* CLBlast ms summed over the shapes (valid sets only) */
    double score;   /* ms summed over shapes of the faster of this set and own */
} gan_tune_cand;

typedef struct gan_tune_report {
    gan_tune_shape *shapes;
    int nshapes;
    gan_tune_cand *cands;
    int ncands;
    int winner; /* index into cands; 0 is CLBlast's own defaults */
    gan_tune_kernel kernels[GAN_GEMM_KERNELS_MAX];
    int nkernels;
    /* the valid own kernels with the least summed ms, tile and dot, stored
     * as the defaults for shapes the file does not list; -1: none */
    int tile_default, dot_default;
    char path[4096];
    double seconds;
} gan_tune_report;

/* Tune for c's device (an OpenCL context) and store the result; on success
 * the context uses it at once and *r holds what was measured (free with
 * gan_tune_report_free). */
gan_status gan_tune(gan_ctx *c, const gan_tune_opts *o, gan_tune_report *r);
void gan_tune_report_free(gan_tune_report *r);
/* One line on how the context's GEMM tuning was loaded, e.g. "loaded
 * <file>: 40 shapes" or "ignored <file>: <why>; using defaults". */
const char *gan_tune_status(const gan_ctx *c);
/* What runs c's GEMMs, in one line for a user: "own kernels (cl/gemm.cl,
 * ...: 8x48f16 (8x48 register tiles of float16), ...)" or "CLBlast", which
 * own kernels and where they came from, what forced it (GANCL_GEMM) or
 * refines it (a tune file), and device quirks worked around (a loop cap);
 * "plain C loops" on the reference. Returns buf. */
const char *gan_gemm_describe(const gan_ctx *c, char *buf, size_t cap);
/* The GEMM paths run since the last call, as GAN_GEMM_RAN_* bits (0 on the
 * reference), and forget them. */
enum { GAN_GEMM_RAN_TILE = 1, GAN_GEMM_RAN_DOT = 2, GAN_GEMM_RAN_CLBLAST = 4 };
unsigned gan_gemm_ran(gan_ctx *c);
/* "own tile", "own dot+CLBlast", ... for such bits ("-" for none). */
const char *gan_gemm_ran_name(unsigned bits, char *buf, size_t cap);
/* The tune file for c's device. */
gan_status gan_tune_file(gan_ctx *c, char *buf, size_t cap);

/* Kernel profile: with GANCL_PROFILE=1 in the environment when the context
 * is created, every kernel launch (and CLBlast GEMM) is timed on the device
 * through its event (which serialises the queue: a tool for finding where
 * time goes, not for measuring speed). Writes one line per kernel, slowest
 * first, into buf; reset = 1 starts a new profile. */
size_t gan_ctx_profile(gan_ctx *c, char *buf, size_t cap, int reset);

#endif
