/* The OpenCL backend's own declarations: its state behind gan_ctx.be,
 * error checks, kernel launches, GEMM and tuning. Only src/ocl/ (and the
 * tests of its runtime) include this. */
#ifndef GANCL_OCL_H
#define GANCL_OCL_H

#include "../internal.h"

#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>

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
    cl_mem gemm_ws; /* the own GEMM's transposed A (src/ocl/gemm.c), grown on demand */
    size_t gemm_ws_bytes;
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
    /* program binary cache (src/ocl/program.c): 0 off or unusable, 1 built
     * from source and stored, 2 built from the stored binary */
    int program_cache;
    /* per-shape paths from the tune file (src/ocl/tune_file.c) */
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

/* The OpenCL state of a context on this backend (its gan_ctx.be, made by
 * ocl_ctx_init): the one way src/ocl/ reaches it. */
static inline ocl_state *ocl_st(const gan_ctx *c) { return (ocl_state *)c->be; }

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
/* A workspace buffer *buf of *have bytes grown to at least `bytes` (its
 * contents then lost), counted in the context's memory; `what` names it. */
gan_status ocl_workspace(gan_ctx *c, cl_mem *buf, size_t *have, size_t bytes, const char *what);

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

/* Tuning (src/ocl/tune_file.c): load the device's tune file into the context and
 * apply its CLBlast parameters (never fails: a bad file is noted in
 * ocl_st(c)->tune_note and ignored); free what it loaded. */
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
 * platform (src/ocl/program.c): not where the driver caches itself. */
int ocl_program_cache_default(gan_ctx *c);
/* Build the context's program and its kernel table (src/ocl/program.c):
 * from the program binary cache when it holds this program, else from
 * source (then the cache is written, when it is on). */
gan_status ocl_build_program(gan_ctx *c);

/* Add a finished command's device time to the profile under `name`
 * (GANCL_PROFILE=1; releases ev). */
void ocl_prof_event(gan_ctx *c, const char *name, cl_event ev);

/* Runtime (src/ocl/runtime.c): the backend table's init and free; the
 * state comes and goes with them. */
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

/* Per-channel bias on the device (ref_bias_add, ref_bias_grad in
 * src/internal.h say what they compute). */
gan_status ocl_bias_add(gan_ctx *c, cl_mem y, const gan_tensor *b, size_t N, size_t O, size_t S);
gan_status ocl_bias_grad(gan_ctx *c, cl_mem dy, gan_tensor *db, size_t N, size_t O, size_t S);

/* Memory and synchronisation (src/ocl/memory.c), the backend table's
 * entries. */
gan_status ocl_buf_alloc(gan_ctx *c, size_t bytes, const char *what, void **out);
void ocl_buf_free(gan_ctx *c, void *buf);
gan_status ocl_buf_write(gan_ctx *c, void *buf, const void *src, size_t bytes);
gan_status ocl_buf_read(gan_ctx *c, const void *buf, void *dst, size_t bytes);
gan_status ocl_buf_fill(gan_ctx *c, void *buf, float value, size_t bytes);
gan_status ocl_finish(gan_ctx *c);
gan_status ocl_buf_read_start(gan_ctx *c, const void *buf, void *dst, size_t bytes, void **ev);
gan_status ocl_event_wait(gan_ctx *c, void *ev);
void ocl_event_release(gan_ctx *c, void *ev);
gan_status ocl_host_alloc(gan_ctx *c, size_t bytes, void **ptr, void **handle);
void ocl_host_free(gan_ctx *c, void *ptr, void *handle);
const char *ocl_build_log(const gan_ctx *c);

#endif
