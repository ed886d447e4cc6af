/* Device batch normalization (kernels in cl/norm.cl): a per-channel
 * reduction with one work-group per channel (one work-item per channel for
 * dense [N, C] input), then an element-wise pass.
 * Backward keeps its per-channel sums in the context's scratch buffer.
 * batchnorm_sums and batchnorm_dx are the same passes split at the
 * per-channel sums, for data-parallel runs (include/gancl/dist.h). */
#include "ocl.h"

static void bn_dims(const gan_tensor *x, size_t *N, size_t *C, size_t *S)
{
    *N = (size_t)x->dim[0];
    *C = (size_t)x->dim[1];
    *S = x->numel / (*N * *C);
}

/* The element-wise passes' 2-D range (cl/norm.cl's BN_AT): K positions by
 * R rows; returns R. */
static int bn_grid(size_t N, size_t C, size_t S, size_t g[2])
{
    g[0] = S > 1 ? S : C;
    g[1] = S > 1 ? N * C : N;
    return (int)g[1];
}

gan_status ocl_batchnorm_forward(gan_ctx *c, const gan_tensor *x, const gan_tensor *gamma, const gan_tensor *beta,
                                 gan_tensor *run_mean, gan_tensor *run_var, gan_tensor *save_mean,
                                 gan_tensor *save_invstd, gan_tensor *y, const gan_bn_params *p)
{
    gan_status st = GAN_OK;
    size_t N, C, S;
    bn_dims(x, &N, &C, &S);
    size_t g[2];
    int R = bn_grid(N, C, S, g);
    if (!p->training)
        return ocl_run_nd(c, "bn_normalize", 2, g, NULL, "TTTTTTifiii", x, y, gamma, beta, run_mean, run_var, 1,
                          (double)p->eps, (int)C, (int)S, R);
    if (S == 1) {
        TRY(ocl_run(c, "bn_stats_cols", C, "TTTTTffii", x, save_mean, save_invstd, run_mean, run_var,
                    (double)p->momentum, (double)p->eps, (int)N, (int)C));
    } else {
        size_t L;
        TRY(ocl_reduce_wg(c, "bn_stats", N * S, &L));
        size_t global = C * L;
        TRY(ocl_run_nd(c, "bn_stats", 1, &global, &L, "TTTTTffiiiL", x, save_mean, save_invstd, run_mean, run_var,
                       (double)p->momentum, (double)p->eps, (int)N, (int)C, (int)S, L * sizeof(float)));
    }
    TRY(ocl_run_nd(c, "bn_normalize", 2, g, NULL, "TTTTTTifiii", x, y, gamma, beta, save_mean, save_invstd, 0,
                   (double)p->eps, (int)C, (int)S, R));
cleanup:
    return st;
}

gan_status ocl_batchnorm_backward(gan_ctx *c, const gan_tensor *x, const gan_tensor *gamma,
                                  const gan_tensor *save_mean, const gan_tensor *save_invstd, const gan_tensor *dy,
                                  gan_tensor *dx, gan_tensor *dgamma, gan_tensor *dbeta)
{
    gan_status st = GAN_OK;
    size_t N, C, S, L;
    bn_dims(x, &N, &C, &S);
    if (!dx && !dgamma && !dbeta) return GAN_OK;
    cl_mem sums;
    TRY(ocl_scratch(c, 2 * C * sizeof(float), &sums));
    if (S == 1) {
        TRY(ocl_run(c, "bn_backward_reduce_cols", C, "TTTTMTTii", x, dy, save_mean, save_invstd, sums, dgamma, dbeta,
                    (int)N, (int)C));
    } else {
        TRY(ocl_reduce_wg(c, "bn_backward_reduce", N * S, &L));
        size_t global = C * L;
        TRY(ocl_run_nd(c, "bn_backward_reduce", 1, &global, &L, "TTTTMTTiiiL", x, dy, save_mean, save_invstd, sums,
                       dgamma, dbeta, (int)N, (int)C, (int)S, L * sizeof(float)));
    }
    if (dx) {
        size_t g[2];
        int R = bn_grid(N, C, S, g);
        TRY(ocl_run_nd(c, "bn_backward_dx", 2, g, NULL, "TTTTTTMiiii", x, dy, dx, gamma, save_mean, save_invstd, sums,
                       (int)(N * S), (int)C, (int)S, R));
    }
cleanup:
    return st;
}

gan_status ocl_batchnorm_sums(gan_ctx *c, const gan_tensor *x, const gan_tensor *mean, gan_tensor *sums)
{
    gan_status st = GAN_OK;
    size_t N, C, S, L;
    bn_dims(x, &N, &C, &S);
    int has_mean = mean != NULL;
    if (S == 1) {
        TRY(ocl_run(c, "batchnorm_sums_cols", C, "TTiTii", x, mean, has_mean, sums, (int)N, (int)C));
    } else {
        TRY(ocl_reduce_wg(c, "batchnorm_sums", N * S, &L));
        size_t global = C * L;
        TRY(ocl_run_nd(c, "batchnorm_sums", 1, &global, &L, "TTiTiiiL", x, mean, has_mean, sums, (int)N, (int)C,
                       (int)S, L * sizeof(float)));
    }
cleanup:
    return st;
}

gan_status ocl_batchnorm_dx(gan_ctx *c, const gan_tensor *x, const gan_tensor *gamma, const gan_tensor *save_mean,
                            const gan_tensor *save_invstd, const gan_tensor *dy, const gan_tensor *mean_dy,
                            const gan_tensor *mean_dyx, gan_tensor *dx)
{
    size_t N, C, S, g[2];
    bn_dims(x, &N, &C, &S);
    int R = bn_grid(N, C, S, g);
    return ocl_run_nd(c, "batchnorm_dx", 2, g, NULL, "TTTTTTTTiii", x, dy, dx, gamma, save_mean, save_invstd, mean_dy,
                      mean_dyx, (int)C, (int)S, R);
}
