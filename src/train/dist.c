/* Data-parallel training over a caller's communicator (include/gancl/
 * dist.h): the batch slice of a step, the row-indexed random draws, the
 * fused gradient allreduce before each Adam step, status agreement and the
 * parameter hash. No MPI here: the collectives come from the table. */
#include "gancl/dist.h"
#include "gancl/nn.h"
#include "internal.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DIST_MAX_REGS 8
/* Gradients are summed in buckets of about this many bytes, the last
 * layers' first (PyTorch DDP's first bucket is 1 MiB, its others 25 MiB). */
#define DIST_BUCKET_BYTES ((size_t)1 << 20)

struct gan_dist_state {
    gan_dist_comm comm;
    int G, row0, rows; /* the step's slice; rows 0: none active */
    unsigned char *hbuf; /* parameter bytes for the hash */
    size_t hbuf_n;
    float *bn; /* batch norm's per-channel host values */
    size_t bn_bytes;
    double *bn_sum;
    size_t bn_sum_bytes;
    gan_tensor bn_dev[2]; /* batch norm's per-channel device values */
    int bn_dev_n;
    gan_params *regs[DIST_MAX_REGS]; /* every network the optimizer stepped */
    int nregs;
    /* overlap: each network's gradients in their own host buffer (rstage,
     * parameter i at off[r][i]), and the copy gan_dist_grad_ready started
     * for each parameter since its last sum (NULL: none) */
    int overlap;
    float *rstage[DIST_MAX_REGS];
    void *rstage_h[DIST_MAX_REGS]; /* the backend's handles of rstage (host_alloc) */
    size_t off[DIST_MAX_REGS][GAN_MAX_PARAMS + 1];
    void *ev[DIST_MAX_REGS][GAN_MAX_PARAMS];
    gan_dist_stats stats;
};

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

gan_status gan_dist_attach(gan_ctx *c, const gan_dist_comm *comm)
{
    if (!comm || comm->size < 1 || comm->rank < 0 || comm->rank >= comm->size || !comm->allreduce_f32 ||
        !comm->allreduce_f64 || !comm->allreduce_u64_max || !comm->bcast)
        return GAN_FAIL(c, GAN_ERR_ARG, "dist: a communicator needs rank in 0..size-1 and every collective");
    gan_dist_detach(c);
    c->dist = calloc(1, sizeof *c->dist);
    if (!c->dist) return GAN_FAIL(c, GAN_ERR_NOMEM, "dist: out of memory");
    c->dist->comm = *comm;
    c->dist->overlap = c->ops->buf_read_start != NULL;
    return GAN_OK;
}

int gan_dist_set_overlap(gan_ctx *c, int on)
{
    if (!c || !c->dist) return 0;
    c->dist->overlap = on && c->ops->buf_read_start != NULL;
    return c->dist->overlap;
}

/* Drop the gradient copies network r started (every network's: r < 0). */
static void drop_copies(gan_ctx *c, int r)
{
    struct gan_dist_state *d = c->dist;
    for (int q = 0; q < d->nregs; q++)
        for (int i = 0; i < GAN_MAX_PARAMS && (r < 0 || q == r); i++)
            if (d->ev[q][i]) {
                c->ops->event_release(c, d->ev[q][i]);
                d->ev[q][i] = NULL;
            }
}

void gan_dist_detach(gan_ctx *c)
{
    if (!c || !c->dist) return;
    gan_ctx_finish(c); /* no copy may still write into the buffers freed here */
    drop_copies(c, -1);
    for (int r = 0; r < c->dist->nregs; r++) c->ops->host_free(c, c->dist->rstage[r], c->dist->rstage_h[r]);
    free(c->dist->hbuf);
    free(c->dist->bn);
    free(c->dist->bn_sum);
    gan_tensor_free(c, &c->dist->bn_dev[0]);
    gan_tensor_free(c, &c->dist->bn_dev[1]);
    free(c->dist);
    c->dist = NULL;
}

int gan_dist_rank(const gan_ctx *c) { return c && c->dist ? c->dist->comm.rank : 0; }
int gan_dist_size(const gan_ctx *c) { return c && c->dist ? c->dist->comm.size : 1; }

gan_status gan_dist_shard(gan_ctx *c, int G, int *row0, int *rows)
{
    if (!c->dist || c->dist->comm.size == 1) {
        *row0 = 0;
        *rows = G;
        return GAN_OK;
    }
    long long P = c->dist->comm.size, r = c->dist->comm.rank;
    int a = (int)((long long)G * r / P), b = (int)((long long)G * (r + 1) / P);
    if (b <= a)
        return GAN_FAIL(c, GAN_ERR_ARG, "a batch of %d rows split over %lld ranks leaves rank %lld none: use a batch "
                        "(and a training set whose last batch is) at least the number of ranks", G, P, r);
    *row0 = a;
    *rows = b - a;
    c->dist->G = G;
    c->dist->row0 = a;
    c->dist->rows = b - a;
    return GAN_OK;
}

void gan_dist_shard_end(gan_ctx *c)
{
    if (c->dist) c->dist->rows = 0;
}

static int active(const gan_ctx *c) { return c->dist && c->dist->comm.size > 1 && c->dist->rows > 0; }

gan_status gan_dist_agree(gan_ctx *c, gan_status st)
{
    if (!c->dist || c->dist->comm.size == 1) return st;
    gan_dist_comm *m = &c->dist->comm;
    /* the lowest failing rank: max over (P - rank) of the failing ones */
    unsigned long long v[2] = {st ? (unsigned long long)(m->size - m->rank) : 0, 0};
    if (m->allreduce_u64_max(m->user, v, 1))
        return GAN_FAIL(c, GAN_ERR_IO, "dist: the status allreduce failed");
    if (!v[0]) return GAN_OK;
    int root = m->size - (int)v[0];
    struct {
        int st;
        char msg[4096];
    } b;
    memset(&b, 0, sizeof b);
    if (m->rank == root) {
        b.st = st;
        snprintf(b.msg, sizeof b.msg, "rank %d: %s", root, gan_ctx_error(c));
    }
    if (m->bcast(m->user, &b, sizeof b, root)) return GAN_FAIL(c, GAN_ERR_IO, "dist: the status broadcast failed");
    gan_ctx_clear_error(c);
    snprintf(c->err, sizeof c->err, "%s", b.msg);
    return (gan_status)b.st;
}

void gan_dist_fail(gan_ctx *c)
{
    if (!c->dist || c->dist->comm.size == 1 || !c->dist->comm.abort) return;
    char msg[4200];
    snprintf(msg, sizeof msg, "rank %d: %s", c->dist->comm.rank, gan_ctx_error(c));
    c->dist->comm.abort(c->dist->comm.user, msg);
}

gan_status gan_dist_sum(gan_ctx *c, double *v, size_t n, double w)
{
    if (!c->dist || c->dist->comm.size == 1) return GAN_OK;
    for (size_t i = 0; i < n; i++) v[i] *= w;
    c->dist->stats.other_bytes += n * sizeof *v;
    if (c->dist->comm.allreduce_f64(c->dist->comm.user, v, n))
        return GAN_FAIL(c, GAN_ERR_IO, "dist: allreduce of %zu values failed", n);
    return GAN_OK;
}

static gan_status grow(gan_ctx *c, void **buf, size_t *have, size_t bytes)
{
    if (*have >= bytes) return GAN_OK;
    void *p = realloc(*buf, bytes);
    if (!p) return GAN_FAIL(c, GAN_ERR_NOMEM, "dist: %zu bytes of staging", bytes);
    *buf = p;
    *have = bytes;
    return GAN_OK;
}

/* The network's index among the registered ones, registering it (with
 * its own host buffer) when new. */
static gan_status reg_index(gan_ctx *c, gan_params *reg, int *out)
{
    struct gan_dist_state *d = c->dist;
    *out = -1;
    for (int r = 0; r < d->nregs; r++)
        if (d->regs[r] == reg) {
            *out = r;
            return GAN_OK;
        }
    if (d->nregs == DIST_MAX_REGS)
        return GAN_FAIL(c, GAN_ERR_ARG, "dist: more than %d networks stepped by one optimizer", DIST_MAX_REGS);
    int r = d->nregs;
    size_t at = 0;
    for (int i = 0; i < reg->n; i++) {
        d->off[r][i] = at;
        at += reg->p[i]->g.numel;
    }
    d->off[r][reg->n] = at;
    void *h, *ptr;
    gan_status st = c->ops->host_alloc(c, at * sizeof(float), &ptr, &h);
    if (st) return st;
    d->rstage[r] = ptr;
    d->rstage_h[r] = h;
    d->regs[d->nregs++] = reg;
    *out = r;
    return GAN_OK;
}

gan_status gan_dist_grad_ready(gan_ctx *c, gan_param *p)
{
    if (!active(c) || !c->dist->overlap) return GAN_OK;
    struct gan_dist_state *d = c->dist;
    for (int r = 0; r < d->nregs; r++) /* a network's first step has no buffer yet: summed after its backward */
        for (int i = 0; i < d->regs[r]->n; i++) {
            if (d->regs[r]->p[i] != p) continue;
            /* a later copy supersedes an earlier one: the queue runs them in order */
            if (d->ev[r][i]) c->ops->event_release(c, d->ev[r][i]);
            d->ev[r][i] = NULL;
            return c->ops->buf_read_start(c, p->g.data, d->rstage[r] + d->off[r][i], p->g.numel * 4, &d->ev[r][i]);
        }
    return GAN_OK;
}

/* Called by gan_params_adam before the step: sum the network's gradients
 * over the ranks, weighted by each rank's share of the rows. In buckets of
 * about DIST_BUCKET_BYTES, last parameters first: with overlap, the
 * backward started each gradient's copy as it finished
 * (gan_dist_grad_ready), so while the host sums the last layers' bucket
 * the device still computes the first layers' gradients; a parameter whose
 * copy was not started is read here. */
gan_status gan_dist_grads(gan_ctx *c, gan_params *reg);
gan_status gan_dist_grads(gan_ctx *c, gan_params *reg)
{
    if (!active(c)) return GAN_OK;
    struct gan_dist_state *d = c->dist;
    double t0 = now_s(), waited = 0, last = t0; /* last: when the last wait for the device ended */
    int r;
    gan_status st = reg_index(c, reg, &r);
    if (st) return st;
    float *stage = d->rstage[r];
    const size_t *off = d->off[r];
    size_t n = gan_params_count(reg);
    if (!d->overlap) { /* the backward to its end first, timed as the wait */
        double a = now_s();
        if ((st = gan_ctx_finish(c))) return st;
        last = now_s();
        waited = last - a;
    }
    float w = (float)((double)d->rows / (double)d->G);
    for (int hi = reg->n; hi > 0 && !st;) {
        int lo = hi - 1;
        while (lo > 0 && (off[hi] - off[lo]) * sizeof(float) < DIST_BUCKET_BYTES) lo--;
        for (int i = lo; i < hi && !st; i++) {
            void **ev = &d->ev[r][i];
            if (*ev) {
                double a = now_s();
                st = c->ops->event_wait(c, *ev);
                *ev = NULL;
                last = now_s();
                waited += last - a;
                d->stats.overlap_bytes += reg->p[i]->g.numel * 4;
            } else {
                st = gan_tensor_read(c, &reg->p[i]->g, stage + off[i]);
            }
        }
        if (st) break;
        size_t a = off[lo], m = off[hi] - off[lo];
        for (size_t k = a; k < a + m; k++) stage[k] *= w;
        if (d->comm.allreduce_f32(d->comm.user, stage + a, m))
            st = GAN_FAIL(c, GAN_ERR_IO, "dist: gradient allreduce of %zu values failed", m);
        hi = lo;
    }
    for (int i = 0; i < reg->n && !st; i++) st = gan_tensor_write(c, &reg->p[i]->g, stage + off[i]);
    if (st) {
        drop_copies(c, r); /* a failed step */
        return st;
    }
    d->stats.grad_bytes += n * sizeof(float);
    d->stats.grad_calls++;
    d->stats.grad_s += now_s() - t0;
    d->stats.grad_wait_s += waited;
    d->stats.grad_exposed_s += now_s() - last;
    return GAN_OK;
}

/* FNV-1a, 64 bits */
static unsigned long long fnv(unsigned long long h, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ULL;
    return h;
}

gan_status gan_dist_check(gan_ctx *c, int step)
{
    if (!c->dist || c->dist->comm.size == 1) return GAN_OK;
    struct gan_dist_state *d = c->dist;
    unsigned long long h = 0xcbf29ce484222325ULL;
    gan_status st = GAN_OK;
    for (int r = 0; r < d->nregs; r++) {
        const gan_params *reg = d->regs[r];
        for (int i = 0; i < reg->n + reg->nbuf; i++) {
            const gan_tensor *w = i < reg->n ? &reg->p[i]->w : reg->buf[i - reg->n].t;
            size_t bytes = w->numel * 4; /* F32 or I32 */
            if ((st = grow(c, (void **)&d->hbuf, &d->hbuf_n, bytes)) || (st = gan_tensor_read(c, w, d->hbuf)))
                return st;
            h = fnv(h, d->hbuf, bytes);
        }
    }
    /* rank 0's hash to all; every rank reports whether it differs */
    unsigned long long h0 = h;
    if (d->comm.bcast(d->comm.user, &h0, sizeof h0, 0)) return GAN_FAIL(c, GAN_ERR_IO, "dist: hash broadcast failed");
    unsigned long long bad[1] = {h != h0 ? (unsigned long long)(d->comm.size - d->comm.rank) : 0};
    if (d->comm.allreduce_u64_max(d->comm.user, bad, 1)) return GAN_FAIL(c, GAN_ERR_IO, "dist: hash allreduce failed");
    d->stats.other_bytes += 2 * sizeof h;
    if (bad[0])
        return GAN_FAIL(c, GAN_ERR_MISMATCH, "ranks diverged: the parameters or buffers of rank %d differ from rank 0's "
                        "after step %d (%d networks hashed); every rank must run the same backend and device kind",
                        d->comm.size - (int)bad[0], step, d->nregs);
    return GAN_OK;
}

void gan_dist_get_stats(const gan_ctx *c, gan_dist_stats *out)
{
    if (c && c->dist)
        *out = c->dist->stats;
    else
        memset(out, 0, sizeof *out);
}

/* Draws of element i come from block counter + i/per (per = 4 uniform, 2
 * normal), so a row slice starts at a whole block only when its first
 * element is a multiple of per. */
static gan_status seg_at(gan_ctx *c, gan_rng base, size_t first, int per, gan_rng *at)
{
    if (first % (size_t)per)
        return GAN_FAIL(c, GAN_ERR_ARG, "dist: a rank's rows start at draw %zu, not at a whole Philox block of %d "
                        "draws: choose a batch or widths whose rows have a multiple of %d elements", first, per, per);
    *at = (gan_rng){.seed = base.seed, .counter = base.counter + first / (size_t)per};
    return GAN_OK;
}

gan_status gan_dist_take(gan_ctx *c, gan_rng *r, const gan_tensor *x, int normal, gan_rng *at, int *ok)
{
    *ok = 0;
    if (!active(c) || x->dim[0] != c->dist->rows) return GAN_OK;
    struct gan_dist_state *d = c->dist;
    size_t R = x->numel / (size_t)x->dim[0];
    gan_rng base = *r;
    gan_status st = seg_at(c, base, (size_t)d->row0 * R, normal ? 2 : 4, at);
    if (st) return st;
    gan_rng_take(r, (size_t)d->G * R, normal);
    *ok = 1;
    return GAN_OK;
}

/* x's rows are k slices of the rank's n rows (a pass over several
 * concatenated batches: the D step's [real; fake], semi's [labeled;
 * unlabeled; fake; ...]); slice s holds global rows s*G + row0 ... of the
 * one process's pass. Each slice runs op over the first (s+1)n local rows
 * at the stream position that gives local row s*n that global row's draws,
 * last slice first, so each earlier slice then overwrites its rows with its
 * own draws (the ops read x and write only their outputs); the stream then
 * moves past all k*G rows. */
typedef gan_status (*slice_op)(gan_ctx *c, void *user, int rows, gan_rng at);

static gan_status slices(gan_ctx *c, gan_rng *r, const gan_tensor *x, int normal, slice_op op, void *user)
{
    struct gan_dist_state *d = c->dist;
    int n = d->rows, k = x->dim[0] / n;
    if (k < 1 || k * n != x->dim[0])
        return GAN_FAIL(c, GAN_ERR_SHAPE, "dist: random draws over %d rows, not whole slices of the rank's %d",
                        x->dim[0], n);
    size_t R = x->numel / (size_t)x->dim[0];
    gan_rng base = *r;
    gan_status st = GAN_OK;
    for (int s = k - 1; s >= 0; s--) {
        gan_rng at;
        size_t first = ((size_t)s * (size_t)d->G + (size_t)d->row0 - (size_t)s * (size_t)n) * R;
        if ((st = seg_at(c, base, first, normal ? 2 : 4, &at)) || (st = op(c, user, (s + 1) * n, at))) return st;
    }
    gan_rng_take(r, (size_t)k * (size_t)d->G * R, normal);
    return GAN_OK;
}

struct rows_op {
    float p;
    const gan_tensor *x;
    gan_tensor *mask, *y;
};

static gan_status dropout_rows(gan_ctx *c, void *user, int rows, gan_rng at)
{
    struct rows_op *o = user;
    gan_tensor xs, ms, ys;
    gan_status st;
    if ((st = gan_tensor_narrow(c, o->x, rows, &xs)) || (st = gan_tensor_narrow(c, o->mask, rows, &ms)) ||
        (st = gan_tensor_narrow(c, o->y, rows, &ys)))
        return st;
    return gan_dropout_forward(c, o->p, at, &xs, &ms, &ys);
}

static gan_status noise_rows(gan_ctx *c, void *user, int rows, gan_rng at)
{
    struct rows_op *o = user;
    gan_tensor xs, ys;
    gan_status st;
    if ((st = gan_tensor_narrow(c, o->x, rows, &xs)) || (st = gan_tensor_narrow(c, o->y, rows, &ys))) return st;
    return gan_noise_forward(c, o->p, at, &xs, &ys);
}

gan_status gan_dist_dropout(gan_ctx *c, float p, gan_rng *r, const gan_tensor *x, gan_tensor *mask, gan_tensor *y,
                            int *done)
{
    *done = 0;
    if (!active(c)) return GAN_OK;
    struct rows_op o = {p, x, mask, y};
    gan_status st = slices(c, r, x, 0, dropout_rows, &o);
    *done = st == GAN_OK;
    return st;
}

gan_status gan_dist_noise(gan_ctx *c, float std, gan_rng *r, const gan_tensor *x, gan_tensor *y, int *done)
{
    *done = 0;
    if (!active(c)) return GAN_OK;
    struct rows_op o = {std, x, NULL, y};
    gan_status st = slices(c, r, x, 1, noise_rows, &o);
    *done = st == GAN_OK;
    return st;
}

int gan_dist_sliced(const gan_ctx *c) { return active(c); }

gan_status gan_rng_take_rows(gan_ctx *c, gan_rng *r, const gan_tensor *x, int normal, gan_rng *at)
{
    int ok = 0;
    gan_status st = gan_dist_take(c, r, x, normal, at, &ok);
    if (!st && !ok) *at = gan_rng_take(r, x->numel, normal);
    return st;
}

/* ---- batch norm over the global batch ----
 * The device reduces the rank's rows to per-channel sums (batchnorm_sums,
 * and batchnorm_backward's dgamma and dbeta); only those C values per pass
 * cross to the host, are summed over the ranks in double and go back as
 * per-channel statistics: forward, the sum of x and the row count, then
 * the sum of squared deviations from the global mean (the reference's two
 * passes); backward, sum(dy) and sum(dy * xhat), each rank's weighted by
 * its share s = rows/G of the loss (as its gradients are). With gradients
 * in the rank's own scale (its loss is a mean over its rows), the global
 * derivative in that scale is
 *   dx = gamma * invstd * (dy - A/(s M) - xhat * B/(s M)),
 * A = sum_r s_r sum(dy), B = sum_r s_r sum(dy xhat), M the global count
 * (batchnorm_dx with those two means); with one rank it is the
 * reference's. The normalisation is batchnorm_forward's inference pass
 * over the global mean and variance. */

static gan_status bn_host(gan_ctx *c, size_t floats, size_t doubles)
{
    struct gan_dist_state *d = c->dist;
    gan_status st = grow(c, (void **)&d->bn, &d->bn_bytes, floats * sizeof(float));
    if (!st) st = grow(c, (void **)&d->bn_sum, &d->bn_sum_bytes, doubles * sizeof(double));
    return st;
}

/* Device <-> host copies of the hooks, counted in stats.stage_bytes. */
static gan_status stage_read(gan_ctx *c, const gan_tensor *t, void *h)
{
    c->dist->stats.stage_bytes += t->numel * 4;
    return gan_tensor_read(c, t, h);
}

static gan_status stage_write(gan_ctx *c, gan_tensor *t, const void *h)
{
    c->dist->stats.stage_bytes += t->numel * 4;
    return gan_tensor_write(c, t, h);
}

/* Two device vectors of C floats (views of the state's buffers, grown to
 * the widest batch norm seen; the first step of a run allocates them). */
static gan_status bn_dev(gan_ctx *c, int C, gan_tensor *a, gan_tensor *b)
{
    struct gan_dist_state *d = c->dist;
    gan_status st = GAN_OK;
    if (d->bn_dev_n < C) {
        gan_tensor_free(c, &d->bn_dev[0]);
        gan_tensor_free(c, &d->bn_dev[1]);
        d->bn_dev_n = 0;
        if ((st = gan_tensor_alloc(c, &d->bn_dev[0], GAN_F32, 1, &C)) ||
            (st = gan_tensor_alloc(c, &d->bn_dev[1], GAN_F32, 1, &C)))
            return st;
        d->bn_dev_n = C;
    }
    if (!(st = gan_tensor_narrow(c, &d->bn_dev[0], C, a))) st = gan_tensor_narrow(c, &d->bn_dev[1], C, b);
    return st;
}

/* A mean over the rank's rows to the global batch's (semi's feature
 * matching), through batch norm's host staging. */
gan_status gan_dist_mean(gan_ctx *c, gan_tensor *t)
{
    if (!active(c)) return GAN_OK;
    struct gan_dist_state *d = c->dist;
    size_t n = t->numel;
    gan_status st = bn_host(c, n, n);
    if (st) return st;
    float *h = d->bn;
    double *v = d->bn_sum;
    if ((st = stage_read(c, t, h))) return st;
    for (size_t i = 0; i < n; i++) v[i] = h[i];
    if ((st = gan_dist_sum(c, v, n, (double)d->rows / (double)d->G))) return st;
    for (size_t i = 0; i < n; i++) h[i] = (float)v[i];
    return stage_write(c, t, h);
}

gan_status gan_dist_bn_forward(gan_ctx *c, gan_nn_bn *l, const gan_tensor *x, int *done)
{
    *done = 0;
    if (!active(c)) return GAN_OK;
    struct gan_dist_state *d = c->dist;
    size_t N = (size_t)x->dim[0], C = (size_t)x->dim[1], S = x->numel / (N * C);
    gan_tensor sums, var;
    gan_status st = bn_host(c, 5 * C, 2 * C + 1);
    if (!st) st = bn_dev(c, (int)C, &sums, &var);
    if (st) return st;
    float *h = d->bn, *rm = h + C, *rv = rm + C, *sm = rv + C, *si = sm + C;
    double *sum = d->bn_sum;
    if ((st = gan_batchnorm_sums(c, x, NULL, &sums)) || (st = stage_read(c, &sums, h))) return st;
    for (size_t ch = 0; ch < C; ch++) sum[ch] = h[ch];
    sum[C] = (double)(N * S);
    if ((st = gan_dist_sum(c, sum, C + 1, 1.0))) return st;
    double M = sum[C];
    for (size_t ch = 0; ch < C; ch++) sum[C + 1 + ch] = sum[ch] / M; /* the means, then the squares' sums */
    double *mean = sum + C + 1;
    for (size_t ch = 0; ch < C; ch++) sm[ch] = (float)mean[ch];
    if ((st = stage_write(c, &l->save_mean, sm)) || (st = gan_batchnorm_sums(c, x, &l->save_mean, &sums)) ||
        (st = stage_read(c, &sums, h)))
        return st;
    for (size_t ch = 0; ch < C; ch++) sum[ch] = h[ch];
    if ((st = gan_dist_sum(c, sum, C, 1.0))) return st;
    if ((st = stage_read(c, &l->run_mean, rm)) || (st = stage_read(c, &l->run_var, rv))) return st;
    double mom = l->p.momentum;
    for (size_t ch = 0; ch < C; ch++) {
        double v = sum[ch] / M;
        h[ch] = (float)v;
        si[ch] = (float)(1.0 / sqrt(v + (double)l->p.eps));
        rm[ch] = (float)((1.0 - mom) * rm[ch] + mom * mean[ch]);
        rv[ch] = (float)((1.0 - mom) * rv[ch] + mom * v * M / (M - 1));
    }
    gan_bn_params p = l->p;
    p.training = 0;
    if ((st = stage_write(c, &var, h)) || (st = stage_write(c, &l->save_invstd, si)) ||
        (st = gan_batchnorm_forward(c, x, &l->gamma.w, &l->beta.w, &l->save_mean, &var, NULL, NULL, &l->y, &p)) ||
        (st = stage_write(c, &l->run_mean, rm)) || (st = stage_write(c, &l->run_var, rv)))
        return st;
    *done = 1;
    return GAN_OK;
}

gan_status gan_dist_bn_backward(gan_ctx *c, gan_nn_bn *l, const gan_tensor *x, const gan_tensor *dy, int *done)
{
    *done = 0;
    if (!active(c)) return GAN_OK;
    struct gan_dist_state *d = c->dist;
    size_t N = (size_t)x->dim[0], C = (size_t)x->dim[1], S = x->numel / (N * C);
    gan_tensor mdy, mdyx;
    gan_status st = bn_host(c, 2 * C, 2 * C + 1);
    if (!st) st = bn_dev(c, (int)C, &mdy, &mdyx);
    if (st) return st;
    float *dg = d->bn, *db = dg + C;
    double *sum = d->bn_sum;
    /* the rank's parameter gradients (summed with the others' in the
     * optimizer) are its partial sums */
    if ((st = gan_batchnorm_backward(c, x, &l->gamma.w, &l->save_mean, &l->save_invstd, dy, NULL, &l->gamma.g,
                                     &l->beta.g)) ||
        (st = stage_read(c, &l->gamma.g, dg)) || (st = stage_read(c, &l->beta.g, db)))
        return st;
    for (size_t ch = 0; ch < C; ch++) {
        sum[ch] = db[ch];
        sum[C + ch] = dg[ch];
    }
    double share = (double)d->rows / (double)d->G;
    /* the count unweighted: pre-divide so that the weighting restores it */
    sum[2 * C] = (double)(N * S) / share;
    if ((st = gan_dist_sum(c, sum, 2 * C + 1, share))) return st;
    double sM = share * sum[2 * C];
    for (size_t ch = 0; ch < C; ch++) {
        db[ch] = (float)(sum[ch] / sM);
        dg[ch] = (float)(sum[C + ch] / sM);
    }
    if ((st = stage_write(c, &mdy, db)) || (st = stage_write(c, &mdyx, dg)) ||
        (st = gan_batchnorm_dx(c, x, &l->gamma.w, &l->save_mean, &l->save_invstd, dy, &mdy, &mdyx, &l->dx)))
        return st;
    *done = 1;
    return GAN_OK;
}
