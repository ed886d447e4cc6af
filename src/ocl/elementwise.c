/* Device element-wise ops: kernels from cl/elementwise.cl, fill, copy and
 * copy_rows as OpenCL buffer commands, axpy through CLBlast (the library
 * already ships a tuned one). */
#include "ocl.h"

#include <clblast_c.h>

gan_status ocl_act_forward(gan_ctx *c, gan_act kind, float slope, const gan_tensor *x, gan_tensor *y)
{
    return ocl_run(c, "ew_act_forward", (x->numel + 15) / 16, "TTifi", x, y, (int)kind, (double)slope,
                   (int)x->numel);
}

gan_status ocl_act_backward(gan_ctx *c, gan_act kind, float slope, const gan_tensor *x, const gan_tensor *y,
                            const gan_tensor *dy, gan_tensor *dx)
{
    /* the kernel reads only the one of x, y its kind needs; ops.c checked that one */
    return ocl_run(c, "ew_act_backward", (dy->numel + 15) / 16, "TTTTifi", x, y, dy, dx, (int)kind, (double)slope,
                   (int)dy->numel);
}

gan_status ocl_dropout_forward(gan_ctx *c, float p, gan_rng rng, const gan_tensor *x, gan_tensor *mask, gan_tensor *y)
{
    float scale = 1.0f / (1.0f - p); /* the reference's float, not the device's division */
    return ocl_run(c, "ew_dropout_forward", (x->numel + 63) / 64, "TTTfflli", x, mask, y, (double)p, (double)scale,
                   rng.seed, rng.counter, (int)x->numel);
}

gan_status ocl_dropout_backward(gan_ctx *c, const gan_tensor *mask, const gan_tensor *dy, gan_tensor *dx)
{
    return ocl_run(c, "ew_dropout_backward", dy->numel, "TTTi", mask, dy, dx, (int)dy->numel);
}

gan_status ocl_noise_forward(gan_ctx *c, float std, gan_rng rng, const gan_tensor *x, gan_tensor *y)
{
    return ocl_run(c, "ew_noise_forward", (x->numel + 31) / 32, "TTflli", x, y, (double)std, rng.seed, rng.counter,
                   (int)x->numel);
}

static gan_status maxpool2_forward(gan_ctx *c, const gan_tensor *x, gan_tensor *y, gan_tensor *idx, int relu)
{
    size_t rows = y->numel / (size_t)y->dim[3];
    return ocl_run(c, "ew_maxpool2_forward", rows, "TTTiiiiii", x, y, idx, relu, x->dim[2], x->dim[3], y->dim[2],
                   y->dim[3], (int)rows);
}

gan_status ocl_maxpool2_forward(gan_ctx *c, const gan_tensor *x, gan_tensor *y, gan_tensor *idx)
{
    return maxpool2_forward(c, x, y, idx, 0);
}

gan_status ocl_maxpool2_relu_forward(gan_ctx *c, const gan_tensor *x, gan_tensor *y, gan_tensor *idx)
{
    return maxpool2_forward(c, x, y, idx, 1);
}

/* y: the relu forward's output, the mask of its backward (NULL: none). */
static gan_status maxpool2_backward(gan_ctx *c, const gan_tensor *idx, const gan_tensor *y, const gan_tensor *dy,
                                    gan_tensor *dx)
{
    size_t rows = dx->numel / (size_t)dx->dim[3];
    return ocl_run(c, "ew_maxpool2_backward", rows, "TTTTiiiii", idx, y, dy, dx, dx->dim[2], dx->dim[3], dy->dim[2],
                   dy->dim[3], (int)rows);
}

gan_status ocl_maxpool2_backward(gan_ctx *c, const gan_tensor *idx, const gan_tensor *dy, gan_tensor *dx)
{
    return maxpool2_backward(c, idx, NULL, dy, dx);
}

gan_status ocl_maxpool2_relu_backward(gan_ctx *c, const gan_tensor *idx, const gan_tensor *y, const gan_tensor *dy,
                                      gan_tensor *dx)
{
    return maxpool2_backward(c, idx, y, dy, dx);
}

gan_status ocl_concat_forward(gan_ctx *c, const gan_tensor *a, const gan_tensor *b, gan_tensor *y)
{
    size_t N = (size_t)a->dim[0];
    return ocl_run(c, "ew_concat_forward", y->numel, "TTTiii", a, b, y, (int)(a->numel / N), (int)(b->numel / N),
                   (int)y->numel);
}

gan_status ocl_concat_backward(gan_ctx *c, const gan_tensor *dy, gan_tensor *da, gan_tensor *db)
{
    size_t N = (size_t)da->dim[0];
    return ocl_run(c, "ew_concat_backward", dy->numel, "TTTiii", dy, da, db, (int)(da->numel / N),
                   (int)(db->numel / N), (int)dy->numel);
}

gan_status ocl_fill(gan_ctx *c, gan_tensor *t, float value)
{
    gan_status st = GAN_OK;
    cl_float v = value;
    if (t->numel == 0) return GAN_OK;
    CL_CHECK(c, clEnqueueFillBuffer, (ocl_st(c)->queue, ocl_mem(t), &v, sizeof v, 0, t->numel * sizeof v, 0, NULL, NULL));
cleanup:
    return st;
}

/* Any dtype: elements are 4 bytes on every tensor. A copy onto itself (a
 * view of the same buffer) is a no-op; OpenCL would reject the overlap. */
gan_status ocl_copy(gan_ctx *c, const gan_tensor *src, gan_tensor *dst)
{
    gan_status st = GAN_OK;
    if (src->numel == 0 || ocl_mem(src) == ocl_mem(dst)) return GAN_OK;
    CL_CHECK(c, clEnqueueCopyBuffer, (ocl_st(c)->queue, ocl_mem(src), ocl_mem(dst), 0, 0, src->numel * 4, 0, NULL, NULL));
cleanup:
    return st;
}

gan_status ocl_axpy(gan_ctx *c, float alpha, const gan_tensor *x, gan_tensor *y)
{
    if (x->numel == 0) return GAN_OK;
    CLBlastStatusCode s = CLBlastSaxpy(x->numel, alpha, ocl_mem(x), 0, 1, ocl_mem(y), 0, 1, &ocl_st(c)->queue, NULL);
    if (s != CLBlastSuccess)
        return GAN_FAIL(c, GAN_ERR_CLBLAST, "CLBlastSaxpy: %s (%d) for n=%zu", clblast_status_name(s), (int)s,
                        x->numel);
    return GAN_OK;
}

static size_t row_words(const gan_tensor *t)
{
    size_t w = 1;
    for (int d = 1; d < t->ndim; d++) w *= (size_t)t->dim[d];
    return w;
}

gan_status ocl_gather_rows(gan_ctx *c, const gan_tensor *src, const gan_tensor *idx, gan_tensor *dst)
{
    size_t w = row_words(src), total = (size_t)dst->dim[0] * w;
    if (total == 0) return GAN_OK;
    return ocl_run(c, "ew_gather_rows", total, "TTTiil", src, idx, dst, src->dim[0], (int)w, (uint64_t)total);
}

/* A buffer command, like copy; ops.c let through only equal or disjoint
 * ranges, and equal ones are a no-op OpenCL would reject as overlapping. */
gan_status ocl_copy_rows(gan_ctx *c, const gan_tensor *src, int src_row, gan_tensor *dst, int dst_row, int n)
{
    gan_status st = GAN_OK;
    size_t bytes = row_words(src) * 4;
    if (n == 0 || bytes == 0 || (ocl_mem(src) == ocl_mem(dst) && src_row == dst_row)) return GAN_OK;
    CL_CHECK(c, clEnqueueCopyBuffer, (ocl_st(c)->queue, ocl_mem(src), ocl_mem(dst), (size_t)src_row * bytes,
                                      (size_t)dst_row * bytes, (size_t)n * bytes, 0, NULL, NULL));
cleanup:
    return st;
}

gan_status ocl_standardize(gan_ctx *c, const gan_tensor *x, const gan_tensor *mean, const gan_tensor *invstd,
                           gan_tensor *y)
{
    if (x->numel == 0) return GAN_OK;
    return ocl_run(c, "ew_standardize", x->numel, "TTTTil", x, mean, invstd, y, x->dim[1], (uint64_t)x->numel);
}
