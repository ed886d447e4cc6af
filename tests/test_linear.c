/* gemm and dense: device vs reference over awkward shapes, and the dense
 * backward against finite differences on the reference.
 * Tolerances: fp32 sums of K terms of O(1) inputs, so atol 1e-5 * sqrt(K)
 * grows slowly; rtol 1e-4. */
#include "registry.h"

#include <math.h>
#include <string.h>

static double tol_k(int K) { return 1e-5 * sqrt((double)K) + 1e-6; }

void test_gemm(th *t)
{
    static const int shapes[][3] = {{1, 1, 1}, {3, 7, 5}, {33, 17, 64}, {64, 12544, 100}, {128, 1, 6272}, {13, 31, 7}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
        for (int ta = 0; ta < 2; ta++)
            for (int tb = 0; tb < 2; tb++) {
                int M = shapes[s][0], N = shapes[s][1], K = shapes[s][2];
                tpair A, B, C;
                tp_rand(t, &A, 2, ta ? K : M, ta ? M : K, 0, 0, -1, 1);
                tp_rand(t, &B, 2, tb ? N : K, tb ? K : N, 0, 0, -1, 1);
                tp_rand(t, &C, 2, M, N, 0, 0, -1, 1);
                float alpha = 0.75f, beta = (s % 2) ? 0.5f : 0.f;
                TH_OK(t, t->ref, gan_gemm(t->ref, ta, tb, alpha, &A.r, &B.r, beta, &C.r));
                if (t->dev) TH_OK(t, t->dev, gan_gemm(t->dev, ta, tb, alpha, &A.d, &B.d, beta, &C.d));
                char what[96];
                snprintf(what, sizeof what, "gemm M%d N%d K%d ta%d tb%d", M, N, K, ta, tb);
                th_compare(t, what, &C, tol_k(K), 1e-4);
                tp_free(t, &A);
                tp_free(t, &B);
                tp_free(t, &C);
            }
}

/* N, C (in), O (out), with bias */
static const int dense_shapes[][4] = {{1, 1, 1, 1}, {3, 7, 5, 0}, {7, 33, 13, 1}, {64, 100, 12544, 0},
                                      {64, 6272, 1, 1}, {2, 31, 37, 1}};

void test_dense_forward(th *t)
{
    for (size_t s = 0; s < sizeof dense_shapes / sizeof dense_shapes[0]; s++) {
        int N = dense_shapes[s][0], C = dense_shapes[s][1], O = dense_shapes[s][2], bias = dense_shapes[s][3];
        tpair x, w, b, y;
        tp_rand(t, &x, 2, N, C, 0, 0, -1, 1);
        tp_rand(t, &w, 2, O, C, 0, 0, -1, 1);
        tp_rand(t, &b, 1, O, 0, 0, 0, -1, 1);
        tp_alloc(t, &y, GAN_F32, 2, N, O, 0, 0);
        TH_OK(t, t->ref, gan_dense_forward(t->ref, &x.r, &w.r, bias ? &b.r : NULL, &y.r));
        if (t->dev) TH_OK(t, t->dev, gan_dense_forward(t->dev, &x.d, &w.d, bias ? &b.d : NULL, &y.d));
        char what[96];
        snprintf(what, sizeof what, "dense y N%d C%d O%d bias%d", N, C, O, bias);
        th_compare(t, what, &y, tol_k(C), 1e-4);
        tp_free(t, &x);
        tp_free(t, &w);
        tp_free(t, &b);
        tp_free(t, &y);
    }
}

typedef struct dense_fd {
    gan_ctx *c;
    gan_tensor *x, *w, *b, *y, *R;
} dense_fd;

static double dense_loss(void *u)
{
    dense_fd *f = u;
    gan_dense_forward(f->c, f->x, f->w, f->b, f->y);
    return th_dot(f->y, f->R);
}

void test_dense_backward(th *t)
{
    for (size_t s = 0; s < sizeof dense_shapes / sizeof dense_shapes[0]; s++) {
        int N = dense_shapes[s][0], C = dense_shapes[s][1], O = dense_shapes[s][2];
        tpair x, w, b, y, dy, dx, dw, db;
        tp_rand(t, &x, 2, N, C, 0, 0, -1, 1);
        tp_rand(t, &w, 2, O, C, 0, 0, -1, 1);
        tp_rand(t, &b, 1, O, 0, 0, 0, -1, 1);
        tp_alloc(t, &y, GAN_F32, 2, N, O, 0, 0);
        tp_rand(t, &dy, 2, N, O, 0, 0, -1, 1);
        tp_alloc(t, &dx, GAN_F32, 2, N, C, 0, 0);
        tp_alloc(t, &dw, GAN_F32, 2, O, C, 0, 0);
        tp_alloc(t, &db, GAN_F32, 1, O, 0, 0, 0);
        TH_OK(t, t->ref, gan_dense_backward(t->ref, &x.r, &w.r, &dy.r, &dx.r, &dw.r, &db.r));
        if (t->dev) TH_OK(t, t->dev, gan_dense_backward(t->dev, &x.d, &w.d, &dy.d, &dx.d, &dw.d, &db.d));
        char what[96];
        snprintf(what, sizeof what, "dense N%d C%d O%d dx", N, C, O);
        th_compare(t, what, &dx, tol_k(O), 1e-4);
        snprintf(what, sizeof what, "dense N%d C%d O%d dw", N, C, O);
        th_compare(t, what, &dw, tol_k(N), 1e-4);
        snprintf(what, sizeof what, "dense N%d C%d O%d db", N, C, O);
        th_compare(t, what, &db, tol_k(N), 1e-4);
        if ((size_t)N * C * O <= 100000) { /* finite differences on the smaller shapes */
            dense_fd f = {t->ref, &x.r, &w.r, &b.r, &y.r, &dy.r};
            float *gx = th_read(t, t->ref, &dx.r), *gw = th_read(t, t->ref, &dw.r), *gb = th_read(t, t->ref, &db.r);
            snprintf(what, sizeof what, "dense N%d C%d O%d", N, C, O);
            th_fd_check(t, what, dense_loss, &f, &x.r, gx, 1e-2, 1e-3, 1e-3, 64);
            th_fd_check(t, what, dense_loss, &f, &w.r, gw, 1e-2, 1e-3, 1e-3, 64);
            th_fd_check(t, what, dense_loss, &f, &b.r, gb, 1e-2, 1e-3, 1e-3, 64);
            free(gx);
            free(gw);
            free(gb);
        }
        tpair *all[] = {&x, &w, &b, &y, &dy, &dx, &dw, &db};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) tp_free(t, all[i]);
    }
}
