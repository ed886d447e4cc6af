/* Reference random fills from the Philox streams of src/ref/rng.h: the
 * same (seed, counter, element) gives the same number as cl/rng.cl. */
#include "../internal.h"
#include "rng.h"

gan_status ref_rng_uniform(gan_ctx *c, gan_rng rng, gan_tensor *t)
{
    (void)c;
    float *x = ref_f(t);
    for (size_t i = 0; i < t->numel; i++) x[i] = ref_uniform_at(rng, i);
    return GAN_OK;
}

gan_status ref_rng_normal(gan_ctx *c, gan_rng rng, float mean, float std, gan_tensor *t)
{
    (void)c;
    float *x = ref_f(t);
    for (size_t i = 0; i < t->numel; i++) x[i] = mean + std * ref_normal_at(rng, i);
    return GAN_OK;
}

gan_status ref_rng_bits(gan_ctx *c, gan_rng rng, gan_tensor *t)
{
    (void)c;
    int32_t *x = ref_i(t);
    for (size_t i = 0; i < t->numel; i++) {
        uint32_t v[4];
        ref_philox_block(rng.seed, rng.counter + i / 4, v);
        x[i] = (int32_t)v[i % 4];
    }
    return GAN_OK;
}
