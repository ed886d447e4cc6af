/* Layout kernels of the convolutions (src/ocl/conv.c), each over the whole
 * minibatch in one launch, so that every GEMM of a convolution is one big
 * GEMM with N*OH*OW columns instead of N small ones.
 *
 * Names as in src/ocl/conv.c: an image side img[N, Ci, Hi, Wi] seen through
 * KH x KW windows (stride S, padding P), one window per position of a column
 * side with Ho x Wo positions, L = Ho*Wo, NL = N*L. Column matrices have
 * CK = Ci*KH*KW rows, row index (ci*KH + kh)*KW + kw, and NL columns with
 * the image index innermost: column l*N + n. That order makes the N values
 * of one (row, position) contiguous, which is what lets conv_col2im add
 * whole vectors of them.
 *
 * CPUs (PoCL) run each work-item as plain sequential code, where an integer
 * division costs more than the copy it indexes: so work-items here do runs
 * of elements with the divisions hoisted out, never one element each. */

/* dst[a][l][n] = src[n][a][l] for src [N, A, L]: a per-image array to
 * columns. Work-item (a, l) writes the N contiguous entries of one column
 * position. */
__kernel void conv_to_cols(__global const float *src, __global float *dst, int doff, int N, int A, int L, int n)
{
    int i = get_global_id(0);
    if (i >= n) return;
    int l = i % L, a = i / L;
    __global const float *s = src + a * L + l;
    __global float *d = dst + doff + i * N;
    for (int b = 0; b < N; b++) d[b] = s[b * A * L];
}

/* dst[n][a][l] = src[a][l][n] (+ bias[a] when bias is not NULL): columns
 * back to a per-image array, the conv's bias riding along for free.
 * Work-item (n, a) writes one contiguous run of L. */
__kernel void conv_from_cols(__global const float *src, int soff, __global float *dst, int N, int A, int L,
                             __global const float *bias, int n)
{
    int i = get_global_id(0);
    if (i >= n) return;
    int a = i % A, b = i / A;
    __global const float *s = src + soff + a * L * N + b;
    __global float *d = dst + i * L;
    float add = bias ? bias[a] : 0.f;
    for (int l = 0; l < L; l++) d[l] = s[l * N] + add;
}

/* The windows of every image as col[CK, NL]; zero where a window hangs
 * over the padding. Work-item (row, oh) writes the Wo*N contiguous entries
 * of one row of windows. */
__kernel void conv_im2col(__global const float *img, __global float *col, int coff, int N, int Ci, int Hi, int Wi,
                          int Ho, int Wo, int KH, int KW, int S, int P, int n)
{
    int i = get_global_id(0);
    if (i >= n) return;
    int oh = i % Ho, row = i / Ho;
    int kw = row % KW, kh = (row / KW) % KH, ci = row / (KW * KH);
    int h = oh * S - P + kh, plane = Ci * Hi * Wi;
    __global const float *src = img + ci * Hi * Wi + h * Wi;
    __global float *dst = col + coff + i * Wo * N;
    int hin = h >= 0 && h < Hi;
    for (int ow = 0, w = kw - P; ow < Wo; ow++, w += S) {
        if (hin && w >= 0 && w < Wi)
            for (int b = 0; b < N; b++) *dst++ = src[b * plane + w];
        else
            for (int b = 0; b < N; b++) *dst++ = 0.f;
    }
}

/* The same windows transposed, colT[NL, CK]: work-item j (= l*N + n)
 * writes row j, CK contiguous entries. */
__kernel void conv_im2col_t(__global const float *img, __global float *col, int coff, int N, int Ci, int Hi, int Wi,
                            int Ho, int Wo, int KH, int KW, int S, int P, int n)
{
    int j = get_global_id(0);
    if (j >= n) return;
    int img_n = j % N, l = j / N, ow = l % Wo, oh = l / Wo;
    __global const float *src = img + img_n * Ci * Hi * Wi;
    __global float *dst = col + coff + j * Ci * KH * KW;
    for (int ci = 0; ci < Ci; ci++, src += Hi * Wi)
        for (int kh = 0, h = oh * S - P; kh < KH; kh++, h++) {
            int hin = h >= 0 && h < Hi;
            for (int kw = 0, w = ow * S - P; kw < KW; kw++, w++)
                *dst++ = hin && w >= 0 && w < Wi ? src[h * Wi + w] : 0.f;
        }
}

/* The adjoint of conv_im2col: img[n, ci, h, w] = the sum of every
 * col[CK, NL] entry that window-reads that pixel. Gathering per pixel
 * (rather than scattering per column entry) needs no atomics and writes
 * every pixel exactly once, so img needs no zeroing; bias[ci] (deconv's)
 * is added on the way out when not NULL.
 * Row h is read by the windows with kh = kh0 + S*t at oh = oh0 - t, where
 * kh0 = (h + P) mod S and oh0 = (h + P) / S, for the t that keep kh < KH
 * and 0 <= oh < Ho; likewise along w. Work-item (pixel, block of 16 images)
 * works those ranges out once and adds whole float16 runs of col (the
 * image index is innermost there); a last block short of 16 images goes
 * element by element. */
__kernel void conv_col2im(__global const float *col, int coff, __global float *img, int N, int Ci, int Hi, int Wi,
                          int Ho, int Wo, int KH, int KW, int S, int P, __global const float *bias, int n)
{
    int i = get_global_id(0);
    if (i >= n) return;
    int nblk = (N + 15) / 16, n0 = i % nblk * 16, px = i / nblk;
    int w = px % Wi, h = (px / Wi) % Hi, ci = px / (Wi * Hi);
    int NL = N * Ho * Wo;
    int kh0 = (h + P) % S, oh0 = (h + P) / S, kw0 = (w + P) % S, ow0 = (w + P) / S;
    int th0 = max(0, oh0 - Ho + 1), th1 = kh0 < KH ? min(oh0, (KH - 1 - kh0) / S) + 1 : 0;
    int tw0 = max(0, ow0 - Wo + 1), tw1 = kw0 < KW ? min(ow0, (KW - 1 - kw0) / S) + 1 : 0;
    /* col entry of tap (th, tw) for image n0, and the steps between taps */
    __global const float *c0 = col + coff + (ci * KH * KW + kh0 * KW + kw0) * NL + (oh0 * Wo + ow0) * N + n0;
    int dth = S * KW * NL - Wo * N, dtw = S * NL - N;
    float add = bias ? bias[ci] : 0.f;
    __global float *dst = img + (n0 * Ci + ci) * Hi * Wi + h * Wi + w;
    int plane = Ci * Hi * Wi;
    if (n0 + 16 <= N) {
        float16 s = 0.f;
        for (int th = th0; th < th1; th++) {
            __global const float *p = c0 + th * dth + tw0 * dtw;
            for (int tw = tw0; tw < tw1; tw++, p += dtw) s += vload16(0, p);
        }
        float t[16];
        vstore16(s + add, 0, t);
        for (int v = 0; v < 16; v++) dst[v * plane] = t[v];
    } else {
        for (int v = 0; v < N - n0; v++) {
            float s = 0.f;
            for (int th = th0; th < th1; th++) {
                __global const float *p = c0 + th * dth + tw0 * dtw + v;
                for (int tw = tw0; tw < tw1; tw++, p += dtw) s += *p;
            }
            dst[v * plane] = s + add;
        }
    }
}
