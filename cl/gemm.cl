/* GEMM kernels for CPU-like OpenCL devices (PoCL and the like), used by
 * src/ocl/gemm.c instead of CLBlast where they are faster. A CPU runs one
 * work-group per thread and gains nothing from many tiny work-items, so each
 * work-item here computes whole register tiles of C with explicit float16
 * vectors (one 512-bit register each on AVX-512), reading A and B in place:
 * no packing, no local memory, work-groups of one item.
 *
 * gemm_tile: an MR x NR (8 x 32) micro-tile of C is 16 float16
 *   accumulators; each k step broadcasts MR elements of A against one row
 *   segment of B (two vload16s, so B must have unit column stride:
 *   op(B) = B). A is read through any (row, k) strides, which covers
 *   op(A) = A and A^T; C through any (row, column) strides, which lets the
 *   host compute C^T = op(B)^T op(A)^T for the A^T B^T case. Every C element
 *   sums its k terms in order (in KC blocks), like a plain loop.
 * gemm_dot: for C = A B^T, where A and B both run contiguously along k:
 *   a 4 x 4 tile of dot products, vectorised along k.
 *
 * Edges: rows past M re-read row M-1 (clamped, never stored); a column tile
 * that would run past N is shifted left to end at N and stores only the
 * columns no other tile owns, so the fast loop stays unmasked; only N < NR
 * (a single, narrow tile column) loads B lanes one by one. beta == 0 never
 * reads C, so C may hold anything (NaN) beforehand, as in BLAS. */

/* Tile sizes; src/ocl/gemm.c sizes its launches with the same numbers. */
#define GEMM_MR 8
#define GEMM_NR 32
#define GEMM_KC 256

/* One k step of a micro-tile: acc[r] += a(i_r, k) * (b0, b1). */
#define GEMM_TILE_STEP(b0, b1)                                          \
    do {                                                                \
        _Pragma("unroll") for (int r = 0; r < GEMM_MR; r++) {           \
            float16 av = (float16)(A[ao[r]]);                           \
            acc0[r] = fma(av, b0, acc0[r]);                             \
            acc1[r] = fma(av, b1, acc1[r]);                             \
            ao[r] += sak;                                               \
        }                                                               \
    } while (0)

/* The micro-tile over k in [k0, k1), LOADB filling b0, b1 from row k of B. */
#define GEMM_TILE_LOOP(LOADB)                                           \
    for (int k = k0; k < k1; k++, b += ldb) {                           \
        float16 b0, b1;                                                 \
        LOADB;                                                          \
        GEMM_TILE_STEP(b0, b1);                                         \
    }

/* Work-item (column tile, row block, batch entry) computes C[ib : ib +
 * mt*MR, j0 : j0 + NR]. K runs in blocks of KC so that the B block (KC x NR,
 * 32 KiB) stays in L1 while the mt micro-tiles of the row block sweep over
 * it; partial sums go back into C between blocks (beta applies to the
 * first). Consecutive work-items share the row block's A. */
__kernel __attribute__((reqd_work_group_size(1, 1, 1))) void
gemm_tile(int M, int N, int K, float alpha, float beta, __global const float *A, ulong offa, ulong sai, ulong sak,
          ulong sa, __global const float *B, ulong offb, ulong ldb, ulong sb, __global float *C, ulong offc,
          ulong csr, ulong csc, ulong sc, int mt)
{
    int j0 = (int)get_global_id(0) * GEMM_NR, ib = (int)get_global_id(1) * mt * GEMM_MR;
    ulong bt = get_global_id(2);
    if (ib >= M || j0 >= N) return;
    A += offa + bt * sa;
    B += offb + bt * sb;
    C += offc + bt * sc;
    /* jl: first column the tile computes (shifted left at the N edge) */
    int jl = j0 + GEMM_NR <= N ? j0 : max(N - GEMM_NR, 0);
    int full = jl == j0 && j0 + GEMM_NR <= N && csc == 1;
    int iend = min(ib + mt * GEMM_MR, M);
    for (int k0 = 0; k0 < K || k0 == 0; k0 += GEMM_KC) {
        int k1 = min(k0 + GEMM_KC, K);
        float bk = k0 == 0 ? beta : 1.f;
        for (int i0 = ib; i0 < iend; i0 += GEMM_MR) {
            ulong ao[GEMM_MR];
            float16 acc0[GEMM_MR], acc1[GEMM_MR];
#pragma unroll
            for (int r = 0; r < GEMM_MR; r++) {
                ao[r] = (ulong)min(i0 + r, M - 1) * sai + (ulong)k0 * sak;
                acc0[r] = 0.f;
                acc1[r] = 0.f;
            }
            const __global float *b = B + jl + (ulong)k0 * ldb;
            if (N >= GEMM_NR) {
                GEMM_TILE_LOOP(b0 = vload16(0, b); b1 = vload16(1, b))
            } else {
                /* narrow C: lanes past N re-read column N-1, never stored */
                GEMM_TILE_LOOP(float t[GEMM_NR]; for (int l = 0; l < GEMM_NR; l++) t[l] = b[min(l, N - 1)];
                               b0 = vload16(0, t); b1 = vload16(1, t))
            }
#pragma unroll
            for (int r = 0; r < GEMM_MR; r++) {
                if (i0 + r >= M) break;
                __global float *cr = C + (ulong)(i0 + r) * csr;
                float16 v0 = alpha * acc0[r], v1 = alpha * acc1[r];
                if (full) {
                    if (bk != 0.f) {
                        v0 = fma((float16)bk, vload16(0, cr + j0), v0);
                        v1 = fma((float16)bk, vload16(1, cr + j0), v1);
                    }
                    vstore16(v0, 0, cr + j0);
                    vstore16(v1, 1, cr + j0);
                } else {
                    float t[GEMM_NR];
                    vstore16(v0, 0, t);
                    vstore16(v1, 1, t);
                    for (int c = j0 - jl; c < GEMM_NR && jl + c < N; c++) {
                        __global float *p = cr + (ulong)(jl + c) * csc;
                        *p = bk != 0.f ? fma(bk, *p, t[c]) : t[c];
                    }
                }
            }
        }
    }
}

#define GEMM_DR 4
#define GEMM_DC 4

/* C = alpha * A B^T + beta * C with A [M,K] (row stride lda) and B [N,K]
 * (row stride ldb): a 4 x 4 tile of C per work-item, each entry a dot
 * product accumulated 16 k at a time and summed across lanes at the end. */
__kernel __attribute__((reqd_work_group_size(1, 1, 1))) void
gemm_dot(int M, int N, int K, float alpha, float beta, __global const float *A, ulong offa, ulong lda, ulong sa,
         __global const float *B, ulong offb, ulong ldb, ulong sb, __global float *C, ulong offc, ulong ldc,
         ulong sc)
{
    int i0 = (int)get_global_id(0) * GEMM_DR, j0 = (int)get_global_id(1) * GEMM_DC;
    ulong bt = get_global_id(2);
    if (i0 >= M || j0 >= N) return;
    A += offa + bt * sa;
    B += offb + bt * sb;
    C += offc + bt * sc;
    const __global float *ar[GEMM_DR], *br[GEMM_DC];
#pragma unroll
    for (int r = 0; r < GEMM_DR; r++) ar[r] = A + (ulong)min(i0 + r, M - 1) * lda;
#pragma unroll
    for (int c = 0; c < GEMM_DC; c++) br[c] = B + (ulong)min(j0 + c, N - 1) * ldb;
    float16 acc[GEMM_DR][GEMM_DC];
#pragma unroll
    for (int r = 0; r < GEMM_DR; r++)
#pragma unroll
        for (int c = 0; c < GEMM_DC; c++) acc[r][c] = 0.f;
    int k = 0;
    for (; k + 16 <= K; k += 16) {
        float16 a[GEMM_DR], b[GEMM_DC];
#pragma unroll
        for (int r = 0; r < GEMM_DR; r++) a[r] = vload16(0, ar[r] + k);
#pragma unroll
        for (int c = 0; c < GEMM_DC; c++) b[c] = vload16(0, br[c] + k);
#pragma unroll
        for (int r = 0; r < GEMM_DR; r++)
#pragma unroll
            for (int c = 0; c < GEMM_DC; c++) acc[r][c] = fma(a[r], b[c], acc[r][c]);
    }
    float s[GEMM_DR][GEMM_DC];
#pragma unroll
    for (int r = 0; r < GEMM_DR; r++)
#pragma unroll
        for (int c = 0; c < GEMM_DC; c++) {
            float16 v = acc[r][c];
            float8 h8 = v.lo + v.hi;
            float4 h4 = h8.lo + h8.hi;
            float2 h2 = h4.lo + h4.hi;
            s[r][c] = h2.x + h2.y;
        }
    for (; k < K; k++) {
#pragma unroll
        for (int r = 0; r < GEMM_DR; r++)
#pragma unroll
            for (int c = 0; c < GEMM_DC; c++) s[r][c] = fma(ar[r][k], br[c][k], s[r][c]);
    }
#pragma unroll
    for (int r = 0; r < GEMM_DR; r++) {
        if (i0 + r >= M) break;
#pragma unroll
        for (int c = 0; c < GEMM_DC; c++) {
            if (j0 + c >= N) break;
            __global float *p = C + (ulong)(i0 + r) * ldc + (j0 + c);
            float v = alpha * s[r][c];
            *p = beta != 0.f ? fma(beta, *p, v) : v;
        }
    }
}

/* How many trips a loop really makes: out[0] = n on a conforming device. A
 * loop whose exit depends on memory, so the compiler cannot count it in
 * advance. Mesa's llvmpipe (rusticl, Clover) breaks out of every loop of a
 * kernel once their trips add up to 65535 (gallivm's loop limiter, meant
 * for runaway shaders), silently; src/ocl/gemm.c probes it at context
 * creation and keeps gemm_tile's trips below it. */
__kernel void loop_probe(int n, __global const int *stop, __global int *out)
{
    if (get_global_id(0) != 0) return;
    int i = 0;
    for (; i < n; i++)
        if (stop[i & 3] == i) break;
    out[0] = i;
}
