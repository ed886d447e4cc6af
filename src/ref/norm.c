/* Reference batch normalization over x viewed as [N, C, S] (S = H*W, or 1
 * for dense [N, C] input); statistics are per channel over the M = N*S
 * values of that channel. Mean and variance are two-pass sums in double so
 * the oracle is tighter than the device's float reductions. */
#include "../internal.h"

#include <math.h>

static void bn_dims(const gan_tensor *x, size_t *N, size_t *C, size_t *S)
{
    *N = (size_t)x->dim[0];
    *C = (size_t)x->dim[1];
    *S = x->numel / (*N * *C);
}

gan_status ref_batchnorm_forward(gan_ctx *c, const gan_tensor *x, const gan_tensor *gamma, const gan_tensor *beta,
                                 gan_tensor *run_mean, gan_tensor *run_var, gan_tensor *save_mean,
                                 gan_tensor *save_invstd, gan_tensor *y, const gan_bn_params *p)
{
    (void)c;
    size_t N, C, S;
    bn_dims(x, &N, &C, &S);
    size_t M = N * S;
    const float *xp = ref_f(x), *g = ref_f(gamma), *b = ref_f(beta);
    float *rm = ref_f(run_mean), *rv = ref_f(run_var), *yp = ref_f(y);
    for (size_t ch = 0; ch < C; ch++) {
        double mean, invstd;
        if (p->training) {
            double sum = 0;
            for (size_t n = 0; n < N; n++)
                for (size_t s = 0; s < S; s++) sum += xp[(n * C + ch) * S + s];
            mean = sum / (double)M;
            double sq = 0;
            for (size_t n = 0; n < N; n++)
                for (size_t s = 0; s < S; s++) {
                    double d = xp[(n * C + ch) * S + s] - mean;
                    sq += d * d;
                }
            double var = sq / (double)M; /* biased: what normalizes the batch */
            invstd = 1.0 / sqrt(var + (double)p->eps);
            ref_f(save_mean)[ch] = (float)mean;
            ref_f(save_invstd)[ch] = (float)invstd;
            /* PyTorch keeps the unbiased variance in the running estimate */
            double m = p->momentum;
            rm[ch] = (float)((1.0 - m) * rm[ch] + m * mean);
            rv[ch] = (float)((1.0 - m) * rv[ch] + m * var * (double)M / (double)(M - 1));
        } else {
            mean = rm[ch];
            invstd = 1.0 / sqrt((double)rv[ch] + (double)p->eps);
        }
        for (size_t n = 0; n < N; n++)
            for (size_t s = 0; s < S; s++) {
                size_t i = (n * C + ch) * S + s;
                yp[i] = (float)(g[ch] * (xp[i] - mean) * invstd + b[ch]);
            }
    }
    return GAN_OK;
}

/* Training-mode backward, with xhat = (x - mean) * invstd from the saved
 * statistics: dx = gamma*invstd/M * (M*dy - sum(dy) - xhat*sum(dy*xhat)). */
gan_status ref_batchnorm_backward(gan_ctx *c, const gan_tensor *x, const gan_tensor *gamma,
                                  const gan_tensor *save_mean, const gan_tensor *save_invstd, const gan_tensor *dy,
                                  gan_tensor *dx, gan_tensor *dgamma, gan_tensor *dbeta)
{
    (void)c;
    size_t N, C, S;
    bn_dims(x, &N, &C, &S);
    size_t M = N * S;
    const float *xp = ref_f(x), *g = ref_f(gamma), *dyp = ref_f(dy);
    for (size_t ch = 0; ch < C; ch++) {
        double mean = ref_f(save_mean)[ch], invstd = ref_f(save_invstd)[ch];
        double sdy = 0, sdyx = 0;
        for (size_t n = 0; n < N; n++)
            for (size_t s = 0; s < S; s++) {
                size_t i = (n * C + ch) * S + s;
                sdy += dyp[i];
                sdyx += dyp[i] * (xp[i] - mean) * invstd;
            }
        if (dgamma) ref_f(dgamma)[ch] = (float)sdyx;
        if (dbeta) ref_f(dbeta)[ch] = (float)sdy;
        if (dx) {
            double k = g[ch] * invstd / (double)M;
            for (size_t n = 0; n < N; n++)
                for (size_t s = 0; s < S; s++) {
                    size_t i = (n * C + ch) * S + s;
                    double xhat = (xp[i] - mean) * invstd;
                    ref_f(dx)[i] = (float)(k * ((double)M * dyp[i] - sdy - xhat * sdyx));
                }
        }
    }
    return GAN_OK;
}

/* One rank's share of the training statistics (data-parallel batch norm):
 * per channel, the sum of x, or with mean the sum of squared deviations
 * from it, in double as above, rounded once. */
gan_status ref_batchnorm_sums(gan_ctx *c, const gan_tensor *x, const gan_tensor *mean, gan_tensor *sums)
{
    (void)c;
    size_t N, C, S;
    bn_dims(x, &N, &C, &S);
    const float *xp = ref_f(x);
    for (size_t ch = 0; ch < C; ch++) {
        double mu = mean ? ref_f(mean)[ch] : 0.0, t = 0;
        for (size_t n = 0; n < N; n++)
            for (size_t s = 0; s < S; s++) {
                double v = xp[(n * C + ch) * S + s];
                t += mean ? (v - mu) * (v - mu) : v;
            }
        ref_f(sums)[ch] = (float)t;
    }
    return GAN_OK;
}

/* The backward's dx from given means of dy and dy * xhat (over the global
 * batch): batchnorm_backward's formula with sum/M replaced by them. */
gan_status ref_batchnorm_dx(gan_ctx *c, const gan_tensor *x, const gan_tensor *gamma, const gan_tensor *save_mean,
                            const gan_tensor *save_invstd, const gan_tensor *dy, const gan_tensor *mean_dy,
                            const gan_tensor *mean_dyx, gan_tensor *dx)
{
    (void)c;
    size_t N, C, S;
    bn_dims(x, &N, &C, &S);
    const float *xp = ref_f(x), *dyp = ref_f(dy);
    float *dxp = ref_f(dx);
    for (size_t ch = 0; ch < C; ch++) {
        double mu = ref_f(save_mean)[ch], invstd = ref_f(save_invstd)[ch], k = ref_f(gamma)[ch] * invstd;
        double a = ref_f(mean_dy)[ch], b = ref_f(mean_dyx)[ch];
        for (size_t n = 0; n < N; n++)
            for (size_t s = 0; s < S; s++) {
                size_t i = (n * C + ch) * S + s;
                double xhat = (xp[i] - mu) * invstd;
                dxp[i] = (float)(k * (dyp[i] - a - xhat * b));
            }
    }
    return GAN_OK;
}
