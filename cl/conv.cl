/* Layout helper for the convolutions' weight gradient (src/ocl/conv.c):
 * im2col and col2im themselves come from CLBlast. */

/* dst[b][a][s] = src[a][b][s] for src [A, B, S]: swaps the two outer axes,
 * so a per-image [N, rows, L] array becomes one [rows, N*L] matrix. */
__kernel void conv_swap01(__global const float *src, int soff, __global float *dst, int doff, int A, int B, int S,
                          int n)
{
    int i = get_global_id(0);
    if (i >= n) return;
    int s = i % S, b = (i / S) % B, a = i / (S * B);
    dst[doff + (b * A + a) * S + s] = src[soff + i];
}
