/* Philox4x32-10 in OpenCL C, bit-identical to src/philox.c, and the
 * conversions every random op shares. Block b of a stream is
 * philox(ctr = {lo(b), hi(b), 0, 0}, key = {lo(seed), hi(seed)}). */

uint4 philox4x32_10(uint4 ctr, uint2 key)
{
    for (int r = 0; r < 10; r++) {
        uint lo0 = 0xD2511F53u * ctr.x, hi0 = mul_hi(0xD2511F53u, ctr.x);
        uint lo1 = 0xCD9E8D57u * ctr.z, hi1 = mul_hi(0xCD9E8D57u, ctr.z);
        ctr = (uint4)(hi1 ^ ctr.y ^ key.x, lo1, hi0 ^ ctr.w ^ key.y, lo0);
        key.x += 0x9E3779B9u;
        key.y += 0xBB67AE85u;
    }
    return ctr;
}

uint4 philox_block(ulong seed, ulong block)
{
    return philox4x32_10((uint4)((uint)block, (uint)(block >> 32), 0u, 0u), (uint2)((uint)seed, (uint)(seed >> 32)));
}

uint philox_word(uint4 v, uint i)
{
    return i == 0 ? v.x : i == 1 ? v.y : i == 2 ? v.z : v.w;
}

/* [0, 1) with 24 random bits: exact in float on every device. */
float philox_uniform(uint bits)
{
    return (float)(bits >> 8) * (1.0f / 16777216.0f);
}

/* Kernels that draw random numbers run one work-item per Philox block:
 * block b of a stream starting at `counter` feeds uniform elements 4b..4b+3
 * and normal elements 2b, 2b+1, so no block is computed twice. */

/* Uniform elements 4b..4b+3. */
float4 philox_uniform4(ulong seed, ulong counter, ulong b)
{
    uint4 v = philox_block(seed, counter + b);
    return (float4)(philox_uniform(v.x), philox_uniform(v.y), philox_uniform(v.z), philox_uniform(v.w));
}

/* Standard normal elements 2b, 2b+1 (Box-Muller, cosine branch, each from
 * its own pair of words). */
float2 philox_normal2(ulong seed, ulong counter, ulong b)
{
    uint4 v = philox_block(seed, counter + b);
    float2 u1 = 1.0f - (float2)(philox_uniform(v.x), philox_uniform(v.z)); /* (0, 1] */
    float2 u2 = (float2)(philox_uniform(v.y), philox_uniform(v.w));
    return sqrt(-2.0f * log(u1)) * cos(6.28318530717958647692f * u2);
}
