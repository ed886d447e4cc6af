/* Test harness for gancl ops: paired tensors on the reference and the
 * device, element-wise comparison with stated tolerances, finite-difference
 * gradient checks on the reference, and TAP output for meson. */
#ifndef GANCL_TEST_HARNESS_H
#define GANCL_TEST_HARNESS_H

#include "gancl/gancl.h"

#include <stdio.h>
#include <stdlib.h>

typedef struct th {
    gan_ctx *ref;   /* always present */
    gan_ctx *dev;   /* NULL in reference-only runs (--ref) */
    int failures;   /* checks failed in the current test */
    uint64_t rng;   /* host generator for inputs (splitmix64) */
} th;

/* One logical tensor on both backends with identical contents. */
typedef struct tpair {
    gan_tensor r, d;
} tpair;

/* Print text as TAP diagnostics: every line prefixed with "# ". */
void th_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Record a failure with a message (printed as a TAP diagnostic). */
void th_fail(th *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Require GAN_OK; on failure records the context's error. Returns st. */
gan_status th_ok(th *t, gan_ctx *c, gan_status st, const char *what);
#define TH_OK(t, c, call) th_ok((t), (c), (call), #call)

/* Host random numbers for inputs, deterministic per test. */
void th_seed(th *t, uint64_t seed);
double th_uniform(th *t, double lo, double hi);
float *th_rand_host(th *t, size_t n, double lo, double hi); /* malloc'd */

/* Pairs: allocate (zeros), fill uniform in [lo, hi), or set from host data.
 * pairs are allocated on t->dev only when it exists. */
int tp_alloc(th *t, tpair *p, gan_dtype dt, int ndim, int d0, int d1, int d2, int d3);
int tp_rand(th *t, tpair *p, int ndim, int d0, int d1, int d2, int d3, double lo, double hi);
int tp_set(th *t, tpair *p, const void *host);
void tp_free(th *t, tpair *p);

/* A malloc'd host copy of a tensor (either backend). */
float *th_read(th *t, gan_ctx *c, const gan_tensor *x);

/* Compare device against reference: NaN/Inf positions first, then
 * |d - r| <= atol + rtol*|r| for every element; prints the first
 * mismatches (index, both values). Returns 0 when they agree.
 * A no-op (returning 0) in reference-only runs. */
int th_compare(th *t, const char *what, const tpair *p, double atol, double rtol);
/* The same for two host arrays (got vs want). */
int th_compare_host(th *t, const char *what, const float *got, const float *want, size_t n, double atol,
                    double rtol);
/* Bit-exact comparison of two 32-bit arrays. */
int th_compare_bits(th *t, const char *what, const void *got, const void *want, size_t n);

/* Finite-difference check on the reference. `loss(u)` runs the reference
 * forward and returns a scalar in double (typically sum(y * R) for a fixed
 * random R); `in` is the reference tensor being perturbed (host memory);
 * `grad` is the analytic d(loss)/d(in) (host, numel of in). Central
 * differences with step eps at up to `max_points` indices (all when
 * numel <= max_points); passes when |fd - g| <= atol + rtol*|fd|. */
int th_fd_check(th *t, const char *what, double (*loss)(void *u), void *u, gan_tensor *in, const float *grad,
                double eps, double atol, double rtol, int max_points);
/* Parameters after a few Adam steps on two backends: every element within
 * one step (atol step, rtol 1e-3), and at most 5% (or one) of them beyond a
 * tenth of a step. Adam moves each weight by about lr whatever its
 * gradient's size, so a gradient within rounding of zero (or a ReLU input
 * within rounding of its kink) can take the other sign on one backend and
 * move its weight by up to a step; a wrong gradient moves most elements by
 * whole steps. Returns the number of failures recorded. */
int th_compare_adam(th *t, const char *what, const float *got, const float *want, size_t n, double step);
/* sum(y .* R) in double, over reference tensors. */
double th_dot(const gan_tensor *y, const gan_tensor *R);

/* Every parameter, Adam moment and buffer of the registries, read to the
 * host in order (malloc'd; *n floats): for bit-exact state comparisons. */
struct gan_params;
float *th_state_snapshot(th *t, gan_ctx *c, struct gan_params *const *regs, int nregs, size_t *n);

/* Whether the bad call failed with status `want` and a non-empty message;
 * clears the context's error afterwards. */
int th_expect_error(th *t, gan_ctx *c, gan_status got, gan_status want, const char *what);

#endif
