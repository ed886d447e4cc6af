/* Random fills, one work-item per element, from the Philox streams of
 * cl/philox.cl (see gan_rng in gancl.h for which block and word feed
 * element i). */

__kernel void rng_uniform_fill(__global float *t, ulong seed, ulong counter, int n)
{
    size_t i = get_global_id(0);
    if (i >= (size_t)n) return;
    t[i] = philox_uniform_at(seed, counter, i);
}

__kernel void rng_normal_fill(__global float *t, ulong seed, ulong counter, float mean, float std, int n)
{
    size_t i = get_global_id(0);
    if (i >= (size_t)n) return;
    t[i] = mean + std * philox_normal_at(seed, counter, i);
}

/* Raw words: element i is word i%4 of block counter + i/4. */
__kernel void rng_bits_fill(__global uint *t, ulong seed, ulong counter, int n)
{
    size_t i = get_global_id(0);
    if (i >= (size_t)n) return;
    t[i] = philox_word(philox_block(seed, counter + i / 4), (uint)(i % 4));
}
