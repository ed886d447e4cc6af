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

/* Sixteen consecutive blocks first .. first+15 at once, one per vector
 * lane: the rounds of philox4x32_10 on uint16s, so that CPU devices run
 * them as SIMD (PoCL does not vectorise the one-block kernels across
 * work-items). Lane j of v0..v3 is word 0..3 of block first + j. */
void philox_block16(ulong seed, ulong first, uint16 *v0, uint16 *v1, uint16 *v2, uint16 *v3)
{
    const uint16 lane = (uint16)(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15);
    uint lo = (uint)first;
    uint16 c0 = lo + lane;
    uint16 c1 = (uint)(first >> 32) + (as_uint16(c0 < (uint16)(lo)) & 1u); /* carry */
    uint16 c2 = 0u, c3 = 0u;
    uint k0 = (uint)seed, k1 = (uint)(seed >> 32);
    for (int r = 0; r < 10; r++) {
        uint16 lo0 = 0xD2511F53u * c0, hi0 = mul_hi((uint16)(0xD2511F53u), c0);
        uint16 lo1 = 0xCD9E8D57u * c2, hi1 = mul_hi((uint16)(0xCD9E8D57u), c2);
        c0 = hi1 ^ c1 ^ k0;
        c1 = lo1;
        c2 = hi0 ^ c3 ^ k1;
        c3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    *v0 = c0;
    *v1 = c1;
    *v2 = c2;
    *v3 = c3;
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
