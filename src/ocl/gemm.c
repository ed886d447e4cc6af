/* The one call site of CLBlast's GEMM. Row-major throughout:
 * C[M,N] (leading dim ldc) = alpha * op(A) op(B) + beta * C, where op(A) is
 * [M,K] and A is stored [M,K] (lda >= K) or, transposed, [K,M] (lda >= M);
 * likewise B. batch > 1 runs CLBlast's strided batched GEMM with element
 * strides sa, sb, sc between the matrices of consecutive batch entries. */
#include "../internal.h"

#include <clblast_c.h>

gan_status ocl_gemm_run(gan_ctx *c, const ocl_gemm_args *g)
{
    CLBlastStatusCode s;
    CLBlastTranspose ta = g->ta ? CLBlastTransposeYes : CLBlastTransposeNo;
    CLBlastTranspose tb = g->tb ? CLBlastTransposeYes : CLBlastTransposeNo;
    if (g->M == 0 || g->N == 0) return GAN_OK;
    if (g->batch <= 1)
        s = CLBlastSgemm(CLBlastLayoutRowMajor, ta, tb, g->M, g->N, g->K, g->alpha, g->A, g->offa, g->lda, g->B,
                         g->offb, g->ldb, g->beta, g->C, g->offc, g->ldc, &c->ocl.queue, NULL);
    else
        s = CLBlastSgemmStridedBatched(CLBlastLayoutRowMajor, ta, tb, g->M, g->N, g->K, g->alpha, g->A, g->offa,
                                       g->lda, g->sa, g->B, g->offb, g->ldb, g->sb, g->beta, g->C, g->offc, g->ldc,
                                       g->sc, g->batch, &c->ocl.queue, NULL);
    if (s != CLBlastSuccess)
        return GAN_FAIL(c, GAN_ERR_CLBLAST, "CLBlastSgemm%s: %s (%d) for M=%zu N=%zu K=%zu batch=%zu",
                        g->batch > 1 ? "StridedBatched" : "", clblast_status_name(s), (int)s, g->M, g->N, g->K,
                        g->batch);
    return GAN_OK;
}
