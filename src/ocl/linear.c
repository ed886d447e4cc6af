/* Device GEMM and dense layers: CLBlast through ocl_gemm_run, bias kernels
 * from cl/linear.cl. */
#include "ocl.h"

gan_status ocl_bias_add(gan_ctx *c, cl_mem y, const gan_tensor *b, size_t N, size_t O, size_t S)
{
    if (S >= 16) return ocl_run(c, "bias_add_rows", N * O, "MTiii", y, b, (int)O, (int)S, (int)(N * O));
    return ocl_run(c, "bias_add", N * O * S, "MTiii", y, b, (int)O, (int)S, (int)(N * O * S));
}

gan_status ocl_bias_grad(gan_ctx *c, cl_mem dy, gan_tensor *db, size_t N, size_t O, size_t S)
{
    return ocl_run(c, "bias_grad", O, "MTiii", dy, db, (int)N, (int)O, (int)S);
}

gan_status ocl_gemm(gan_ctx *c, int ta, int tb, float alpha, const gan_tensor *A, const gan_tensor *B, float beta,
                    gan_tensor *C)
{
    ocl_gemm_args g = {
        .ta = ta, .tb = tb,
        .M = (size_t)C->dim[0], .N = (size_t)C->dim[1], .K = (size_t)(ta ? A->dim[0] : A->dim[1]),
        .alpha = alpha, .beta = beta,
        .A = ocl_mem(A), .lda = (size_t)A->dim[1],
        .B = ocl_mem(B), .ldb = (size_t)B->dim[1],
        .C = ocl_mem(C), .ldc = (size_t)C->dim[1],
        .batch = 1,
    };
    return ocl_gemm_run(c, &g);
}

gan_status ocl_dense_forward(gan_ctx *c, const gan_tensor *x, const gan_tensor *w, const gan_tensor *b, gan_tensor *y)
{
    size_t N = (size_t)x->dim[0], C = (size_t)x->dim[1], O = (size_t)w->dim[0];
    ocl_gemm_args g = {.tb = 1, .M = N, .N = O, .K = C, .alpha = 1.f, .beta = 0.f,
                       .A = ocl_mem(x), .lda = C, .B = ocl_mem(w), .ldb = C, .C = ocl_mem(y), .ldc = O, .batch = 1};
    gan_status st = ocl_gemm_run(c, &g);
    if (st == GAN_OK && b) st = ocl_bias_add(c, ocl_mem(y), b, N, O, 1);
    return st;
}

gan_status ocl_dense_backward(gan_ctx *c, const gan_tensor *x, const gan_tensor *w, const gan_tensor *dy,
                              gan_tensor *dx, gan_tensor *dw, gan_tensor *db)
{
    gan_status st = GAN_OK;
    size_t N = (size_t)x->dim[0], C = (size_t)x->dim[1], O = (size_t)w->dim[0];
    if (dx) {
        ocl_gemm_args g = {.M = N, .N = C, .K = O, .alpha = 1.f, .beta = 0.f, .A = ocl_mem(dy), .lda = O,
                           .B = ocl_mem(w), .ldb = C, .C = ocl_mem(dx), .ldc = C, .batch = 1};
        TRY(ocl_gemm_run(c, &g));
    }
    if (dw) {
        ocl_gemm_args g = {.ta = 1, .M = O, .N = C, .K = N, .alpha = 1.f, .beta = 0.f, .A = ocl_mem(dy), .lda = O,
                           .B = ocl_mem(x), .ldb = C, .C = ocl_mem(dw), .ldc = C, .batch = 1};
        TRY(ocl_gemm_run(c, &g));
    }
    if (db) TRY(ocl_bias_grad(c, ocl_mem(dy), db, N, O, 1));
cleanup:
    return st;
}
