/* Device weight normalization and batch mean (kernels in cl/wn.cl). */
#include "../internal.h"

/* Work-group size for a per-row reduction: a power of two (the tree needs
 * it), at most 256 and what the kernel allows here, no larger than needed
 * for C values. */
static gan_status row_local(gan_ctx *c, const char *kernel, size_t C, size_t *out)
{
    gan_status st = GAN_OK;
    cl_kernel k;
    size_t kmax;
    TRY(ocl_kernel(c, kernel, &k));
    CL_CHECK(c, clGetKernelWorkGroupInfo, (k, c->ocl.device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kmax, &kmax, NULL));
    size_t L = 1;
    while (L * 2 <= 256 && L * 2 <= kmax && L * 2 <= c->ocl.max_wg && L < C) L *= 2;
    *out = L;
cleanup:
    return st;
}

gan_status ocl_weightnorm_forward(gan_ctx *c, const gan_tensor *v, const gan_tensor *g, gan_tensor *w)
{
    gan_status st = GAN_OK;
    size_t O = (size_t)v->dim[0], C = (size_t)v->dim[1], L;
    TRY(row_local(c, "wn_forward", C, &L));
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
    TRY(row_local(c, "wn_backward", C, &L));
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
