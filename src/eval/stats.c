/* Host-side statistics of generator evaluation (include/gancl/eval.h):
 * feature moments, their files, the Frechet distance with LAPACK's
 * symmetric eigensolver, and the Inception Score. All in double. */
#include "gancl/ckpt.h"
#include "gancl/eval.h"
#include "internal.h"

#include <lapacke.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gan_status gan_moments_init(gan_ctx *c, gan_moments *m, int d)
{
    memset(m, 0, sizeof *m);
    if (d < 1 || d > 65536) return GAN_FAIL(c, GAN_ERR_ARG, "moments of dimension %d: expected 1..65536", d);
    m->d = d;
    m->mean = calloc((size_t)d, sizeof *m->mean);
    m->m2 = calloc((size_t)d * (size_t)d, sizeof *m->m2);
    if (!m->mean || !m->m2) {
        gan_moments_free(m);
        return GAN_FAIL(c, GAN_ERR_NOMEM, "moments of dimension %d", d);
    }
    return GAN_OK;
}

void gan_moments_free(gan_moments *m)
{
    free(m->mean);
    free(m->m2);
    memset(m, 0, sizeof *m);
}

gan_status gan_moments_add(gan_ctx *c, gan_moments *m, const float *x, size_t n)
{
    if (n == 0) return GAN_OK;
    size_t d = (size_t)m->d;
    double *mb = calloc(d, sizeof *mb), *row = malloc(d * sizeof *row), *m2b = calloc(d * d, sizeof *m2b);
    if (!mb || !row || !m2b) {
        free(mb);
        free(row);
        free(m2b);
        return GAN_FAIL(c, GAN_ERR_NOMEM, "moments update of %zu rows", n);
    }
    for (size_t i = 0; i < n; i++)
        for (size_t j = 0; j < d; j++) mb[j] += x[i * d + j];
    for (size_t j = 0; j < d; j++) mb[j] /= (double)n;
    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < d; j++) row[j] = x[i * d + j] - mb[j];
        for (size_t a = 0; a < d; a++) {
            double ra = row[a];
            if (ra == 0) continue; /* ReLU features are often exactly at the mean's zero */
            double *out = m2b + a * d;
            for (size_t b = 0; b < d; b++) out[b] += ra * row[b];
        }
    }
    /* Chan, Golub & LeVeque: combine (n_a, mean_a, M2_a) with the batch */
    double na = (double)m->n, nb = (double)n, nt = na + nb, w = na * nb / nt;
    for (size_t j = 0; j < d; j++) row[j] = mb[j] - m->mean[j];
    for (size_t a = 0; a < d; a++)
        for (size_t b = 0; b < d; b++) m->m2[a * d + b] += m2b[a * d + b] + w * row[a] * row[b];
    for (size_t j = 0; j < d; j++) m->mean[j] += row[j] * nb / nt;
    m->n += n;
    free(mb);
    free(row);
    free(m2b);
    return GAN_OK;
}

void gan_fid_stats_free(gan_fid_stats *s)
{
    free(s->mean);
    free(s->cov);
    memset(s, 0, sizeof *s);
}

static gan_status stats_alloc(gan_ctx *c, gan_fid_stats *s, int d, size_t n)
{
    memset(s, 0, sizeof *s);
    s->d = d;
    s->n = n;
    s->mean = malloc((size_t)d * sizeof *s->mean);
    s->cov = malloc((size_t)d * (size_t)d * sizeof *s->cov);
    if (!s->mean || !s->cov) {
        gan_fid_stats_free(s);
        return GAN_FAIL(c, GAN_ERR_NOMEM, "feature statistics of dimension %d", d);
    }
    return GAN_OK;
}

gan_status gan_fid_stats_from(gan_ctx *c, const gan_moments *m, gan_fid_stats *out)
{
    memset(out, 0, sizeof *out);
    if (m->n < 2) return GAN_FAIL(c, GAN_ERR_ARG, "feature statistics of %zu images: need at least 2", m->n);
    gan_status st = stats_alloc(c, out, m->d, m->n);
    if (st) return st;
    size_t d = (size_t)m->d;
    memcpy(out->mean, m->mean, d * sizeof *out->mean);
    for (size_t i = 0; i < d * d; i++) out->cov[i] = m->m2[i] / (double)(m->n - 1);
    return GAN_OK;
}

gan_status gan_fid_stats_save(gan_ctx *c, const gan_fid_stats *s, const char *hash, const char *path)
{
    gan_status st = GAN_OK;
    gan_ckpt_writer *w = NULL;
    char n[32];
    int64_t dm[1] = {s->d}, dc[2] = {s->d, s->d};
    snprintf(n, sizeof n, "%zu", s->n);
    TRY(gan_ckpt_writer_create(c, &w));
    TRY(gan_ckpt_writer_add(c, w, "mean", GAN_ST_F64, 1, dm, s->mean));
    TRY(gan_ckpt_writer_add(c, w, "cov", GAN_ST_F64, 2, dc, s->cov));
    TRY(gan_ckpt_writer_meta(c, w, "kind", "fid-stats"));
    TRY(gan_ckpt_writer_meta(c, w, "n", n));
    TRY(gan_ckpt_writer_meta(c, w, "evaluator", hash ? hash : ""));
    TRY(gan_ckpt_writer_save(c, w, path));
cleanup:
    gan_ckpt_writer_free(w);
    return st;
}

gan_status gan_fid_stats_load(gan_ctx *c, const char *path, const char *expect_hash, gan_fid_stats *out)
{
    gan_status st = GAN_OK;
    gan_ckpt *k = NULL;
    memset(out, 0, sizeof *out);
    TRY(gan_ckpt_load(c, path, &k));
    const char *kind = gan_ckpt_meta(k, "kind"), *hash = gan_ckpt_meta(k, "evaluator"), *n = gan_ckpt_meta(k, "n");
    if (!kind || strcmp(kind, "fid-stats") || !n) {
        st = GAN_FAIL(c, GAN_ERR_MISMATCH, "%s: expected feature statistics (metadata kind \"fid-stats\"), found %s",
                      path, kind ? kind : "no \"kind\"");
        goto cleanup;
    }
    if (expect_hash && (!hash || strcmp(hash, expect_hash))) {
        st = GAN_FAIL(c, GAN_ERR_MISMATCH, "%s holds statistics of evaluator %s, expected evaluator %s", path,
                      hash ? hash : "(none)", expect_hash);
        goto cleanup;
    }
    const gan_ckpt_tensor *m = gan_ckpt_find(k, "mean"), *cv;
    if (!m || m->ndim != 1 || m->shape[0] < 1 || m->shape[0] > 65536) {
        st = GAN_FAIL(c, GAN_ERR_FORMAT, "%s: expected a tensor \"mean\" [d]", path);
        goto cleanup;
    }
    int d = (int)m->shape[0];
    int64_t dm[1] = {d}, dc[2] = {d, d};
    TRY(gan_ckpt_expect(c, k, "mean", GAN_ST_F64, 1, dm, &m));
    TRY(gan_ckpt_expect(c, k, "cov", GAN_ST_F64, 2, dc, &cv));
    TRY(stats_alloc(c, out, d, (size_t)strtoull(n, NULL, 10)));
    memcpy(out->mean, m->data, m->nbytes);
    memcpy(out->cov, cv->data, cv->nbytes);
cleanup:
    gan_ckpt_free(k);
    return st;
}

/* Eigenvalues (ascending) and, when vecs, eigenvectors (columns of a, row
 * major) of the symmetric a[d,d], overwritten. */
static gan_status sym_eig(gan_ctx *c, int d, double *a, double *w, int vecs, const char *what)
{
    lapack_int info = LAPACKE_dsyevd(LAPACK_ROW_MAJOR, vecs ? 'V' : 'N', 'U', d, a, d, w);
    if (info != 0)
        return GAN_FAIL(c, GAN_ERR_NUMERIC, "FID: LAPACKE_dsyevd on %s (%dx%d) returned %d (%s)", what, d, d,
                        (int)info, info < 0 ? "an illegal argument" : "no convergence");
    return GAN_OK;
}

static int all_finite(const double *x, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!isfinite(x[i])) return 0;
    return 1;
}

/* tr sqrtm(S1 S2) = sum sqrt(eig(sqrt(S1) S2 sqrt(S1))). Why: for any
 * square A, B the products AB and BA have the same eigenvalues; with
 * A = sqrt(S1) and B = sqrt(S1) S2, AB = S1 S2 and BA = sqrt(S1) S2 sqrt(S1)
 * = M. M is symmetric positive semi-definite, so its eigenvalues are real
 * and >= 0 (up to rounding), hence so are those of S1 S2, and the principal
 * square root of S1 S2 (what scipy.linalg.sqrtm gives pytorch-fid) has
 * the eigenvalues sqrt(lambda): its trace is the sum above. This needs
 * only symmetric eigendecompositions (stable, no complex arithmetic),
 * where a general sqrtm of the non-symmetric S1 S2 would not. */
gan_status gan_fid(gan_ctx *c, int d, const double *mu1, const double *s1, const double *mu2, const double *s2,
                   double *fid)
{
    gan_status st = GAN_OK;
    size_t D = (size_t)d;
    if (d < 1) return GAN_FAIL(c, GAN_ERR_ARG, "FID of dimension %d: expected >= 1", d);
    if (!all_finite(mu1, D) || !all_finite(mu2, D) || !all_finite(s1, D * D) || !all_finite(s2, D * D))
        return GAN_FAIL(c, GAN_ERR_NUMERIC, "FID: non-finite value in a mean or covariance");
    double *v = malloc(D * D * sizeof *v), *r = malloc(D * D * sizeof *r), *t = malloc(D * D * sizeof *t),
           *w = malloc(D * sizeof *w);
    if (!v || !r || !t || !w) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "FID of dimension %d", d);
        goto cleanup;
    }
    memcpy(v, s1, D * D * sizeof *v);
    TRY(sym_eig(c, d, v, w, 1, "the first covariance"));
    /* r = sqrt(S1) = V diag(sqrt(max(w, 0))) V^T */
    for (size_t k = 0; k < D; k++) w[k] = w[k] > 0 ? sqrt(w[k]) : 0;
    for (size_t i = 0; i < D; i++)
        for (size_t j = 0; j <= i; j++) {
            double s = 0;
            for (size_t k = 0; k < D; k++) s += v[i * D + k] * w[k] * v[j * D + k];
            r[i * D + j] = r[j * D + i] = s;
        }
    /* t = r S2, then v = t r = M */
    for (size_t i = 0; i < D; i++)
        for (size_t j = 0; j < D; j++) {
            double s = 0;
            for (size_t k = 0; k < D; k++) s += r[i * D + k] * s2[k * D + j];
            t[i * D + j] = s;
        }
    for (size_t i = 0; i < D; i++)
        for (size_t j = 0; j < D; j++) {
            double s = 0;
            for (size_t k = 0; k < D; k++) s += t[i * D + k] * r[k * D + j];
            v[i * D + j] = s;
        }
    /* M is symmetric in exact arithmetic; make it so in floating point */
    for (size_t i = 0; i < D; i++)
        for (size_t j = 0; j < i; j++) v[i * D + j] = v[j * D + i] = 0.5 * (v[i * D + j] + v[j * D + i]);
    TRY(sym_eig(c, d, v, w, 0, "sqrt(S1) S2 sqrt(S1)"));
    double tr_sqrt = 0, tr1 = 0, tr2 = 0, dmu = 0;
    for (size_t k = 0; k < D; k++) tr_sqrt += w[k] > 0 ? sqrt(w[k]) : 0;
    for (size_t k = 0; k < D; k++) {
        tr1 += s1[k * D + k];
        tr2 += s2[k * D + k];
        dmu += (mu1[k] - mu2[k]) * (mu1[k] - mu2[k]);
    }
    double f = dmu + tr1 + tr2 - 2 * tr_sqrt;
    /* FID >= 0 exactly; rounding can leave a tiny negative for equal inputs */
    *fid = f > 0 ? f : 0;
cleanup:
    free(v);
    free(r);
    free(t);
    free(w);
    return st;
}

gan_status gan_fid_of(gan_ctx *c, const gan_fid_stats *a, const gan_fid_stats *b, double *fid)
{
    if (a->d != b->d)
        return GAN_FAIL(c, GAN_ERR_SHAPE, "FID between features of dimension %d and %d: expected the same", a->d,
                        b->d);
    return gan_fid(c, a->d, a->mean, a->cov, b->mean, b->cov, fid);
}

gan_status gan_inception_score(gan_ctx *c, const double *p, size_t n, int k, int splits, double *mean,
                               double *std)
{
    if (k < 1 || splits < 1 || n < (size_t)splits)
        return GAN_FAIL(c, GAN_ERR_ARG, "inception score of %zu items, %d classes, %d splits: expected n >= splits >= 1",
                        n, k, splits);
    double *py = malloc((size_t)k * sizeof *py), *score = malloc((size_t)splits * sizeof *score);
    if (!py || !score) {
        free(py);
        free(score);
        return GAN_FAIL(c, GAN_ERR_NOMEM, "inception score");
    }
    for (int s = 0; s < splits; s++) {
        size_t lo = n * (size_t)s / (size_t)splits, hi = n * (size_t)(s + 1) / (size_t)splits;
        for (int j = 0; j < k; j++) py[j] = 0;
        for (size_t i = lo; i < hi; i++)
            for (int j = 0; j < k; j++) py[j] += p[i * (size_t)k + (size_t)j];
        for (int j = 0; j < k; j++) py[j] /= (double)(hi - lo);
        double kl = 0;
        for (size_t i = lo; i < hi; i++)
            for (int j = 0; j < k; j++) {
                double q = p[i * (size_t)k + (size_t)j];
                if (q > 0) kl += q * (log(q) - log(py[j])); /* 0 log 0 = 0 */
            }
        score[s] = exp(kl / (double)(hi - lo));
    }
    double m = 0, v = 0;
    for (int s = 0; s < splits; s++) m += score[s];
    m /= splits;
    for (int s = 0; s < splits; s++) v += (score[s] - m) * (score[s] - m);
    *mean = m;
    *std = sqrt(v / splits);
    free(py);
    free(score);
    return GAN_OK;
}
