/* The CLBlast parameter sets of GEMM tuning, shared by the search
 * (src/ocl/tune.c) and the tune file (src/ocl/tune_file.c). */
#ifndef GANCL_OCL_TUNE_PARAMS_H
#define GANCL_OCL_TUNE_PARAMS_H

#include "ocl.h"

#include "gancl/tune.h"

#define MAX_PARAMS 24
#define NKERNELS 3
/* The CLBlast kernels a candidate sets: Xgemm, XgemmDirect, GemmRoutine. */
extern const char *const ocl_tune_kernels[NKERNELS];

typedef struct pset {
    int n;
    char names[MAX_PARAMS][32];
    size_t vals[MAX_PARAMS];
} pset;

typedef struct cand {
    pset p[NKERNELS];
} cand;

/* CLBlast's tuner constraints for Xgemm (GEMMK 0) and XgemmDirect, and the
 * device's work-group and local memory limits: 1 when cd meets them. */
int ocl_tune_fits(gan_ctx *c, const cand *cd);
/* Make cd CLBlast's parameters for the context's device. */
gan_status ocl_tune_apply(gan_ctx *c, const cand *cd);
/* Read CLBlast's current parameters for the context's device into cd. */
gan_status ocl_tune_current(gan_ctx *c, cand *cd);
/* Write the tune file at path: the winner's CLBlast parameters and the
 * report's choices. */
gan_status ocl_tune_write(gan_ctx *c, const char *path, const cand *win, const gan_tune_report *r);

#endif
