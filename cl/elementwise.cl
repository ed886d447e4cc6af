/* Element-wise kernels: activations, dropout, Gaussian noise, 2x2 max
 * pooling, concatenation along dim 1, row gather, standardisation. One
 * work-item per element; each mirrors the formula of src/ref/elementwise.c.
 * Activation kinds use the gan_act numbering: 0 relu, 1 leaky relu, 2 tanh,
 * 3 sigmoid, 4 softplus. */

/* Stable for large |x|: exp of a non-positive argument only. */
float ew_sigmoid(float x)
{
    if (x >= 0.f) return 1.0f / (1.0f + exp(-x));
    float e = exp(x);
    return e / (1.0f + e);
}

/* One work-item per 16 elements: relu and leaky relu (the common case) as
 * one float16 select, the rest, and a short last run, element by element. */
float ew_act1(float v, int kind, float slope)
{
    switch (kind) {
    case 0: return v > 0.f ? v : 0.f;
    case 1: return v > 0.f ? v : slope * v;
    case 2: return tanh(v);
    case 3: return ew_sigmoid(v);
    default: return fmax(v, 0.f) + log1p(exp(-fabs(v)));
    }
}

/* ew_act1 on 16 lanes: the transcendental kinds vectorise too (softplus
 * element by element was the semi-supervised generator's slowest pass). */
float16 ew_sigmoid16(float16 x)
{
    float16 e = exp(-fabs(x));
    return select(e / (1.0f + e), 1.0f / (1.0f + e), x >= 0.f);
}

float16 ew_act16(float16 v, int kind, float slope)
{
    switch (kind) {
    case 0: return select((float16)(0.f), v, v > 0.f);
    case 1: return select(slope * v, v, v > 0.f);
    case 2: return tanh(v);
    case 3: return ew_sigmoid16(v);
    default: return fmax(v, 0.f) + log1p(exp(-fabs(v)));
    }
}

__kernel void ew_act_forward(__global const float *x, __global float *y, int kind, float slope, int n)
{
    int g = (int)get_global_id(0), i = 16 * g;
    if (i >= n) return;
    if (i + 16 <= n) {
        vstore16(ew_act16(vload16(g, x), kind, slope), g, y);
        return;
    }
    for (int e = i; e < min(i + 16, n); e++) y[e] = ew_act1(x[e], kind, slope);
}

/* relu and leaky relu take the x > 0 branch's derivative only for x > 0:
 * 0 (relu) and slope (leaky) at x == 0, as the reference does. */
float ew_act_grad1(float x, float y, float g, int kind, float slope)
{
    switch (kind) {
    case 0: return x > 0.f ? g : 0.f;
    case 1: return x > 0.f ? g : slope * g;
    case 2: return g * (1.0f - y * y);
    case 3: return g * y * (1.0f - y);
    default: return g * ew_sigmoid(x);
    }
}

/* x or y may be NULL (ops.c checked the one the kind needs). */
__kernel void ew_act_backward(__global const float *x, __global const float *y, __global const float *dy,
                              __global float *dx, int kind, float slope, int n)
{
    int b = (int)get_global_id(0), i = 16 * b;
    if (i >= n) return;
    if (kind <= 1 && i + 16 <= n) {
        float16 g = vload16(b, dy);
        vstore16(select(kind == 0 ? (float16)(0.f) : slope * g, g, vload16(b, x) > 0.f), b, dx);
        return;
    }
    if (kind == 4 && i + 16 <= n) {
        vstore16(vload16(b, dy) * ew_sigmoid16(vload16(b, x)), b, dx);
        return;
    }
    for (int e = i; e < min(i + 16, n); e++)
        dx[e] = ew_act_grad1(kind == 2 || kind == 3 ? 0.f : x[e], kind == 2 || kind == 3 ? y[e] : 0.f, dy[e], kind,
                             slope);
}

/* scale = 1/(1-p) comes from the host so it is the same float as the
 * reference's; the keep test on the exact 24-bit uniform is then
 * bit-identical too. */
/* One work-item per 16 Philox blocks, elements 64g..64g+63 (element
 * 4b + k takes word k of block b, as everywhere). */
__kernel void ew_dropout_forward(__global const float *x, __global float *mask, __global float *y, float p,
                                 float scale, ulong seed, ulong counter, int n)
{
    int g = (int)get_global_id(0), i = 64 * g;
    if (i >= n) return;
    uint16 w[4];
    philox_block16(seed, counter + 16 * (ulong)g, &w[0], &w[1], &w[2], &w[3]);
    float m[4][16];
    for (int k = 0; k < 4; k++) {
        float16 u = convert_float16(w[k] >> 8) * (1.0f / 16777216.0f);
        vstore16(select((float16)(0.f), (float16)(scale), u >= (float16)(p)), 0, m[k]);
    }
    int e1 = min(64, n - i);
    for (int e = 0; e < e1; e++) {
        float v = m[e & 3][e >> 2];
        mask[i + e] = v;
        y[i + e] = x[i + e] * v;
    }
}

__kernel void ew_dropout_backward(__global const float *mask, __global const float *dy, __global float *dx, int n)
{
    int i = (int)get_global_id(0);
    if (i >= n) return;
    dx[i] = dy[i] * mask[i];
}

/* One work-item per 32 elements (16 Philox blocks, philox_normal32), the
 * last run element by element. */
__kernel void ew_noise_forward(__global const float *x, __global float *y, float std, ulong seed, ulong counter,
                               int n)
{
    int g = (int)get_global_id(0), i = 32 * g;
    if (i >= n) return;
    float16 lo, hi;
    philox_normal32_ordered(seed, counter, 16 * (ulong)g, &lo, &hi);
    if (i + 32 <= n) {
        vstore16(vload16(0, x + i) + std * lo, 0, y + i);
        vstore16(vload16(0, x + i + 16) + std * hi, 0, y + i + 16);
        return;
    }
    float z[32];
    vstore16(lo, 0, z);
    vstore16(hi, 0, z + 16);
    for (int k = 0; i + k < n; k++) y[i + k] = x[i + k] + std * z[k];
}

/* x[NC, H, W] -> y, idx [NC, OH, OW]: the window scanned row by row, a
 * strictly larger value (or the first NaN) replacing the current one. One
 * work-item per output row (nc, oh): integer division per element costs
 * more than the pooling on CPU devices. Eight windows at a time as float8
 * lanes (the two input rows' even and odd columns), then four as float4,
 * then one by one. relu (maxpool2_relu_forward): y = relu(max), idx the
 * same. */
#define MAXPOOL_TAKE(v, bv) (((v) > (bv)) | (isnan(v) & ~isnan(bv)))
/* VW windows from columns 2*ow.. of rows top and top + W: the even and odd
 * lanes of two float(2VW) loads; EVEN is (intVW)(0, 2, 4, ...) */
#define MAXPOOL_WINDOWS(VW, VW2, EVEN)                                                                        \
    {                                                                                                         \
        int p = top + 2 * ow;                                                                                 \
        CL_FLOATN(VW2) t = CL_VLOADN(VW2)(0, x + p), u = CL_VLOADN(VW2)(0, x + p + W);                        \
        CL_CAT(int, VW) i0 = (CL_CAT(int, VW))(p) + EVEN, bi = i0, take;                                      \
        CL_FLOATN(VW) bv = t.even;                                                                            \
        take = MAXPOOL_TAKE(t.odd, bv);                                                                       \
        bv = select(bv, t.odd, take);                                                                         \
        bi = select(bi, i0 + 1, take);                                                                        \
        take = MAXPOOL_TAKE(u.even, bv);                                                                      \
        bv = select(bv, u.even, take);                                                                        \
        bi = select(bi, i0 + W, take);                                                                        \
        take = MAXPOOL_TAKE(u.odd, bv);                                                                       \
        bv = select(bv, u.odd, take);                                                                         \
        bi = select(bi, i0 + W + 1, take);                                                                    \
        CL_VSTOREN(VW)(relu ? select((CL_FLOATN(VW))(0.f), bv, bv > 0.f) : bv, 0, y + r * OW + ow);            \
        CL_VSTOREN(VW)(bi, 0, idx + r * OW + ow);                                                             \
    }
__kernel void ew_maxpool2_forward(__global const float *x, __global float *y, __global int *idx, int relu, int H,
                                  int W, int OH, int OW, int rows)
{
    int r = (int)get_global_id(0);
    if (r >= rows) return;
    int oh = r % OH, nc = r / OH;
    int top = (nc * H + 2 * oh) * W;
    int ow = 0;
    for (; ow + 8 <= OW; ow += 8) MAXPOOL_WINDOWS(8, 16, (int8)(0, 2, 4, 6, 8, 10, 12, 14));
    /* no branch per window: a scalar tail on unrectified input mispredicts half its tests */
    if (ow + 4 <= OW) {
        MAXPOOL_WINDOWS(4, 8, (int4)(0, 2, 4, 6));
        ow += 4;
    }
    for (; ow < OW; ow++) {
        int best = top + 2 * ow;
        float bv = x[best];
        for (int k = 1; k < 4; k++) {
            int i = top + (k >> 1) * W + 2 * ow + (k & 1);
            float v = x[i];
            if (v > bv || (isnan(v) && !isnan(bv))) {
                best = i;
                bv = v;
            }
        }
        y[r * OW + ow] = relu && !(bv > 0.f) ? 0.f : bv;
        idx[r * OW + ow] = best;
    }
}

/* Gather form of "dx = 0; dx[idx] += dy": each dx element looks up its own
 * window (none for the odd last row/column) and takes dy when it is that
 * window's argmax. Windows do not overlap, so this is the same sum without
 * a separate zeroing pass or atomics. One work-item per dx row (nc, h),
 * sixteen columns (eight windows) at a time, then eight, then one by one.
 * With ym (maxpool2_relu's output y) not NULL, dy counts only where
 * ym > 0: the ReLU's backward folded in. */
__kernel void ew_maxpool2_backward(__global const int *idx, __global const float *ym, __global const float *dy,
                                   __global float *dx, int H, int W, int OH, int OW, int rows)
{
    int r = (int)get_global_id(0);
    if (r >= rows) return;
    int h = r % H, nc = r / H, oh = h >> 1, base = r * W;
    int orow = (nc * OH + oh) * OW;
    int w = 0;
    if (oh < OH)
        for (; 2 * w + 16 <= 2 * OW; w += 8) {
            int8 id = vload8(0, idx + orow + w), pos = (int8)(base + 2 * w) + (int8)(0, 2, 4, 6, 8, 10, 12, 14);
            float8 g = vload8(0, dy + orow + w);
            if (ym) g = select((float8)(0.f), g, vload8(0, ym + orow + w) > 0.f);
            float8 e = select((float8)(0.f), g, id == pos), o = select((float8)(0.f), g, id == pos + 1);
            vstore16(shuffle2(e, o, (uint16)(0, 8, 1, 9, 2, 10, 3, 11, 4, 12, 5, 13, 6, 14, 7, 15)), 0,
                     dx + base + 2 * w);
        }
    if (oh < OH && w + 4 <= OW) {
        int4 id = vload4(0, idx + orow + w), pos = (int4)(base + 2 * w) + (int4)(0, 2, 4, 6);
        float4 g = vload4(0, dy + orow + w);
        if (ym) g = select((float4)(0.f), g, vload4(0, ym + orow + w) > 0.f);
        float4 e = select((float4)(0.f), g, id == pos), o = select((float4)(0.f), g, id == pos + 1);
        vstore8(shuffle2(e, o, (uint8)(0, 4, 1, 5, 2, 6, 3, 7)), 0, dx + base + 2 * w);
        w += 4;
    }
    for (w *= 2; w < W; w++) {
        int ow = w >> 1;
        float v = 0.f;
        if (oh < OH && ow < OW && idx[orow + ow] == base + w && (!ym || ym[orow + ow] > 0.f)) v = dy[orow + ow];
        dx[base + w] = v;
    }
}

/* y[N, as + bs] (per batch entry a's as values, then b's bs values). */
__kernel void ew_concat_forward(__global const float *a, __global const float *b, __global float *y, int as,
                                int bs, int n)
{
    int i = (int)get_global_id(0);
    if (i >= n) return;
    int k = i / (as + bs), r = i - k * (as + bs);
    y[i] = r < as ? a[k * as + r] : b[k * bs + (r - as)];
}

__kernel void ew_concat_backward(__global const float *dy, __global float *da, __global float *db, int as, int bs,
                                 int n)
{
    int i = (int)get_global_id(0);
    if (i >= n) return;
    int k = i / (as + bs), r = i - k * (as + bs);
    if (r < as)
        da[k * as + r] = dy[i];
    else
        db[k * bs + (r - as)] = dy[i];
}

/* dst row r = src row idx[r] (rows of w 32-bit words, any dtype). An index
 * outside 0..M-1 breaks the op's contract; its row becomes zeros rather
 * than a read outside src. */
__kernel void ew_gather_rows(__global const uint *src, __global const int *idx, __global uint *dst, int M, int w,
                             ulong total)
{
    ulong i = get_global_id(0);
    if (i >= total) return;
    ulong r = i / (ulong)w, j = i - r * (ulong)w;
    int s = idx[r];
    dst[i] = s >= 0 && s < M ? src[(ulong)s * (ulong)w + j] : 0u;
}

/* y[N, C] = (x - mean[c]) * invstd[c]; y may be x. */
__kernel void ew_standardize(__global const float *x, __global const float *mean, __global const float *invstd,
                             __global float *y, int C, ulong total)
{
    ulong i = get_global_id(0);
    if (i >= total) return;
    int ch = (int)(i % (ulong)C);
    y[i] = (x[i] - mean[ch]) * invstd[ch];
}
