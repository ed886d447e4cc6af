/* The one GEMM entry point on the device, and the only call site of
 * CLBlast's GEMM. Row-major throughout:
 * C[M,N] (leading dim ldc) = alpha * op(A) op(B) + beta * C, where op(A) is
 * [M,K] and A is stored [M,K] (lda >= K) or, transposed, [K,M] (lda >= M);
 * likewise B. batch > 1 runs a strided batch with element strides sa, sb, sc
 * between the matrices of consecutive batch entries.
 *
 * Two paths: CLBlast, tuned for GPUs, and the register-tile kernels of
 * cl/gemm.cl, which on PoCL's CPU device run the DCGAN GEMMs 5-50x faster
 * than CLBlast there (`gancl bench gemm` keeps the evidence). CPU devices
 * default to the own kernels, everything else to CLBlast; a tune file
 * (`gancl tune`, src/ocl/tune.c) names the faster path per shape as
 * measured on the device; GANCL_GEMM=own|clblast overrides both.
 *
 * The own kernels come in register shapes (the list below, one kernel each
 * in cl/gemm.cl): the device's native float vector width picks the default
 * pair (16: AVX-512-class, 8: AVX2, less: SSE/NEON, and llvmpipe, which
 * reports 1), a tune file names the measured best kernel per shape and the
 * best default, and GANCL_GEMM_TILE=NAME[,NAME] (a kernel name below, or a
 * width class f16, f8, f4 for both of its defaults) forces them. */
#include "ocl.h"

#include <clblast_c.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* K block of cl/gemm.cl (GEMM_KC). */
enum { TILE_KC = 256 };

/* cl/gemm.cl's kernels, in its order. Tiles: mr rows by nv vectors of vw
 * floats; dot: mr x nv dot products, vw lanes along k. The first of each
 * kind per width class is that class's default. */
static const ocl_gemm_kernel gemm_kernels[] = {
    {"8x48f16", "gemm_tile_8x48f16", 0, 8, 3, 16},
    {"6x64f16", "gemm_tile_6x64f16", 0, 6, 4, 16},
    {"4x24f8", "gemm_tile_4x24f8", 0, 4, 3, 8},
    {"6x16f8", "gemm_tile_6x16f8", 0, 6, 2, 8},
    {"6x8f4", "gemm_tile_6x8f4", 0, 6, 2, 4},
    {"4x12f4", "gemm_tile_4x12f4", 0, 4, 3, 4},
    {"dot4x4f16", "gemm_dot_4x4f16", 1, 4, 4, 16},
    {"dot4x6f16", "gemm_dot_4x6f16", 1, 4, 6, 16},
    {"dot2x4f8", "gemm_dot_2x4f8", 1, 2, 4, 8},
    {"dot3x3f8", "gemm_dot_3x3f8", 1, 3, 3, 8},
    {"dot2x4f4", "gemm_dot_2x4f4", 1, 2, 4, 4},
};
#define NKERNELS ((int)(sizeof gemm_kernels / sizeof gemm_kernels[0]))

int ocl_gemm_nkernels(void) { return NKERNELS; }

const ocl_gemm_kernel *ocl_gemm_kernel_at(int i) { return i >= 0 && i < NKERNELS ? &gemm_kernels[i] : NULL; }

int ocl_gemm_kernel_find(const char *name)
{
    for (int i = 0; i < NKERNELS; i++)
        if (!strcmp(gemm_kernels[i].name, name)) return i;
    return -1;
}

int gan_gemm_kernel_names(const char **names, int cap)
{
    for (int i = 0; i < NKERNELS && i < cap; i++) names[i] = gemm_kernels[i].name;
    return NKERNELS;
}

/* The A B^T layout (op(A) = A, op(B) = B^T): the dot kernels' only one;
 * the tile kernels take every layout. */
static int is_dot(const ocl_gemm_args *g) { return g->tb && !g->ta; }

int ocl_gemm_kernel_fits(int k, const ocl_gemm_args *g)
{
    return k >= 0 && k < NKERNELS && (!gemm_kernels[k].dot || is_dot(g));
}

/* The default kernel of a kind for a vector width class: the first listed. */
static int class_default(int vw, int dot)
{
    for (int i = 0; i < NKERNELS; i++)
        if (gemm_kernels[i].vw == vw && gemm_kernels[i].dot == dot) return i;
    return -1;
}

/* The vector width class of a device: its native float vector width (the
 * preferred one where it reports none), 16 and up as 16, 8 as 8, the rest 4. */
static gan_status device_class(gan_ctx *c, int *vw)
{
    gan_status st = GAN_OK;
    cl_uint w = 0;
    CL_CHECK(c, clGetDeviceInfo, (ocl_st(c)->device, CL_DEVICE_NATIVE_VECTOR_WIDTH_FLOAT, sizeof w, &w, NULL));
    if (!w) CL_CHECK(c, clGetDeviceInfo, (ocl_st(c)->device, CL_DEVICE_PREFERRED_VECTOR_WIDTH_FLOAT, sizeof w, &w, NULL));
    *vw = w >= 16 ? 16 : w >= 8 ? 8 : 4;
cleanup:
    return st;
}

/* GANCL_GEMM_TILE: kernel names or width classes (f16, f8, f4), separated
 * by commas; a later one overrides an earlier of the same kind. */
static gan_status parse_tile_env(gan_ctx *c, const char *env)
{
    ocl_state *o = ocl_st(c);
    char buf[256], names[512];
    size_t n = 0;
    snprintf(buf, sizeof buf, "%s", env);
    for (int i = 0; i < NKERNELS && n < sizeof names; i++)
        n += (size_t)snprintf(names + n, sizeof names - n, "%s%s", i ? ", " : "", gemm_kernels[i].name);
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int k = ocl_gemm_kernel_find(tok);
        if (k >= 0) {
            *(gemm_kernels[k].dot ? &o->gemm_dot_env : &o->gemm_tile_env) = k + 1;
        } else if (!strcmp(tok, "f16") || !strcmp(tok, "f8") || !strcmp(tok, "f4")) {
            int vw = atoi(tok + 1);
            o->gemm_tile_env = class_default(vw, 0) + 1;
            o->gemm_dot_env = class_default(vw, 1) + 1;
        } else {
            return GAN_FAIL(c, GAN_ERR_ARG, "GANCL_GEMM_TILE='%s': '%s' is not f16, f8, f4 or a kernel (%s)", env,
                            tok, names);
        }
    }
    return GAN_OK;
}

/* The own kernel of a kind that runs a GEMM no tune file entry names. */
static int default_kernel(const gan_ctx *c, int dot)
{
    const ocl_state *o = ocl_st(c);
    int env = dot ? o->gemm_dot_env : o->gemm_tile_env;
    int tuned = dot ? o->tune_dot : o->tune_tile;
    return (env ? env : tuned ? tuned : dot ? o->gemm_dot_dev : o->gemm_tile_dev) - 1;
}

/* Loop trips the device really runs in one kernel (cl/gemm.cl loop_probe):
 * 0 when a loop of PROBE_TRIPS runs to its end, else the trips it made. */
enum { PROBE_TRIPS = 1 << 20 };

static gan_status probe_loop_cap(gan_ctx *c, int *cap)
{
    gan_status st = GAN_OK;
    cl_int err, stop[4] = {-1, -1, -1, -1}, got = 0;
    cl_mem s = clCreateBuffer(ocl_st(c)->context, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof stop, stop, &err);
    cl_mem o = NULL;
    if (err != CL_SUCCESS)
        return GAN_FAIL(c, GAN_ERR_OPENCL, "clCreateBuffer: %s (%d) for the loop probe", ocl_error_name(err), (int)err);
    o = clCreateBuffer(ocl_st(c)->context, CL_MEM_WRITE_ONLY, sizeof got, NULL, &err);
    if (err != CL_SUCCESS) {
        st = GAN_FAIL(c, GAN_ERR_OPENCL, "clCreateBuffer: %s (%d) for the loop probe", ocl_error_name(err), (int)err);
        goto cleanup;
    }
    size_t one = 1;
    TRY(ocl_run_nd(c, "loop_probe", 1, &one, &one, "iMM", (int)PROBE_TRIPS, s, o));
    CL_CHECK(c, clEnqueueReadBuffer, (ocl_st(c)->queue, o, CL_TRUE, 0, sizeof got, &got, 0, NULL, NULL));
    *cap = got >= PROBE_TRIPS ? 0 : got;
cleanup:
    clReleaseMemObject(s);
    if (o) clReleaseMemObject(o);
    return st;
}

gan_status ocl_gemm_init(gan_ctx *c)
{
    ocl_state *o = ocl_st(c);
    gan_status st = GAN_OK;
    cl_device_type type = 0;
    int vw = 4;
    TRY(probe_loop_cap(c, &o->loop_cap));
    CL_CHECK(c, clGetDeviceInfo, (o->device, CL_DEVICE_TYPE, sizeof type, &type, NULL));
    o->gemm_own = (type & CL_DEVICE_TYPE_CPU) != 0;
    const char *env = getenv("GANCL_GEMM");
    if (env && *env) {
        if (!strcmp(env, "own"))
            o->gemm_own = 1;
        else if (!strcmp(env, "clblast"))
            o->gemm_own = 0;
        else
            return GAN_FAIL(c, GAN_ERR_ARG, "GANCL_GEMM='%s': expected 'own' or 'clblast'", env);
        o->gemm_forced = 1;
    }
    TRY(device_class(c, &vw));
    o->gemm_tile_dev = class_default(vw, 0) + 1;
    o->gemm_dot_dev = class_default(vw, 1) + 1;
    const char *tile = getenv("GANCL_GEMM_TILE");
    if (tile && *tile) TRY(parse_tile_env(c, tile));
    ocl_tune_load(c);
cleanup:
    return st;
}

static gan_status gemm_clblast(gan_ctx *c, const ocl_gemm_args *g)
{
    ocl_state *o = ocl_st(c);
    CLBlastStatusCode s;
    CLBlastTranspose ta = g->ta ? CLBlastTransposeYes : CLBlastTransposeNo;
    CLBlastTranspose tb = g->tb ? CLBlastTransposeYes : CLBlastTransposeNo;
    cl_event ev = NULL, *evp = o->profile ? &ev : NULL;
    o->gemm_ran |= GAN_GEMM_RAN_CLBLAST;
    if (g->batch <= 1)
        s = CLBlastSgemm(CLBlastLayoutRowMajor, ta, tb, g->M, g->N, g->K, g->alpha, g->A, g->offa, g->lda, g->B,
                         g->offb, g->ldb, g->beta, g->C, g->offc, g->ldc, &o->queue, evp);
    else
        s = CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, ta, tb, g->M, g->N, g->K, g->alpha, g->A, g->offa,
                                       g->lda, g->sa, g->B, g->offb, g->ldb, g->sb, g->beta, g->C, g->offc, g->ldc,
                                       g->sc, g->batch, &o->queue, evp);
    if (ev) ocl_prof_event(c, "clblast_gemm", ev);
    if (s != CLBlastSuccess)
        return GAN_FAIL(c, GAN_ERR_CLBLAST, "CLBlastSgemm%s: %s (%d) for M=%zu N=%zu K=%zu batch=%zu",
                        g->batch > 1 ? "StridedBatched" : "", clblast_status_name(s), (int)s, g->M, g->N, g->K,
                        g->batch);
    return GAN_OK;
}

/* The block of micro-tiles a gemm_tile work-item computes: up to mt = 32
 * down (the packed B block, KC x NR, serves all mt) by nt = 4 across (the
 * item's rows of A, 32 * MR by KC, stay in L2 for all nt). Across first,
 * while that would leave under 8 work-groups per compute unit; then down,
 * while under 2: each packed block of B should serve many micro-tiles (a
 * small C with a long K, 256 x 128 x 9216, ran 1.8x faster per CPU second
 * with 16 micro-tiles per item than with 4 for 8 items per unit; 32 rather
 * than 16 gave 5-10% more GFLOP per CPU second on the DCGAN's long-K and
 * A^T B GEMMs, whose B block, or strided A, comes from memory each time a
 * row block of items reads it: Intel Xeon AVX-512, 2 cores, PoCL 3.1). */
static void tile_blocks(const gan_ctx *c, const ocl_gemm_kernel *k, size_t rows, size_t cols, size_t batch, int *mt,
                        int *nt)
{
    cl_uint cus = 1;
    if (clGetDeviceInfo(ocl_st(c)->device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cus, &cus, NULL) != CL_SUCCESS) cus = 1;
    size_t nr = (size_t)(k->nv * k->vw), mtiles = (rows + k->mr - 1) / k->mr, ntiles = (cols + nr - 1) / nr;
    int m = 32, n = 4;
#define ITEMS() ((mtiles + (size_t)m - 1) / (size_t)m * ((ntiles + (size_t)n - 1) / (size_t)n) * batch)
    while (n > 1 && ITEMS() < 8 * (size_t)cus) n /= 2;
    while (m > 1 && ITEMS() < 2 * (size_t)cus) m /= 2;
#undef ITEMS
    *mt = m;
    *nt = n;
}

/*
 * On a device whose loops stop early (loop_cap > 0: llvmpipe), K runs in
 * slices of whole KC blocks, one launch each, with one micro-tile per
 * work-item, so that no work-item's loop trips come near the cap: a k step
 * costs at most 2 + NR + MR + MR * NV trips (the packing loop and its lane
 * loop at a narrow N, the k loop, and the r and v loops should the compiler
 * not unroll them; the largest over the tile kernels), and a slice stays
 * under half the cap. Later slices add to C with beta 1, which is what the
 * kernel does between its own KC blocks, so the result is bit-identical to
 * one launch.
 */
size_t ocl_gemm_tile_kslice(const gan_ctx *c)
{
    if (ocl_st(c)->loop_cap <= 0) return 0;
    size_t trips = 1;
    for (int i = 0; i < NKERNELS; i++) {
        const ocl_gemm_kernel *k = &gemm_kernels[i];
        size_t t = 2 + (size_t)(k->nv * k->vw) + (size_t)k->mr * (1 + (size_t)k->nv);
        if (!k->dot && t > trips) trips = t;
    }
    size_t ks = (size_t)ocl_st(c)->loop_cap / 2 / trips / TILE_KC * TILE_KC;
    return ks ? ks : TILE_KC;
}

/* gemm_tile over a (rows x cols) C: A element (i, k) at A[i*sai + k*sak],
 * B element (k, j) at B[k*sbk + j*sbj], C element (i, j) at C[i*csr +
 * j*csc]. */
static gan_status launch_tile(gan_ctx *c, const ocl_gemm_kernel *k, size_t rows, size_t cols, size_t K,
                              const ocl_gemm_args *g, cl_mem A, size_t offa, size_t sai, size_t sak, size_t sa,
                              cl_mem B, size_t offb, size_t sbk, size_t sbj, size_t sb, size_t csr, size_t csc)
{
    size_t batch = g->batch ? g->batch : 1, ks = ocl_gemm_tile_kslice(c);
    ocl_st(c)->gemm_ran |= GAN_GEMM_RAN_TILE;
    int mt = 1, nt = 1;
    if (!ks) tile_blocks(c, k, rows, cols, batch, &mt, &nt);
    size_t rowblock = (size_t)mt * (size_t)k->mr, colblock = (size_t)nt * (size_t)(k->nv * k->vw);
    size_t global[3] = {(cols + colblock - 1) / colblock, (rows + rowblock - 1) / rowblock, batch};
    size_t local[3] = {1, 1, 1};
    if (!ks || K <= ks) ks = K;
    for (size_t k0 = 0; k0 < K || k0 == 0; k0 += ks) {
        size_t kn = K - k0 < ks ? K - k0 : ks;
        float beta = k0 == 0 ? g->beta : 1.f;
        gan_status st = ocl_run_nd(c, k->kernel, 3, global, local, "iiiffMllllMllllMllllii", (int)rows,
                                   (int)cols, (int)kn, (double)g->alpha, (double)beta, A,
                                   (uint64_t)(offa + k0 * sak), (uint64_t)sai, (uint64_t)sak, (uint64_t)sa, B,
                                   (uint64_t)(offb + k0 * sbk), (uint64_t)sbk, (uint64_t)sbj, (uint64_t)sb, g->C,
                                   (uint64_t)g->offc, (uint64_t)csr, (uint64_t)csc, (uint64_t)g->sc, mt, nt);
        if (st || K == 0) return st;
    }
    return GAN_OK;
}

/* A^T B where A^T is worth transposing first (cl/gemm.cl gemm_transpose):
 * op(A) read in place runs along a long leading dimension, every k step of
 * a micro-tile a new cache line (and page), half of it used, so gemm_tile
 * ran these at 0.75-0.85 of its A B speed (3200 x 3136 x 256: 105-117
 * against 122-146 GFLOP per CPU second; Intel Xeon AVX-512, 2 cores, PoCL
 * 3.1, shared machine). The transpose moves M K floats once, where the
 * GEMM does 2 M N K flops: taken where C has at least 256 columns and 512
 * rows, one matrix (no batch), and no loop cap (llvmpipe keeps the plain
 * path, its K sliced). */
static int transpose_a_pays(const gan_ctx *c, const ocl_gemm_args *g)
{
    return g->ta && !g->tb && g->batch <= 1 && g->M >= 512 && g->N >= 256 && ocl_st(c)->loop_cap <= 0 &&
           g->M <= INT_MAX / 2 && g->K <= INT_MAX / 2;
}

/* The own GEMM's workspace of at least bytes (A transposed), grown on
 * demand like the context's scratch, which may hold this GEMM's operands. */
static gan_status gemm_ws(gan_ctx *c, size_t bytes, cl_mem *out)
{
    ocl_state *o = ocl_st(c);
    gan_status st = ocl_workspace(c, &o->gemm_ws, &o->gemm_ws_bytes, bytes, "the GEMM workspace");
    *out = o->gemm_ws;
    return st;
}

/* Own kernel ki (fitting g's layout) on g. */
static gan_status gemm_own(gan_ctx *c, const ocl_gemm_args *g, int ki)
{
    const ocl_gemm_kernel *k = &gemm_kernels[ki];
    if (!k->dot && transpose_a_pays(c, g)) { /* A^T into [M, K], then as A B */
        cl_mem at;
        gan_status st = gemm_ws(c, g->M * g->K * sizeof(float), &at);
        if (st) return st;
        size_t global[2] = {(g->M + 63) / 64, (g->K + 31) / 32}, local[2] = {1, 1};
        if (g->K) {
            st = ocl_run_nd(c, "gemm_transpose", 2, global, local, "iiMllMl", (int)g->K, (int)g->M, g->A,
                            (uint64_t)g->offa, (uint64_t)g->lda, at, (uint64_t)g->K);
            if (st) return st;
        }
        return launch_tile(c, k, g->M, g->N, g->K, g, at, 0, g->K, 1, 0, g->B, g->offb, g->ldb, 1, g->sb, g->ldc,
                           1);
    }
    if (!k->dot && !(g->ta && g->tb)) /* tiles straight from A and B, either way round */
        return launch_tile(c, k, g->M, g->N, g->K, g, g->A, g->offa, g->ta ? 1 : g->lda, g->ta ? g->lda : 1, g->sa,
                           g->B, g->offb, g->tb ? 1 : g->ldb, g->tb ? g->ldb : 1, g->sb, g->ldc, 1);
    if (!k->dot) /* A^T B^T = (B A)^T: B, A as stored, C written transposed */
        return launch_tile(c, k, g->N, g->M, g->K, g, g->B, g->offb, g->ldb, 1, g->sb, g->A, g->offa, g->lda, 1,
                           g->sa, 1, g->ldc);
    ocl_st(c)->gemm_ran |= GAN_GEMM_RAN_DOT;
    size_t global[3] = {(g->M + (size_t)k->mr - 1) / (size_t)k->mr, (g->N + (size_t)k->nv - 1) / (size_t)k->nv,
                        g->batch ? g->batch : 1};
    size_t local[3] = {1, 1, 1};
    return ocl_run_nd(c, k->kernel, 3, global, local, "iiiffMlllMlllMlll", (int)g->M, (int)g->N, (int)g->K,
                      (double)g->alpha, (double)g->beta, g->A, (uint64_t)g->offa, (uint64_t)g->lda, (uint64_t)g->sa,
                      g->B, (uint64_t)g->offb, (uint64_t)g->ldb, (uint64_t)g->sb, g->C, (uint64_t)g->offc,
                      (uint64_t)g->ldc, (uint64_t)g->sc);
}

/* Own kernel k where it can run g: the kernels index with int; a dot
 * kernel makes about K / VW + 32 loop trips per work-item, which past a loop
 * cap (see ocl_gemm_tile_kslice) hands the GEMM to the tile kernel, whose
 * K is sliced; -1 (CLBlast) where no own kernel can. */
static int own_fits(const gan_ctx *c, const ocl_gemm_args *g, int k)
{
    if (g->M > INT_MAX || g->N > INT_MAX || g->K > INT_MAX) return -1;
    if (gemm_kernels[k].dot && ocl_st(c)->loop_cap > 0 &&
        g->K / (size_t)gemm_kernels[k].vw + 64 > (size_t)ocl_st(c)->loop_cap / 2)
        return default_kernel(c, 0);
    return k;
}

/* The default own kernel for g: the tile kernel, but another tile kernel of
 * its vector width where that computes 25% fewer elements of C; where the
 * columns of C the tiles run along (A^T B^T: its rows) are fewer than the
 * tile's NR, the tile kernel of the widest NR that fits them among those no
 * wider in vector than the device's class (narrow C packs B lane by lane:
 * 64 x 25 outputs ran 2-3x faster as 4x24f8 than as 8x48f16 on AVX-512);
 * and for A B^T the dot kernel where C is narrower than one tile or gives
 * a work-item fewer than 4 micro-tiles (packing B^T, even transposed in
 * registers, costs more than so few tiles gain). */
/* The C elements tile kernel k computes for rows x cols (whole tiles). */
static size_t tile_area(int k, size_t rows, size_t cols)
{
    size_t mr = (size_t)gemm_kernels[k].mr, nr = (size_t)(gemm_kernels[k].nv * gemm_kernels[k].vw);
    return (rows + mr - 1) / mr * mr * ((cols + nr - 1) / nr * nr);
}

int ocl_gemm_default_for(const gan_ctx *c, const ocl_gemm_args *g)
{
    const ocl_state *o = ocl_st(c);
    int t = default_kernel(c, 0);
    size_t rows = g->ta && g->tb ? g->N : g->M, cols = g->ta && g->tb ? g->M : g->N;
    /* another tile of the same width that computes 25% fewer C elements
     * (6x64 for 64 columns, where 8x48 computes 96) */
    for (int i = 0; i < NKERNELS && !o->gemm_tile_env; i++)
        if (!gemm_kernels[i].dot && gemm_kernels[i].vw == gemm_kernels[t].vw &&
            tile_area(i, rows, cols) * 5 < tile_area(t, rows, cols) * 4)
            t = i;
    if (!o->gemm_tile_env && cols < (size_t)(gemm_kernels[t].nv * gemm_kernels[t].vw)) {
        int vw = gemm_kernels[o->gemm_tile_dev - 1].vw, best = -1;
        for (int i = 0; i < NKERNELS; i++) {
            const ocl_gemm_kernel *e = &gemm_kernels[i];
            size_t nr = (size_t)(e->nv * e->vw);
            if (!e->dot && e->vw <= vw && nr <= cols && (best < 0 || nr > (size_t)(gemm_kernels[best].nv *
                                                                                  gemm_kernels[best].vw)))
                best = i;
        }
        if (best >= 0) t = best;
    }
    if (!is_dot(g)) return t;
    const ocl_gemm_kernel *k = &gemm_kernels[t];
    int mt, nt;
    tile_blocks(c, k, g->M, g->N, g->batch ? g->batch : 1, &mt, &nt);
    size_t mtiles = (g->M + (size_t)k->mr - 1) / (size_t)k->mr, per = mtiles < (size_t)mt ? mtiles : (size_t)mt;
    return g->N < (size_t)(k->nv * k->vw) || per < 4 ? default_kernel(c, 1) : t;
}

gan_status ocl_gemm_kernel_run(gan_ctx *c, const ocl_gemm_args *g, int k)
{
    if (!ocl_gemm_kernel_fits(k, g))
        return GAN_FAIL(c, GAN_ERR_ARG, "own GEMM kernel %s does not compute ta %d tb %d", k >= 0 && k < NKERNELS ?
                        gemm_kernels[k].name : "(none)", g->ta, g->tb);
    if (g->M == 0 || g->N == 0) return GAN_OK;
    k = own_fits(c, g, k);
    return k >= 0 ? gemm_own(c, g, k) : gemm_clblast(c, g);
}

gan_status ocl_gemm_path(gan_ctx *c, const ocl_gemm_args *g, int own)
{
    if (g->M == 0 || g->N == 0) return GAN_OK;
    int k = own ? own_fits(c, g, ocl_gemm_default_for(c, g)) : -1;
    return k >= 0 ? gemm_own(c, g, k) : gemm_clblast(c, g);
}

int ocl_gemm_choice(const gan_ctx *c, const ocl_gemm_args *g)
{
    const ocl_state *o = ocl_st(c);
    int own = o->gemm_own;
    if (!o->gemm_forced && o->ntune) {
        int t = ocl_tune_lookup(c, g);
        if (t >= 0) own = t;
    }
    if (!own) return -1;
    int k = ocl_gemm_default_for(c, g), t = o->ntune ? ocl_tune_kernel(c, g) : -1;
    /* the tune file's kernel, unless GANCL_GEMM_TILE forces its kind */
    if (ocl_gemm_kernel_fits(t, g) && !(gemm_kernels[t].dot ? o->gemm_dot_env : o->gemm_tile_env)) k = t;
    return own_fits(c, g, k);
}

gan_status ocl_gemm_run(gan_ctx *c, const ocl_gemm_args *g)
{
    if (ocl_st(c)->recording) ocl_gemm_note(c, g);
    if (g->M == 0 || g->N == 0) return GAN_OK;
    int k = ocl_gemm_choice(c, g);
    return k >= 0 ? gemm_own(c, g, k) : gemm_clblast(c, g);
}

/* "8x48 tiles of float16" / "4x4 dot tiles of float16" */
static void kernel_words(int k, char *buf, size_t cap)
{
    const ocl_gemm_kernel *e = &gemm_kernels[k];
    snprintf(buf, cap, "%s (%dx%d %s of float%d)", e->name, e->mr, e->dot ? e->nv : e->nv * e->vw,
             e->dot ? "dot tiles for A B^T" : "register tiles", e->vw);
}

const char *gan_gemm_describe(const gan_ctx *c, char *buf, size_t cap)
{
    const ocl_state *o = ocl_st(c);
    if (!cap) return buf;
    if (gan_ctx_backend(c) != GAN_BACKEND_OCL) {
        snprintf(buf, cap, "plain C loops (reference)");
        return buf;
    }
    char tile[96], dot[96];
    kernel_words(default_kernel(c, 0), tile, sizeof tile);
    kernel_words(default_kernel(c, 1), dot, sizeof dot);
    const ocl_gemm_kernel *dev = &gemm_kernels[o->gemm_tile_dev - 1];
    const char *from_t = o->gemm_tile_env ? "GANCL_GEMM_TILE" : o->tune_tile ? "the tune file" : NULL;
    const char *from_d = o->gemm_dot_env ? "GANCL_GEMM_TILE" : o->tune_dot ? "the tune file" : NULL;
    size_t n;
    if (o->gemm_own)
        n = (size_t)snprintf(buf, cap, "own kernels (cl/gemm.cl, float vector width class %d: %s%s%s, %s%s%s)%s",
                             dev->vw, tile, from_t ? " from " : "", from_t ? from_t : "", dot, from_d ? " from " : "",
                             from_d ? from_d : "", o->gemm_forced ? ", forced by GANCL_GEMM" : "");
    else
        n = (size_t)snprintf(buf, cap, "CLBlast%s (own kernels where a tune file says so: %s, %s)",
                             o->gemm_forced ? ", forced by GANCL_GEMM" : "", tile, dot);
    if (o->ntune && n < cap) {
        int own = 0, per[NKERNELS] = {0};
        char list[256] = "";
        size_t ln = 0;
        for (int i = 0; i < o->ntune; i++)
            if (o->tune_own[i]) {
                own++;
                if (o->tune_kernel[i]) per[o->tune_kernel[i] - 1]++;
            }
        for (int k = 0; k < NKERNELS && ln < sizeof list; k++)
            if (per[k]) ln += (size_t)snprintf(list + ln, sizeof list - ln, "%s%s %d", ln ? ", " : "", gemm_kernels[k].name, per[k]);
        n += (size_t)snprintf(buf + n, cap - n, "; tune file%s: %d shapes on the own kernels%s%s%s, %d on CLBlast",
                              o->gemm_forced ? " (paths ignored)" : "", own, ln ? " (" : "", list, ln ? ")" : "",
                              o->ntune - own);
    }
    if (o->loop_cap > 0 && n < cap)
        snprintf(buf + n, cap - n, "; the driver ends loops after %d trips: own tiles take K in slices of %zu, long-K "
                 "A B^T goes to the tile kernel", o->loop_cap, ocl_gemm_tile_kslice(c));
    return buf;
}

unsigned gan_gemm_ran(gan_ctx *c)
{
    unsigned r = ocl_st(c)->gemm_ran;
    ocl_st(c)->gemm_ran = 0;
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
