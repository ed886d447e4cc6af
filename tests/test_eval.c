/* Unit tests of generator evaluation (include/gancl/eval.h) that need
 * neither MNIST nor an OpenCL device: FID against closed forms, the
 * feature moments against a two-pass computation, the Inception Score of
 * known predictions, statistics files, the evaluator hash, and the errors
 * for checkpoints of the wrong kind. TAP output; `test_eval [FILTER]`. */
#include "gancl/ckpt.h"
#include "gancl/eval.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static gan_ctx *C;
static int fails_now;
static uint64_t rs = 0x9e3779b97f4a7c15ull;

static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("# ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    fails_now++;
}

static void near(const char *what, double got, double want, double atol, double rtol)
{
    if (!(fabs(got - want) <= atol + rtol * fabs(want))) fail("%s: got %.17g, want %.17g", what, got, want);
}

static void ok_st(gan_status st, const char *what)
{
    if (st != GAN_OK) fail("%s: %s", what, gan_ctx_error(C));
    gan_ctx_clear_error(C);
}

/* Expect status want and an error message containing each needle. */
static void err_st(gan_status st, gan_status want, const char *what, const char *n1, const char *n2)
{
    const char *msg = gan_ctx_error(C);
    if (st != want)
        fail("%s: status %s, want %s (%s)", what, gan_status_name(st), gan_status_name(want), msg);
    else if ((n1 && !strstr(msg, n1)) || (n2 && !strstr(msg, n2)))
        fail("%s: message \"%s\" should name \"%s\"%s%s", what, msg, n1 ? n1 : "", n2 ? " and " : "", n2 ? n2 : "");
    gan_ctx_clear_error(C);
}

static double unif(void)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return (double)(rs >> 11) / 9007199254740992.0;
}

/* A random orthogonal d x d matrix (Gram-Schmidt of random columns). */
static void rand_orth(int d, double *q)
{
    for (int i = 0; i < d * d; i++) q[i] = unif() - 0.5;
    for (int j = 0; j < d; j++) {
        for (int k = 0; k < j; k++) {
            double dot = 0;
            for (int i = 0; i < d; i++) dot += q[i * d + j] * q[i * d + k];
            for (int i = 0; i < d; i++) q[i * d + j] -= dot * q[i * d + k];
        }
        double nrm = 0;
        for (int i = 0; i < d; i++) nrm += q[i * d + j] * q[i * d + j];
        for (int i = 0; i < d; i++) q[i * d + j] /= sqrt(nrm);
    }
}

/* s = q diag(l) q^T */
static void compose(int d, const double *q, const double *l, double *s)
{
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double x = 0;
            for (int k = 0; k < d; k++) x += q[i * d + k] * l[k] * q[j * d + k];
            s[i * d + j] = x;
        }
}

static void test_fid_identical(void)
{
    /* FID(a, a) = 0: every term cancels; atol 1e-9 against a trace of ~d */
    for (int d = 1; d <= 33; d += 8) {
        double *q = malloc((size_t)(d * d) * sizeof *q), *s = malloc((size_t)(d * d) * sizeof *s),
               *l = malloc((size_t)d * sizeof *l), *mu = malloc((size_t)d * sizeof *mu), f = -1;
        rand_orth(d, q);
        for (int k = 0; k < d; k++) l[k] = k == 0 && d > 1 ? 0 : unif() * 3; /* one zero eigenvalue: singular */
        for (int k = 0; k < d; k++) mu[k] = unif() * 10 - 5;
        compose(d, q, l, s);
        ok_st(gan_fid(C, d, mu, s, mu, s, &f), "gan_fid identical");
        char w[64];
        snprintf(w, sizeof w, "FID(x, x), d %d", d);
        near(w, f, 0, 1e-9, 0);
        free(q), free(s), free(l), free(mu);
    }
}

static void test_fid_commuting(void)
{
    /* Covariances with common eigenvectors: tr sqrtm(S1 S2) = sum sqrt(a_k b_k),
     * so FID = |mu1 - mu2|^2 + sum (sqrt a_k - sqrt b_k)^2. Diagonal (q = I)
     * and rotated; rtol 1e-10 (LAPACK in double on well-conditioned input). */
    for (int rot = 0; rot < 2; rot++)
        for (int d = 1; d <= 64; d = d * 3 + 1) {
            size_t dd = (size_t)(d * d);
            double *q = calloc(dd, sizeof *q), *s1 = malloc(dd * sizeof *s1), *s2 = malloc(dd * sizeof *s2),
                   *a = malloc((size_t)d * sizeof *a), *b = malloc((size_t)d * sizeof *b),
                   *m1 = malloc((size_t)d * sizeof *m1), *m2 = malloc((size_t)d * sizeof *m2), f = -1, want = 0;
            if (rot)
                rand_orth(d, q);
            else
                for (int i = 0; i < d; i++) q[i * d + i] = 1;
            for (int k = 0; k < d; k++) {
                a[k] = 0.1 + unif() * 4;
                b[k] = 0.1 + unif() * 4;
                m1[k] = unif();
                m2[k] = unif() * 2;
                want += (m1[k] - m2[k]) * (m1[k] - m2[k]) + (sqrt(a[k]) - sqrt(b[k])) * (sqrt(a[k]) - sqrt(b[k]));
            }
            compose(d, q, a, s1);
            compose(d, q, b, s2);
            ok_st(gan_fid(C, d, m1, s1, m2, s2, &f), "gan_fid commuting");
            char w[64];
            snprintf(w, sizeof w, "FID %s d %d", rot ? "rotated" : "diagonal", d);
            near(w, f, want, 1e-10, 1e-10);
            free(q), free(s1), free(s2), free(a), free(b), free(m1), free(m2);
        }
}

static void test_fid_2x2(void)
{
    /* By hand: S1 = [[2,1],[1,2]], S2 = [[1,0],[0,3]], S1 S2 = [[2,3],[1,6]],
     * tr 8, det 9. For 2x2, tr sqrtm(M) = sqrt(tr M + 2 sqrt(det M)) = sqrt(14).
     * FID = |(0,0) - (1,2)|^2 + 4 + 4 - 2 sqrt(14) = 13 - 2 sqrt(14)
     *     = 5.516685226452117 (numpy/scipy pytorch-fid formula: the same). */
    double s1[4] = {2, 1, 1, 2}, s2[4] = {1, 0, 0, 3}, m1[2] = {0, 0}, m2[2] = {1, 2}, f = -1;
    ok_st(gan_fid(C, 2, m1, s1, m2, s2, &f), "gan_fid 2x2");
    near("FID 2x2 by hand", f, 5.516685226452117, 1e-12, 1e-12);
    /* random non-commuting 2x2 pairs against the same closed form */
    for (int r = 0; r < 20; r++) {
        double a[4], b[4], x = unif() * 2 - 1, y = unif() * 2 - 1;
        a[0] = 0.5 + unif() * 2, a[3] = 0.5 + unif() * 2, a[1] = a[2] = x * 0.4 * sqrt(a[0] * a[3]);
        b[0] = 0.5 + unif() * 2, b[3] = 0.5 + unif() * 2, b[1] = b[2] = y * 0.4 * sqrt(b[0] * b[3]);
        double p[4] = {a[0] * b[0] + a[1] * b[2], a[0] * b[1] + a[1] * b[3], a[2] * b[0] + a[3] * b[2],
                       a[2] * b[1] + a[3] * b[3]};
        double trp = p[0] + p[3], detp = p[0] * p[3] - p[1] * p[2];
        double want = 5 + a[0] + a[3] + b[0] + b[3] - 2 * sqrt(trp + 2 * sqrt(detp)); /* |dmu|^2 = 5 */
        ok_st(gan_fid(C, 2, m1, a, m2, b, &f), "gan_fid random 2x2");
        near("FID random 2x2", f, want, 1e-10, 1e-10);
    }
}

static void test_fid_errors(void)
{
    double s[1] = {NAN}, m[1] = {0}, f;
    err_st(gan_fid(C, 1, m, s, m, s, &f), GAN_ERR_NUMERIC, "FID of NaN", "non-finite", NULL);
    gan_fid_stats a = {.d = 2}, b = {.d = 3};
    err_st(gan_fid_of(C, &a, &b, &f), GAN_ERR_SHAPE, "FID of 2 vs 3 features", "2", "3");
}

static void test_moments(void)
{
    /* Chunks of uneven sizes (1, 7, 33, ...) far from zero (offset 1e4)
     * against a two-pass mean and covariance in double: rtol 1e-9 (float
     * inputs are exact in double; only summation order differs). */
    int d = 5;
    size_t n = 200;
    float *x = malloc(n * (size_t)d * sizeof *x);
    for (size_t i = 0; i < n * (size_t)d; i++) x[i] = (float)(1e4 + (unif() - 0.5) * ((i % 5) + 1));
    gan_moments m;
    ok_st(gan_moments_init(C, &m, d), "moments init");
    size_t chunks[] = {1, 7, 33, 0, 59, 100}, at = 0;
    for (size_t k = 0; k < sizeof chunks / sizeof chunks[0]; k++) {
        ok_st(gan_moments_add(C, &m, x + at * (size_t)d, chunks[k]), "moments add");
        at += chunks[k];
    }
    gan_fid_stats s;
    ok_st(gan_fid_stats_from(C, &m, &s), "stats from moments");
    if (s.n != n) fail("moments count %zu, want %zu", s.n, n);
    double mean[5] = {0};
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++) mean[j] += x[i * (size_t)d + (size_t)j];
    for (int j = 0; j < d; j++) mean[j] /= (double)n;
    for (int j = 0; j < d; j++) near("moments mean", s.mean[j], mean[j], 0, 1e-12);
    for (int a = 0; a < d; a++)
        for (int b = 0; b < d; b++) {
            double cv = 0;
            for (size_t i = 0; i < n; i++)
                cv += (x[i * (size_t)d + (size_t)a] - mean[a]) * (x[i * (size_t)d + (size_t)b] - mean[b]);
            cv /= (double)(n - 1);
            near("moments covariance", s.cov[a * d + b], cv, 1e-12, 1e-9);
        }
    gan_fid_stats_free(&s);
    gan_moments_free(&m);
    ok_st(gan_moments_init(C, &m, d), "moments init");
    ok_st(gan_moments_add(C, &m, x, 1), "moments add");
    err_st(gan_fid_stats_from(C, &m, &s), GAN_ERR_ARG, "statistics of one image", "at least 2", NULL);
    gan_moments_free(&m);
    free(x);
}

static void test_inception_score(void)
{
    int K = 10;
    size_t n = 1000;
    double *p = calloc(n * (size_t)K, sizeof *p), mean, sd;
    /* one-hot, every class equally often in every split: IS = K exactly */
    for (size_t i = 0; i < n; i++) p[i * (size_t)K + i % (size_t)K] = 1;
    ok_st(gan_inception_score(C, p, n, K, 10, &mean, &sd), "IS one-hot");
    near("IS of uniform one-hot predictions", mean, K, 1e-12, 1e-12);
    near("IS spread of uniform one-hot predictions", sd, 0, 1e-12, 0);
    /* the same prediction for every image: KL 0, IS = 1 */
    for (size_t i = 0; i < n; i++)
        for (int k = 0; k < K; k++) p[i * (size_t)K + (size_t)k] = (k + 1) / 55.0;
    ok_st(gan_inception_score(C, p, n, K, 10, &mean, &sd), "IS constant");
    near("IS of constant predictions", mean, 1, 1e-12, 1e-12);
    /* two items by hand: p1 = (1, 0), p2 = (0.5, 0.5), py = (0.75, 0.25):
     * KL1 = log(4/3), KL2 = 0.5 log(2/3) + 0.5 log 2, IS = exp(mean) */
    double q[4] = {1, 0, 0.5, 0.5};
    double want = exp(0.5 * (log(4.0 / 3) + 0.5 * log(2.0 / 3) + 0.5 * log(2.0)));
    ok_st(gan_inception_score(C, q, 2, 2, 1, &mean, &sd), "IS by hand");
    near("IS of two items by hand", mean, want, 1e-14, 1e-14);
    /* splits: a one-hot first half and a constant second half give
     * scores 2 and 1: mean 1.5, population spread 0.5 */
    double r[8] = {1, 0, 0, 1, 0.5, 0.5, 0.5, 0.5};
    ok_st(gan_inception_score(C, r, 4, 2, 2, &mean, &sd), "IS two splits");
    near("IS mean over two splits", mean, 1.5, 1e-14, 1e-14);
    near("IS spread over two splits", sd, 0.5, 1e-14, 1e-14);
    err_st(gan_inception_score(C, p, 3, K, 10, &mean, &sd), GAN_ERR_ARG, "IS of 3 items in 10 splits", "splits",
           NULL);
    free(p);
}

static void tmp_path(char *buf, size_t cap, const char *name)
{
    const char *t = getenv("TMPDIR");
    snprintf(buf, cap, "%s/gancl-test-eval-%ld-%s", t && *t ? t : "/tmp", (long)getpid(), name);
}

static void test_stats_file(void)
{
    char path[512];
    tmp_path(path, sizeof path, "stats.safetensors");
    double mean[3] = {1, 2, 3}, cov[9] = {1, .5, 0, .5, 2, 0, 0, 0, 3};
    gan_fid_stats s = {.d = 3, .n = 42, .mean = mean, .cov = cov}, r;
    ok_st(gan_fid_stats_save(C, &s, "00112233aabbccdd", path), "stats save");
    ok_st(gan_fid_stats_load(C, path, "00112233aabbccdd", &r), "stats load");
    if (r.d != 3 || r.n != 42 || memcmp(r.mean, mean, sizeof mean) || memcmp(r.cov, cov, sizeof cov))
        fail("statistics file round trip: d %d n %zu", r.d, r.n);
    gan_fid_stats_free(&r);
    err_st(gan_fid_stats_load(C, path, "ffffffffffffffff", &r), GAN_ERR_MISMATCH, "statistics of another evaluator",
           "00112233aabbccdd", "ffffffffffffffff");
    unlink(path);
}

/* A classifier-like checkpoint: two cls.* tensors, one Adam moment. */
static void write_cls(const char *path, float w0, float moment, const char *model)
{
    gan_ckpt_writer *w = NULL;
    static float a[6], b[2], m[6];
    for (int i = 0; i < 6; i++) a[i] = (float)i, m[i] = moment;
    a[0] = w0;
    b[0] = 1, b[1] = -1;
    int64_t sa[2] = {2, 3}, sb[1] = {2};
    ok_st(gan_ckpt_writer_create(C, &w), "writer");
    ok_st(gan_ckpt_writer_add(C, w, "cls.fc.weight", GAN_ST_F32, 2, sa, a), "add");
    ok_st(gan_ckpt_writer_add(C, w, "cls.fc.bias", GAN_ST_F32, 1, sb, b), "add");
    ok_st(gan_ckpt_writer_add(C, w, "optim.cls.fc.weight.exp_avg", GAN_ST_F32, 2, sa, m), "add");
    ok_st(gan_ckpt_writer_meta(C, w, "model", model), "meta");
    ok_st(gan_ckpt_writer_save(C, w, path), "save");
    gan_ckpt_writer_free(w);
}

static void hash_of(const char *path, char *out)
{
    gan_ckpt *k = NULL;
    out[0] = 0;
    ok_st(gan_ckpt_load(C, path, &k), "load");
    if (k) ok_st(gan_evaluator_hash(C, k, out), "hash");
    gan_ckpt_free(k);
}

static void test_evaluator_hash(void)
{
    char path[512], h1[17], h2[17], h3[17], h4[17];
    tmp_path(path, sizeof path, "cls.safetensors");
    write_cls(path, 0.f, 0.f, "cnn-classifier");
    hash_of(path, h1);
    write_cls(path, 0.f, 0.f, "cnn-classifier");
    hash_of(path, h2);
    write_cls(path, 0.f, 5.f, "cnn-classifier"); /* Adam moments are not the evaluator */
    hash_of(path, h3);
    write_cls(path, 1e-30f, 0.f, "cnn-classifier"); /* one weight's bits differ */
    hash_of(path, h4);
    if (strlen(h1) != 16) fail("hash \"%s\": want 16 hex digits", h1);
    if (strcmp(h1, h2)) fail("the same weights hash differently: %s, %s", h1, h2);
    if (strcmp(h1, h3)) fail("Adam moments changed the hash: %s, %s", h1, h3);
    if (!strcmp(h1, h4)) fail("other weights give the same hash %s", h1);
    unlink(path);
}

static void test_wrong_kind(void)
{
    char path[512];
    gan_evaluator e;
    gan_generator g;
    tmp_path(path, sizeof path, "kind.safetensors");
    write_cls(path, 0.f, 0.f, "dcgan");
    err_st(gan_evaluator_load(C, &e, path, 8), GAN_ERR_MISMATCH, "a GAN checkpoint as evaluator",
           "is not an evaluator", "cnn-classifier");
    write_cls(path, 0.f, 0.f, "cnn-classifier");
    err_st(gan_generator_load(C, &g, path, 8), GAN_ERR_MISMATCH, "a classifier checkpoint as generator",
           "holds no generator", "cnn-classifier");
    unlink(path);
    err_st(gan_generator_load(C, &g, path, 8), GAN_ERR_IO, "a missing checkpoint", path, NULL);
}

int main(int argc, char **argv)
{
    const char *filter = argc > 1 ? argv[1] : NULL;
    if (gan_ctx_create(&C, "cpu") != GAN_OK) {
        printf("Bail out! cannot create the reference context\n");
        return 1;
    }
    static const struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {
        {"fid_identical", test_fid_identical}, {"fid_commuting", test_fid_commuting},
        {"fid_2x2", test_fid_2x2},             {"fid_errors", test_fid_errors},
        {"moments", test_moments},             {"inception_score", test_inception_score},
        {"stats_file", test_stats_file},       {"evaluator_hash", test_evaluator_hash},
        {"wrong_kind", test_wrong_kind},
    };
    int n = 0, failed = 0;
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        if (filter && !strstr(tests[i].name, filter)) continue;
        fails_now = 0;
        tests[i].fn();
        n++;
        printf("%s %d - %s\n", fails_now ? "not ok" : "ok", n, tests[i].name);
        failed += fails_now != 0;
    }
    printf("1..%d\n", n);
    gan_ctx_free(C);
    return failed ? 1 : 0;
}
