/* Reference optimiser steps, element by element in double: Adam (PyTorch's
 * update, bias corrections included), Adam with a parameter average, and
 * SGD with momentum. */
#include "../internal.h"

#include <math.h>

gan_status ref_adam_step(gan_ctx *c, gan_tensor *p, const gan_tensor *g, gan_tensor *m, gan_tensor *v,
                         const gan_adam_params *hp)
{
    (void)c;
    float *pp = ref_f(p), *mm = ref_f(m), *vv = ref_f(v);
    const float *gg = ref_f(g);
    double b1 = hp->beta1, b2 = hp->beta2, lr = hp->lr, eps = hp->eps;
    /* Rounded to float exactly as the device receives them, so both
     * backends divide by the same bias corrections. */
    float bc1 = (float)(1.0 - pow(b1, hp->step)), bc2 = (float)(1.0 - pow(b2, hp->step));
    for (size_t i = 0; i < p->numel; i++) {
        double gi = gg[i];
        double mi = b1 * mm[i] + (1.0 - b1) * gi;
        double vi = b2 * vv[i] + (1.0 - b2) * gi * gi;
        mm[i] = (float)mi;
        vv[i] = (float)vi;
        double mhat = mi / bc1, vhat = vi / bc2;
        pp[i] = (float)(pp[i] - lr * mhat / (sqrt(vhat) + eps));
    }
    return GAN_OK;
}

gan_status ref_adam_ema_step(gan_ctx *c, gan_tensor *p, const gan_tensor *g, gan_tensor *m, gan_tensor *v,
                            const gan_adam_params *hp, float rate, gan_tensor *a)
{
    gan_status st = ref_adam_step(c, p, g, m, v, hp);
    if (st) return st;
    const float *pp = ref_f(p);
    float *aa = ref_f(a);
    for (size_t i = 0; i < p->numel; i++) aa[i] = (float)(aa[i] + (double)rate * ((double)pp[i] - aa[i]));
    return GAN_OK;
}

gan_status ref_sgd_step(gan_ctx *c, gan_tensor *p, const gan_tensor *g, gan_tensor *vel, float lr, float momentum)
{
    (void)c;
    float *pp = ref_f(p), *vv = ref_f(vel);
    const float *gg = ref_f(g);
    for (size_t i = 0; i < p->numel; i++) {
        double vi = (double)momentum * vv[i] + gg[i];
        vv[i] = (float)vi;
        pp[i] = (float)(pp[i] - (double)lr * vi);
    }
    return GAN_OK;
}
