/* Layout kernels of the convolutions (src/ocl/conv.c), each over a chunk
 * of N images in one launch (the image side at element offset ioff), so
 * that every GEMM of a convolution is one GEMM with N*OH*OW columns
 * instead of N small ones.
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
__kernel void conv_to_cols(__global const float *src, int soff, __global float *dst, int doff, int N, int A, int L,
                           int n)
{
    int i = (int)get_global_id(0);
    if (i >= n) return;
    int l = i % L, a = i / L;
    __global const float *s = src + soff + a * L + l;
    __global float *d = dst + doff + i * N;
    for (int b = 0; b < N; b++) d[b] = s[b * A * L];
}

/* dst[n][a][l] = src[a][l][n] (+ bias[a] when bias is not NULL): columns
 * back to a per-image array, the conv's bias riding along for free.
 * Work-item (n, a) writes one contiguous run of L; neighbouring work-items
 * take neighbouring n, so the strided reads of one share cache lines with
 * the next (with a fastest, each read was its own line: 4x slower). */
__kernel void conv_from_cols(__global const float *src, int soff, __global float *dst, int doff, int N, int A,
                             int L, __global const float *bias, int n)
{
    int i = (int)get_global_id(0);
    if (i >= n) return;
    int b = i % N, a = i / N; /* neighbours read neighbouring images of one column run */
    __global const float *s = src + soff + a * L * N + b;
    __global float *d = dst + doff + (b * A + a) * L;
    float add = bias ? bias[a] : 0.f;
    for (int l = 0; l < L; l++) d[l] = s[l * N] + add;
}

/* The windows of every image as col[CK, NL]; zero where a window hangs
 * over the padding. Work-item (row, oh) writes the Wo*N contiguous entries
 * of one row of windows. */
__kernel void conv_im2col(__global const float *img, int ioff, __global float *col, int coff, int N, int Ci, int Hi,
                          int Wi, int Ho, int Wo, int KH, int KW, int S, int P, int n)
{
    int i = (int)get_global_id(0);
    if (i >= n) return;
    int oh = i % Ho, row = i / Ho;
    int kw = row % KW, kh = (row / KW) % KH, ci = row / (KW * KH);
    int h = oh * S - P + kh, plane = Ci * Hi * Wi;
    __global const float *src = img + ioff + ci * Hi * Wi + h * Wi;
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
 * writes row j, CK contiguous entries. The window's rows and columns
 * inside the image are worked out once, so the copies in between run
 * without a test per element. */
__kernel void conv_im2col_t(__global const float *img, int ioff, __global float *col, int coff, int N, int Ci, int Hi,
                            int Wi, int Ho, int Wo, int KH, int KW, int S, int P, int n)
{
    int j = (int)get_global_id(0);
    if (j >= n) return;
    int img_n = j % N, l = j / N, ow = l % Wo, oh = l / Wo;
    int h0 = oh * S - P, w0 = ow * S - P;
    int kh0 = max(0, -h0), kh1 = min(KH, Hi - h0), kw0 = max(0, -w0), kw1 = min(KW, Wi - w0);
    if (kh1 < kh0) kh1 = kh0;
    if (kw1 < kw0) kw1 = kw0;
    /* index of the window's corner (kh, kw) = (0, 0), outside the image
     * when the window hangs over the padding (only read inside) */
    int src = ioff + img_n * Ci * Hi * Wi + h0 * Wi + w0;
    __global float *dst = col + coff + j * Ci * KH * KW;
    for (int ci = 0; ci < Ci; ci++, src += Hi * Wi) {
        int kh = 0;
        for (; kh < kh0; kh++)
            for (int kw = 0; kw < KW; kw++) *dst++ = 0.f;
        for (; kh < kh1; kh++) {
            int r = src + kh * Wi, kw = 0;
            for (; kw < kw0; kw++) *dst++ = 0.f;
            for (; kw < kw1; kw++) *dst++ = img[r + kw];
            for (; kw < KW; kw++) *dst++ = 0.f;
        }
        for (; kh < KH; kh++)
            for (int kw = 0; kw < KW; kw++) *dst++ = 0.f;
    }
}

/* The adjoint of conv_im2col: img[n, ci, h, w] = the sum of every
 * col[CK, NL] entry that window-reads that pixel. Gathering per pixel
 * (rather than scattering per column entry) needs no atomics and writes
 * every pixel exactly once, so img needs no zeroing; bias[ci] (deconv's)
 * is added on the way out when not NULL.
 * Row h is read by the windows with kh = kh0 + S*t at oh = oh0 - t, where
 * kh0 = (h + P) mod S and oh0 = (h + P) / S, for the t that keep kh < KH
 * and 0 <= oh < Ho; likewise along w. Work-item (ci, h, block of 16
 * images) works the row's ranges out once and steps kw0, ow0 along the
 * row (a division per pixel cost more than its few taps), adding whole
 * float16 runs of col (the image index is innermost there); a last block
 * short of 16 images goes element by element. */
__kernel void conv_col2im(__global const float *col, int coff, __global float *img, int ioff, int N, int Ci, int Hi,
                          int Wi, int Ho, int Wo, int KH, int KW, int S, int P, __global const float *bias, int n)
{
    int i = (int)get_global_id(0);
    if (i >= n) return;
    int nblk = (N + 15) / 16, n0 = i % nblk * 16, r = i / nblk;
    int h = r % Hi, ci = r / Hi;
    int NL = N * Ho * Wo;
    int kh0 = (h + P) % S, oh0 = (h + P) / S;
    int th0 = max(0, oh0 - Ho + 1), th1 = kh0 < KH ? min(oh0, (KH - 1 - kh0) / S) + 1 : 0;
    /* col entry of tap (th, tw) = (0, 0) for kw0 = ow0 = 0 and image n0, and the steps between taps */
    __global const float *ch = col + coff + (ci * KH * KW + kh0 * KW) * NL + oh0 * Wo * N + n0;
    int dth = S * KW * NL - Wo * N, dtw = S * NL - N;
    float add = bias ? bias[ci] : 0.f;
    int plane = Ci * Hi * Wi, nv = min(16, N - n0);
    __global float *dst = img + ioff + (n0 * Ci + ci) * Hi * Wi + h * Wi;
    for (int w = 0, kw0 = P % S, ow0 = P / S; w < Wi; w++) {
        int tw0 = max(0, ow0 - Wo + 1), tw1 = kw0 < KW ? min(ow0, (KW - 1 - kw0) / S) + 1 : 0;
        __global const float *c0 = ch + kw0 * NL + ow0 * N;
        if (nv == 16) {
            float16 s = 0.f;
            for (int th = th0; th < th1; th++) {
                __global const float *p = c0 + th * dth + tw0 * dtw;
                for (int tw = tw0; tw < tw1; tw++, p += dtw) s += vload16(0, p);
            }
            float t[16];
            vstore16(s + add, 0, t);
            for (int v = 0; v < 16; v++) dst[v * plane + w] = t[v];
        } else {
            for (int v = 0; v < nv; v++) {
                float s = 0.f;
                for (int th = th0; th < th1; th++) {
                    __global const float *p = c0 + th * dth + tw0 * dtw + v;
                    for (int tw = tw0; tw < tw1; tw++, p += dtw) s += *p;
                }
                dst[v * plane + w] = s + add;
            }
        }
        if (++kw0 == S) {
            kw0 = 0;
            ow0++;
        }
    }
}

/* ---- image-major layout, for convolutions with many positions per image
 * (L = Ho*Wo >= 256, src/ocl/conv.c): a chunk of nb images n0.. at a time,
 * each image's columns a matrix of its own, col[b][CK][L], so that the GEMMs
 * run batched over the chunk and read and write the images in place
 * (NCHW is [N][C][L]); the chunk keeps the columns in cache. ---- */

/* The chunk's windows, row `row` of image b at col + coff + b*sb + row*sr
 * (sb = CK*L, sr = L: col[b][CK][L], each image a matrix; sb = L, sr = nb*L:
 * col[CK][nb*L], the images side by side). Work-item (b, row) writes the L
 * contiguous entries of one row, Wo at a time. */
__kernel void conv_im2col_img(__global const float *img, __global float *col, int coff, int sb, int sr, int n0,
                              int Ci, int Hi, int Wi, int Ho, int Wo, int KH, int KW, int S, int P, int n)
{
    int i = (int)get_global_id(0);
    if (i >= n) return;
    int CK = Ci * KH * KW, row = i % CK, b = i / CK;
    int kw = row % KW, kh = (row / KW) % KH, ci = row / (KW * KH);
    int w0 = kw - P, inside = w0 >= 0 && w0 + (Wo - 1) * S < Wi;
    __global const float *plane = img + ((n0 + b) * Ci + ci) * Hi * Wi;
    __global float *dst = col + coff + b * sb + row * sr;
    for (int oh = 0, h = kh - P; oh < Ho; oh++, h += S, dst += Wo) {
        if (h < 0 || h >= Hi) {
            for (int ow = 0; ow < Wo; ow++) dst[ow] = 0.f;
            continue;
        }
        __global const float *src = plane + h * Wi;
        if (inside && S == 1) { /* no padding in this row: a plain copy */
            src += w0;
            for (int ow = 0; ow < Wo; ow++) dst[ow] = src[ow];
        } else {
            for (int ow = 0, w = w0; ow < Wo; ow++, w += S) dst[ow] = w >= 0 && w < Wi ? src[w] : 0.f;
        }
    }
}

/* dst[b*L + l][a] = src[n0 + b][a][l]: the chunk's per-image [A, L]
 * matrices transposed and stacked, [nb*L, A]. Work-item (b, 16 positions)
 * fills a 16 x A tile of dst: 16 x 16 blocks read as 16 rows of 16 and
 * written as 16 rows of 16 (a transpose through private memory, which the
 * compiler turns into shuffles: half the time of 16 scattered scalar
 * stores per row at batch 256), then any last rows a and a short last
 * block of positions value by value. */
__kernel void conv_outT_img(__global const float *src, __global float *dst, int n0, int A, int L, int n)
{
    int i = (int)get_global_id(0);
    if (i >= n) return;
    int blocks = (L + 15) / 16, l0 = i % blocks * 16, b = i / blocks, nl = min(16, L - l0);
    __global const float *s = src + (n0 + b) * A * L + l0;
    __global float *d = dst + (b * L + l0) * A;
    int a = 0;
    if (nl == 16)
        for (; a + 16 <= A; a += 16, s += 16 * L) {
            float t[256];
#pragma unroll
            for (int k = 0; k < 16; k++) vstore16(vload16(0, s + k * L), k, t);
#pragma unroll
            for (int v = 0; v < 16; v++)
                vstore16((float16)(t[v], t[16 + v], t[32 + v], t[48 + v], t[64 + v], t[80 + v], t[96 + v],
                                   t[112 + v], t[128 + v], t[144 + v], t[160 + v], t[176 + v], t[192 + v],
                                   t[208 + v], t[224 + v], t[240 + v]),
                         0, d + v * A + a);
        }
    for (; a < A; a++, s += L) {
        if (nl == 16) {
            float t[16];
            vstore16(vload16(0, s), 0, t);
            for (int v = 0; v < 16; v++) d[v * A + a] = t[v];
        } else {
            for (int v = 0; v < nl; v++) d[v * A + a] = s[v];
        }
    }
}

/* The adjoint of conv_im2col_img for the chunk: img[n0 + b, ci, h, w] =
 * the sum of the col[b] entries that window-read the pixel (+ bias[ci]
 * when not NULL), gathered as in conv_col2im; where mask (img's shape) is
 * not NULL, 0 wherever mask <= 0 (a ReLU's backward with mask its output).
 * Work-item (b, ci, h) writes one image row. */
__kernel void conv_col2im_img(__global const float *col, __global float *img, int n0, int Ci, int Hi, int Wi,
                              int Ho, int Wo, int KH, int KW, int S, int P, __global const float *bias,
                              __global const float *mask, int n)
{
    int i = (int)get_global_id(0);
    if (i >= n) return;
    int h = i % Hi, t = i / Hi, ci = t % Ci, b = t / Ci;
    int L = Ho * Wo, CK = Ci * KH * KW;
    int kh0 = (h + P) % S, oh0 = (h + P) / S;
    int th0 = max(0, oh0 - Ho + 1), th1 = kh0 < KH ? min(oh0, (KH - 1 - kh0) / S) + 1 : 0;
    __global const float *cb = col + b * CK * L + ci * KH * KW * L;
    int row = ((n0 + b) * Ci + ci) * Hi * Wi + h * Wi;
    __global float *dst = img + row;
    __global const float *mk = mask ? mask + row : 0;
    float add = bias ? bias[ci] : 0.f;
    if (S == 1 && Wi <= 64) {
        /* stride 1: tap (kh, kw) adds a contiguous run of one col row to a
         * contiguous run of the image row, a loop the compiler vectorises */
        float acc[64];
        for (int w = 0; w < Wi; w++) acc[w] = 0.f;
        for (int kh = 0; kh < KH; kh++) {
            int oh = h + P - kh;
            if (oh < 0 || oh >= Ho) continue;
            for (int kw = 0; kw < KW; kw++) {
                int o = (kh * KW + kw) * L + oh * Wo + P - kw; /* col index of w, valid for w in [lo, hi) */
                int lo = max(0, kw - P), hi = min(Wi, Wo + kw - P);
                for (int w = lo; w < hi; w++) acc[w] += cb[o + w];
            }
        }
        if (mk)
            for (int w = 0; w < Wi; w++) dst[w] = mk[w] > 0.f ? acc[w] + add : 0.f;
        else
            for (int w = 0; w < Wi; w++) dst[w] = acc[w] + add;
        return;
    }
    /* kw0 = (w + P) % S and ow0 = (w + P) / S, stepped along w: a division
     * per pixel costs more than its few taps on CPU devices */
    for (int w = 0, kw0 = P % S, ow0 = P / S; w < Wi; w++) {
        int tw0 = max(0, ow0 - Wo + 1), tw1 = kw0 < KW ? min(ow0, (KW - 1 - kw0) / S) + 1 : 0;
        float s = 0.f;
        for (int th = th0; th < th1; th++) {
            int kh = kh0 + S * th, oh = oh0 - th;
            __global const float *p = cb + (kh * KW) * L + oh * Wo;
            for (int tw = tw0; tw < tw1; tw++) s += p[(kw0 + S * tw) * L + ow0 - tw];
        }
        dst[w] = !mk || mk[w] > 0.f ? s + add : 0.f;
        if (++kw0 == S) {
            kw0 = 0;
            ow0++;
        }
    }
}

/* ---- the weight and bias gradients of a convolution with one input
 * channel (Ci = 1, stride 1, no padding: the classifier's first conv),
 * summed straight from the images and dy: the columns' path transposes dy
 * (conv_outT_img), writes KH*KW column rows and runs a GEMM with an output
 * only KH*KW wide, and bias_grad reads dy once more. (A direct forward
 * kernel lost to the columns' GEMM there: 5.2 vs 3.0 ms at batch 256.) ---- */

/* The weight and bias gradients' per-image terms: part[(b*Co + o)*(T+1) + t]
 * = sum over (oh, ow) of dy[b, o, oh, ow] * img[b, oh + kh, ow + kw] for tap
 * t = kh*KW + kw < T = KH*KW, and the sum of dy[b, o] for t = T. Work-item
 * (b, o, t), 8 lanes along each row. */
__kernel void conv_c1_wpart(__global const float *img, __global const float *dy, __global float *part, int Hi,
                            int Wi, int Co, int Ho, int Wo, int KH, int KW, int n)
{
    int i = (int)get_global_id(0);
    if (i >= n) return;
    int T = KH * KW, t = i % (T + 1), bo = i / (T + 1), b = bo / Co;
    __global const float *d = dy + bo * Ho * Wo;
    int kh = t < T ? t / KW : 0, kw = t < T ? t % KW : 0;
    __global const float *x = img + b * Hi * Wi + kh * Wi + kw;
    float8 acc8 = 0.f;
    float acc = 0.f;
    int wv = Wo / 8 * 8;
    if (t < T) {
        for (int oh = 0; oh < Ho; oh++, d += Wo, x += Wi) {
            for (int ow = 0; ow < wv; ow += 8) acc8 += vload8(0, d + ow) * vload8(0, x + ow);
            for (int ow = wv; ow < Wo; ow++) acc += d[ow] * x[ow];
        }
    } else {
        for (int oh = 0; oh < Ho; oh++, d += Wo) {
            for (int ow = 0; ow < wv; ow += 8) acc8 += vload8(0, d + ow);
            for (int ow = wv; ow < Wo; ow++) acc += d[ow];
        }
    }
    float4 h4 = acc8.lo + acc8.hi;
    float2 h2 = h4.lo + h4.hi;
    part[i] = acc + (h2.x + h2.y);
}

/* dw[o, t] (t < T) and db[o] (t = T, when db is not NULL) = the sums over
 * the N images of conv_c1_wpart's terms. Work-item (o, t). */
__kernel void conv_c1_wsum(__global const float *part, __global float *dw, __global float *db, int N, int Co, int T,
                           int n)
{
    int i = (int)get_global_id(0);
    if (i >= n) return;
    int t = i % (T + 1), o = i / (T + 1);
    if (t == T && !db) return;
    __global const float *p = part + i;
    float s = 0.f;
    for (int b = 0; b < N; b++, p += Co * (T + 1)) s += *p;
    if (t < T)
        dw[o * T + t] = s;
    else
        db[o] = s;
}

/* out[n0 + b, a, :] += bias[a] (bias not NULL), then = relu(out) (relu
 * not 0), for the chunk's images right after the chunk's GEMM wrote them
 * (still in cache; a pass over the whole output afterwards read it back
 * from memory). Work-item (b, a), one run of L. */
__kernel void conv_bias_img(__global float *out, __global const float *bias, int relu, int n0, int A, int L, int n)
{
    int i = (int)get_global_id(0);
    if (i >= n) return;
    __global float *p = out + (n0 * A + i) * L;
    if (bias) {
        float v = bias[i % A];
        for (int l = 0; l < L; l++) p[l] += v;
    }
    if (relu)
        for (int l = 0; l < L; l++) p[l] = p[l] > 0.f ? p[l] : 0.f;
}
