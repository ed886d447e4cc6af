/* Test harness implementation; see harness.h. */
#include "harness.h"
#include "gancl/nn.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

static void diag_v(const char *lead, const char *fmt, va_list ap)
{
    char buf[16384];
    vsnprintf(buf, sizeof buf, fmt, ap);
    printf("# %s", lead);
    for (const char *p = buf; *p; p++) {
        putchar(*p);
        if (*p == '\n' && p[1]) printf("#   ");
    }
    printf("\n");
}

void th_diag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_v("", fmt, ap);
    va_end(ap);
}

void th_fail(th *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    diag_v("FAIL: ", fmt, ap);
    va_end(ap);
    t->failures++;
}

gan_status th_ok(th *t, gan_ctx *c, gan_status st, const char *what)
{
    if (st != GAN_OK) {
        th_fail(t, "%s -> %s: %s", what, gan_status_name(st), gan_ctx_error(c));
        gan_ctx_clear_error(c);
    }
    return st;
}

void th_seed(th *t, uint64_t seed) { t->rng = seed * 0x9E3779B97F4A7C15ull + 1; }

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double th_uniform(th *t, double lo, double hi)
{
    return lo + (hi - lo) * (double)(splitmix(&t->rng) >> 11) * (1.0 / 9007199254740992.0);
}

float *th_rand_host(th *t, size_t n, double lo, double hi)
{
    float *h = malloc(n * sizeof *h);
    if (!h) abort();
    for (size_t i = 0; i < n; i++) h[i] = (float)th_uniform(t, lo, hi);
    return h;
}

int tp_alloc(th *t, tpair *p, gan_dtype dt, int ndim, int d0, int d1, int d2, int d3)
{
    memset(p, 0, sizeof *p);
    if (TH_OK(t, t->ref, gan_tensor_alloc4(t->ref, &p->r, dt, ndim, d0, d1, d2, d3))) return -1;
    if (t->dev && TH_OK(t, t->dev, gan_tensor_alloc4(t->dev, &p->d, dt, ndim, d0, d1, d2, d3))) return -1;
    return 0;
}

int tp_set(th *t, tpair *p, const void *host)
{
    if (TH_OK(t, t->ref, gan_tensor_write(t->ref, &p->r, host))) return -1;
    if (t->dev && TH_OK(t, t->dev, gan_tensor_write(t->dev, &p->d, host))) return -1;
    return 0;
}

int tp_rand(th *t, tpair *p, int ndim, int d0, int d1, int d2, int d3, double lo, double hi)
{
    if (tp_alloc(t, p, GAN_F32, ndim, d0, d1, d2, d3)) return -1;
    float *h = th_rand_host(t, p->r.numel, lo, hi);
    int rc = tp_set(t, p, h);
    free(h);
    return rc;
}

void tp_free(th *t, tpair *p)
{
    gan_tensor_free(t->ref, &p->r);
    if (t->dev) gan_tensor_free(t->dev, &p->d);
}

float *th_read(th *t, gan_ctx *c, const gan_tensor *x)
{
    float *h = malloc((x->numel ? x->numel : 1) * sizeof *h);
    if (!h) abort();
    if (TH_OK(t, c, gan_tensor_read(c, x, h))) memset(h, 0, x->numel * sizeof *h);
    return h;
}

int th_compare_host(th *t, const char *what, const float *got, const float *want, size_t n, double atol,
                    double rtol)
{
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        int gn = isnan(got[i]), wn = isnan(want[i]);
        int gi = isinf(got[i]), wi = isinf(want[i]);
        if (gn != wn || gi != wi || (gi && (got[i] > 0) != (want[i] > 0))) {
            if (bad < 5) printf("#   %s[%zu]: got %g, want %g (NaN/Inf position differs)\n", what, i, got[i], want[i]);
            bad++;
        }
    }
    if (!bad)
        for (size_t i = 0; i < n; i++) {
            if (isnan(want[i]) || isinf(want[i])) continue;
            double d = fabs((double)got[i] - (double)want[i]);
            if (!(d <= atol + rtol * fabs((double)want[i]))) {
                if (bad < 5)
                    printf("#   %s[%zu]: got %.9g, want %.9g (|diff| %.3g > atol %.1g + rtol %.1g * |want|)\n", what, i,
                           got[i], want[i], d, atol, rtol);
                bad++;
            }
        }
    if (bad) th_fail(t, "%s: %zu of %zu elements differ", what, bad, n);
    return bad ? -1 : 0;
}

int th_compare(th *t, const char *what, const tpair *p, double atol, double rtol)
{
    if (!t->dev) return 0;
    float *got = th_read(t, t->dev, &p->d), *want = th_read(t, t->ref, &p->r);
    int rc = th_compare_host(t, what, got, want, p->r.numel, atol, rtol);
    free(got);
    free(want);
    return rc;
}

int th_compare_bits(th *t, const char *what, const void *got, const void *want, size_t n)
{
    const uint32_t *g = got, *w = want;
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        if (g[i] != w[i]) {
            if (bad < 5) printf("#   %s[%zu]: got 0x%08x, want 0x%08x\n", what, i, g[i], w[i]);
            bad++;
        }
    if (bad) th_fail(t, "%s: %zu of %zu words differ", what, bad, n);
    return bad ? -1 : 0;
}

double th_dot(const gan_tensor *y, const gan_tensor *R)
{
    const float *a = y->data, *b = R->data;
    double acc = 0;
    for (size_t i = 0; i < y->numel; i++) acc += (double)a[i] * b[i];
    return acc;
}

int th_fd_check(th *t, const char *what, double (*loss)(void *u), void *u, gan_tensor *in, const float *grad,
                double eps, double atol, double rtol, int max_points)
{
    float *x = in->data;
    size_t n = in->numel, bad = 0, points = n <= (size_t)max_points ? n : (size_t)max_points;
    for (size_t k = 0; k < points; k++) {
        size_t i = points == n ? k : (size_t)(th_uniform(t, 0, (double)n));
        if (i >= n) i = n - 1;
        float save = x[i];
        x[i] = (float)(save + eps);
        double lp = loss(u);
        x[i] = (float)(save - eps);
        double lm = loss(u);
        x[i] = save;
        /* divide by the step actually taken in float */
        double h = (double)(float)(save + eps) - (double)(float)(save - eps);
        double fd = (lp - lm) / h;
        double d = fabs(fd - grad[i]);
        if (!(d <= atol + rtol * fabs(fd))) {
            if (bad < 5)
                printf("#   %s d/d[%zu]: analytic %.7g, finite difference %.7g (|diff| %.3g)\n", what, i, grad[i], fd, d);
            bad++;
        }
    }
    if (bad) th_fail(t, "%s: %zu of %zu finite-difference points disagree", what, bad, points);
    return bad ? -1 : 0;
}

int th_expect_error(th *t, gan_ctx *c, gan_status got, gan_status want, const char *what)
{
    const char *msg = gan_ctx_error(c);
    int ok = got == want && msg && strcmp(msg, "no error") != 0 && msg[0];
    if (!ok)
        th_fail(t, "%s: got %s (%s), want %s with a message", what, gan_status_name(got), msg, gan_status_name(want));
    else
        th_diag("  %s -> %s: %s", what, gan_status_name(got), msg);
    gan_ctx_clear_error(c);
    return ok ? 0 : -1;
}

float *th_state_snapshot(th *t, gan_ctx *c, gan_params *const *regs, int nregs, size_t *n)
{
    size_t total = 0;
    for (int r = 0; r < nregs; r++) {
        for (int i = 0; i < regs[r]->n; i++) total += 3 * regs[r]->p[i]->w.numel;
        for (int i = 0; i < regs[r]->nbuf; i++) total += regs[r]->buf[i].t->numel;
    }
    float *all = malloc((total ? total : 1) * sizeof *all), *at = all;
    if (!all) abort();
    for (int r = 0; r < nregs; r++) {
        for (int i = 0; i < regs[r]->n; i++) {
            gan_param *p = regs[r]->p[i];
            gan_tensor *ts[3] = {&p->w, &p->m, &p->v};
            for (int k = 0; k < 3; k++) {
                TH_OK(t, c, gan_tensor_read(c, ts[k], at));
                at += ts[k]->numel;
            }
        }
        for (int i = 0; i < regs[r]->nbuf; i++) {
            TH_OK(t, c, gan_tensor_read(c, regs[r]->buf[i].t, at));
            at += regs[r]->buf[i].t->numel;
        }
    }
    *n = total;
    return all;
}

int th_compare_adam(th *t, const char *what, const float *got, const float *want, size_t n, double step)
{
    int bad = th_compare_host(t, what, got, want, n, step, 1e-3) != 0;
    size_t loose = 0;
    for (size_t j = 0; j < n; j++)
        loose += !(fabs((double)got[j] - want[j]) <= step / 10 + 1e-3 * fabs((double)want[j]));
    if (loose > 1 && loose * 20 > n) {
        th_fail(t, "%s: %zu of %zu elements beyond a tenth of an Adam step (at most 5%% or one may be)", what, loose,
                n);
        bad++;
    }
    return bad;
}
