/* Device weight normalization, the fused weight-normalized dense layer
 * (GEMMs through the GEMM wrapper, the rest in cl/wn.cl) and batch mean. */
#include "ocl.h"

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

/* The wn_dense kernels give each work-item a whole row or 16 columns, so a
 * layer has only tens to a few thousand of them: in work-groups of 4 they
 * still spread over every compute unit (PoCL runs a work-group on one
 * thread, and ocl_run's groups of 64 would put a 1000-row layer on one). */
#define WN_LOCAL 4
static size_t wn_global(size_t n) { return (n + WN_LOCAL - 1) / WN_LOCAL * WN_LOCAL; }

gan_status ocl_wn_dense_forward(gan_ctx *c, const gan_tensor *x, const gan_tensor *v, const gan_tensor *g,
                                const gan_tensor *b, int act, float slope, float std, gan_rng rng, gan_tensor *norm,
                                gan_tensor *t, gan_tensor *y, gan_tensor *h)
{
    gan_status st = GAN_OK;
    int O = v->dim[0], C = v->dim[1];
    size_t n = t->numel, local = WN_LOCAL, global = wn_global((size_t)O);
    TRY(ocl_run_nd(c, "wn_row_norm", 1, &global, &local, "TTii", v, norm, O, C));
    TRY(ocl_dense_forward(c, x, v, NULL, t));
    TRY(ocl_run(c, "wn_dense_act", (n + 31) / 32, "TTTTTTifflliiii", t, g, norm, b, y, h, act, (double)slope,
                (double)std, rng.seed, rng.counter, b != NULL, h != NULL, O, (int)n));
cleanup:
    return st;
}

gan_status ocl_wn_dense_backward(gan_ctx *c, const gan_tensor *x, const gan_tensor *v, const gan_tensor *g,
                                 const gan_tensor *norm, const gan_tensor *t, const gan_tensor *y, int act, float slope,
                                 const gan_tensor *dh, gan_tensor *dt, gan_tensor *dx, gan_tensor *dv, gan_tensor *dg,
                                 gan_tensor *db)
{
    gan_status st = GAN_OK;
    int N = x->dim[0], O = v->dim[0], C = v->dim[1];
    size_t local = WN_LOCAL, global = wn_global(((size_t)O + 15) / 16);
    TRY(ocl_run_nd(c, "wn_dense_grad_cols", 1, &global, &local, "TTTTTTTTifiiii", dh, y, t, g, norm, dt, dg, db, act,
                   (double)slope, dg != NULL, db != NULL, N, O));
    if (dx || dv) TRY(ocl_dense_backward(c, x, v, dt, dx, dv, NULL));
    if (dv) {
        global = wn_global((size_t)O);
        TRY(ocl_run_nd(c, "wn_project_rows", 1, &global, &local, "TTTii", v, norm, dv, O, C));
    }
cleanup:
    return st;
}
