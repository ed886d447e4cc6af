/* The features mode (src/train/features.c): placing a batch of features
 * into a stored set, gathering a minibatch of stored rows, standardising a
 * stored set in place. Rows are F 32-bit words; the copy moves bits, so it
 * serves float features and int labels alike. */

/* dst row dst_off + r = src row (use_idx ? idx[src_off + r] : src_off + r),
 * for r < total / F. */
__kernel void features_copy_rows(__global const uint *src, __global const int *idx, int use_idx, int src_off,
                                 __global uint *dst, int dst_off, int F, ulong total)
{
    ulong i = get_global_id(0);
    if (i >= total) return;
    ulong r = i / (ulong)F, j = i - r * (ulong)F;
    ulong s = use_idx ? (ulong)idx[src_off + (int)r] : (ulong)src_off + r;
    dst[((ulong)dst_off + r) * (ulong)F + j] = src[s * (ulong)F + j];
}

/* x[n, F] = (x - mean[f]) * invstd[f] */
__kernel void features_standardize(__global float *x, __global const float *mean, __global const float *invstd,
                                   int F, ulong total)
{
    ulong i = get_global_id(0);
    if (i >= total) return;
    int f = (int)(i % (ulong)F);
    x[i] = (x[i] - mean[f]) * invstd[f];
}
