/* The reference side of the random streams in cl/philox.cl: same blocks,
 * same words, same conversions. */
#ifndef GANCL_REF_RNG_H
#define GANCL_REF_RNG_H

#include "gancl/gancl.h"

#include <math.h>

static inline void ref_philox_block(uint64_t seed, uint64_t block, uint32_t out[4])
{
    uint32_t ctr[4] = {(uint32_t)block, (uint32_t)(block >> 32), 0, 0};
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)};
    gan_philox4x32_10(ctr, key, out);
}

static inline float ref_philox_uniform(uint32_t bits) { return (float)(bits >> 8) * (1.0f / 16777216.0f); }

static inline float ref_uniform_at(gan_rng r, uint64_t i)
{
    uint32_t v[4];
    ref_philox_block(r.seed, r.counter + i / 4, v);
    return ref_philox_uniform(v[i % 4]);
}

static inline float ref_normal_at(gan_rng r, uint64_t i)
{
    uint32_t v[4];
    ref_philox_block(r.seed, r.counter + i / 2, v);
    unsigned j = (unsigned)(i % 2) * 2;
    float u1 = 1.0f - ref_philox_uniform(v[j]);
    float u2 = ref_philox_uniform(v[j + 1]);
    return sqrtf(-2.0f * logf(u1)) * cosf(6.28318530717958647692f * u2);
}

#endif
