/* Device weight normalization and batch mean (kernels in cl/wn.cl). */
#include "../internal.h"

gan_status ocl_weightnorm_forward(gan_ctx *c, const gan_tensor *v, const gan_tensor *g, gan_tensor *w)
{
    gan_status st = GAN_OK;
    size_t O = (size_t)v->dim[0], C = (size_t)v->dim[1], L;
    TRY(ocl_reduce_wg(c, "wn_forward", C, &L));
    size_t global = O * L;
    TRY(ocl_run_nd(c, "wn_forward", 1, &global, &L, "TTTiiL", v, g, w, (int)O, (int)C, L * sizeof(float)));
cleanup:
    return st;
}

gan_status ocl_weightnorm_backward(gan_ctx *c, const gan_tensor *v, const gan_tensor *g, const gan_tensor *dw,
                                   gan_tensor *dv, gan_tensor *dg)
{
    gan_status st = GAN_OK;
    if (!dv && !dg) return GAN_OK;
    size_t O = (size_t)v->dim[0], C = (size_t)v->dim[1], L;
    TRY(ocl_reduce_wg(c, "wn_backward", C, &L));
    size_t global = O * L;
    TRY(ocl_run_nd(c, "wn_backward", 1, &global, &L, "TTTTTiiiiL", v, g, dw, dv, dg, dv != NULL, dg != NULL,
                   (int)O, (int)C, L * sizeof(float)));
cleanup:
    return st;
}

gan_status ocl_batch_mean_forward(gan_ctx *c, const gan_tensor *x, gan_tensor *y)
{
    return ocl_run(c, "wn_batch_mean_forward", (size_t)x->dim[1], "TTii", x, y, x->dim[0], x->dim[1]);
}

gan_status ocl_batch_mean_backward(gan_ctx *c, const gan_tensor *dy, gan_tensor *dx)
{
    return ocl_run(c, "wn_batch_mean_backward", dx->numel, "TTiii", dy, dx, dx->dim[0], dx->dim[1],
                   (int)dx->numel);
}
