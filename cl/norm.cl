/* Batch normalization kernels. x is viewed as [N, C, S] (S = H*W, 1 for
 * dense input); a channel's M = N*S values are reduced by one work-group
 * (local size a power of two), each work-item summing a strided slice
 * before a tree reduction in local memory, which keeps the float error far
 * below a serial sum over thousands of values.
 * The reduction kernels guard the channel without returning early: every
 * work-item must reach every barrier, and PoCL 3.1 turns a return ahead of
 * a barrier into an endless loop even when the whole group takes it. */

/* One work-group per channel: batch mean, then the biased variance about
 * it (two passes, no E[x^2] - E[x]^2 cancellation); saves mean and
 * 1/sqrt(var + eps) and updates the running estimates (unbiased variance,
 * as PyTorch does). */
__kernel void bn_stats(__global const float *x, __global float *save_mean, __global float *save_invstd,
                       __global float *run_mean, __global float *run_var, float momentum, float eps, int N, int C,
                       int S, __local float *part)
{
    int ch = (int)get_group_id(0);
    int lid = (int)get_local_id(0), L = (int)get_local_size(0), M = ch < C ? N * S : 0;
    float acc = 0.f;
    for (int j = lid; j < M; j += L) {
        int n = j / S;
        acc += x[((size_t)n * C + ch) * S + (j - n * S)];
    }
    float mean = group_sum(part, acc) / (float)M;
    acc = 0.f;
    for (int j = lid; j < M; j += L) {
        int n = j / S;
        float d = x[((size_t)n * C + ch) * S + (j - n * S)] - mean;
        acc += d * d;
    }
    float var = group_sum(part, acc) / (float)M;
    if (lid == 0 && ch < C) {
        save_mean[ch] = mean;
        save_invstd[ch] = 1.0f / sqrt(var + eps);
        run_mean[ch] = (1.0f - momentum) * run_mean[ch] + momentum * mean;
        run_var[ch] = (1.0f - momentum) * run_var[ch] + momentum * (var * ((float)M / (float)(M - 1)));
    }
}

/* The element-wise passes run over x as [R, K]: with S > 1 a row is one
 * (image, channel) plane (R = N*C, K = S, the channel r % C), else a row
 * is one image of C channels (R = N, K = C, the channel the column).
 * Work-item (k, r): neighbouring work-items read neighbouring floats, and
 * no element pays for an integer division. */
#define BN_AT(C, S)                                                          \
    int k = (int)get_global_id(0), r = (int)get_global_id(1);                \
    int K = (S) > 1 ? (S) : (C);                                              \
    if (k >= K || r >= R) return;                                             \
    int ch = (S) > 1 ? r % (C) : k;                                           \
    size_t i = (size_t)r * (size_t)K + (size_t)k;

/* y = gamma * (x - mean) * invstd + beta per element. With stat_is_var the
 * stat vector is a (running) variance and invstd = 1/sqrt(stat + eps);
 * otherwise it already is invstd. */
__kernel void bn_normalize(__global const float *x, __global float *y, __global const float *gamma,
                           __global const float *beta, __global const float *mean, __global const float *stat,
                           int stat_is_var, float eps, int C, int S, int R)
{
    BN_AT(C, S)
    float inv = stat_is_var ? 1.0f / sqrt(stat[ch] + eps) : stat[ch];
    y[i] = gamma[ch] * (x[i] - mean[ch]) * inv + beta[ch];
}

/* One work-group per channel: sum(dy) and sum(dy * xhat) into sums[2ch],
 * sums[2ch+1] for bn_backward_dx, and into dbeta/dgamma where given. */
__kernel void bn_backward_reduce(__global const float *x, __global const float *dy, __global const float *mean,
                                 __global const float *invstd, __global float *sums, __global float *dgamma,
                                 __global float *dbeta, int N, int C, int S, __local float *part)
{
    int ch = (int)get_group_id(0);
    int lid = (int)get_local_id(0), L = (int)get_local_size(0), M = ch < C ? N * S : 0;
    /* both sums through group_sum: an inlined two-array tree here hung
     * PoCL 3.1 for work-groups of 2 and 4 */
    float mu = ch < C ? mean[ch] : 0.f, inv = ch < C ? invstd[ch] : 0.f;
    float a = 0.f, b = 0.f;
    for (int j = lid; j < M; j += L) {
        int n = j / S;
        size_t i = ((size_t)n * C + ch) * S + (j - n * S);
        a += dy[i];
        b += dy[i] * ((x[i] - mu) * inv);
    }
    float sdy = group_sum(part, a);
    float sdyx = group_sum(part, b);
    if (lid == 0 && ch < C) {
        sums[2 * ch] = sdy;
        sums[2 * ch + 1] = sdyx;
        if (dgamma) dgamma[ch] = sdyx;
        if (dbeta) dbeta[ch] = sdy;
    }
}

/* dx = gamma * invstd * (dy - sum(dy)/M - xhat * sum(dy*xhat)/M). */
__kernel void bn_backward_dx(__global const float *x, __global const float *dy, __global float *dx,
                             __global const float *gamma, __global const float *mean, __global const float *invstd,
                             __global const float *sums, int M, int C, int S, int R)
{
    BN_AT(C, S)
    float inv = invstd[ch];
    float xhat = (x[i] - mean[ch]) * inv;
    dx[i] = gamma[ch] * inv * (dy[i] - sums[2 * ch] / (float)M - xhat * (sums[2 * ch + 1] / (float)M));
}

/* Dense input ([N, C], S = 1): one work-item per channel, serial two-pass
 * sums down the column (consecutive work-items read consecutive floats).
 * With many channels of few values each, a work-group per channel would
 * spend its time in barriers. */
__kernel void bn_stats_cols(__global const float *x, __global float *save_mean, __global float *save_invstd,
                            __global float *run_mean, __global float *run_var, float momentum, float eps, int N,
                            int C)
{
    int ch = (int)get_global_id(0);
    if (ch >= C) return;
    float acc = 0.f;
    for (int n = 0; n < N; n++) acc += x[(size_t)n * C + ch];
    float mean = acc / (float)N;
    acc = 0.f;
    for (int n = 0; n < N; n++) {
        float d = x[(size_t)n * C + ch] - mean;
        acc += d * d;
    }
    float var = acc / (float)N;
    save_mean[ch] = mean;
    save_invstd[ch] = 1.0f / sqrt(var + eps);
    run_mean[ch] = (1.0f - momentum) * run_mean[ch] + momentum * mean;
    run_var[ch] = (1.0f - momentum) * run_var[ch] + momentum * (var * ((float)N / (float)(N - 1)));
}

__kernel void bn_backward_reduce_cols(__global const float *x, __global const float *dy, __global const float *mean,
                                      __global const float *invstd, __global float *sums, __global float *dgamma,
                                      __global float *dbeta, int N, int C)
{
    int ch = (int)get_global_id(0);
    if (ch >= C) return;
    float mu = mean[ch], inv = invstd[ch], a = 0.f, b = 0.f;
    for (int n = 0; n < N; n++) {
        size_t i = (size_t)n * C + ch;
        a += dy[i];
        b += dy[i] * ((x[i] - mu) * inv);
    }
    sums[2 * ch] = a;
    sums[2 * ch + 1] = b;
    if (dgamma) dgamma[ch] = b;
    if (dbeta) dbeta[ch] = a;
}

/* Data-parallel batch norm (include/gancl/dist.h): one rank's per-channel
 * sums, all-reduced on the host. One work-group per channel: sums[ch] =
 * the sum of x, or with has_mean the sum of (x - mean[ch])^2 (the second
 * pass of bn_stats about the global mean). */
__kernel void batchnorm_sums(__global const float *x, __global const float *mean, int has_mean,
                             __global float *sums, int N, int C, int S, __local float *part)
{
    int ch = (int)get_group_id(0);
    int lid = (int)get_local_id(0), L = (int)get_local_size(0), M = ch < C ? N * S : 0;
    float mu = has_mean && ch < C ? mean[ch] : 0.f, acc = 0.f;
    for (int j = lid; j < M; j += L) {
        int n = j / S;
        float v = x[((size_t)n * C + ch) * S + (j - n * S)];
        if (has_mean) {
            v -= mu;
            v *= v;
        }
        acc += v;
    }
    float t = group_sum(part, acc);
    if (lid == 0 && ch < C) sums[ch] = t;
}

/* Dense input ([N, C]): one work-item per channel, as bn_stats_cols. */
__kernel void batchnorm_sums_cols(__global const float *x, __global const float *mean, int has_mean,
                                  __global float *sums, int N, int C)
{
    int ch = (int)get_global_id(0);
    if (ch >= C) return;
    float mu = has_mean ? mean[ch] : 0.f, acc = 0.f;
    for (int n = 0; n < N; n++) {
        float v = x[(size_t)n * C + ch];
        if (has_mean) {
            v -= mu;
            v *= v;
        }
        acc += v;
    }
    sums[ch] = acc;
}

/* dx = gamma * invstd * (dy - mean_dy - xhat * mean_dyx), the means over
 * the global batch. */
__kernel void batchnorm_dx(__global const float *x, __global const float *dy, __global float *dx,
                           __global const float *gamma, __global const float *mean, __global const float *invstd,
                           __global const float *mean_dy, __global const float *mean_dyx, int C, int S, int R)
{
    BN_AT(C, S)
    float inv = invstd[ch];
    float xhat = (x[i] - mean[ch]) * inv;
    dx[i] = gamma[ch] * inv * (dy[i] - mean_dy[ch] - xhat * mean_dyx[ch]);
}
