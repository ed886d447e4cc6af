/* Device random fills (kernels in cl/rng.cl); they match src/ref/rng.c
 * element for element. */
#include "ocl.h"

gan_status ocl_rng_uniform(gan_ctx *c, gan_rng rng, gan_tensor *t)
{
    return ocl_run(c, "rng_uniform_fill", (t->numel + 3) / 4, "Tlli", t, rng.seed, rng.counter, (int)t->numel);
}

gan_status ocl_rng_normal(gan_ctx *c, gan_rng rng, float mean, float std, gan_tensor *t)
{
    return ocl_run(c, "rng_normal_fill", (t->numel + 1) / 2, "Tllffi", t, rng.seed, rng.counter, (double)mean, (double)std,
                   (int)t->numel);
}

gan_status ocl_rng_bits(gan_ctx *c, gan_rng rng, gan_tensor *t)
{
    return ocl_run(c, "rng_bits_fill", t->numel, "Tlli", t, rng.seed, rng.counter, (int)t->numel);
}
