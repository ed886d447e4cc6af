/* Random fills from the Philox streams of cl/philox.cl (see gan_rng in
 * gancl.h for which block and word feed element i), one work-item per
 * block. */

__kernel void rng_uniform_fill(__global float *t, ulong seed, ulong counter, int n)
{
    int b = (int)get_global_id(0), i = 4 * b;
    if (i >= n) return;
    float u[4];
    vstore4(philox_uniform4(seed, counter, (ulong)b), 0, u);
    for (int k = 0; k < 4 && i + k < n; k++) t[i + k] = u[k];
}

__kernel void rng_normal_fill(__global float *t, ulong seed, ulong counter, float mean, float std, int n)
{
    int b = (int)get_global_id(0), i = 2 * b;
    if (i >= n) return;
    float2 z = mean + std * philox_normal2(seed, counter, (ulong)b);
    t[i] = z.x;
    if (i + 1 < n) t[i + 1] = z.y;
}

/* Raw words: element i is word i%4 of block counter + i/4. */
__kernel void rng_bits_fill(__global uint *t, ulong seed, ulong counter, int n)
{
    size_t i = (int)get_global_id(0);
    if (i >= (size_t)n) return;
    t[i] = philox_word(philox_block(seed, counter + i / 4), (uint)(i % 4));
}
