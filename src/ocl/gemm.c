/* The one GEMM entry point on the device, and the only call site of
 * CLBlast's GEMM. Row-major throughout:
 * C[M,N] (leading dim ldc) = alpha * op(A) op(B) + beta * C, where op(A) is
 * [M,K] and A is stored [M,K] (lda >= K) or, transposed, [K,M] (lda >= M);
 * likewise B. batch > 1 runs a strided batch with element strides sa, sb, sc
 * between the matrices of consecutive batch entries.
 *
 * Two paths: CLBlast, tuned for GPUs, and the register-tile kernels of
 * cl/gemm.cl, which on PoCL's CPU device run the DCGAN GEMMs about 18x
 * faster than CLBlast there (5-50x by shape; `gancl bench gemm` keeps the
 * evidence). CPU devices default to the own kernels, everything else to
 * CLBlast; a tune file (`gancl tune`, src/ocl/tune.c) names the faster path
 * per shape as measured on the device; GANCL_GEMM=own|clblast overrides
 * both. */
#include "../internal.h"

#include <clblast_c.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* Tile sizes of cl/gemm.cl (GEMM_MR x GEMM_NR, GEMM_DR x GEMM_DC). */
enum { TILE_MR = 8, TILE_NR = 32, TILE_KC = 256, DOT_R = 4, DOT_C = 4 };

/* Loop trips the device really runs in one kernel (cl/gemm.cl loop_probe):
 * 0 when a loop of PROBE_TRIPS runs to its end, else the trips it made. */
enum { PROBE_TRIPS = 1 << 20 };

static gan_status probe_loop_cap(gan_ctx *c, int *cap)
{
    gan_status st = GAN_OK;
    cl_int err, stop[4] = {-1, -1, -1, -1}, got = 0;
    cl_mem s = clCreateBuffer(c->ocl.context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof stop, stop, &err);
    cl_mem o = NULL;
    if (err != CL_SUCCESS)
        return GAN_FAIL(c, GAN_ERR_OPENCL, "clCreateBuffer: %s (%d) for the loop probe", ocl_error_name(err), (int)err);
    o = clCreateBuffer(c->ocl.context, CL_MEM_WRITE_ONLY, sizeof got, NULL, &err);
    if (err != CL_SUCCESS) {
        st = GAN_FAIL(c, GAN_ERR_OPENCL, "clCreateBuffer: %s (%d) for the loop probe", ocl_error_name(err), (int)err);
        goto cleanup;
    }
    size_t one = 1;
    TRY(ocl_run_nd(c, "loop_probe", 1, &one, &one, "iMM", (int)PROBE_TRIPS, s, o));
    CL_CHECK(c, clEnqueueReadBuffer, (c->ocl.queue, o, CL_TRUE, 0, sizeof got, &got, 0, NULL, NULL));
    *cap = got >= PROBE_TRIPS ? 0 : got;
cleanup:
    clReleaseMemObject(s);
    if (o) clReleaseMemObject(o);
    return st;
}

gan_status ocl_gemm_init(gan_ctx *c)
{
    gan_status st = GAN_OK;
    cl_device_type type = 0;
    TRY(probe_loop_cap(c, &c->ocl.loop_cap));
    CL_CHECK(c, clGetDeviceInfo, (c->ocl.device, CL_DEVICE_TYPE, sizeof type, &type, NULL));
    c->ocl.gemm_own = (type & CL_DEVICE_TYPE_CPU) != 0;
    const char *env = getenv("GANCL_GEMM");
    if (env && *env) {
        if (!strcmp(env, "own"))
            c->ocl.gemm_own = 1;
        else if (!strcmp(env, "clblast"))
            c->ocl.gemm_own = 0;
        else
            return GAN_FAIL(c, GAN_ERR_ARG, "GANCL_GEMM='%s': expected 'own' or 'clblast'", env);
        c->ocl.gemm_forced = 1;
    }
    ocl_tune_load(c);
cleanup:
    return st;
}

static gan_status gemm_clblast(gan_ctx *c, const ocl_gemm_args *g)
{
    CLBlastStatusCode s;
    CLBlastTranspose ta = g->ta ? CLBlastTransposeYes : CLBlastTransposeNo;
    CLBlastTranspose tb = g->tb ? CLBlastTransposeYes : CLBlastTransposeNo;
    cl_event ev = NULL, *evp = c->ocl.profile ? &ev : NULL;
    c->ocl.gemm_ran |= GAN_GEMM_RAN_CLBLAST;
    if (g->batch <= 1)
        s = CLBlastSgemm(CLBlastLayoutRowMajor, ta, tb, g->M, g->N, g->K, g->alpha, g->A, g->offa, g->lda, g->B,
                         g->offb, g->ldb, g->beta, g->C, g->offc, g->ldc, &c->ocl.queue, evp);
    else
        s = CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, ta, tb, g->M, g->N, g->K, g->alpha, g->A, g->offa,
                                       g->lda, g->sa, g->B, g->offb, g->ldb, g->sb, g->beta, g->C, g->offc, g->ldc,
                                       g->sc, g->batch, &c->ocl.queue, evp);
    if (ev) ocl_prof_event(c, "clblast_gemm", ev);
    if (s != CLBlastSuccess)
        return GAN_FAIL(c, GAN_ERR_CLBLAST, "CLBlastSgemm%s: %s (%d) for M=%zu N=%zu K=%zu batch=%zu",
                        g->batch > 1 ? "StridedBatched" : "", clblast_status_name(s), (int)s, g->M, g->N, g->K,
                        g->batch);
    return GAN_OK;
}

/* Micro-tiles per work-item of gemm_tile: as many as keep at least 8
 * work-groups per compute unit, up to 16 (128 rows of A in L2). */
static int tile_rows_per_item(gan_ctx *c, size_t rows, size_t cols, size_t batch)
{
    cl_uint cus = 1;
    if (clGetDeviceInfo(c->ocl.device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cus, &cus, NULL) != CL_SUCCESS) cus = 1;
    size_t mtiles = (rows + TILE_MR - 1) / TILE_MR, others = (cols + TILE_NR - 1) / TILE_NR * batch;
    int mt = 16;
    while (mt > 1 && (mtiles + (size_t)mt - 1) / (size_t)mt * others < 8 * (size_t)cus) mt /= 2;
    return mt;
}

/* gemm_tile over a (rows x cols) C whose B side has unit column stride; A
 * element (i, k) at A[i*sai + k*sak], C element (i, j) at C[i*csr + j*csc]. */
/*
 * On a device whose loops stop early (ocl.loop_cap > 0: llvmpipe), K runs in
 * slices of whole KC blocks, one launch each, with one micro-tile per
 * work-item, so that no work-item's loop trips come near the cap: a k step
 * costs at most 1 + MR + NR trips (the k loop, and the r and lane loops
 * should the compiler not unroll them), and a slice stays under half the
 * cap. Later slices add to C with beta 1, which is what the kernel does
 * between its own KC blocks, so the result is bit-identical to one launch.
 */
size_t ocl_gemm_tile_kslice(const gan_ctx *c)
{
    if (c->ocl.loop_cap <= 0) return 0;
    size_t ks = (size_t)c->ocl.loop_cap / 2 / (1 + TILE_MR + TILE_NR) / TILE_KC * TILE_KC;
    return ks ? ks : TILE_KC;
}

static gan_status launch_tile(gan_ctx *c, size_t rows, size_t cols, size_t K, const ocl_gemm_args *g, cl_mem A,
                              size_t offa, size_t sai, size_t sak, size_t sa, cl_mem B, size_t offb, size_t ldb,
                              size_t sb, size_t csr, size_t csc)
{
    size_t batch = g->batch ? g->batch : 1, ks = ocl_gemm_tile_kslice(c);
    c->ocl.gemm_ran |= GAN_GEMM_RAN_TILE;
    int mt = ks ? 1 : tile_rows_per_item(c, rows, cols, batch);
    size_t rowblock = (size_t)mt * TILE_MR;
    size_t global[3] = {(cols + TILE_NR - 1) / TILE_NR, (rows + rowblock - 1) / rowblock, batch};
    size_t local[3] = {1, 1, 1};
    if (!ks || K <= ks) ks = K;
    for (size_t k0 = 0; k0 < K || k0 == 0; k0 += ks) {
        size_t kn = K - k0 < ks ? K - k0 : ks;
        float beta = k0 == 0 ? g->beta : 1.f;
        gan_status st = ocl_run_nd(c, "gemm_tile", 3, global, local, "iiiffMllllMlllMlllli", (int)rows, (int)cols,
                                   (int)kn, (double)g->alpha, (double)beta, A, (uint64_t)(offa + k0 * sak),
                                   (uint64_t)sai, (uint64_t)sak, (uint64_t)sa, B, (uint64_t)(offb + k0 * ldb),
                                   (uint64_t)ldb, (uint64_t)sb, g->C, (uint64_t)g->offc, (uint64_t)csr,
                                   (uint64_t)csc, (uint64_t)g->sc, mt);
        if (st || K == 0) return st;
    }
    return GAN_OK;
}

static gan_status gemm_own(gan_ctx *c, const ocl_gemm_args *g)
{
    if (!g->tb) /* op(B) = B: tiles straight from A (either way round) and B */
        return launch_tile(c, g->M, g->N, g->K, g, g->A, g->offa, g->ta ? 1 : g->lda, g->ta ? g->lda : 1, g->sa,
                           g->B, g->offb, g->ldb, g->sb, g->ldc, 1);
    if (g->ta) /* A^T B^T = (B A)^T: B, A as stored, C written transposed */
        return launch_tile(c, g->N, g->M, g->K, g, g->B, g->offb, g->ldb, 1, g->sb, g->A, g->offa, g->lda, g->sa,
                           1, g->ldc);
    c->ocl.gemm_ran |= GAN_GEMM_RAN_DOT;
    size_t global[3] = {(g->M + DOT_R - 1) / DOT_R, (g->N + DOT_C - 1) / DOT_C, g->batch ? g->batch : 1};
    size_t local[3] = {1, 1, 1};
    return ocl_run_nd(c, "gemm_dot", 3, global, local, "iiiffMlllMlllMlll", (int)g->M, (int)g->N, (int)g->K,
                      (double)g->alpha, (double)g->beta, g->A, (uint64_t)g->offa, (uint64_t)g->lda, (uint64_t)g->sa,
                      g->B, (uint64_t)g->offb, (uint64_t)g->ldb, (uint64_t)g->sb, g->C, (uint64_t)g->offc,
                      (uint64_t)g->ldc, (uint64_t)g->sc);
}

gan_status ocl_gemm_path(gan_ctx *c, const ocl_gemm_args *g, int own)
{
    if (g->M == 0 || g->N == 0) return GAN_OK;
    /* the kernels index with int; gemm_dot makes about K / 16 + 32 loop
     * trips per work-item, past a loop cap (see ocl_gemm_tile_kslice) that
     * GEMM goes to CLBlast, whose kernels step K by whole tiles */
    int fits = g->M <= INT_MAX && g->N <= INT_MAX && g->K <= INT_MAX;
    if (g->tb && !g->ta && c->ocl.loop_cap > 0 && g->K / 16 + 64 > (size_t)c->ocl.loop_cap / 2) fits = 0;
    return own && fits ? gemm_own(c, g) : gemm_clblast(c, g);
}

gan_status ocl_gemm_run(gan_ctx *c, const ocl_gemm_args *g)
{
    if (c->ocl.recording) ocl_gemm_note(c, g);
    int own = c->ocl.gemm_own;
    if (!c->ocl.gemm_forced && c->ocl.ntune) {
        int t = ocl_tune_lookup(c, g);
        if (t >= 0) own = t;
    }
    return ocl_gemm_path(c, g, own);
}

const char *gan_gemm_describe(const gan_ctx *c, char *buf, size_t cap)
{
    if (!cap) return buf;
    if (c->kind != GAN_BACKEND_OCL) {
        snprintf(buf, cap, "plain C loops (reference)");
        return buf;
    }
    size_t n = (size_t)snprintf(buf, cap, "%s%s",
                                c->ocl.gemm_own ? "own kernels (cl/gemm.cl: 8x32 register tiles, 4x4 dot tiles for A B^T)"
                                                : "CLBlast",
                                c->ocl.gemm_forced ? ", forced by GANCL_GEMM" : "");
    if (!c->ocl.gemm_forced && c->ocl.ntune && n < cap) {
        int own = 0;
        for (int i = 0; i < c->ocl.ntune; i++) own += c->ocl.tune_own[i] != 0;
        n += (size_t)snprintf(buf + n, cap - n, "; tune file: %d shapes on the own kernels, %d on CLBlast", own,
                              c->ocl.ntune - own);
    }
    if (c->ocl.loop_cap > 0 && n < cap)
        snprintf(buf + n, cap - n, "; the driver ends loops after %d trips: own tiles take K in slices of %zu, long-K "
                 "A B^T goes to CLBlast", c->ocl.loop_cap, ocl_gemm_tile_kslice(c));
    return buf;
}

unsigned gan_gemm_ran(gan_ctx *c)
{
    unsigned r = c->ocl.gemm_ran;
    c->ocl.gemm_ran = 0;
    return r;
}

const char *gan_gemm_ran_name(unsigned bits, char *buf, size_t cap)
{
    static const char *names[] = {"own tile", "own dot", "CLBlast"};
    size_t n = 0;
    if (cap) buf[0] = 0;
    for (int i = 0; i < 3 && n < cap; i++)
        if (bits & (1u << i)) n += (size_t)snprintf(buf + n, cap - n, "%s%s", n ? "+" : "", names[i]);
    if (!n && cap) snprintf(buf, cap, "-");
    return buf;
}
