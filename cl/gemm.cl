/* GEMM kernels for CPU-like OpenCL devices (PoCL and the like), used by
 * src/ocl/gemm.c instead of CLBlast where they are faster. A CPU runs one
 * work-group per thread and gains nothing from many tiny work-items, so each
 * work-item here computes whole register tiles of C with explicit vectors,
 * reading A in place (a large A^T B's A is transposed first, by
 * gemm_transpose); work-groups of one item, no local memory.
 *
 * Register shapes differ by CPU: a micro-tile of MR rows and NR = NV * VW
 * columns keeps MR * NV accumulators of floatVW, which must fit the vector
 * register file with NV vectors of B and one broadcast of A besides: 32 x
 * 512 bits on AVX-512 (8 x 48 of float16: 24 accumulators), 16 x 256 bits
 * on AVX2 (6 x 16 or 4 x 24 of float8: 12), 16 x 128 bits on SSE (6 x 8 or
 * 4 x 12 of float4). A float16 tile compiled for AVX2 takes two registers
 * per vector and spills. Every shape below is its own kernel in the one
 * program (gemm_tile_<MR>x<NR>f<VW>, gemm_dot_<DR>x<DC>f<VW>); the host
 * picks one from the device's native float vector width and `gancl tune`
 * per GEMM shape (src/ocl/gemm.c has the list, in the same order).
 *
 * gemm_tile: C = alpha op(A) op(B) + beta C. A and B are read through any
 *   (row, k) and (k, column) strides, which covers op(A) = A and A^T, op(B)
 *   = B and B^T; C through any (row, column) strides, which lets the host
 *   compute C^T = B A for the A^T B^T case, packing B with vector loads.
 *   A work-item owns mt micro-tiles down by nt across; K runs in KC blocks,
 *   and for each block and column tile it copies the KC x NR block of B
 *   into private memory once (contiguous, so no cache-set conflicts from a
 *   large ldb; the narrow-N edge and B^T are handled there) and sweeps its
 *   mt micro-tiles over it, while the A rows of the block (mt*MR x KC) stay
 *   in L2 for the nt column tiles. B^T is packed VW columns by VW k at a
 *   time, loaded along k and transposed in registers (moving single floats
 *   made the packing cost about what 4 micro-tiles compute); for A B^T on a
 *   C narrower than a tile, or with fewer than 4 micro-tiles per item,
 *   gemm_dot still wins. Every C element sums
 *   its k terms in order, in KC blocks whose partial sums go back into C
 *   (beta applies to the first), like a plain loop.
 * gemm_dot: C = A B^T, where A and B both run contiguously along k: a
 *   DR x DC tile of dot products per work-item, vectorised along k.
 *
 * Products are accumulated as a * b + c, not fma(): OpenCL C contracts it
 * into a fused multiply-add where the device has one (FP_CONTRACT is on by
 * default), while fma() must be correctly rounded everywhere and is a
 * software routine on CPUs without FMA (PoCL's SSE4 target: about 25x
 * slower).
 *
 * Edges: rows past M re-read row M-1 (clamped, never stored); a column tile
 * that would run past N is shifted left to end at N and stores only the
 * columns no other tile owns, so the fast loop stays unmasked; only N < NR
 * (a single, narrow tile column) packs B lanes one by one (as B^T does).
 * beta == 0 never reads C, so C may hold anything (NaN) beforehand, as in
 * BLAS. */

/* K block; src/ocl/gemm.c slices K for a loop cap in whole blocks. */
#define GEMM_KC 256


/* Lane interleaving for the in-register transposes of B^T blocks and of
 * gemm_transpose: (a0 b0 a1 b1 ...). */
inline float4 gemm_zip4(float2 a, float2 b) { return (float4)(a.s0, b.s0, a.s1, b.s1); }
inline float8 gemm_zip8(float4 a, float4 b) { return (float8)(a.s0, b.s0, a.s1, b.s1, a.s2, b.s2, a.s3, b.s3); }
inline float16 gemm_zip16(float8 a, float8 b)
{
    return (float16)(a.s0, b.s0, a.s1, b.s1, a.s2, b.s2, a.s3, b.s3, a.s4, b.s4, a.s5, b.s5, a.s6, b.s6, a.s7, b.s7);
}

/* gemm_tile for one register shape: NAME, MR rows, NV vectors of VW floats
 * across (NR = NV * VW columns). Work-item (column block, row block, batch
 * entry) computes C[ib : ib + mt*MR, jb : jb + nt*NR]. */
#define GEMM_TILE_DEFINE(NAME, MR, NV, VW)                                                                    \
    __kernel __attribute__((reqd_work_group_size(1, 1, 1))) void NAME(                                        \
        int M, int N, int K, float alpha, float beta, __global const float *A, ulong offa, ulong sai,         \
        ulong sak, ulong sa, __global const float *B, ulong offb, ulong sbk, ulong sbj, ulong sb,             \
        __global float *C,                                                                                    \
        ulong offc, ulong csr, ulong csc, ulong sc, int mt, int nt)                                           \
    {                                                                                                         \
        const int NR = NV * VW;                                                                               \
        int jb = (int)get_global_id(0) * nt * NR, ib = (int)get_global_id(1) * mt * MR;                       \
        ulong bt = get_global_id(2);                                                                          \
        if (ib >= M || jb >= N) return;                                                                       \
        A += offa + bt * sa;                                                                                  \
        B += offb + bt * sb;                                                                                  \
        C += offc + bt * sc;                                                                                  \
        int iend = min(ib + mt * MR, M), jend = min(jb + nt * NR, N);                                         \
        CL_FLOATN(VW) bp[GEMM_KC * NV]; /* the packed KC x NR block of B */                                   \
        for (int k0 = 0; k0 < K || k0 == 0; k0 += GEMM_KC) {                                                  \
            int kn = min(GEMM_KC, K - k0);                                                                    \
            float bk = k0 == 0 ? beta : 1.f;                                                                  \
            for (int j0 = jb; j0 < jend; j0 += NR) {                                                          \
                /* jl: first column the tile computes (shifted left at the N edge) */                         \
                int jl = j0 + NR <= N ? j0 : max(N - NR, 0);                                                  \
                int full = jl == j0 && j0 + NR <= N && csc == 1;                                              \
                const __global float *bg = B + (ulong)jl * sbj + (ulong)k0 * sbk;                             \
                float *bf = (float *)bp;                                                                      \
                if (N >= NR && sbj == 1) {                                                                    \
                    for (int k = 0; k < kn; k++, bg += sbk) {                                                 \
                        _Pragma("unroll") for (int v = 0; v < NV; v++) bp[k * NV + v] = CL_VLOADN(VW)(v, bg); \
                    }                                                                                         \
                } else if (N >= NR && sbk == 1) {                                                             \
                    /* B^T (A B^T): each column of the block runs along k; VW columns by VW                   \
                     * k at a time are loaded along k and transposed in registers (log2 VW                    \
                     * rounds of interleaving, each rotating the bits of (column, k) by one)                  \
                     * into VW rows of the block */                                                           \
                    int kv = kn / VW * VW;                                                                    \
                    for (int g = 0; g < NV; g++) {                                                            \
                        const __global float *bl = bg + (ulong)(g * VW) * sbj;                                \
                        for (int k = 0; k < kv; k += VW) {                                                    \
                            CL_FLOATN(VW) x[VW], y[VW];                                                       \
                            _Pragma("unroll") for (int u = 0; u < VW; u++)                                    \
                                x[u] = CL_VLOADN(VW)(0, bl + (ulong)u * sbj + k);                             \
                            _Pragma("unroll") for (int s = 1; s < VW; s *= 2) {                               \
                                _Pragma("unroll") for (int u = 0; u < VW / 2; u++) {                          \
                                    y[2 * u] = CL_CAT(gemm_zip, VW)(x[u].lo, x[u + VW / 2].lo);               \
                                    y[2 * u + 1] = CL_CAT(gemm_zip, VW)(x[u].hi, x[u + VW / 2].hi);           \
                                }                                                                             \
                                _Pragma("unroll") for (int u = 0; u < VW; u++) x[u] = y[u];                   \
                            }                                                                                 \
                            _Pragma("unroll") for (int u = 0; u < VW; u++) bp[(k + u) * NV + g] = x[u];       \
                        }                                                                                     \
                        for (int l = 0; l < VW; l++)                                                          \
                            for (int k = kv; k < kn; k++) bf[k * NR + g * VW + l] = bl[(ulong)l * sbj + k];   \
                    }                                                                                         \
                } else {                                                                                      \
                    /* narrow C: lanes past N re-read column N-1, never stored */                             \
                    for (int l = 0; l < NR; l++) {                                                            \
                        const __global float *bl = bg + (ulong)min(l, N - 1 - jl) * sbj;                      \
                        for (int k = 0; k < kn; k++) bf[k * NR + l] = bl[(ulong)k * sbk];                     \
                    }                                                                                         \
                }                                                                                             \
                for (int i0 = ib; i0 < iend; i0 += MR) {                                                      \
                    ulong ro[MR];                                                                             \
                    CL_FLOATN(VW) acc[MR][NV];                                                                \
                    _Pragma("unroll") for (int r = 0; r < MR; r++) {                                          \
                        ro[r] = (ulong)min(i0 + r, M - 1) * sai;                                              \
                        _Pragma("unroll") for (int v = 0; v < NV; v++) acc[r][v] = 0.f;                       \
                    }                                                                                         \
                    const __global float *ak = A + (ulong)k0 * sak;                                           \
                    for (int k = 0; k < kn; k++, ak += sak) {                                                 \
                        CL_FLOATN(VW) bv[NV];                                                                 \
                        _Pragma("unroll") for (int v = 0; v < NV; v++) bv[v] = bp[k * NV + v];                \
                        _Pragma("unroll") for (int r = 0; r < MR; r++) {                                      \
                            CL_FLOATN(VW) av = (CL_FLOATN(VW))(ak[ro[r]]);                                    \
                            _Pragma("unroll") for (int v = 0; v < NV; v++) acc[r][v] = av * bv[v] + acc[r][v]; \
                        }                                                                                     \
                    }                                                                                         \
                    _Pragma("unroll") for (int r = 0; r < MR; r++) {                                          \
                        if (i0 + r >= M) break;                                                               \
                        __global float *cr = C + (ulong)(i0 + r) * csr;                                       \
                        if (full) {                                                                           \
                            _Pragma("unroll") for (int v = 0; v < NV; v++) {                                  \
                                CL_FLOATN(VW) x = alpha * acc[r][v];                                          \
                                if (bk != 0.f) x = bk * CL_VLOADN(VW)(v, cr + j0) + x;                        \
                                CL_VSTOREN(VW)(x, v, cr + j0);                                                \
                            }                                                                                 \
                        } else {                                                                              \
                            float t[NV * VW];                                                                 \
                            _Pragma("unroll") for (int v = 0; v < NV; v++)                                    \
                                CL_VSTOREN(VW)(alpha * acc[r][v], v, t);                                      \
                            for (int c = j0 - jl; c < NR && jl + c < N; c++) {                                \
                                __global float *p = cr + (ulong)(jl + c) * csc;                               \
                                *p = bk != 0.f ? bk * *p + t[c] : t[c];                                       \
                            }                                                                                 \
                        }                                                                                     \
                    }                                                                                         \
                }                                                                                             \
            }                                                                                                 \
        }                                                                                                     \
    }

inline float gemm_hsum4(float4 v)
{
    float2 h = v.lo + v.hi;
    return h.x + h.y;
}
inline float gemm_hsum8(float8 v) { return gemm_hsum4(v.lo + v.hi); }
inline float gemm_hsum16(float16 v) { return gemm_hsum8(v.lo + v.hi); }

/* gemm_dot for one register shape: C = alpha * A B^T + beta * C with A
 * [M,K] (row stride lda) and B [N,K] (row stride ldb), a DR x DC tile of C
 * per work-item, each entry a dot product accumulated VW k at a time and
 * summed across lanes at the end. */
#define GEMM_DOT_DEFINE(NAME, DR, DC, VW)                                                                     \
    __kernel __attribute__((reqd_work_group_size(1, 1, 1))) void NAME(                                        \
        int M, int N, int K, float alpha, float beta, __global const float *A, ulong offa, ulong lda, ulong sa, \
        __global const float *B, ulong offb, ulong ldb, ulong sb, __global float *C, ulong offc, ulong ldc,   \
        ulong sc)                                                                                             \
    {                                                                                                         \
        int i0 = (int)get_global_id(0) * DR, j0 = (int)get_global_id(1) * DC;                                 \
        ulong bt = get_global_id(2);                                                                          \
        if (i0 >= M || j0 >= N) return;                                                                       \
        A += offa + bt * sa;                                                                                  \
        B += offb + bt * sb;                                                                                  \
        C += offc + bt * sc;                                                                                  \
        const __global float *ar[DR], *br[DC];                                                                \
        _Pragma("unroll") for (int r = 0; r < DR; r++) ar[r] = A + (ulong)min(i0 + r, M - 1) * lda;           \
        _Pragma("unroll") for (int c = 0; c < DC; c++) br[c] = B + (ulong)min(j0 + c, N - 1) * ldb;           \
        CL_FLOATN(VW) acc[DR][DC];                                                                            \
        _Pragma("unroll") for (int r = 0; r < DR; r++)                                                        \
            _Pragma("unroll") for (int c = 0; c < DC; c++) acc[r][c] = 0.f;                                   \
        int k = 0;                                                                                            \
        for (; k + VW <= K; k += VW) {                                                                        \
            CL_FLOATN(VW) a[DR], b[DC];                                                                       \
            _Pragma("unroll") for (int r = 0; r < DR; r++) a[r] = CL_VLOADN(VW)(0, ar[r] + k);                \
            _Pragma("unroll") for (int c = 0; c < DC; c++) b[c] = CL_VLOADN(VW)(0, br[c] + k);                \
            _Pragma("unroll") for (int r = 0; r < DR; r++)                                                    \
                _Pragma("unroll") for (int c = 0; c < DC; c++) acc[r][c] = a[r] * b[c] + acc[r][c];           \
        }                                                                                                     \
        float s[DR][DC];                                                                                      \
        _Pragma("unroll") for (int r = 0; r < DR; r++)                                                        \
            _Pragma("unroll") for (int c = 0; c < DC; c++) s[r][c] = CL_CAT(gemm_hsum, VW)(acc[r][c]);        \
        for (; k < K; k++) {                                                                                  \
            _Pragma("unroll") for (int r = 0; r < DR; r++)                                                    \
                _Pragma("unroll") for (int c = 0; c < DC; c++) s[r][c] = ar[r][k] * br[c][k] + s[r][c];       \
        }                                                                                                     \
        _Pragma("unroll") for (int r = 0; r < DR; r++) {                                                      \
            if (i0 + r >= M) break;                                                                           \
            _Pragma("unroll") for (int c = 0; c < DC; c++) {                                                  \
                if (j0 + c >= N) break;                                                                       \
                __global float *p = C + (ulong)(i0 + r) * ldc + (j0 + c);                                     \
                float v = alpha * s[r][c];                                                                    \
                *p = beta != 0.f ? beta * *p + v : v;                                                         \
            }                                                                                                 \
        }                                                                                                     \
    }

/* The register shapes (src/ocl/gemm.c lists the same, in this order). */
GEMM_TILE_DEFINE(gemm_tile_8x48f16, 8, 3, 16)
GEMM_TILE_DEFINE(gemm_tile_6x64f16, 6, 4, 16)
GEMM_TILE_DEFINE(gemm_tile_6x16f8, 6, 2, 8)
GEMM_TILE_DEFINE(gemm_tile_4x24f8, 4, 3, 8)
GEMM_TILE_DEFINE(gemm_tile_6x8f4, 6, 2, 4)
GEMM_TILE_DEFINE(gemm_tile_4x12f4, 4, 3, 4)
GEMM_DOT_DEFINE(gemm_dot_4x4f16, 4, 4, 16)
GEMM_DOT_DEFINE(gemm_dot_4x6f16, 4, 6, 16)
GEMM_DOT_DEFINE(gemm_dot_3x3f8, 3, 3, 8)
GEMM_DOT_DEFINE(gemm_dot_2x4f8, 2, 4, 8)
GEMM_DOT_DEFINE(gemm_dot_2x4f4, 2, 4, 4)

/* gemm_transpose: Y[c * ldy + r] = X[offx + r * ldx + c] for r < rows and
 * c < cols: A^T B's A, stored k-major with a long leading dimension, made
 * row-major along k so that gemm_tile reads it as it reads A B's
 * (src/ocl/gemm.c says when). A work-item moves 32 rows by 64 columns in 8
 * x 8 blocks transposed in registers (three rounds of gemm_zip8). */
__kernel __attribute__((reqd_work_group_size(1, 1, 1))) void gemm_transpose(int rows, int cols,
                                                                            __global const float *X, ulong offx,
                                                                            ulong ldx, __global float *Y, ulong ldy)
{
    int c0 = (int)get_global_id(0) * 64, r0 = (int)get_global_id(1) * 32;
    if (r0 >= rows || c0 >= cols) return;
    X += offx;
    int r1 = min(r0 + 32, rows), c1 = min(c0 + 64, cols);
    for (int r = r0; r < r1; r += 8)
        for (int c = c0; c < c1; c += 8) {
            if (r + 8 <= rows && c + 8 <= cols) {
                float8 x[8], y[8];
                _Pragma("unroll") for (int u = 0; u < 8; u++) x[u] = vload8(0, X + (ulong)(r + u) * ldx + c);
                _Pragma("unroll") for (int s = 1; s < 8; s *= 2) {
                    _Pragma("unroll") for (int u = 0; u < 4; u++) {
                        y[2 * u] = gemm_zip8(x[u].lo, x[u + 4].lo);
                        y[2 * u + 1] = gemm_zip8(x[u].hi, x[u + 4].hi);
                    }
                    _Pragma("unroll") for (int u = 0; u < 8; u++) x[u] = y[u];
                }
                _Pragma("unroll") for (int u = 0; u < 8; u++) vstore8(x[u], 0, Y + (ulong)(c + u) * ldy + r);
            } else {
                for (int i = r; i < min(r + 8, rows); i++)
                    for (int j = c; j < min(c + 8, cols); j++) Y[(ulong)j * ldy + i] = X[(ulong)i * ldx + j];
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
