/* Data-parallel training (DESIGN.md: "Distributed training plugs into that
 * one loop"). The library holds no MPI: a caller attaches a communicator
 * table to a context (gan_dist_attach; tools/dist_mpi.c fills it from
 * MPI_COMM_WORLD), and the one training loop, the optimizer and the random
 * layers consult it:
 *
 * - the loop splits each global batch of G rows (the batch one process
 *   would take from the same shuffle) into contiguous slices, rank r taking
 *   rows [G*r/P, G*(r+1)/P), and marks the slice on the context for the
 *   step (gan_dist_shard);
 * - random draws indexed by row (noise z, dropout masks) take the stream
 *   positions of the rank's global rows and advance the stream past all G
 *   rows, so every rank draws exactly what one process draws for those
 *   rows and keeps the one process's stream position;
 * - gan_params_adam first sums every gradient of the network over the
 *   ranks, each weighted by its share of the rows (n/G), in one fused host
 *   buffer per network per step (one allreduce), so every rank applies the
 *   same Adam step to the same parameters;
 * - gan_dist_check compares a hash of every parameter and buffer (EMA
 *   averages, batch norm's running statistics, fixed weight-norm scales) of
 *   the networks the optimizer has stepped across the ranks and names the
 *   diverged rank.
 * - a pass over several concatenated batches (semi's [labeled; unlabeled;
 *   fake]) holds the rank's slice of each; its Gaussian noise and dropout
 *   draw each slice's rows at their global rows' stream positions;
 * - a loss of batch means (semi's feature matching) takes the global
 *   batch's means (gan_dist_mean) before the loss.
 *
 * - batch norm takes the global batch's statistics: the device reduces the
 *   rank's rows to per-channel sums (forward: of x, then of squared
 *   deviations from the global mean, batchnorm_sums; backward: of dy and
 *   dy * xhat, batchnorm_backward's dbeta and dgamma); only those C values
 *   a pass cross to the host, where they are summed over the ranks in
 *   double, and the global statistics go back to the device for the
 *   normalisation and dx (batchnorm_dx), so normalisation, running
 *   statistics and dx are the one process's up to float summation order
 *   and no activation tensor leaves the device. */
#ifndef GANCL_DIST_H
#define GANCL_DIST_H

#include "gancl/gancl.h"

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The collectives the library needs; each returns 0 on success. All ranks
 * must call them in the same order with the same n. */
typedef struct gan_dist_comm {
    int rank, size;
    int (*allreduce_f32)(void *user, float *buf, size_t n);   /* in place, sum */
    int (*allreduce_f64)(void *user, double *buf, size_t n);  /* in place, sum */
    int (*allreduce_u64_max)(void *user, unsigned long long *buf, size_t n); /* in place, max */
    int (*bcast)(void *user, void *buf, size_t bytes, int root);
    /* May be NULL. A rank whose step failed midway cannot meet the others'
     * next collective: the loop hands its message ("rank R: ...") here,
     * and the caller ends every rank (MPI_Abort). */
    void (*abort)(void *user, const char *msg);
    void *user;
} gan_dist_comm;

/* Attach comm to c (copied; comm->size >= 1). With size 1 nothing changes. */
gan_status gan_dist_attach(gan_ctx *c, const gan_dist_comm *comm);
void gan_dist_detach(gan_ctx *c);
/* Overlap the gradient allreduce with the backward: each layer's backward
 * starts the copy of its gradients to the host as it queues them, and the
 * optimizer sums them in buckets, the last layers' first, while the device
 * computes the rest. On by default where the backend copies
 * asynchronously (OpenCL; the reference computes on the calling thread, so
 * there is nothing to overlap). Returns whether it is on; results are the
 * same either way up to float summation order. */
int gan_dist_set_overlap(gan_ctx *c, int on);
/* 0 and 1 when none is attached. */
int gan_dist_rank(const gan_ctx *c);
int gan_dist_size(const gan_ctx *c);

/* The slice of a global batch of G rows this rank takes: rows [*row0,
 * *row0 + *rows). Marks it on c for the step's random draws and gradient
 * weighting (gan_dist_shard_end clears it). A slice of no rows (G < P) is
 * refused. Without a communicator: row0 0, rows G. */
gan_status gan_dist_shard(gan_ctx *c, int G, int *row0, int *rows);
void gan_dist_shard_end(gan_ctx *c);

/* Agree on a status: every rank passes its own; the result is GAN_OK when
 * all are, else the status of the lowest failing rank, whose message
 * ("rank R: ...") becomes every rank's error. */
gan_status gan_dist_agree(gan_ctx *c, gan_status st);

/* A step failed on this rank alone: comm->abort with "rank R: <error>". */
void gan_dist_fail(gan_ctx *c);

/* Sum n doubles over the ranks, each first multiplied by w (e.g. a rank's
 * share of the rows, for means). */
gan_status gan_dist_sum(gan_ctx *c, double *v, size_t n, double w);

/* Every rank's hash of every parameter and buffer of the networks the
 * optimizer has stepped equals rank 0's; else GAN_ERR_MISMATCH naming the
 * ranks and the step. */
gan_status gan_dist_check(gan_ctx *c, int step);

/* Bytes all-reduced since attach (gradients and loop scalars), and steps. */
typedef struct gan_dist_stats {
    unsigned long long grad_bytes, other_bytes, grad_calls;
    double grad_s; /* seconds in the gradient staging and allreduce */
    /* of grad_s, the seconds spent waiting for gradient copies the
     * backward started (the device still computing), and the gradient bytes
     * whose copies it started (overlap) */
    double grad_wait_s;
    /* of grad_s, the seconds after the device had finished the backward
     * (after the last wait): what the step pays for the sums */
    double grad_exposed_s;
    unsigned long long overlap_bytes;
    /* bytes the layers' hooks (batch norm's statistics, gan_dist_mean)
     * copied between the device and the host, both ways */
    unsigned long long stage_bytes;
} gan_dist_stats;
void gan_dist_get_stats(const gan_ctx *c, gan_dist_stats *out);

/* ---- hooks of the layers (src/nn) ---- */
/* The stream position for x's rows (dim 0 = the rank's rows): advances *r
 * past all G global rows and returns where the rank's first row draws;
 * *ok = 0 (and *r untouched) when no slice is active or x is not sliced. */
gan_status gan_dist_take(gan_ctx *c, gan_rng *r, const gan_tensor *x, int normal, gan_rng *at, int *ok);
/* The stream position for x's rows when sliced (gan_dist_take), else
 * gan_rng_take(r, x->numel, normal): for a mode's own row draws (noise z). */
gan_status gan_rng_take_rows(gan_ctx *c, gan_rng *r, const gan_tensor *x, int normal, gan_rng *at);
/* Dropout on x whose rows are k slices (k = x rows / the rank's rows; the
 * D step's [real; fake]); *done = 0 when no slice is active. */
gan_status gan_dist_dropout(gan_ctx *c, float p, gan_rng *r, const gan_tensor *x, gan_tensor *mask, gan_tensor *y,
                            int *done);
/* Gaussian noise y = x + std * N(0,1) on x whose rows are k slices (semi's
 * D pass [labeled; unlabeled; fake(; unlabeled)] and G pass [fake;
 * unlabeled]), each slice's rows drawn at their global rows' positions;
 * *done = 0 when no slice is active. */
gan_status gan_dist_noise(gan_ctx *c, float std, gan_rng *r, const gan_tensor *x, gan_tensor *y, int *done);
/* Whether a slice is active (the step's random draws go by global row). */
int gan_dist_sliced(const gan_ctx *c);
/* t holds a mean over the rank's rows: replaced by the mean over the global
 * batch (each rank's weighted by its share of the rows, summed in double);
 * unchanged when no slice is active. For a loss of batch means (semi's
 * feature matching), so every rank takes the one process's loss. */
gan_status gan_dist_mean(gan_ctx *c, gan_tensor *t);

#ifdef __cplusplus
}
#endif
#endif
