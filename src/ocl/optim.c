/* Device optimiser steps (kernels in cl/optim.cl). Adam's bias corrections
 * are computed here in double, once per step, and rounded to float the same
 * way the reference rounds them. */
#include "ocl.h"

#include <math.h>

gan_status ocl_adam_step(gan_ctx *c, gan_tensor *p, const gan_tensor *g, gan_tensor *m, gan_tensor *v,
                         const gan_adam_params *hp)
{
    float bc1 = (float)(1.0 - pow((double)hp->beta1, hp->step));
    float bc2 = (float)(1.0 - pow((double)hp->beta2, hp->step));
    return ocl_run(c, "optim_adam", p->numel, "TTTTffffffi", p, g, m, v, (double)hp->lr, (double)hp->beta1,
                   (double)hp->beta2, (double)hp->eps, (double)bc1, (double)bc2, (int)p->numel);
}

gan_status ocl_adam_ema_step(gan_ctx *c, gan_tensor *p, const gan_tensor *g, gan_tensor *m, gan_tensor *v,
                            const gan_adam_params *hp, float rate, gan_tensor *a)
{
    float bc1 = (float)(1.0 - pow((double)hp->beta1, hp->step));
    float bc2 = (float)(1.0 - pow((double)hp->beta2, hp->step));
    return ocl_run(c, "optim_adam_ema", p->numel, "TTTTTfffffffi", p, g, m, v, a, (double)hp->lr, (double)hp->beta1,
                   (double)hp->beta2, (double)hp->eps, (double)bc1, (double)bc2, (double)rate, (int)p->numel);
}

gan_status ocl_sgd_step(gan_ctx *c, gan_tensor *p, const gan_tensor *g, gan_tensor *vel, float lr, float momentum)
{
    return ocl_run(c, "optim_sgd", p->numel, "TTTffi", p, g, vel, (double)lr, (double)momentum, (int)p->numel);
}
