/* Both device GEMM paths of src/ocl/gemm.c (the cl/gemm.cl kernels and
 * CLBlast), each forced on its own context through GANCL_GEMM, against the
 * reference: awkward shapes around the kernels' tile edges (8 x 32 tiles,
 * 4 x 4 dot tiles, K in blocks of 256), every ta/tb, beta 0 and not; then
 * ocl_gemm_run itself with offsets, padded leading dimensions and strided
 * batches (a shared A too, stride 0), against a host loop, checking that
 * nothing outside the C matrices is written and that beta = 0 ignores C
 * (NaN there); and the convolutions, whose GEMMs these are, at batch sizes
 * beyond tests/test_conv.c's.
 * Tolerance: fp32 sums of K terms of O(1) inputs, atol 1e-5 * sqrt(K) +
 * 1e-6, rtol 1e-4 (as test_gemm). */
#include "registry.h"

#include "ocl/ocl.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static double tol_k(size_t K) { return 1e-5 * sqrt((double)K) + 1e-6; }

/* A context on t->dev's device with the GEMM path forced to `path`. */
static gan_ctx *path_ctx(th *t, const char *path)
{
    int p, d;
    char sel[32];
    if (sscanf(gan_ctx_device_name(t->dev), "%d:%d", &p, &d) != 2) {
        th_fail(t, "cannot tell the device's P:D from '%s'", gan_ctx_device_name(t->dev));
        return NULL;
    }
    snprintf(sel, sizeof sel, "%d:%d", p, d);
    const char *prev = getenv("GANCL_GEMM");
    char *saved = prev ? strdup(prev) : NULL;
    setenv("GANCL_GEMM", path, 1);
    gan_ctx *c = NULL;
    gan_status st = gan_ctx_create(&c, sel);
    if (saved)
        setenv("GANCL_GEMM", saved, 1);
    else
        unsetenv("GANCL_GEMM");
    free(saved);
    if (TH_OK(t, c, st)) {
        gan_ctx_free(c);
        return NULL;
    }
    int own = !strcmp(path, "own");
    if (ocl_st(c)->gemm_own != own) th_fail(t, "GANCL_GEMM=%s gave gemm_own = %d", path, ocl_st(c)->gemm_own);
    return c;
}

static gan_status upload(gan_ctx *c, gan_tensor *x, int d0, int d1, const float *h)
{
    gan_status st = gan_tensor_alloc4(c, x, GAN_F32, 2, d0, d1, 0, 0);
    return st ? st : gan_tensor_write(c, x, h);
}

/* gan_gemm on `c` against the reference, one shape, every ta/tb and beta. */
static void public_gemm(th *t, gan_ctx *c, const char *path, int M, int N, int K)
{
    for (int ta = 0; ta < 2; ta++)
        for (int tb = 0; tb < 2; tb++)
            for (int bi = 0; bi < 2; bi++) {
                float alpha = bi ? -1.25f : 1.f, beta = bi ? 0.5f : 0.f;
                float *ha = th_rand_host(t, (size_t)M * K, -1, 1), *hb = th_rand_host(t, (size_t)K * N, -1, 1);
                float *hc = th_rand_host(t, (size_t)M * N, -1, 1), *got = malloc((size_t)M * N * sizeof *got);
                float *want = malloc((size_t)M * N * sizeof *want);
                gan_tensor A = {0}, B = {0}, C = {0}, rA = {0}, rB = {0}, rC = {0};
                char what[128];
                snprintf(what, sizeof what, "%s gemm M%d N%d K%d ta%d tb%d beta%g", path, M, N, K, ta, tb, beta);
                if (!got || !want) abort();
                if (!TH_OK(t, t->ref, upload(t->ref, &rA, ta ? K : M, ta ? M : K, ha)) &&
                    !TH_OK(t, t->ref, upload(t->ref, &rB, tb ? N : K, tb ? K : N, hb)) &&
                    !TH_OK(t, t->ref, upload(t->ref, &rC, M, N, hc)) &&
                    !TH_OK(t, t->ref, gan_gemm(t->ref, ta, tb, alpha, &rA, &rB, beta, &rC)) &&
                    !TH_OK(t, t->ref, gan_tensor_read(t->ref, &rC, want)) &&
                    !TH_OK(t, c, upload(c, &A, ta ? K : M, ta ? M : K, ha)) &&
                    !TH_OK(t, c, upload(c, &B, tb ? N : K, tb ? K : N, hb)) &&
                    !TH_OK(t, c, upload(c, &C, M, N, hc)) &&
                    !TH_OK(t, c, gan_gemm(c, ta, tb, alpha, &A, &B, beta, &C)) &&
                    !TH_OK(t, c, gan_tensor_read(c, &C, got)))
                    th_compare_host(t, what, got, want, (size_t)M * N, tol_k((size_t)K), 1e-4);
                gan_tensor_free(c, &A);
                gan_tensor_free(c, &B);
                gan_tensor_free(c, &C);
                gan_tensor_free(t->ref, &rA);
                gan_tensor_free(t->ref, &rB);
                gan_tensor_free(t->ref, &rC);
                free(ha);
                free(hb);
                free(hc);
                free(got);
                free(want);
            }
}

/* ocl_gemm_run with every field of ocl_gemm_args in play. A, B, C live in
 * one buffer each at an offset, with leading dimensions wider than the
 * matrices and batch strides wider still (sa = 0: one A for all entries);
 * the host loop computes the same in double, and every element of the C
 * buffer outside the batch's C matrices must come back unchanged. */
static void raw_gemm_k(th *t, gan_ctx *c, const char *path, int kernel, int ta, int tb, size_t M, size_t N,
                       size_t K, size_t batch, int shared_a, float beta)
{
    size_t ar = ta ? K : M, ac = ta ? M : K, br = tb ? N : K, bc = tb ? K : N;
    size_t lda = ac + 3, ldb = bc + 5, ldc = N + 2;
    size_t sa = shared_a ? 0 : ar * lda + 7, sb = br * ldb + 1, sc = M * ldc + 4;
    size_t offa = 5, offb = 2, offc = 9;
    size_t na = offa + (batch - 1) * sa + ar * lda, nb = offb + (batch - 1) * sb + br * ldb,
           nc = offc + (batch - 1) * sc + M * ldc + 3;
    float alpha = 0.75f;
    float *ha = th_rand_host(t, na, -1, 1), *hb = th_rand_host(t, nb, -1, 1), *hc = th_rand_host(t, nc, -1, 1);
    float *want = malloc(nc * sizeof *want), *got = malloc(nc * sizeof *got);
    if (!want || !got) abort();
    /* beta == 0 must not read C (BLAS semantics): NaN there must vanish */
    if (beta == 0.f)
        for (size_t e = 0; e < batch; e++)
            for (size_t i = 0; i < M; i++)
                for (size_t j = 0; j < N; j++) hc[offc + e * sc + i * ldc + j] = NAN;
    memcpy(want, hc, nc * sizeof *want);
    for (size_t e = 0; e < batch; e++)
        for (size_t i = 0; i < M; i++)
            for (size_t j = 0; j < N; j++) {
                double s = 0;
                for (size_t k = 0; k < K; k++) {
                    double a = ha[offa + e * sa + (ta ? k * lda + i : i * lda + k)];
                    double b = hb[offb + e * sb + (tb ? j * ldb + k : k * ldb + j)];
                    s += a * b;
                }
                float *w = &want[offc + e * sc + i * ldc + j];
                *w = (float)(alpha * s + (beta != 0.f ? (double)beta * *w : 0.0));
            }
    gan_tensor A = {0}, B = {0}, C = {0};
    char what[160];
    snprintf(what, sizeof what, "%s %s M%zu N%zu K%zu ta%d tb%d batch%zu%s beta%g", path,
             kernel < 0 ? "ocl_gemm_run" : "ocl_gemm_kernel_run", M, N, K, ta, tb, batch, shared_a ? " shared A" : "",
             beta);
    if (!TH_OK(t, c, upload(c, &A, 1, (int)na, ha)) && !TH_OK(t, c, upload(c, &B, 1, (int)nb, hb)) &&
        !TH_OK(t, c, upload(c, &C, 1, (int)nc, hc))) {
        ocl_gemm_args g = {.ta = ta, .tb = tb, .M = M, .N = N, .K = K, .alpha = alpha, .beta = beta,
                           .A = ocl_mem(&A), .offa = offa, .lda = lda, .sa = sa,
                           .B = ocl_mem(&B), .offb = offb, .ldb = ldb, .sb = sb,
                           .C = ocl_mem(&C), .offc = offc, .ldc = ldc, .sc = sc, .batch = batch};
        if (!TH_OK(t, c, kernel < 0 ? ocl_gemm_run(c, &g) : ocl_gemm_kernel_run(c, &g, kernel)) &&
            !TH_OK(t, c, gan_tensor_read(c, &C, got)))
            th_compare_host(t, what, got, want, nc, tol_k(K), 1e-4);
    }
    gan_tensor_free(c, &A);
    gan_tensor_free(c, &B);
    gan_tensor_free(c, &C);
    free(ha);
    free(hb);
    free(hc);
    free(want);
    free(got);
}

static void raw_gemm(th *t, gan_ctx *c, const char *path, int ta, int tb, size_t M, size_t N, size_t K, size_t batch,
                     int shared_a, float beta)
{
    raw_gemm_k(t, c, path, -1, ta, tb, M, N, K, batch, shared_a, beta);
}

/* conv2d (transposed = 0) or deconv2d forward and backward on `c` against
 * the reference, from the same host data: x[N,C,H,W], O channels out,
 * KS x KS kernel. Tolerances as tests/test_conv.c, with K the terms summed
 * into one element: C*KS*KS (y), O*KS*KS (dx), N times the spatial size of
 * x (deconv dw) or y (conv dw, db). */
static void conv_case(th *t, gan_ctx *c, const char *path, int transposed, int N, int C, int H, int W, int O, int KS,
                      int S, int P, int OP)
{
    gan_conv2d_params prm = {S, P, OP};
    int OH = transposed ? (H - 1) * S - 2 * P + KS + OP : (H + 2 * P - KS) / S + 1;
    int OW = transposed ? (W - 1) * S - 2 * P + KS + OP : (W + 2 * P - KS) / S + 1;
    /* x, w, b, dy (inputs), then y, dx, dw, db (outputs) */
    const int dims[8][5] = {{4, N, C, H, W}, {4, transposed ? C : O, transposed ? O : C, KS, KS}, {1, O, 0, 0, 0},
                            {4, N, O, OH, OW}, {4, N, O, OH, OW}, {4, N, C, H, W},
                            {4, transposed ? C : O, transposed ? O : C, KS, KS}, {1, O, 0, 0, 0}};
    static const char *names[4] = {"y", "dx", "dw", "db"};
    size_t kterms[4] = {(size_t)C * KS * KS, (size_t)O * KS * KS, (size_t)N * (transposed ? H * W : OH * OW),
                        (size_t)N * OH * OW};
    gan_ctx *ctx[2] = {t->ref, c};
    gan_tensor v[2][8];
    float *host[4] = {0};
    memset(v, 0, sizeof v);
    int ok = 1;
    for (int x = 0; x < 2 && ok; x++) {
        for (int k = 0; k < 8 && ok; k++)
            ok = !TH_OK(t, ctx[x], gan_tensor_alloc4(ctx[x], &v[x][k], GAN_F32, dims[k][0], dims[k][1], dims[k][2],
                                                     dims[k][3], dims[k][4]));
        for (int k = 0; k < 4 && ok; k++) {
            if (!host[k]) host[k] = th_rand_host(t, v[x][k].numel, -1, 1);
            ok = !TH_OK(t, ctx[x], gan_tensor_write(ctx[x], &v[x][k], host[k]));
        }
        gan_tensor *g = v[x];
        if (ok)
            ok = transposed ? !TH_OK(t, ctx[x], gan_deconv2d_forward(ctx[x], &g[0], &g[1], &g[2], &g[4], &prm)) &&
                                  !TH_OK(t, ctx[x], gan_deconv2d_backward(ctx[x], &g[0], &g[1], &g[3], &g[5], &g[6],
                                                                          &g[7], &prm))
                            : !TH_OK(t, ctx[x], gan_conv2d_forward(ctx[x], &g[0], &g[1], &g[2], &g[4], &prm)) &&
                                  !TH_OK(t, ctx[x], gan_conv2d_backward(ctx[x], &g[0], &g[1], &g[3], &g[5], &g[6],
                                                                        &g[7], &prm));
    }
    for (int k = 0; k < 4 && ok; k++) {
        float *want = th_read(t, t->ref, &v[0][4 + k]), *got = th_read(t, c, &v[1][4 + k]);
        char what[160];
        snprintf(what, sizeof what, "%s %s N%d C%d %dx%d O%d K%d S%d P%d OP%d %s", path,
                 transposed ? "deconv2d" : "conv2d", N, C, H, W, O, KS, S, P, OP, names[k]);
        if (want && got) th_compare_host(t, what, got, want, v[0][4 + k].numel, tol_k(kterms[k]), 1e-4);
        free(want);
        free(got);
    }
    for (int x = 0; x < 2; x++)
        for (int k = 0; k < 8; k++) gan_tensor_free(ctx[x], &v[x][k]);
    for (int k = 0; k < 4; k++) free(host[k]);
}

void test_gemm_paths(th *t)
{
    if (!t->dev) return;
    /* the default: own kernels exactly on CPU devices */
    const char *forced = getenv("GANCL_GEMM");
    cl_device_type type = 0;
    if (clGetDeviceInfo(ocl_st(t->dev)->device, CL_DEVICE_TYPE, sizeof type, &type, NULL) != CL_SUCCESS)
        th_fail(t, "clGetDeviceInfo(CL_DEVICE_TYPE) failed");
    else if ((!forced || !*forced) && ocl_st(t->dev)->gemm_own != ((type & CL_DEVICE_TYPE_CPU) != 0))
        th_fail(t, "default GEMM path: gemm_own = %d on a device of type %#llx", ocl_st(t->dev)->gemm_own,
                (unsigned long long)type);
    /* M, N, K: 1, 3, 7, 33 and primes; tile edges 8 +- 1, 32 +- 1; K
     * around the 256 block, and long K with narrow C */
    static const int shapes[][3] = {
        {1, 1, 1},     {3, 7, 5},     {7, 3, 33},     {1, 33, 7},    {33, 1, 13},  {7, 31, 3},
        {9, 33, 17},   {8, 32, 256},  {15, 63, 257},  {17, 97, 31},  {131, 37, 11}, {129, 65, 521},
        {5, 29, 2053}, {64, 100, 300}, {2, 65, 255},
    };
    /* M, N, K, batch for ocl_gemm_run */
    static const int raw[][4] = {{1, 1, 1, 2}, {7, 33, 5, 3}, {9, 31, 300, 2}, {33, 65, 13, 3}, {3, 5, 517, 2}};
    const char *paths[2] = {"own", "clblast"};
    for (int p = 0; p < 2; p++) {
        gan_ctx *c = path_ctx(t, paths[p]);
        if (!c) continue;
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            public_gemm(t, c, paths[p], shapes[s][0], shapes[s][1], shapes[s][2]);
        for (size_t s = 0; s < sizeof raw / sizeof raw[0]; s++)
            for (int ta = 0; ta < 2; ta++)
                for (int tb = 0; tb < 2; tb++)
                    raw_gemm(t, c, paths[p], ta, tb, (size_t)raw[s][0], (size_t)raw[s][1], (size_t)raw[s][2],
                             (size_t)raw[s][3], (int)(s % 2), s % 3 ? 0.5f : 0.f);
        /* the convolutions' GEMMs, at batch sizes past tests/test_conv.c's:
         * conv_col2im adds 16 images at a time, then the rest one by one */
        conv_case(t, c, paths[p], 0, 17, 3, 9, 8, 5, 3, 2, 1, 0);
        conv_case(t, c, paths[p], 0, 33, 2, 7, 7, 4, 5, 1, 2, 0);
        conv_case(t, c, paths[p], 1, 18, 4, 5, 6, 3, 5, 2, 2, 1);
        conv_case(t, c, paths[p], 1, 32, 3, 4, 4, 2, 3, 1, 1, 0);
        /* chunks of the batched path (src/ocl/conv.c, COL_CHUNK_BYTES):
         * 1600 x 49 columns an image make chunks of 16 images, here 16, 16
         * and a short last one of 3 */
        conv_case(t, c, paths[p], 0, 35, 64, 7, 7, 16, 5, 1, 2, 0);
        conv_case(t, c, paths[p], 1, 35, 16, 7, 7, 64, 5, 2, 2, 1);
        /* the image-major path of src/ocl/conv.c (L = OH*OW >= 256, chunks
         * of about 4 MiB of columns): several chunks and a short last one,
         * stride 2 and no padding, and deconvolutions (L is x's H*W) */
        conv_case(t, c, paths[p], 0, 7, 32, 20, 20, 8, 5, 1, 2, 0);
        conv_case(t, c, paths[p], 0, 3, 2, 37, 37, 3, 3, 2, 0, 0);
        conv_case(t, c, paths[p], 0, 2, 1, 28, 28, 5, 3, 1, 0, 0);
        conv_case(t, c, paths[p], 1, 5, 3, 17, 16, 2, 4, 2, 1, 0);
        conv_case(t, c, paths[p], 1, 7, 4, 16, 16, 48, 5, 1, 2, 0);
        gan_ctx_free(c);
    }
}

/* ---- loop caps (cl/gemm.cl loop_probe, src/ocl/gemm.c) ---- */

/* One ocl_gemm_run into a fresh copy of hc; returns C (malloc'd). */
static float *run_raw(th *t, gan_ctx *c, const ocl_gemm_args *shape, const float *ha, size_t na, const float *hb,
                      size_t nb, const float *hc, size_t nc)
{
    gan_tensor A = {0}, B = {0}, C = {0};
    float *got = NULL;
    if (!TH_OK(t, c, upload(c, &A, 1, (int)na, ha)) && !TH_OK(t, c, upload(c, &B, 1, (int)nb, hb)) &&
        !TH_OK(t, c, upload(c, &C, 1, (int)nc, hc))) {
        ocl_gemm_args g = *shape;
        g.A = ocl_mem(&A);
        g.B = ocl_mem(&B);
        g.C = ocl_mem(&C);
        if (!TH_OK(t, c, ocl_gemm_run(c, &g))) got = th_read(t, c, &C);
    }
    gan_tensor_free(c, &A);
    gan_tensor_free(c, &B);
    gan_tensor_free(c, &C);
    return got;
}

/* Mesa's llvmpipe (rusticl) ends every loop of a kernel once their trips
 * add up to 65535, without an error: gemm_tile, one work-item looping over
 * all of K for its micro-tiles, then returned partial sums for a long K
 * (about 6,500 with one micro-tile per item, less with more): dense
 * 100->12544's dx (K 12544) and deconv 256->128's dx (K 3200) failed
 * `gancl check` there. The context probes the cap (loop_probe) and, where
 * there is one, runs K in slices of whole 256-blocks, one launch each.
 * Here: the long-K shapes against the reference (these fail on llvmpipe
 * without the slicing); then, on any device, a cap forced onto the own
 * kernels' context gives sliced launches whose C is bit-identical to one
 * launch (the kernel adds its blocks into C with beta 1 the same way), for
 * the tile kernel's layouts, beta 0 (C not read: NaN there) and not, and a
 * batch; and a cap-length A B^T leaves gemm_dot for the sliced tiles. */
void test_gemm_loop_cap(th *t)
{
    if (!t->dev) return;
    th_diag("loop cap of %s: %d (0: none)", gan_ctx_device_name(t->dev), ocl_st(t->dev)->loop_cap);
    if (ocl_st(t->dev)->loop_cap != 0 && ocl_st(t->dev)->loop_cap < 1000)
        th_fail(t, "loop cap %d: the probe or the driver is broken", ocl_st(t->dev)->loop_cap);
    gan_ctx *c = path_ctx(t, "own");
    if (!c) return;
    public_gemm(t, c, "own", 8, 32, 8192);
    public_gemm(t, c, "own", 3, 70, 13000);
    static const int cases[][5] = {/* ta, tb, M, N, K */
                                   {0, 0, 9, 40, 1000}, {1, 0, 17, 33, 777}, {1, 1, 5, 70, 1030}, {0, 0, 3, 5, 256}};
    for (size_t s = 0; s < sizeof cases / sizeof cases[0]; s++)
        for (int bi = 0; bi < 2; bi++) {
            int ta = cases[s][0], tb = cases[s][1];
            size_t M = (size_t)cases[s][2], N = (size_t)cases[s][3], K = (size_t)cases[s][4], batch = 2;
            size_t lda = ta ? M : K, ldb = tb ? K : N, na = 2 * K * M, nb = 2 * K * N, nc = 2 * M * N;
            ocl_gemm_args g = {.ta = ta, .tb = tb, .M = M, .N = N, .K = K, .alpha = 0.75f, .beta = bi ? 0.5f : 0.f,
                               .lda = lda, .sa = K * M, .ldb = ldb, .sb = K * N, .ldc = N, .sc = M * N,
                               .batch = batch};
            float *ha = th_rand_host(t, na, -1, 1), *hb = th_rand_host(t, nb, -1, 1), *hc = th_rand_host(t, nc, -1, 1);
            if (!bi)
                for (size_t e = 0; e < nc; e++) hc[e] = NAN;
            ocl_st(c)->loop_cap = 0;
            float *one = run_raw(t, c, &g, ha, na, hb, nb, hc, nc);
            ocl_st(c)->loop_cap = 1000;
            if (ocl_gemm_tile_kslice(c) != 256) th_fail(t, "cap 1000: K slice %zu, expected 256", ocl_gemm_tile_kslice(c));
            float *sliced = run_raw(t, c, &g, ha, na, hb, nb, hc, nc);
            char what[128];
            snprintf(what, sizeof what, "K sliced vs one launch: M%zu N%zu K%zu ta%d tb%d beta%g", M, N, K, ta, tb,
                     g.beta);
            if (one && sliced) th_compare_bits(t, what, sliced, one, nc);
            free(one);
            free(sliced);
            free(ha);
            free(hb);
            free(hc);
        }
    /* gemm_dot (A B^T) makes about K / VW trips: past the cap, the tile
     * kernel (K sliced) */
    ocl_st(c)->loop_cap = 1000;
    public_gemm(t, c, "own, cap 1000", 5, 7, 20000);
    gan_ctx_free(c);
}

/* ---- every own kernel (cl/gemm.cl's register shapes) ---- */

/* Each own kernel, run directly (ocl_gemm_kernel_run), on every layout it
 * computes (tile kernels all four, A B^T through packing B^T; dot kernels A
 * B^T) against a double host loop, over shapes around its own tile edges:
 * M at MR - 1, MR + 1, 2 MR + 1 and a prime; N below one tile (the narrow
 * path), at NR, NR + 1 (a shifted last tile) and past several tiles and
 * column blocks; K around the 256 block; offsets, padded leading
 * dimensions, a strided batch and a shared A (raw_gemm); beta 0 with NaN in
 * C and beta 0.5. A shape big enough for many micro-tiles per work-item
 * too. Tolerance as above. GANCL_GEMM_TILE picks the kernels the rest of
 * the suite runs; this covers them all in one run. */
void test_gemm_kernels(th *t)
{
    if (!t->dev) return;
    gan_ctx *c = path_ctx(t, "own");
    if (!c) return;
    for (int k = 0; k < ocl_gemm_nkernels(); k++) {
        const ocl_gemm_kernel *e = ocl_gemm_kernel_at(k);
        size_t mr = (size_t)e->mr, nr = (size_t)(e->dot ? e->nv : e->nv * e->vw);
        size_t ms[4] = {mr - 1 ? mr - 1 : 1, mr + 1, 2 * mr + 1, 37};
        size_t ns[4] = {nr > 2 ? nr - 2 : 1, nr, nr + 1, 5 * nr + 3};
        size_t ks[4] = {1, 13, 256, 300};
        char what[64];
        snprintf(what, sizeof what, "kernel %s", e->name);
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                ocl_gemm_args lay = {.ta = ta, .tb = tb};
                if (!ocl_gemm_kernel_fits(k, &lay)) continue;
                for (int i = 0; i < 4; i++)
                    raw_gemm_k(t, c, what, k, ta, tb, ms[i], ns[(i + ta + 2 * tb) % 4], ks[(i + tb) % 4], 2, i % 2,
                               i % 2 ? 0.5f : 0.f);
                raw_gemm_k(t, c, what, k, ta, tb, 16 * mr + 3, 9 * nr + 1, 520, 1, 0, 0.5f);
                if (ta && !tb && !e->dot) { /* A^T transposed first (gemm_transpose), edges of its blocks */
                    raw_gemm_k(t, c, what, k, ta, tb, 517, 5 * nr + 259, 300, 1, 0, 0.5f);
                    raw_gemm_k(t, c, what, k, ta, tb, 513, 257, 37, 1, 0, 0.f);
                }
            }
    }
    if (ocl_st(c)->loop_cap <= 0 && !ocl_st(c)->gemm_ws)
        th_fail(t, "no A^T B of 517 x 259+ ran through the transposed A (src/ocl/gemm.c transpose_a_pays)");
    gan_ctx_free(c);
}

/* ---- gan_tune (src/ocl/tune.c) ---- */

/* A context on t->dev's device whose GEMM path is not forced, so that a
 * tune file's per-shape paths count. */
static gan_ctx *tuned_ctx(th *t)
{
    int p, d;
    char sel[32];
    if (sscanf(gan_ctx_device_name(t->dev), "%d:%d", &p, &d) != 2) return NULL;
    snprintf(sel, sizeof sel, "%d:%d", p, d);
    const char *prev = getenv("GANCL_GEMM");
    char *saved = prev ? strdup(prev) : NULL;
    unsetenv("GANCL_GEMM");
    gan_ctx *c = NULL;
    gan_status st = gan_ctx_create(&c, sel);
    if (saved) setenv("GANCL_GEMM", saved, 1);
    free(saved);
    if (TH_OK(t, c, st)) {
        gan_ctx_free(c);
        return NULL;
    }
    return c;
}

/* Every shape through gan_gemm on c (batch 1) or ocl_gemm_run (batch > 1,
 * as src/ocl/conv.c would) against a double host loop. */
static void tuned_shapes_match(th *t, gan_ctx *c, const char *what, const gan_gemm_shape *s, int n)
{
    for (int i = 0; i < n; i++)
        raw_gemm(t, c, what, s[i].ta, s[i].tb, (size_t)s[i].M, (size_t)s[i].N, (size_t)s[i].K, (size_t)s[i].batch,
                 0, 0.f);
}

/* Rewrite the tune file at path through edit(root). */
static int edit_tune(th *t, const char *path, void (*edit)(json_t *root))
{
    json_error_t je;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        th_fail(t, "tune file %s is not JSON: %s", path, je.text);
        return 0;
    }
    edit(root);
    int ok = json_dump_file(root, path, 0) == 0;
    json_decref(root);
    if (!ok) th_fail(t, "cannot rewrite %s", path);
    return ok;
}

/* A valid but non-default Xgemm set (CLBlast's tuner constraints hold). */
static void set_xgemm(json_t *root)
{
    json_t *x = json_object_get(json_object_get(root, "clblast"), "Xgemm");
    const char *names[] = {"MWG", "NWG", "KWG", "MDIMC", "NDIMC", "MDIMA", "NDIMB", "KWI", "VWM", "VWN", "SA", "SB"};
    const int vals[] = {32, 32, 16, 8, 8, 8, 8, 2, 2, 2, 0, 0};
    for (int i = 0; x && i < 12; i++) json_object_set_new(x, names[i], json_integer(vals[i]));
    /* every listed shape through CLBlast, so the parameters are exercised */
    json_t *shapes = json_object_get(root, "shapes"), *e;
    size_t i;
    json_array_foreach(shapes, i, e) json_object_set_new(e, "path", json_string("clblast"));
}
static void set_stale(json_t *root) { json_object_set_new(root, "driver", json_string("some other driver 0.0")); }
static void drop_param(json_t *root)
{
    json_object_del(json_object_get(json_object_get(root, "clblast"), "Xgemm"), "KWG");
}

static int starts(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

/* gan_tune --quick into a fresh cache directory: the file is written, a
 * new context loads it (per-shape paths, CLBlast parameters applied) and
 * GEMMs still match the reference; CLBlast parameters edited in the file
 * are applied (read back from CLBlast) and still match; a corrupt, stale
 * or incomplete file leaves the defaults, with the reason in
 * gan_tune_status. Tolerances as above. */
void test_gemm_tune(th *t)
{
    if (!t->dev) return;
    char dir[] = "/tmp/gancl-tune-test-XXXXXX";
    if (!mkdtemp(dir)) {
        th_fail(t, "mkdtemp failed");
        return;
    }
    const char *prev = getenv("GANCL_CACHE_DIR");
    char *saved = prev ? strdup(prev) : NULL;
    setenv("GANCL_CACHE_DIR", dir, 1);
    static const gan_gemm_shape shapes[] = {
        {0, 0, 33, 70, 17, 1}, {1, 0, 8, 33, 5, 1}, {0, 1, 7, 40, 300, 1}, {1, 1, 5, 9, 3, 1}, {0, 0, 9, 31, 13, 2},
    };
    const int ns = (int)(sizeof shapes / sizeof shapes[0]);
    gan_tune_report r = {0};
    gan_ctx *c = tuned_ctx(t), *c2 = NULL;
    if (!c) goto done;
    if (!starts(gan_tune_status(c), "no tune file")) th_fail(t, "fresh cache: status '%s'", gan_tune_status(c));
    gan_tune_opts o = {.shapes = shapes, .nshapes = ns, .quick = 1, .reps = 1};
    if (TH_OK(t, c, gan_tune(c, &o, &r))) goto done;
    if (r.ncands < 1 || r.nshapes != ns || r.winner < 0)
        th_fail(t, "tune report: %d candidates, %d shapes, winner %d", r.ncands, r.nshapes, r.winner);
    for (int i = 0; i < r.nshapes; i++)
        if (r.shapes[i].ms_own < 0 || r.shapes[i].ms_default < 0)
            th_fail(t, "shape %d: own %.3f ms, CLBlast default %.3f ms (< 0: mismatch)", i, r.shapes[i].ms_own,
                    r.shapes[i].ms_default);
    FILE *f = fopen(r.path, "rb");
    if (!f) th_fail(t, "tune file %s not written", r.path);
    else fclose(f);
    if (strncmp(r.path, dir, strlen(dir))) th_fail(t, "tune file %s is not under GANCL_CACHE_DIR %s", r.path, dir);
    json_error_t je;
    json_t *orig = json_load_file(r.path, 0, &je);
    if (!orig) {
        th_fail(t, "tune file %s is not JSON: %s", r.path, je.text);
        goto done;
    }

    /* reloaded by a new context: per-shape paths as reported */
    c2 = tuned_ctx(t);
    if (!c2) goto done;
    if (!starts(gan_tune_status(c2), "loaded") || ocl_st(c2)->ntune != ns)
        th_fail(t, "reload: status '%s', %d shapes", gan_tune_status(c2), ocl_st(c2)->ntune);
    for (int i = 0; i < ns; i++) {
        ocl_gemm_args g = {.ta = shapes[i].ta, .tb = shapes[i].tb, .M = (size_t)shapes[i].M, .N = (size_t)shapes[i].N,
                           .K = (size_t)shapes[i].K, .batch = (size_t)shapes[i].batch};
        if (ocl_tune_lookup(c2, &g) != r.shapes[i].own)
            th_fail(t, "shape %d: lookup %d, tuned path %d", i, ocl_tune_lookup(c2, &g), r.shapes[i].own);
    }
    tuned_shapes_match(t, c2, "tuned", shapes, ns);
    gan_ctx_free(c2);

    /* edited CLBlast parameters are applied and every shape runs them */
    if (edit_tune(t, r.path, set_xgemm) && (c2 = tuned_ctx(t))) {
        char names[32][32];
        size_t vals[32];
        int n = ocl_clblast_params(ocl_st(c2)->device, "Xgemm", names, vals, 32), seen = 0;
        if (!starts(gan_tune_status(c2), "loaded")) th_fail(t, "edited file: status '%s'", gan_tune_status(c2));
        for (int i = 0; i < n; i++)
            if (!strcmp(names[i], "MWG") || !strcmp(names[i], "KWG") || !strcmp(names[i], "VWM")) {
                seen++;
                size_t want = !strcmp(names[i], "MWG") ? 32 : !strcmp(names[i], "KWG") ? 16 : 2;
                if (vals[i] != want) th_fail(t, "Xgemm %s = %zu after loading, file says %zu", names[i], vals[i], want);
            }
        if (seen != 3) th_fail(t, "Xgemm parameters not readable (%d)", n);
        for (int i = 0; i < ns; i++) {
            ocl_gemm_args g = {.ta = shapes[i].ta, .tb = shapes[i].tb, .M = (size_t)shapes[i].M,
                               .N = (size_t)shapes[i].N, .K = (size_t)shapes[i].K, .batch = (size_t)shapes[i].batch};
            if (ocl_tune_lookup(c2, &g) != 0) th_fail(t, "edited file: shape %d not on CLBlast", i);
        }
        tuned_shapes_match(t, c2, "edited clblast", shapes, ns);
        gan_ctx_free(c2);
        c2 = NULL;
    }

    /* bad files: defaults, and the reason */
    struct { const char *what, *status; void (*edit)(json_t *); const char *text; } bad[] = {
        {"stale", "stale", set_stale, NULL},
        {"incomplete", "clblast.Xgemm.KWG", drop_param, NULL},
        {"corrupt", "not valid JSON", NULL, "{\"format\": \"gancl-tune\", \"version\": 1, \"shapes\": [ {"},
    };
    for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
        if (json_dump_file(orig, r.path, 0) != 0) th_fail(t, "cannot rewrite %s", r.path);
        if (bad[b].edit && !edit_tune(t, r.path, bad[b].edit)) continue;
        if (bad[b].text) {
            FILE *w = fopen(r.path, "wb");
            if (!w || fputs(bad[b].text, w) < 0) th_fail(t, "cannot write %s", r.path);
            if (w) fclose(w);
        }
        if (!(c2 = tuned_ctx(t))) continue;
        const char *stat = gan_tune_status(c2);
        if (!starts(stat, "ignored") || !strstr(stat, bad[b].status) || ocl_st(c2)->ntune != 0 || c2->err[0])
            th_fail(t, "%s file: status '%s', %d shapes, error '%s'", bad[b].what, stat, ocl_st(c2)->ntune,
                    gan_ctx_error(c2));
        tuned_shapes_match(t, c2, bad[b].what, shapes, 2);
        gan_ctx_free(c2);
        c2 = NULL;
    }
    json_decref(orig);
done:
    gan_tune_report_free(&r);
    gan_ctx_free(c);
    if (saved) setenv("GANCL_CACHE_DIR", saved, 1);
    else unsetenv("GANCL_CACHE_DIR");
    free(saved);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) th_fail(t, "cannot remove %s", dir);
}
