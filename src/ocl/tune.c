/* Per-device GEMM tuning (include/gancl/tune.h): the search behind `gancl
 * tune` and timing one shape (gan_gemm_time). The tune file the search
 * writes, and loading it at context creation, are src/ocl/tune_file.c.
 *
 * A candidate is a full set of CLBlast parameters for the kernels its
 * SGEMM uses (Xgemm, XgemmDirect, and GemmRoutine's threshold between the
 * two): CLBlast's defaults for the device, or the defaults with a few
 * values changed from a short list of tile shapes that suit CPUs and GPUs.
 * CLBlast's own tuners check one size; here every candidate runs every
 * shape, each result is compared with a double-precision host GEMM, and a
 * single mismatch disqualifies the candidate. The own kernels are checked
 * the same way, every register shape (kernel) of them on every shape of
 * its layout; a kernel that misses anywhere is out, and each shape keeps
 * the fastest of the rest. The CLBlast winner minimises the summed time
 * over the shapes of the faster of it and the best own kernel, since each
 * shape will take whichever path is faster (a shape leaves the device's
 * default path only for one at least 10% faster); CLBlast's parameters
 * are one set per device and precision, so one set must serve every
 * shape. The own kernels with the least summed time (one tile, one dot)
 * become the defaults for shapes the file does not list.
 *
 * Timing is wall clock around the GEMM and clFinish, median of reps after
 * the checking run (which also absorbs CLBlast's kernel compile). A
 * CLBlast run slower than 3x the own kernels on a shape is timed once
 * only: it cannot win that shape; so is an own kernel slower than 3x the
 * best one so far. */
#include "ocl.h"
#include "tune_params.h"

#include <clblast_c.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>


/* Changes to CLBlast's defaults, one candidate per line ("Kernel N=V ...",
 * kernels separated by ';'). Xgemm: MWG x NWG tile per work-group of
 * MDIMC x NDIMC items, KWG deep, vector widths VWM/VWN, SA/SB stage A/B in
 * local memory. The first one is the quick search's only alternative. */
static const char *const variants[] = {
    "Xgemm GEMMK=0 KREG=1 MWG=64 NWG=64 KWG=32 MDIMC=8 NDIMC=8 MDIMA=8 NDIMB=8 KWI=2 VWM=4 VWN=4 STRM=0 STRN=0 "
    "SA=0 SB=0",
    "Xgemm GEMMK=0 KREG=1 MWG=32 NWG=32 KWG=32 MDIMC=8 NDIMC=8 MDIMA=8 NDIMB=8 KWI=2 VWM=4 VWN=4 STRM=0 STRN=0 "
    "SA=0 SB=0",
    "Xgemm GEMMK=0 KREG=1 MWG=64 NWG=128 KWG=32 MDIMC=8 NDIMC=16 MDIMA=8 NDIMB=16 KWI=2 VWM=8 VWN=8 STRM=0 "
    "STRN=0 SA=0 SB=0",
    "Xgemm GEMMK=0 KREG=1 MWG=16 NWG=16 KWG=16 MDIMC=4 NDIMC=4 MDIMA=4 NDIMB=4 KWI=1 VWM=4 VWN=4 STRM=0 STRN=0 "
    "SA=0 SB=0",
    "Xgemm GEMMK=0 KREG=1 MWG=64 NWG=64 KWG=32 MDIMC=16 NDIMC=16 MDIMA=16 NDIMB=16 KWI=2 VWM=2 VWN=2 STRM=0 "
    "STRN=0 SA=1 SB=1",
    "Xgemm GEMMK=0 KREG=1 MWG=128 NWG=128 KWG=16 MDIMC=16 NDIMC=16 MDIMA=16 NDIMB=16 KWI=2 VWM=4 VWN=4 STRM=1 "
    "STRN=1 SA=1 SB=1",
    "Xgemm GEMMK=0 KREG=1 MWG=128 NWG=64 KWG=32 MDIMC=16 NDIMC=8 MDIMA=16 NDIMB=8 KWI=2 VWM=8 VWN=8 STRM=0 "
    "STRN=0 SA=0 SB=0",
    "GemmRoutine XGEMM_MIN_INDIRECT_SIZE=64",
    "GemmRoutine XGEMM_MIN_INDIRECT_SIZE=100000",
    "GemmRoutine XGEMM_MIN_INDIRECT_SIZE=100000; XgemmDirect WGD=32 MDIMCD=8 NDIMCD=8 MDIMAD=8 NDIMBD=8 KWID=2 "
    "VWMD=4 VWND=4 PADA=1 PADB=1",
};
#define NVARIANTS ((int)(sizeof variants / sizeof variants[0]))

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}


static int pset_kernel(const char *name)
{
    for (int k = 0; k < NKERNELS; k++)
        if (!strcmp(ocl_tune_kernels[k], name)) return k;
    return -1;
}

/* Apply a variant's changes to base; 0 when a name is unknown to this
 * CLBlast (the variant then does not apply). */
static int apply_variant(const char *v, cand *out)
{
    char buf[512];
    snprintf(buf, sizeof buf, "%s", v);
    int k = -1;
    for (char *save = NULL, *tok = strtok_r(buf, " ;", &save); tok; tok = strtok_r(NULL, " ;", &save)) {
        char *eq = strchr(tok, '=');
        if (!eq) {
            if ((k = pset_kernel(tok)) < 0) return 0;
            continue;
        }
        *eq = 0;
        if (k < 0) return 0;
        pset *p = &out->p[k];
        int i = 0;
        while (i < p->n && strcmp(p->names[i], tok)) i++;
        if (i == p->n) return 0;
        p->vals[i] = (size_t)strtoull(eq + 1, NULL, 10);
    }
    return 1;
}

/* The parameters in words: all of them for the defaults (but the direct
 * kernel's), else only those that differ from the defaults. */
static void cand_desc(const cand *cd, const cand *base, int is_base, char *out, size_t cap)
{
    size_t len = (size_t)snprintf(out, cap, "%s", is_base ? "defaults:" : "");
    for (int k = 0; k < NKERNELS; k++) {
        if (is_base && k == 1) continue;
        int first = 1;
        for (int i = 0; i < cd->p[k].n && len < cap; i++) {
            if (!is_base && cd->p[k].vals[i] == base->p[k].vals[i]) continue;
            if (first)
                len += (size_t)snprintf(out + len, cap - len, "%s%s", !len ? "" : is_base && len == 9 ? " " : "; ",
                                        ocl_tune_kernels[k]);
            if (len < cap)
                len += (size_t)snprintf(out + len, cap - len, " %s=%zu", cd->p[k].names[i], cd->p[k].vals[i]);
            first = 0;
        }
    }
}

/* ---- shapes --------------------------------------------------------------- */

typedef struct tshape {
    gan_gemm_shape s;
    size_t na, nb, nc; /* elements of A, B, C over the batch */
    cl_mem A, B, C;
    float *ref, *got;
    int own_ok;
    double own_ms;
    int best;                                 /* fastest valid own kernel, -1 none */
    double kms[GAN_GEMM_KERNELS_MAX];         /* per own kernel: ms, 0 n/a, < 0 mismatch */
} tshape;

static void shape_args(const tshape *t, ocl_gemm_args *g)
{
    const gan_gemm_shape *s = &t->s;
    size_t M = (size_t)s->M, N = (size_t)s->N, K = (size_t)s->K;
    *g = (ocl_gemm_args){.ta = s->ta, .tb = s->tb, .M = M, .N = N, .K = K, .alpha = 1.f, .beta = 0.f,
                         .A = t->A, .lda = s->ta ? M : K, .sa = M * K,
                         .B = t->B, .ldb = s->tb ? K : N, .sb = K * N,
                         .C = t->C, .ldc = N, .sc = M * N, .batch = (size_t)s->batch};
}

static float lcg(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((double)(*s >> 11) / 9007199254740992.0 * 2.0 - 1.0);
}

/* Upload random A, B and compute the reference C in double on the host. */
static gan_status shape_init(gan_ctx *c, tshape *t, uint64_t seed)
{
    ocl_state *o = ocl_st(c);
    gan_status st = GAN_OK;
    const gan_gemm_shape *s = &t->s;
    size_t M = (size_t)s->M, N = (size_t)s->N, K = (size_t)s->K, nb = (size_t)s->batch;
    t->na = M * K * nb;
    t->nb = K * N * nb;
    t->nc = M * N * nb;
    float *ha = malloc(t->na * sizeof *ha), *hb = malloc(t->nb * sizeof *hb), *bkn = malloc(K * N * sizeof *bkn);
    double *acc = malloc(N * sizeof *acc);
    t->ref = malloc(t->nc * sizeof *t->ref);
    t->got = malloc(t->nc * sizeof *t->got);
    cl_int err;
    if (!ha || !hb || !bkn || !acc || !t->ref || !t->got) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "tuning data for GEMM M=%d N=%d K=%d", s->M, s->N, s->K);
        goto cleanup;
    }
    uint64_t r = seed;
    for (size_t i = 0; i < t->na; i++) ha[i] = lcg(&r);
    for (size_t i = 0; i < t->nb; i++) hb[i] = lcg(&r);
    for (size_t b = 0; b < nb; b++) {
        const float *a = ha + b * M * K, *bb = hb + b * K * N;
        for (size_t k = 0; k < K; k++)
            for (size_t j = 0; j < N; j++) bkn[k * N + j] = s->tb ? bb[j * K + k] : bb[k * N + j];
        for (size_t i = 0; i < M; i++) {
            for (size_t j = 0; j < N; j++) acc[j] = 0;
            for (size_t k = 0; k < K; k++) {
                double av = s->ta ? a[k * M + i] : a[i * K + k];
                const float *row = bkn + k * N;
                for (size_t j = 0; j < N; j++) acc[j] += av * row[j];
            }
            for (size_t j = 0; j < N; j++) t->ref[b * M * N + i * N + j] = (float)acc[j];
        }
    }
    cl_mem *bufs[3] = {&t->A, &t->B, &t->C};
    size_t sizes[3] = {t->na, t->nb, t->nc};
    for (int i = 0; i < 3; i++) {
        *bufs[i] = clCreateBuffer(o->context, CL_MEM_READ_WRITE, sizes[i] * sizeof(float), NULL, &err);
        if (err != CL_SUCCESS) {
            st = GAN_FAIL(c, GAN_ERR_OPENCL, "clCreateBuffer: %s (%d) for tuning GEMM M=%d N=%d K=%d",
                          ocl_error_name(err), (int)err, s->M, s->N, s->K);
            goto cleanup;
        }
    }
    CL_CHECK(c, clEnqueueWriteBuffer, (o->queue, t->A, CL_TRUE, 0, t->na * sizeof(float), ha, 0, NULL, NULL));
    CL_CHECK(c, clEnqueueWriteBuffer, (o->queue, t->B, CL_TRUE, 0, t->nb * sizeof(float), hb, 0, NULL, NULL));
cleanup:
    free(ha);
    free(hb);
    free(bkn);
    free(acc);
    return st;
}

static void shape_free(tshape *t)
{
    if (t->A) clReleaseMemObject(t->A);
    if (t->B) clReleaseMemObject(t->B);
    if (t->C) clReleaseMemObject(t->C);
    free(t->ref);
    free(t->got);
}

/* One checked run and up to reps timed runs through CLBlast (how < 0) or
 * own kernel how; *ms < 0 when the result does not match the reference
 * (tolerance as tests/test_gemm_paths.c: atol 1e-5 sqrt(K) + 1e-6, rtol
 * 1e-4). A first timed run slower than 3x own_ms (when > 0) ends it. */
static gan_status shape_time(gan_ctx *c, tshape *t, int how, int reps, double own_ms, double *ms)
{
    ocl_state *o = ocl_st(c);
    gan_status st = GAN_OK;
    ocl_gemm_args g;
    shape_args(t, &g);
    float nan = NAN;
    double times[64];
    *ms = -1;
    CL_CHECK(c, clEnqueueFillBuffer, (o->queue, t->C, &nan, sizeof nan, 0, t->nc * sizeof(float), 0, NULL, NULL));
    TRY(how < 0 ? ocl_gemm_path(c, &g, 0) : ocl_gemm_kernel_run(c, &g, how));
    CL_CHECK(c, clEnqueueReadBuffer, (o->queue, t->C, CL_TRUE, 0, t->nc * sizeof(float), t->got, 0, NULL, NULL));
    double atol = 1e-5 * sqrt((double)t->s.K) + 1e-6;
    for (size_t i = 0; i < t->nc; i++) {
        double r = t->ref[i], d = t->got[i];
        if (!(fabs(d - r) <= atol + 1e-4 * fabs(r))) return GAN_OK;
    }
    int n = 0;
    if (reps > 64) reps = 64;
    for (; n < reps; n++) {
        double t0 = now();
        TRY(how < 0 ? ocl_gemm_path(c, &g, 0) : ocl_gemm_kernel_run(c, &g, how));
        CL_CHECK(c, clFinish, (o->queue));
        times[n] = now() - t0;
        if (n == 0 && own_ms > 0 && times[0] * 1e3 > 3 * own_ms) {
            n = 1;
            break;
        }
    }
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && times[j] < times[j - 1]; j--) {
            double x = times[j];
            times[j] = times[j - 1];
            times[j - 1] = x;
        }
    *ms = times[n / 2] * 1e3;
cleanup:
    return st;
}

/* ---- timing one shape (gan_gemm_time) ----------------------------------------- */

static double cpu_now(void)
{
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru)) return 0;
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
           1e-6 * (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
}

static double median_of(double *v, int n)
{
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && v[j] < v[j - 1]; j--) {
            double x = v[j];
            v[j] = v[j - 1];
            v[j - 1] = x;
        }
    return v[n / 2];
}

gan_status gan_gemm_time(gan_ctx *c, const gan_gemm_shape *s, const char *how, int reps, double *ms, double *cpu_ms,
                         char *ran, size_t rcap)
{
    ocl_state *o = ocl_st(c);
    gan_status st = GAN_OK;
    if (gan_ctx_backend(c) != GAN_BACKEND_OCL) return GAN_FAIL(c, GAN_ERR_ARG, "gan_gemm_time needs an OpenCL device");
    if (s->M < 1 || s->N < 1 || s->K < 1 || s->batch < 1 || (unsigned)s->ta > 1 || (unsigned)s->tb > 1)
        return GAN_FAIL(c, GAN_ERR_ARG, "gan_gemm_time: shape (ta %d tb %d M %d N %d K %d batch %d) is not valid",
                        s->ta, s->tb, s->M, s->N, s->K, s->batch);
    tshape t = {.s = *s};
    ocl_gemm_args g;
    int k = -2; /* -2: as c runs it, -1: CLBlast, else an own kernel */
    if (how && !strcmp(how, "clblast")) {
        k = -1;
    } else if (how) {
        k = ocl_gemm_kernel_find(how);
        ocl_gemm_args layout = {.ta = s->ta, .tb = s->tb};
        if (!ocl_gemm_kernel_fits(k, &layout))
            return GAN_FAIL(c, GAN_ERR_ARG, "gan_gemm_time: '%s' is not 'clblast' or an own kernel for ta %d tb %d",
                            how, s->ta, s->tb);
    }
    size_t M = (size_t)s->M, N = (size_t)s->N, K = (size_t)s->K, nb = (size_t)s->batch;
    t.na = M * K * nb;
    t.nb = K * N * nb;
    t.nc = M * N * nb;
    float *ha = malloc(t.na * sizeof *ha), *hb = malloc(t.nb * sizeof *hb);
    t.got = malloc(t.nc * sizeof *t.got);
    double times[64], cpus[64];
    cl_int err;
    if (!ha || !hb || !t.got) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "timing data for GEMM M=%d N=%d K=%d", s->M, s->N, s->K);
        goto cleanup;
    }
    uint64_t rs = 0x2545f4914f6cdd1dull;
    for (size_t i = 0; i < t.na; i++) ha[i] = lcg(&rs);
    for (size_t i = 0; i < t.nb; i++) hb[i] = lcg(&rs);
    cl_mem *bufs[3] = {&t.A, &t.B, &t.C};
    size_t sizes[3] = {t.na, t.nb, t.nc};
    for (int i = 0; i < 3; i++) {
        *bufs[i] = clCreateBuffer(o->context, CL_MEM_READ_WRITE, sizes[i] * sizeof(float), NULL, &err);
        if (err != CL_SUCCESS) {
            st = GAN_FAIL(c, GAN_ERR_OPENCL, "clCreateBuffer: %s (%d) for timing GEMM M=%d N=%d K=%d",
                          ocl_error_name(err), (int)err, s->M, s->N, s->K);
            goto cleanup;
        }
    }
    CL_CHECK(c, clEnqueueWriteBuffer, (o->queue, t.A, CL_TRUE, 0, t.na * sizeof(float), ha, 0, NULL, NULL));
    CL_CHECK(c, clEnqueueWriteBuffer, (o->queue, t.B, CL_TRUE, 0, t.nb * sizeof(float), hb, 0, NULL, NULL));
    shape_args(&t, &g);
    int choice = k == -2 ? ocl_gemm_choice(c, &g) : k;
    if (ran) {
        if (choice >= 0)
            snprintf(ran, rcap, "own %s", ocl_gemm_kernel_at(choice)->name);
        else
            snprintf(ran, rcap, "clblast");
    }
    if (reps < 1) reps = 1;
    if (reps > 64) reps = 64;
    for (int i = -1; i < reps; i++) {
        double t0 = now(), c0 = cpu_now();
        TRY(k == -2 ? ocl_gemm_run(c, &g) : k == -1 ? ocl_gemm_path(c, &g, 0) : ocl_gemm_kernel_run(c, &g, k));
        CL_CHECK(c, clFinish, (o->queue));
        if (i >= 0) {
            times[i] = now() - t0;
            cpus[i] = cpu_now() - c0;
            continue;
        }
        /* the untimed run: 64 sampled elements against double sums, with
         * the tolerance of tests/test_gemm_paths.c */
        CL_CHECK(c, clEnqueueReadBuffer, (o->queue, t.C, CL_TRUE, 0, t.nc * sizeof(float), t.got, 0, NULL, NULL));
        double atol = 1e-5 * sqrt((double)K) + 1e-6;
        uint64_t ps = 0x9e3779b97f4a7c15ull;
        for (int p = 0; p < 64; p++) {
            ps = ps * 6364136223846793005ull + 1442695040888963407ull;
            size_t e = (size_t)(ps >> 33) % nb, r = (size_t)(ps >> 13) % M, j = (size_t)(ps >> 3) % N;
            const float *a = ha + e * M * K, *b = hb + e * K * N;
            double want = 0;
            for (size_t q = 0; q < K; q++)
                want += (double)(s->ta ? a[q * M + r] : a[r * K + q]) * (s->tb ? b[j * K + q] : b[q * N + j]);
            double got = t.got[e * M * N + r * N + j];
            if (!(fabs(got - want) <= atol + 1e-4 * fabs(want))) {
                st = GAN_FAIL(c, GAN_ERR_NUMERIC,
                              "gan_gemm_time: %s on ta %d tb %d M %d N %d K %d batch %d: C[%zu][%zu][%zu] = %g, "
                              "expected %g", ran ? ran : how ? how : "the GEMM", s->ta, s->tb, s->M, s->N, s->K,
                              s->batch, e, r, j, got, want);
                goto cleanup;
            }
        }
    }
    *ms = median_of(times, reps) * 1e3;
    if (cpu_ms) *cpu_ms = median_of(cpus, reps) * 1e3;
cleanup:
    free(ha);
    free(hb);
    shape_free(&t);
    return st;
}

/* ---- the search ------------------------------------------------------------- */

void gan_tune_report_free(gan_tune_report *r)
{
    free(r->shapes);
    free(r->cands);
    memset(r, 0, sizeof *r);
}

gan_status gan_tune(gan_ctx *c, const gan_tune_opts *o, gan_tune_report *r)
{
    gan_status st = GAN_OK;
    memset(r, 0, sizeof *r);
    if (gan_ctx_backend(c) != GAN_BACKEND_OCL) return GAN_FAIL(c, GAN_ERR_ARG, "gan_tune needs an OpenCL device");
    if (!o->shapes || o->nshapes < 1) return GAN_FAIL(c, GAN_ERR_ARG, "gan_tune: no GEMM shapes");
    for (int i = 0; i < o->nshapes; i++) {
        const gan_gemm_shape *s = &o->shapes[i];
        if (s->M < 1 || s->N < 1 || s->K < 1 || s->batch < 1 || (unsigned)s->ta > 1 || (unsigned)s->tb > 1)
            return GAN_FAIL(c, GAN_ERR_ARG, "gan_tune: shape %d (ta %d tb %d M %d N %d K %d batch %d) is not valid",
                            i, s->ta, s->tb, s->M, s->N, s->K, s->batch);
    }
    double t_start = now();
    int reps = o->reps > 0 ? o->reps : 3, ns = o->nshapes;
    int nvar = o->quick ? 1 : NVARIANTS;
    tshape *ts = calloc((size_t)ns, sizeof *ts);
    cand *cands = calloc((size_t)nvar + 1, sizeof *cands);
    double *cms = calloc(((size_t)nvar + 1) * (size_t)ns, sizeof *cms);
    r->shapes = calloc((size_t)ns, sizeof *r->shapes);
    r->cands = calloc((size_t)nvar + 1, sizeof *r->cands);
    if (!ts || !cands || !cms || !r->shapes || !r->cands) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "gan_tune tables");
        goto cleanup;
    }
    TRY(gan_tune_file(c, r->path, sizeof r->path));
    TRY(ocl_tune_current(c, &cands[0]));
    int nc = 1;
    for (int v = 0; v < nvar; v++) {
        cands[nc] = cands[0];
        if (apply_variant(variants[v], &cands[nc]) && ocl_tune_fits(c, &cands[nc])) nc++;
    }
    /* every own kernel on every shape of its layout, against the untuned
     * defaults (a tune file loaded before is reloaded at the end) */
    ocl_tune_free(c);
    int nk = ocl_gemm_nkernels();
    if (nk > GAN_GEMM_KERNELS_MAX) nk = GAN_GEMM_KERNELS_MAX;
    r->nkernels = nk;
    for (int k = 0; k < nk; k++) {
        snprintf(r->kernels[k].name, sizeof r->kernels[k].name, "%s", ocl_gemm_kernel_at(k)->name);
        r->kernels[k].dot = ocl_gemm_kernel_at(k)->dot;
        r->kernels[k].valid = 1;
    }
    for (int i = 0; i < ns; i++) {
        ts[i].s = o->shapes[i];
        TRY(shape_init(c, &ts[i], 0x9e3779b97f4a7c15ull + (uint64_t)i));
        ocl_gemm_args g;
        shape_args(&ts[i], &g);
        double fastest = 0;
        char line[600];
        size_t len = (size_t)snprintf(line, sizeof line, "shape %d/%d (ta %d tb %d M %d N %d K %d batch %d): own", i + 1,
                                      ns, ts[i].s.ta, ts[i].s.tb, ts[i].s.M, ts[i].s.N, ts[i].s.K, ts[i].s.batch);
        for (int k = 0; k < nk; k++) {
            if (!ocl_gemm_kernel_fits(k, &g)) continue;
            double ms;
            TRY(shape_time(c, &ts[i], k, reps, fastest, &ms));
            ts[i].kms[k] = ms;
            if (ms < 0) r->kernels[k].valid = 0;
            else if (fastest <= 0 || ms < fastest) fastest = ms;
            r->kernels[k].nshapes++;
            r->kernels[k].ms += ms > 0 ? ms : 0;
            if (len < sizeof line) {
                if (ms < 0)
                    len += (size_t)snprintf(line + len, sizeof line - len, " %s MISMATCH", r->kernels[k].name);
                else
                    len += (size_t)snprintf(line + len, sizeof line - len, " %s %.3f", r->kernels[k].name, ms);
            }
        }
        if (o->progress) o->progress(o->progress_arg, line);
    }
    /* the best valid kernel per shape (the untuned default unless another
     * is 10% faster: one busy timing should not move a shape), and overall
     * per kind */
    r->tile_default = r->dot_default = -1;
    for (int k = 0; k < nk; k++) {
        int *d = r->kernels[k].dot ? &r->dot_default : &r->tile_default;
        if (r->kernels[k].valid && r->kernels[k].nshapes && (*d < 0 || r->kernels[k].ms < r->kernels[*d].ms)) *d = k;
    }
    for (int i = 0; i < ns; i++) {
        ts[i].best = -1;
        for (int k = 0; k < nk; k++)
            if (r->kernels[k].valid && ts[i].kms[k] > 0 && (ts[i].best < 0 || ts[i].kms[k] < ts[i].kms[ts[i].best]))
                ts[i].best = k;
        ocl_gemm_args g;
        shape_args(&ts[i], &g);
        int d = ocl_gemm_default_for(c, &g);
        if (ts[i].best >= 0 && d >= 0 && d < nk && r->kernels[d].valid && ts[i].kms[d] > 0 &&
            ts[i].kms[ts[i].best] > 0.9 * ts[i].kms[d])
            ts[i].best = d;
        ts[i].own_ok = ts[i].best >= 0;
        ts[i].own_ms = ts[i].own_ok ? ts[i].kms[ts[i].best] : -1;
    }
    int win = -1;
    double best = INFINITY;
    for (int k = 0; k < nc; k++) {
        gan_tune_cand *rc = &r->cands[k];
        cand_desc(&cands[k], &cands[0], k == 0, rc->desc, sizeof rc->desc);
        TRY(ocl_tune_apply(c, &cands[k]));
        rc->valid = 1;
        for (int i = 0; i < ns; i++) {
            double *ms = &cms[(size_t)k * ns + i];
            TRY(shape_time(c, &ts[i], -1, reps, ts[i].own_ok ? ts[i].own_ms : 0, ms));
            if (*ms < 0) rc->valid = 0;
            rc->ms += *ms > 0 ? *ms : 0;
            double alt = ts[i].own_ok ? ts[i].own_ms : INFINITY;
            rc->score += *ms >= 0 && *ms < alt ? *ms : alt;
        }
        /* on a tie (the own kernels take every shape either way) the faster
         * CLBlast wins: it still runs the shapes not listed when forced */
        if (o->progress) {
            char line[300];
            snprintf(line, sizeof line, "CLBlast set %d/%d: %s, %.1f ms (%s)", k + 1, nc, rc->valid ? "ok" : "MISMATCH",
                     rc->ms, rc->desc);
            o->progress(o->progress_arg, line);
        }
        if (rc->valid && (rc->score < best || (rc->score == best && rc->ms < r->cands[win].ms))) {
            best = rc->score;
            win = k;
        }
    }
    r->ncands = nc;
    r->winner = win;
    r->nshapes = ns;
    for (int i = 0; i < ns; i++) {
        gan_tune_shape *s = &r->shapes[i];
        s->s = ts[i].s;
        s->ms_own = ts[i].own_ok ? ts[i].own_ms : -1;
        s->kernel = ts[i].best;
        for (int k = 0; k < nk; k++) s->ms_kernel[k] = ts[i].kms[k];
        s->ms_default = cms[i];
        s->ms_tuned = win >= 0 ? cms[(size_t)win * ns + i] : -1;
        /* the device's default path keeps a shape unless the other is 10%
         * faster: a single noisy timing should not flip it */
        double margin = ocl_st(c)->gemm_own ? 1.0 / 0.9 : 0.9;
        s->own = ts[i].own_ok && (win < 0 || s->ms_own <= margin * s->ms_tuned);
        if (!ts[i].own_ok && win < 0) {
            st = GAN_FAIL(c, GAN_ERR_NUMERIC,
                          "gan_tune: no GEMM path matched the reference on ta %d tb %d M %d N %d K %d batch %d",
                          s->s.ta, s->s.tb, s->s.M, s->s.N, s->s.K, s->s.batch);
            goto cleanup;
        }
    }
    /* leave the process with parameters that passed every check */
    TRY(ocl_tune_apply(c, &cands[win >= 0 ? win : 0]));
    TRY(ocl_tune_write(c, r->path, win >= 0 ? &cands[win] : NULL, r));
    ocl_tune_load(c);
    r->seconds = now() - t_start;
cleanup:
    if (st && cands && cands[0].p[0].n) ocl_tune_apply(c, &cands[0]);
    if (st) ocl_tune_load(c); /* back to the file the context had */
    for (int i = 0; ts && i < ns; i++) shape_free(&ts[i]);
    free(ts);
    free(cands);
    free(cms);
    if (st) gan_tune_report_free(r);
    return st;
}
