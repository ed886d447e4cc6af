/* Loss kernels: bce_logits, mse, softmax_xent, lse_loss, consistency. Each runs as ONE
 * work-group (global == local, a power of two): work-item j handles the
 * elements (or rows) j, j + size, j + 2*size, ..., writes their gradients,
 * and sums their loss terms with Kahan compensation; a local-memory tree
 * then adds the per-item sums and item 0 stores the batch mean in loss[0].
 * One launch per loss, no atomics, no host round trip. */

/* Compensated running sum: s += x with the lost low bits kept in c. */
void loss_kahan_add(float *s, float *c, float x)
{
    float y = x - *c;
    float t = *s + y;
    *c = (t - *s) - y;
    *s = t;
}

/* Sum of v over the work-group (local size a power of two); every
 * work-item must call it. */
float loss_wg_sum(float v, __local float *buf)
{
    size_t lid = get_local_id(0);
    buf[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (size_t s = get_local_size(0) / 2; s > 0; s >>= 1) {
        if (lid < s) buf[lid] += buf[lid + s];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    return buf[0];
}

float loss_softplus(float x) { return fmax(x, 0.0f) + log1p(exp(-fabs(x))); }

float loss_sigmoid(float x)
{
    if (x >= 0.0f) return 1.0f / (1.0f + exp(-x));
    float e = exp(x);
    return e / (1.0f + e);
}

/* Row max m and s = sum of exp(l - m): logsumexp = m + log(s), and
 * softmax_k = exp(l_k - m) / s, which avoids exp(l_k - lse) inheriting the
 * rounding of a large lse. */
void loss_row_stats(__global const float *row, int K, float *m, float *s)
{
    float mx = row[0];
    for (int k = 1; k < K; k++) mx = fmax(mx, row[k]);
    float acc = 0.0f, comp = 0.0f;
    for (int k = 0; k < K; k++) loss_kahan_add(&acc, &comp, exp(row[k] - mx));
    *m = mx;
    *s = acc;
}

/* logits, targets, grad [n]: mean(softplus(l) - t*l), grad (sigmoid(l) - t)/n. */
__kernel void loss_bce_logits(__global const float *l, __global const float *t, __global float *loss,
                              __global float *grad, int n, __local float *buf)
{
    float s = 0.0f, c = 0.0f;
    for (int i = (int)get_local_id(0); i < n; i += (int)get_local_size(0)) {
        float x = l[i], y = t[i];
        loss_kahan_add(&s, &c, fmax(x, 0.0f) - x * y + log1p(exp(-fabs(x))));
        grad[i] = (loss_sigmoid(x) - y) / (float)n;
    }
    float total = loss_wg_sum(s, buf);
    if (get_local_id(0) == 0) loss[0] = total / (float)n;
}

/* pred, target, grad [n]: mean((p - t)^2), grad 2(p - t)/n. */
__kernel void loss_mse(__global const float *p, __global const float *t, __global float *loss, __global float *grad,
                       int n, __local float *buf)
{
    float s = 0.0f, c = 0.0f;
    for (int i = (int)get_local_id(0); i < n; i += (int)get_local_size(0)) {
        float d = p[i] - t[i];
        loss_kahan_add(&s, &c, d * d);
        grad[i] = 2.0f * d / (float)n;
    }
    float total = loss_wg_sum(s, buf);
    if (get_local_id(0) == 0) loss[0] = total / (float)n;
}

/* logits, grad [N, K], labels [N]: mean(lse(row) - row[label]),
 * grad (softmax - onehot)/N. A label outside 0..K-1 is never used as an
 * index: its row's loss term and gradients are NaN, so loss[0] is NaN (the
 * reference backend returns GAN_ERR_ARG instead; a device op cannot look at
 * the labels without a host round trip). */
__kernel void loss_softmax_xent(__global const float *l, __global const int *labels, __global float *loss,
                                __global float *grad, int N, int K, __local float *buf)
{
    float s = 0.0f, c = 0.0f;
    for (int n = (int)get_local_id(0); n < N; n += (int)get_local_size(0)) {
        __global const float *row = l + (size_t)n * K;
        __global float *g = grad + (size_t)n * K;
        int y = labels[n];
        if (y < 0 || y >= K) {
            loss_kahan_add(&s, &c, NAN);
            for (int k = 0; k < K; k++) g[k] = NAN;
            continue;
        }
        float m, sum;
        loss_row_stats(row, K, &m, &sum);
        loss_kahan_add(&s, &c, (m - row[y]) + log(sum));
        for (int k = 0; k < K; k++) g[k] = (exp(row[k] - m) / sum - (k == y ? 1.0f : 0.0f)) / (float)N;
    }
    float total = loss_wg_sum(s, buf);
    if (get_local_id(0) == 0) loss[0] = total / (float)N;
}

/* logits, grad [N, K], L = lse(row): real: mean(softplus(-L)) (which is
 * softplus(L) - L without the cancellation), fake: mean(softplus(L));
 * grad f'(L) softmax(row) / N with f' = -sigmoid(-L) (real) or sigmoid(L). */
__kernel void loss_lse(__global const float *l, __global float *loss, __global float *grad, int N, int K, int real,
                       __local float *buf)
{
    float s = 0.0f, c = 0.0f;
    for (int n = (int)get_local_id(0); n < N; n += (int)get_local_size(0)) {
        __global const float *row = l + (size_t)n * K;
        __global float *g = grad + (size_t)n * K;
        float m, sum;
        loss_row_stats(row, K, &m, &sum);
        float L = m + log(sum);
        loss_kahan_add(&s, &c, loss_softplus(real ? -L : L));
        float fp = real ? -loss_sigmoid(-L) : loss_sigmoid(L);
        for (int k = 0; k < K; k++) g[k] = fp * (exp(row[k] - m) / sum) / (float)N;
    }
    float total = loss_wg_sum(s, buf);
    if (get_local_id(0) == 0) loss[0] = total / (float)N;
}

/* a, b, da, db [N, K]: L = mean_n sum_k (p_k - q_k)^2, p = softmax(a_n),
 * q = softmax(b_n); da = 2 p (d - sum p d) / N, db = -2 q (d - sum q d) / N
 * with d = p - q. The softmaxes are recomputed per pass (no row buffer). */
/* The consistency kernel works on rows in 8-wide chunks: Mesa's llvmpipe
 * ends a kernel's loops once their trips add up to 65535 (README "OpenCL
 * drivers"), and six scalar passes over a row of 12544 logits took 75,264
 * trips, so the loss came back from a truncated sum on rusticl. In chunks
 * a row costs 6 K / 8 trips plus short tails. Lane-wise Kahan sums, the
 * lanes then added with compensation. */
void cons_kahan8(float8 *s, float8 *c, float8 x)
{
    float8 y = x - *c;
    float8 t = *s + y;
    *c = (t - *s) - y;
    *s = t;
}

float cons_lanes(float8 s)
{
    float acc = 0.0f, comp = 0.0f;
    loss_kahan_add(&acc, &comp, s.s0);
    loss_kahan_add(&acc, &comp, s.s1);
    loss_kahan_add(&acc, &comp, s.s2);
    loss_kahan_add(&acc, &comp, s.s3);
    loss_kahan_add(&acc, &comp, s.s4);
    loss_kahan_add(&acc, &comp, s.s5);
    loss_kahan_add(&acc, &comp, s.s6);
    loss_kahan_add(&acc, &comp, s.s7);
    return acc;
}

/* m = max_k r[k], s = sum_k exp(r[k] - m), in chunks of 8. */
void cons_row_stats(__global const float *r, int K, float *m, float *s)
{
    int k = 0;
    float8 m8 = (float8)(-INFINITY);
    for (; k + 8 <= K; k += 8) m8 = fmax(m8, vload8(0, r + k));
    float4 m4 = fmax(m8.lo, m8.hi);
    float mx = fmax(fmax(m4.x, m4.y), fmax(m4.z, m4.w));
    for (; k < K; k++) mx = fmax(mx, r[k]);
    float8 s8 = 0.0f, c8 = 0.0f;
    for (k = 0; k + 8 <= K; k += 8) cons_kahan8(&s8, &c8, exp(vload8(0, r + k) - mx));
    float acc = cons_lanes(s8), comp = 0.0f;
    for (; k < K; k++) loss_kahan_add(&acc, &comp, exp(r[k] - mx));
    *m = mx;
    *s = acc;
}

__kernel void loss_consistency(__global const float *a, __global const float *b, __global float *loss,
                               __global float *da, __global float *db, int N, int K, __local float *buf)
{
    float s = 0.0f, c = 0.0f, inv = 1.0f / (float)N;
    for (int n = (int)get_local_id(0); n < N; n += (int)get_local_size(0)) {
        __global const float *ra = a + (size_t)n * K, *rb = b + (size_t)n * K;
        __global float *ga = da + (size_t)n * K, *gb = db + (size_t)n * K;
        float ma, sa, mb, sb;
        cons_row_stats(ra, K, &ma, &sa);
        cons_row_stats(rb, K, &mb, &sb);
        /* sq = sum (p - q)^2, sp = sum p (p - q), sr = sum q (p - q) */
        float8 sq8 = 0.0f, cq8 = 0.0f, sp8 = 0.0f, cp8 = 0.0f, sr8 = 0.0f, cr8 = 0.0f;
        int k = 0;
        for (; k + 8 <= K; k += 8) {
            float8 p = exp(vload8(0, ra + k) - ma) / sa, q = exp(vload8(0, rb + k) - mb) / sb, d = p - q;
            cons_kahan8(&sq8, &cq8, d * d);
            cons_kahan8(&sp8, &cp8, p * d);
            cons_kahan8(&sr8, &cr8, q * d);
        }
        float sq = cons_lanes(sq8), sp = cons_lanes(sp8), sr = cons_lanes(sr8), cq = 0.0f, cp = 0.0f, cr = 0.0f;
        for (int t = k; t < K; t++) {
            float p = exp(ra[t] - ma) / sa, q = exp(rb[t] - mb) / sb, d = p - q;
            loss_kahan_add(&sq, &cq, d * d);
            loss_kahan_add(&sp, &cp, p * d);
            loss_kahan_add(&sr, &cr, q * d);
        }
        loss_kahan_add(&s, &c, sq);
        for (k = 0; k + 8 <= K; k += 8) {
            float8 p = exp(vload8(0, ra + k) - ma) / sa, q = exp(vload8(0, rb + k) - mb) / sb, d = p - q;
            vstore8(2.0f * p * (d - sp) * inv, 0, ga + k);
            vstore8(-2.0f * q * (d - sr) * inv, 0, gb + k);
        }
        for (; k < K; k++) {
            float p = exp(ra[k] - ma) / sa, q = exp(rb[k] - mb) / sb, d = p - q;
            ga[k] = 2.0f * p * (d - sp) * inv;
            gb[k] = -2.0f * q * (d - sr) * inv;
        }
    }
    float total = loss_wg_sum(s, buf);
    if (get_local_id(0) == 0) loss[0] = total / (float)N;
}
