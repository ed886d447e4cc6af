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
        /* the 64-bit products of zero-extended lanes: x86 vector units
         * multiply 32x32->64 natively (vpmuludq), while mul_hi on uint16
         * went through scalar code on PoCL (2.5x slower noise) */
        ulong16 p0 = convert_ulong16(c0) * (ulong)0xD2511F53u, p1 = convert_ulong16(c2) * (ulong)0xCD9E8D57u;
        uint16 lo0 = convert_uint16(p0), hi0 = convert_uint16(p0 >> 32);
        uint16 lo1 = convert_uint16(p1), hi1 = convert_uint16(p1 >> 32);
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

/* Standard normal elements 2b .. 2b + 31 of a stream at `counter` (blocks
 * b .. b + 15), the draws of philox_normal2 but sixteen blocks at a time on
 * vector lanes (the scalar log and cos cost ~100 ns an element on PoCL; on
 * float16 they vectorise). cos(2 pi u) is cospi(2u): the argument is then
 * exact and the reduction trivial, which halved the transform's cost on
 * PoCL (cos takes any argument); it differs from cos of the float product
 * by the product's rounding (under 5e-7 in the argument). Lane j of *even
 * is element 2b + 2j (words 0, 1 of block b + j), of *odd element
 * 2b + 2j + 1 (words 2, 3). */
void philox_normal32(ulong seed, ulong counter, ulong b, float16 *even, float16 *odd)
{
    uint16 v0, v1, v2, v3;
    philox_block16(seed, counter + b, &v0, &v1, &v2, &v3);
    const float k = 1.0f / 16777216.0f;
    float16 u1e = 1.0f - convert_float16(v0 >> 8) * k, u2e = convert_float16(v1 >> 8) * k;
    float16 u1o = 1.0f - convert_float16(v2 >> 8) * k, u2o = convert_float16(v3 >> 8) * k;
    *even = sqrt(-2.0f * log(u1e)) * cospi(2.0f * u2e);
    *odd = sqrt(-2.0f * log(u1o)) * cospi(2.0f * u2o);
}

/* The 32 normals of philox_normal32 in element order: element 2b + k is
 * lane k of *lo (k < 16) or lane k - 16 of *hi. */
void philox_normal32_ordered(ulong seed, ulong counter, ulong b, float16 *lo, float16 *hi)
{
    float16 e, o;
    philox_normal32(seed, counter, b, &e, &o);
    *lo = shuffle2(e, o, (uint16)(0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23));
    *hi = shuffle2(e, o, (uint16)(8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31));
}
