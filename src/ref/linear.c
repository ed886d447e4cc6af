/* Reference GEMM and dense (fully connected) layers. Sums accumulate in
 * double so the oracle is tighter than any float device result. */
#include "../internal.h"

void ref_bias_add(float *y, const float *b, size_t N, size_t O, size_t S)
{
    for (size_t n = 0; n < N; n++)
        for (size_t o = 0; o < O; o++)
            for (size_t s = 0; s < S; s++) y[(n * O + o) * S + s] += b[o];
}

void ref_bias_grad(const float *dy, float *db, size_t N, size_t O, size_t S)
{
    for (size_t o = 0; o < O; o++) {
        double acc = 0;
        for (size_t n = 0; n < N; n++)
            for (size_t s = 0; s < S; s++) acc += dy[(n * O + o) * S + s];
        db[o] = (float)acc;
    }
}

/* C = alpha op(A) op(B) + beta C with explicit leading dimensions. */
static void gemm_raw(int ta, int tb, size_t M, size_t N, size_t K, float alpha, const float *A, size_t lda,
                     const float *B, size_t ldb, float beta, float *C, size_t ldc)
{
    for (size_t i = 0; i < M; i++)
        for (size_t j = 0; j < N; j++) {
            double acc = 0;
            for (size_t k = 0; k < K; k++) {
                double a = ta ? A[k * lda + i] : A[i * lda + k];
                double b = tb ? B[j * ldb + k] : B[k * ldb + j];
                acc += a * b;
            }
            float prev = beta != 0.f ? beta * C[i * ldc + j] : 0.f;
            C[i * ldc + j] = (float)(alpha * acc + prev);
        }
}

gan_status ref_gemm(gan_ctx *c, int ta, int tb, float alpha, const gan_tensor *A, const gan_tensor *B, float beta,
                    gan_tensor *C)
{
    (void)c;
    size_t M = (size_t)C->dim[0], N = (size_t)C->dim[1], K = (size_t)(ta ? A->dim[0] : A->dim[1]);
    gemm_raw(ta, tb, M, N, K, alpha, ref_f(A), (size_t)A->dim[1], ref_f(B), (size_t)B->dim[1], beta, ref_f(C), N);
    return GAN_OK;
}

gan_status ref_dense_forward(gan_ctx *c, const gan_tensor *x, const gan_tensor *w, const gan_tensor *b,
                             gan_tensor *y)
{
    (void)c;
    size_t N = (size_t)x->dim[0], C = (size_t)x->dim[1], O = (size_t)w->dim[0];
    gemm_raw(0, 1, N, O, C, 1.f, ref_f(x), C, ref_f(w), C, 0.f, ref_f(y), O);
    if (b) ref_bias_add(ref_f(y), ref_f(b), N, O, 1);
    return GAN_OK;
}

gan_status ref_dense_backward(gan_ctx *c, const gan_tensor *x, const gan_tensor *w, const gan_tensor *dy,
                              gan_tensor *dx, gan_tensor *dw, gan_tensor *db)
{
    (void)c;
    size_t N = (size_t)x->dim[0], C = (size_t)x->dim[1], O = (size_t)w->dim[0];
    if (dx) gemm_raw(0, 0, N, C, O, 1.f, ref_f(dy), O, ref_f(w), C, 0.f, ref_f(dx), C);  /* dx = dy w */
    if (dw) gemm_raw(1, 0, O, C, N, 1.f, ref_f(dy), O, ref_f(x), C, 0.f, ref_f(dw), C);  /* dw = dy^T x */
    if (db) ref_bias_grad(ref_f(dy), ref_f(db), N, O, 1);
    return GAN_OK;
}
