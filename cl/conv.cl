/* Layout kernels of the convolutions (src/ocl/conv.c), each over the whole
 * minibatch in one launch, so that every GEMM of a convolution is one big
 * GEMM with N*OH*OW columns instead of N small ones.
 *
 * Names as in src/ocl/conv.c: an image side img[N, Ci, Hi, Wi] seen through
 * KH x KW windows (stride S, padding P), one window per position of a column
 * side with Ho x Wo positions; CK = Ci*KH*KW rows, row index
 * (ci*KH + kh)*KW + kw; column index n*L + l with L = Ho*Wo, NL = N*L. */

/* dst[b][a][l] = src[a][b][l] (+ bias[a] when bias is not NULL) for src
 * [A, B, L]: swaps the two outer axes, so a per-image [N, rows, L] array
 * becomes one [rows, N*L] matrix and back; the conv's bias rides along for
 * free. Work-item (a, b) copies one contiguous run of L. */
__kernel void conv_swap01(__global const float *src, int soff, __global float *dst, int doff, int A, int B, int L,
                          __global const float *bias, int n)
{
    int i = get_global_id(0);
    if (i >= n) return;
    int b = i % B, a = i / B;
    __global const float *s = src + soff + i * L;
    __global float *d = dst + doff + (b * A + a) * L;
    float add = bias ? bias[a] : 0.f;
    for (int l = 0; l < L; l++) d[l] = s[l] + add;
}

/* The windows of every image as col[CK, NL]; zero where a window hangs
 * over the padding. Work-item (row, n) writes the L contiguous entries of
 * image n in that row: integer division per element would cost far more
 * than the copy on a CPU. */
__kernel void conv_im2col(__global const float *img, __global float *col, int coff, int N, int Ci, int Hi, int Wi,
                          int Ho, int Wo, int KH, int KW, int S, int P, int n)
{
    int i = get_global_id(0);
    if (i >= n) return;
    int img_n = i % N, row = i / N;
    int kw = row % KW, kh = (row / KW) % KH, ci = row / (KW * KH);
    __global const float *src = img + (img_n * Ci + ci) * Hi * Wi;
    __global float *dst = col + coff + (row * N + img_n) * Ho * Wo;
    for (int oh = 0, h = kh - P; oh < Ho; oh++, h += S) {
        int hin = h >= 0 && h < Hi;
        for (int ow = 0, w = kw - P; ow < Wo; ow++, w += S)
            *dst++ = hin && w >= 0 && w < Wi ? src[h * Wi + w] : 0.f;
    }
}

/* The same windows transposed, colT[NL, CK]: work-item j writes row j,
 * CK contiguous entries. */
__kernel void conv_im2col_t(__global const float *img, __global float *col, int coff, int Ci, int Hi, int Wi, int Ho,
                            int Wo, int KH, int KW, int S, int P, int n)
{
    int j = get_global_id(0);
    if (j >= n) return;
    int ow = j % Wo, oh = (j / Wo) % Ho, img_n = j / (Wo * Ho);
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
 * and 0 <= oh < Ho; likewise along w. Those ranges are worked out once per
 * row (per pixel along w), so the inner loops are bare strided sums.
 * Work-item (n, h, ci) does one image row; n runs fastest, so neighbouring
 * work-items read neighbouring runs of the same rows of col (rows N*L
 * long: one image at a time would touch a new page per read). */
__kernel void conv_col2im(__global const float *col, int coff, __global float *img, int N, int Ci, int Hi, int Wi,
                          int Ho, int Wo, int KH, int KW, int S, int P, int NL, __global const float *bias, int n)
{
    int i = get_global_id(0);
    if (i >= n) return;
    int img_n = i % N, h = (i / N) % Hi, ci = i / (N * Hi);
    __global const float *cn = col + coff + img_n * Ho * Wo + ci * KH * KW * NL;
    __global float *dst = img + ((img_n * Ci + ci) * Hi + h) * Wi;
    float add = bias ? bias[ci] : 0.f;
    int kh0 = (h + P) % S, oh0 = (h + P) / S;
    int th0 = max(0, oh0 - Ho + 1), th1 = kh0 < KH ? min(oh0, (KH - 1 - kh0) / S) + 1 : 0;
    int kw0 = P % S, ow0 = P / S; /* at w = 0, then carried */
    for (int w = 0; w < Wi; w++) {
        int tw0 = max(0, ow0 - Wo + 1), tw1 = kw0 < KW ? min(ow0, (KW - 1 - kw0) / S) + 1 : 0;
        float s = 0.f;
        for (int th = th0; th < th1; th++) {
            __global const float *p = cn + ((kh0 + S * th) * KW + kw0 + S * tw0) * NL + (oh0 - th) * Wo + ow0 - tw0;
            for (int tw = tw0; tw < tw1; tw++, p += S * NL - 1) s += *p;
        }
        dst[w] = s + add;
        if (++kw0 == S) {
            kw0 = 0;
            ow0++;
        }
    }
}
