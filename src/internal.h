/* Library-internal declarations: the context, the op table, error helpers.
 * Nothing here is part of the public API. */
#ifndef GANCL_INTERNAL_H
#define GANCL_INTERNAL_H

#include "gancl/gancl.h"
#include "gancl/tune.h"

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

#include <stdarg.h>
#include <stdio.h>

/* One struct of function pointers per backend, generated from GAN_OP_LIST. */
struct gan_backend_ops {
    const char *name;
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

typedef struct ocl_kernel_entry {
    char name[64];
    cl_kernel k;
    /* what the compiled kernel allows, read at its first launch: the
     * largest work-group (CL_KERNEL_WORK_GROUP_SIZE), the work-group size it
     * requires (reqd_work_group_size; zeros when none) and the local memory
     * it declares itself */
    int queried;
    size_t wg_max, reqd[3];
    cl_ulong local_static;
} ocl_kernel_entry;

typedef struct ocl_state {
    cl_platform_id platform;
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;
    cl_program program;
    ocl_kernel_entry *kernels; /* every kernel of the program, by name */
    int nkernels;
    cl_mem scratch; /* workspace (im2col columns, ...), grown on demand */
    size_t scratch_bytes;
    /* device limits, read at context creation: every launch and buffer
     * stays within them (src/ocl/runtime.c) */
    cl_device_type dev_type;
    size_t max_wg, max_item[3];
    cl_ulong local_mem, max_alloc;
    char *build_log; /* the driver's log of the program build ("" when none) */
    int gemm_own; /* GEMM path (src/ocl/gemm.c): 1 cl/gemm.cl kernels, 0 CLBlast */
    int gemm_forced; /* GANCL_GEMM chose gemm_own: per-shape tuning is ignored */
    /* loop trips a kernel may make before the driver ends its loops (0: no
     * limit found; llvmpipe: 65535), probed at context creation */
    int loop_cap;
    /* the own GEMM kernels' register shapes (src/ocl/gemm.c's list), each an
     * index + 1, 0 for none: the device's defaults (by its float vector
     * width), those GANCL_GEMM_TILE forces, those the tune file names */
    int gemm_tile_dev, gemm_dot_dev, gemm_tile_env, gemm_dot_env, tune_tile, tune_dot;
    unsigned gemm_ran; /* GAN_GEMM_RAN_* bits since gan_gemm_ran() */
    /* program binary cache (src/ocl/runtime.c): 0 off or unusable, 1 built
     * from source and stored, 2 built from the stored binary */
    int program_cache;
    /* per-shape paths from the tune file (src/ocl/tune.c) */
    gan_gemm_shape *tune_shapes;
    unsigned char *tune_own;
    unsigned char *tune_kernel; /* per shape: the own kernel, index + 1 (0: the default) */
    int ntune;
    char tune_note[512]; /* how the tune file was loaded (gan_tune_status) */
    /* GANCL_PROFILE=1: every launch timed through its event, by kernel */
    int profile, nprof;
    struct ocl_prof { char name[64]; double ms; long calls; } prof[128];
    /* GEMM shapes recorded for the tuner (gan_gemm_record) */
    int recording, nrec;
    gan_gemm_shape rec[GAN_GEMM_RECORD_MAX];
} ocl_state;

struct gan_ctx {
    gan_backend_kind kind;
    const struct gan_backend_ops *ops;
    const char *cur_op; /* the op being run, named in error messages */
    char device_name[256];
    char err[8192];
    ocl_state ocl;
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
gan_status gan_dist_grads(gan_ctx *c, struct gan_params *reg);
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

/* Check an OpenCL call: CL_CHECK(c, clFinish, (queue)). Needs `gan_status st`
 * and a `cleanup:` label in scope. */
const char *ocl_error_name(cl_int err);
const char *clblast_status_name(int status);
#define CL_CHECK(c, fn, args)                                                                   \
    do {                                                                                        \
        cl_int cl_err_ = fn args;                                                               \
        if (cl_err_ != CL_SUCCESS) {                                                            \
            st = gan_fail((c), GAN_ERR_OPENCL, __FILE__, __LINE__, "%s: %s (%d)", #fn,          \
                          ocl_error_name(cl_err_), (int)cl_err_);                               \
            goto cleanup;                                                                       \
        }                                                                                       \
    } while (0)
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

/* OpenCL backend helpers. */
static inline cl_mem ocl_mem(const gan_tensor *t) { return (cl_mem)t->data; }
gan_status ocl_kernel(gan_ctx *c, const char *name, cl_kernel *out);
/* Launch kernel `name` over a 1-D range of n work-items (rounded up to the
 * work-group size of ocl_local_size; kernels guard gid < n). fmt names each
 * argument:
 *   T gan_tensor* (its cl_mem; NULL allowed), M cl_mem, i int, u uint32_t,
 *   l uint64_t (as cl_ulong), f float (passed as double), L local memory
 *   bytes (size_t). */
gan_status ocl_run(gan_ctx *c, const char *name, size_t n, const char *fmt, ...);
/* Same with explicit global/local sizes (local NULL: the driver's choice, or
 * the size the kernel requires). Each global size is rounded up to a
 * multiple of the local one (so kernels guard their index); a zero global
 * size launches nothing. A local size beyond the kernel's or the device's
 * work-group limits, or local memory beyond the device's, is
 * GAN_ERR_DEVICE_LIMIT; a kernel shaped for CPUs (reqd_work_group_size(1,
 * 1, 1)) on a device that is not a CPU is GAN_ERR_UNSUPPORTED. */
gan_status ocl_run_nd(gan_ctx *c, const char *name, cl_uint dims, const size_t *global,
                      const size_t *local, const char *fmt, ...);
/* The 1-D work-group size ocl_run uses for kernel `name`: 64, or less where
 * the kernel, the device or its first work-item dimension allows less (the
 * size the kernel requires, if it requires one). */
gan_status ocl_local_size(gan_ctx *c, const char *name, size_t *out);
/* Work-group size for a tree reduction in kernel `name` with one float of
 * local memory per work-item: a power of two, at most 256, within the
 * device's and the compiled kernel's limits (local memory included), and no
 * larger than needed for n values (SIZE_MAX: as large as allowed). */
gan_status ocl_reduce_wg(gan_ctx *c, const char *name, size_t n, size_t *out);
/* Whether kernels shaped for CPU devices (reqd_work_group_size(1, 1, 1):
 * cl/gemm.cl's) may run on the context's device: only on a CPU device. */
int ocl_cpu_kernels_ok(const gan_ctx *c);
/* GAN_ERR_DEVICE_LIMIT unless one buffer of `bytes` fits the device's
 * CL_DEVICE_MAX_MEM_ALLOC_SIZE; `what` names the buffer in the message. */
gan_status ocl_check_alloc(gan_ctx *c, size_t bytes, const char *what);
/* Device workspace of at least `bytes`, owned by the context. */
gan_status ocl_scratch(gan_ctx *c, size_t bytes, cl_mem *out);

/* The one GEMM wrapper on the device (src/ocl/gemm.c), row-major:
 * C[M,N] (ldc) = alpha * op(A) op(B) + beta * C, with element offsets.
 * batch > 1 runs a strided batch with strides sa, sb, sc (elements). */
typedef struct ocl_gemm_args {
    int ta, tb;
    size_t M, N, K;
    float alpha, beta;
    cl_mem A; size_t offa, lda, sa;
    cl_mem B; size_t offb, ldb, sb;
    cl_mem C; size_t offc, ldc, sc;
    size_t batch;
} ocl_gemm_args;
gan_status ocl_gemm_run(gan_ctx *c, const ocl_gemm_args *g);
/* Choose the GEMM path for the context's device (at context creation). */
gan_status ocl_gemm_init(gan_ctx *c);
/* Run one GEMM through a given path (own = 1: cl/gemm.cl), bypassing the
 * choice; for the tuner. */
gan_status ocl_gemm_path(gan_ctx *c, const ocl_gemm_args *g, int own);
/* K per gemm_tile launch on a device with a loop cap (0: one launch). */
size_t ocl_gemm_tile_kslice(const gan_ctx *c);
/* The own kernels of cl/gemm.cl (src/ocl/gemm.c): name ("8x48f16",
 * "dot4x4f16"), kernel, dot = 1 for the A B^T kernels; mr x nv vectors of
 * vw floats (dot: mr x nv dot products). */
typedef struct ocl_gemm_kernel {
    const char *name, *kernel;
    int dot, mr, nv, vw;
} ocl_gemm_kernel;
int ocl_gemm_nkernels(void);
const ocl_gemm_kernel *ocl_gemm_kernel_at(int i);
/* The index of a kernel by name, or -1. */
int ocl_gemm_kernel_find(const char *name);
/* Whether own kernel k computes this GEMM's layout (tile kernels: any; dot
 * kernels: A B^T only). */
int ocl_gemm_kernel_fits(int k, const ocl_gemm_args *g);
/* One GEMM through own kernel k (which must fit it; a dot kernel past a
 * loop cap runs as the default tile kernel); for the tuner and tests. */
gan_status ocl_gemm_kernel_run(gan_ctx *c, const ocl_gemm_args *g, int k);
/* The own kernel for g without a tune file's per-shape choice: the
 * defaults (the device's, a loaded tune file's overall ones, those of
 * GANCL_GEMM_TILE) adjusted to the shape (src/ocl/gemm.c). */
int ocl_gemm_default_for(const gan_ctx *c, const ocl_gemm_args *g);
/* What ocl_gemm_run would run for g: -1 CLBlast, else an own kernel. */
int ocl_gemm_choice(const gan_ctx *c, const ocl_gemm_args *g);

/* Tuning (src/ocl/tune.c): load the device's tune file into the context and
 * apply its CLBlast parameters (never fails: a bad file is noted in
 * ocl.tune_note and ignored); free what it loaded. */
void ocl_tune_load(gan_ctx *c);
void ocl_tune_free(gan_ctx *c);
/* The path the tune file gives this GEMM: 1 own, 0 CLBlast, -1 not listed. */
int ocl_tune_lookup(const gan_ctx *c, const ocl_gemm_args *g);
/* The own kernel the tune file gives this GEMM, or -1. */
int ocl_tune_kernel(const gan_ctx *c, const ocl_gemm_args *g);
/* Note a GEMM shape while recording. */
void ocl_gemm_note(gan_ctx *c, const ocl_gemm_args *g);
/* CLBlast's current parameters of `kernel` for a device, sorted by name
 * (src/ocl/clblast_params.cpp): the count, or < 0 on failure. */
int ocl_clblast_params(cl_device_id device, const char *kernel, char (*names)[32], size_t *values, int cap);
/* Whether the program binary cache is on by default for the context's
 * platform (src/ocl/runtime.c): not where the driver caches itself. */
int ocl_program_cache_default(gan_ctx *c);
/* gancl's cache directory ($GANCL_CACHE_DIR, $XDG_CACHE_HOME/gancl or
 * ~/.cache/gancl) joined with `sub`, created (mkdir -p) when mkdirs. */
gan_status ocl_cache_dir(gan_ctx *c, const char *sub, int mkdirs, char *buf, size_t cap);
/* A file name piece from free text: [A-Za-z0-9._-] kept, the rest '_'. */
void ocl_sanitize(const char *in, char *out, size_t cap);
/* Write a file atomically: a temporary next to it, fsync, rename. */
gan_status ocl_write_atomic(gan_ctx *c, const char *path, const void *data, size_t len);

/* Add a finished command's device time to the profile under `name`
 * (GANCL_PROFILE=1; releases ev). */
void ocl_prof_event(gan_ctx *c, const char *name, cl_event ev);

/* Runtime (src/ocl/runtime.c). */
gan_status ocl_ctx_init(gan_ctx *c, const char *selector);
void ocl_ctx_free(gan_ctx *c);

/* Embedded kernel sources (generated at build time), in load order. */
typedef struct gan_cl_source {
    const char *name;
    const char *text;
    size_t len;
} gan_cl_source;
extern const gan_cl_source gan_cl_sources[];
extern const int gan_cl_nsources;

/* Per-channel bias over y[N, O, S] (S = H*W, 1 for dense), shared by dense
 * and the convolutions: y += b; db = sum over N and S of dy. */
void ref_bias_add(float *y, const float *b, size_t N, size_t O, size_t S);
void ref_bias_grad(const float *dy, float *db, size_t N, size_t O, size_t S);
gan_status ocl_bias_add(gan_ctx *c, cl_mem y, const gan_tensor *b, size_t N, size_t O, size_t S);
gan_status ocl_bias_grad(gan_ctx *c, cl_mem dy, gan_tensor *db, size_t N, size_t O, size_t S);

/* Shape helpers for argument checks (src/ops.c). */
int gan_same_shape(const gan_tensor *a, const gan_tensor *b);

/* A conditional generator's input (src/nn/generator.c), for the handles
 * and the cgan step: zin's first n rows = concat(z, onehot(labels)), the
 * one-hot codes staged in h_onehot[n*K] and written to onehot's first n
 * rows; *zin becomes that n-row view. A label outside 0..K-1 is
 * GAN_ERR_ARG. */
gan_status gan_onehot_concat(gan_ctx *c, const gan_tensor *z, const int32_t *labels, int n, int K, float *h_onehot,
                             gan_tensor *onehot, gan_tensor *zin);

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
