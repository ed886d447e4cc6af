/* Library-internal declarations: the context, the backend table, error
 * helpers. Nothing here is part of the public API, and nothing here knows
 * OpenCL: the OpenCL backend's own declarations are in src/ocl/ocl.h. */
#ifndef GANCL_INTERNAL_H
#define GANCL_INTERNAL_H

#include "gancl/gancl.h"
#include "gancl/tune.h"

#include <stdarg.h>
#include <stdio.h>

/* One struct of function pointers per backend: its context, its memory,
 * then the ops generated from GAN_OP_LIST. A backend owns its memory, as
 * ggml's buffer interface does: a buffer is an opaque pointer (host memory
 * on the reference, a cl_mem on OpenCL) that a gan_tensor keeps in `data`,
 * and only the backend that made it reads, writes or frees it. Sizes are in
 * bytes. */
struct gan_backend_ops {
    const char *name;
    gan_backend_kind kind;
    /* Set up the backend on c: its state in c->be (NULL when it keeps
     * none), c->device_name. `free` releases it, also after an `init` that
     * failed part way. */
    gan_status (*init)(gan_ctx *c, const char *selector);
    void (*free)(gan_ctx *c);
    /* A buffer of `bytes` (> 0), its contents undefined; `what` names it in
     * errors ("a tensor [2, 3]"). */
    gan_status (*buf_alloc)(gan_ctx *c, size_t bytes, const char *what, void **out);
    void (*buf_free)(gan_ctx *c, void *buf);
    /* Blocking copies of the first `bytes` of buf from or to host memory. */
    gan_status (*buf_write)(gan_ctx *c, void *buf, const void *src, size_t bytes);
    gan_status (*buf_read)(gan_ctx *c, const void *buf, void *dst, size_t bytes);
    /* A copy of buf to host memory that runs after every command queued
     * before it and returns at once: dst must stay valid, and is complete
     * once event_wait(*ev) returns (which releases ev; event_release drops
     * one not waited for). NULL on a backend whose ops have finished when
     * they return (the reference). */
    gan_status (*buf_read_start)(gan_ctx *c, const void *buf, void *dst, size_t bytes, void **ev);
    /* Host memory for buf_read_start's dst that the device can copy to
     * without staging (OpenCL: a mapped CL_MEM_ALLOC_HOST_PTR buffer, the
     * pinned memory GPU drivers need for a copy to run asynchronously);
     * *handle is passed back to host_free. */
    gan_status (*host_alloc)(gan_ctx *c, size_t bytes, void **ptr, void **handle);
    void (*host_free)(gan_ctx *c, void *ptr, void *handle);
    gan_status (*event_wait)(gan_ctx *c, void *ev);
    void (*event_release)(gan_ctx *c, void *ev);
    /* The first `bytes` (a multiple of 4) of buf set to `value`. */
    gan_status (*buf_fill)(gan_ctx *c, void *buf, float value, size_t bytes);
    /* Wait until every command queued on the context has finished. */
    gan_status (*finish)(gan_ctx *c);
    /* The log of the backend's kernel build ("" when none). */
    const char *(*build_log)(const gan_ctx *c);
#define GAN_X_(name, params, args) gan_status(*name) params;
    GAN_OP_LIST(GAN_X_)
#undef GAN_X_
};

extern const struct gan_backend_ops gan_backend_ref;
extern const struct gan_backend_ops gan_backend_ocl;

#define GAN_X_(name, params, args) \
    gan_status ref_##name params;  \
    gan_status ocl_##name params;
GAN_OP_LIST(GAN_X_)
#undef GAN_X_

struct gan_ctx {
    const struct gan_backend_ops *ops; /* the backend: its kind, memory and ops */
    const char *cur_op; /* the op being run, named in error messages */
    char device_name[256];
    char err[8192];
    void *be; /* the backend's own state, made by ops->init; NULL on the reference */
    /* bytes held in tensors and workspace now, and the most ever held */
    size_t mem_now, mem_peak;
    /* host scratch for the reference backend, grown on demand */
    void *host_scratch;
    size_t host_scratch_bytes;
    struct gan_dist_state *dist; /* data-parallel training (src/train/dist.c); NULL: one process */
};

/* src/train/dist.c: the hooks of gan_params_adam and batch norm (*done =
 * 0: not sliced, the layer runs its own op). */
struct gan_params;
struct gan_nn_bn;
struct gan_param;
gan_status gan_dist_grads(gan_ctx *c, struct gan_params *reg);
/* A layer's backward has queued the final gradient of p (src/nn): under
 * data parallelism with overlap on, its copy to the host starts now, so
 * the allreduce of the last layers' gradients runs while the device
 * computes the earlier layers'. Whatever changes a gradient after its
 * backward calls it again. */
gan_status gan_dist_grad_ready(gan_ctx *c, struct gan_param *p);
gan_status gan_dist_bn_forward(gan_ctx *c, struct gan_nn_bn *l, const gan_tensor *x, int *done);
gan_status gan_dist_bn_backward(gan_ctx *c, struct gan_nn_bn *l, const gan_tensor *x, const gan_tensor *dy,
                                int *done);

/* Record an error (message "<fmt...> in op X at file:line") and return st.
 * Keeps the first error until gan_ctx_clear_error(). */
gan_status gan_fail(gan_ctx *c, gan_status st, const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 5, 6)))
#endif
    ;
#define GAN_FAIL(c, st, ...) gan_fail((c), (st), __FILE__, __LINE__, __VA_ARGS__)

/* Propagate a gan_status: TRY(expr) jumps to cleanup on failure. */
#define TRY(expr)                     \
    do {                              \
        st = (expr);                  \
        if (st != GAN_OK) goto cleanup; \
    } while (0)

/* Account for bytes taken (+) or given back (-) by tensors and workspace. */
void gan_mem_track(gan_ctx *c, long long delta);

/* Reference backend helpers. */
static inline float *ref_f(const gan_tensor *t) { return (float *)t->data; }
static inline int32_t *ref_i(const gan_tensor *t) { return (int32_t *)t->data; }
/* Host workspace of at least `bytes`, owned by the context. */
gan_status ref_scratch(gan_ctx *c, size_t bytes, void **out);

/* Cache files (src/ocl/program.c, free of OpenCL: the evaluator's cache
 * uses them too). */
/* gancl's cache directory ($GANCL_CACHE_DIR, $XDG_CACHE_HOME/gancl or
 * ~/.cache/gancl) joined with `sub`, created (mkdir -p) when mkdirs. */
gan_status ocl_cache_dir(gan_ctx *c, const char *sub, int mkdirs, char *buf, size_t cap);
/* A file name piece from free text: [A-Za-z0-9._-] kept, the rest '_'. */
void ocl_sanitize(const char *in, char *out, size_t cap);
/* Write a file atomically: a temporary next to it, fsync, rename. */
gan_status ocl_write_atomic(gan_ctx *c, const char *path, const void *data, size_t len);

/* Per-channel bias over y[N, O, S] (S = H*W, 1 for dense), shared by dense
 * and the convolutions: y += b; db = sum over N and S of dy. */
void ref_bias_add(float *y, const float *b, size_t N, size_t O, size_t S);
void ref_bias_grad(const float *dy, float *db, size_t N, size_t O, size_t S);

/* Shape helpers for argument checks (src/ops.c). */
int gan_same_shape(const gan_tensor *a, const gan_tensor *b);

/* A conditional generator's input (src/nn/generator.c), for the handles
 * and the cgan step: zin's first n rows = concat(z, onehot(labels)), the
 * one-hot codes staged in h_onehot[n*K] and written to onehot's first n
 * rows; *zin becomes that n-row view. A label outside 0..K-1 is
 * GAN_ERR_ARG. */
gan_status gan_onehot_concat(gan_ctx *c, const gan_tensor *z, const int32_t *labels, int n, int K, float *h_onehot,
                             gan_tensor *onehot, gan_tensor *zin);

/* The epoch's sample grid of the gan, cgan and semi modes of the training
 * loop (src/train/gan.c): n images of a generator handle in its own range,
 * image i from row i % sample_z's rows of the fixed noise sample_z (labels:
 * NULL, or one per image, which makes a row per class). */
struct gan_generator; /* include/gancl/generator.h */
gan_status gan_train_grid(gan_ctx *c, struct gan_generator *g, const gan_tensor *sample_z, int n, const int32_t *labels,
                          const char *path);

/* Shared by the gan and cgan trainers (src/train/gan.c). */
/* BCE/LSGAN targets: 1 in the first `ones` entries of t, 0 after them. */
gan_status gan_train_targets(gan_ctx *c, gan_tensor *t, int ones);
/* The real batch must be [N, 1, 28, 28]. */
gan_status gan_train_check_real(gan_ctx *c, const gan_tensor *real, int N);
/* x2 = [real; fake], D's input of 2N images, on the device. */
gan_status gan_train_join(gan_ctx *c, const gan_tensor *real, const gan_tensor *fake, gan_tensor *x2, int N);
/* Mean of the sigmoid of `rows` logits spaced `stride` floats apart. */
double gan_train_mean_sigmoid(const float *x, int rows, int stride);

#endif
