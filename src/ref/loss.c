/* Reference losses: bce_logits, mse, softmax_xent, lse_loss, consistency. Each writes the
 * batch-mean loss into loss[0] and d(loss)/d(input) into grad. Everything is
 * computed in double from the float inputs, in the numerically stable forms
 * (max-shifted logsumexp, softplus via log1p), so this is the oracle the
 * float device kernels are held to. */
#include "../internal.h"

#include <math.h>

/* log(1 + e^x) without overflow for large x or loss of precision for very
 * negative x. */
static double softplus(double x) { return fmax(x, 0.0) + log1p(exp(-fabs(x))); }

static double sigmoid(double x)
{
    if (x >= 0) return 1.0 / (1.0 + exp(-x));
    double e = exp(x);
    return e / (1.0 + e);
}

/* max-shifted logsumexp of one row; *mx receives the row max. */
static double row_lse(const float *l, size_t K, double *mx)
{
    double m = l[0];
    for (size_t k = 1; k < K; k++) m = fmax(m, (double)l[k]);
    double s = 0;
    for (size_t k = 0; k < K; k++) s += exp((double)l[k] - m);
    *mx = m;
    return m + log(s);
}

gan_status ref_bce_logits(gan_ctx *c, const gan_tensor *logits, const gan_tensor *targets, gan_tensor *loss,
                          gan_tensor *grad)
{
    (void)c;
    const float *l = ref_f(logits), *t = ref_f(targets);
    float *g = ref_f(grad);
    size_t n = logits->numel;
    double acc = 0;
    for (size_t i = 0; i < n; i++) {
        double x = l[i], y = t[i];
        acc += fmax(x, 0.0) - x * y + log1p(exp(-fabs(x)));
        g[i] = (float)((sigmoid(x) - y) / (double)n);
    }
    ref_f(loss)[0] = (float)(acc / (double)n);
    return GAN_OK;
}

gan_status ref_mse(gan_ctx *c, const gan_tensor *pred, const gan_tensor *target, gan_tensor *loss, gan_tensor *grad)
{
    (void)c;
    const float *p = ref_f(pred), *t = ref_f(target);
    float *g = ref_f(grad);
    size_t n = pred->numel;
    double acc = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)p[i] - (double)t[i];
        acc += d * d;
        g[i] = (float)(2.0 * d / (double)n);
    }
    ref_f(loss)[0] = (float)(acc / (double)n);
    return GAN_OK;
}

gan_status ref_softmax_xent(gan_ctx *c, const gan_tensor *logits, const gan_tensor *labels, gan_tensor *loss,
                            gan_tensor *grad)
{
    size_t N = (size_t)logits->dim[0], K = (size_t)logits->dim[1];
    const float *l = ref_f(logits);
    const int32_t *y = ref_i(labels);
    float *g = ref_f(grad);
    /* All labels are checked before anything is written, so a bad batch
     * leaves loss and grad untouched. */
    for (size_t n = 0; n < N; n++)
        if (y[n] < 0 || (size_t)y[n] >= K)
            return GAN_FAIL(c, GAN_ERR_ARG, "labels[%zu] is %d: expected 0..%zu", n, (int)y[n], K - 1);
    double acc = 0;
    for (size_t n = 0; n < N; n++) {
        const float *row = l + n * K;
        double m, lse = row_lse(row, K, &m);
        acc += lse - (double)row[y[n]];
        for (size_t k = 0; k < K; k++) {
            double p = exp((double)row[k] - lse);
            g[n * K + k] = (float)((p - (k == (size_t)y[n] ? 1.0 : 0.0)) / (double)N);
        }
    }
    ref_f(loss)[0] = (float)(acc / (double)N);
    return GAN_OK;
}

gan_status ref_lse_loss(gan_ctx *c, const gan_tensor *logits, int real, gan_tensor *loss, gan_tensor *grad)
{
    (void)c;
    size_t N = (size_t)logits->dim[0], K = (size_t)logits->dim[1];
    const float *l = ref_f(logits);
    float *g = ref_f(grad);
    double acc = 0;
    for (size_t n = 0; n < N; n++) {
        const float *row = l + n * K;
        double m, L = row_lse(row, K, &m);
        /* softplus(L) - L == softplus(-L), which does not cancel for large L;
         * likewise sigmoid(L) - 1 == -sigmoid(-L). */
        acc += real ? softplus(-L) : softplus(L);
        double fp = real ? -sigmoid(-L) : sigmoid(L);
        for (size_t k = 0; k < K; k++) g[n * K + k] = (float)(fp * exp((double)row[k] - L) / (double)N);
    }
    ref_f(loss)[0] = (float)(acc / (double)N);
    return GAN_OK;
}

gan_status ref_consistency(gan_ctx *c, const gan_tensor *a, const gan_tensor *b, gan_tensor *loss, gan_tensor *da,
                           gan_tensor *db)
{
    (void)c;
    size_t N = (size_t)a->dim[0], K = (size_t)a->dim[1];
    const float *la = ref_f(a), *lb = ref_f(b);
    float *ga = ref_f(da), *gb = ref_f(db);
    double acc = 0;
    for (size_t n = 0; n < N; n++) {
        const float *ra = la + n * K, *rb = lb + n * K;
        double m, La = row_lse(ra, K, &m), Lb = row_lse(rb, K, &m);
        /* p = softmax(a_n), q = softmax(b_n), d = p - q: dL/dp = 2 d / N,
         * and through the softmax dL/da_j = p_j (dL/dp_j - sum_k p_k dL/dp_k);
         * likewise for b with -d and q */
        double sp = 0, sq = 0;
        for (size_t k = 0; k < K; k++) {
            double p = exp((double)ra[k] - La), q = exp((double)rb[k] - Lb), d = p - q;
            acc += d * d;
            sp += p * d;
            sq += q * d;
        }
        for (size_t k = 0; k < K; k++) {
            double p = exp((double)ra[k] - La), q = exp((double)rb[k] - Lb), d = p - q;
            ga[n * K + k] = (float)(2 * p * (d - sp) / (double)N);
            gb[n * K + k] = (float)(-2 * q * (d - sq) / (double)N);
        }
    }
    ref_f(loss)[0] = (float)(acc / (double)N);
    return GAN_OK;
}
