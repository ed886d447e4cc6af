/* Tests of the runtime rather than of one op: views, device selection,
 * kernel build failures, the program binary cache, and bad arguments on
 * both backends. */
#include "registry.h"
#include "ocl/ocl.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

void test_tensor_view(th *t)
{
    gan_ctx *cs[2] = {t->ref, t->dev};
    for (int k = 0; k < 2 && cs[k]; k++) {
        gan_ctx *c = cs[k];
        gan_tensor a, v;
        TH_OK(t, c, gan_tensor_alloc4(c, &a, GAN_F32, 4, 2, 3, 4, 5));
        float h[120];
        for (int i = 0; i < 120; i++) h[i] = (float)i;
        TH_OK(t, c, gan_tensor_write(c, &a, h));
        int flat[2] = {2, 60};
        TH_OK(t, c, gan_tensor_view(c, &a, 2, flat, &v));
        if (v.ndim != 2 || v.dim[1] != 60 || v.numel != 120 || v.owner) th_fail(t, "view has the wrong shape");
        float back[120];
        TH_OK(t, c, gan_tensor_read(c, &v, back));
        if (memcmp(back, h, sizeof h)) th_fail(t, "a view reads other data than its source");
        int bad[2] = {7, 7};
        th_expect_error(t, c, gan_tensor_view(c, &a, 2, bad, &v), GAN_ERR_SHAPE, "view with another numel");
        gan_tensor nar;
        TH_OK(t, c, gan_tensor_narrow(c, &a, 1, &nar));
        float first[60];
        TH_OK(t, c, gan_tensor_read(c, &nar, first));
        if (nar.numel != 60 || nar.dim[0] != 1 || nar.dim[3] != 5 || memcmp(first, h, sizeof first))
            th_fail(t, "narrow to 1 entry is wrong");
        th_expect_error(t, c, gan_tensor_narrow(c, &a, 3, &nar), GAN_ERR_ARG, "narrow past the end");
        gan_tensor_free(c, &nar);
        gan_tensor_free(c, &v); /* a view frees nothing */
        TH_OK(t, c, gan_tensor_read(c, &a, back));
        gan_tensor_free(c, &a);
    }
}

void test_device_selection(th *t)
{
    gan_ctx *c = NULL;
    gan_status st = gan_ctx_create(&c, "cpu");
    if (st != GAN_OK || gan_ctx_backend(c) != GAN_BACKEND_REF) th_fail(t, "'cpu' does not select the reference");
    gan_ctx_free(c);
    if (!t->dev) return;
    st = gan_ctx_create(&c, "no-such-device-anywhere");
    if (st != GAN_ERR_NO_DEVICE || !strstr(gan_ctx_error(c), "0:0"))
        th_fail(t, "unknown name: got %s, message without the device list: %s", gan_status_name(st), gan_ctx_error(c));
    gan_ctx_free(c);
    st = gan_ctx_create(&c, "99:99");
    if (st != GAN_ERR_NO_DEVICE || !strstr(gan_ctx_error(c), "99:99"))
        th_fail(t, "99:99: got %s: %s", gan_status_name(st), gan_ctx_error(c));
    gan_ctx_free(c);
    /* the device we run on, by P:D and by an upper-cased name substring */
    const char *name = gan_ctx_device_name(t->dev);
    char pd[16] = "";
    sscanf(name, "%15s", pd);
    st = gan_ctx_create(&c, pd);
    if (st != GAN_OK || strcmp(gan_ctx_device_name(c), name)) th_fail(t, "selector %s: %s", pd, gan_ctx_error(c));
    gan_ctx_free(c);
    const char *dev = strstr(name, ": ");
    if (dev) {
        char up[64] = "";
        snprintf(up, sizeof up, "%s", dev + 2);
        for (char *p = up; *p; p++) *p = (char)toupper((unsigned char)*p);
        st = gan_ctx_create(&c, up);
        /* several identical devices would make this ambiguous, which is also a clear error */
        if (st != GAN_OK && !(st == GAN_ERR_NO_DEVICE && strstr(gan_ctx_error(c), "matches")))
            th_fail(t, "selector '%s': %s", up, gan_ctx_error(c));
        gan_ctx_free(c);
    }
}

static int write_text(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(text, 1, len, f);
    return fclose(f) == 0 && w == len ? 0 : -1;
}

void test_kernel_build_error(th *t)
{
    if (!t->dev) return;
    char dir[] = "/tmp/gancl-kdir-XXXXXX";
    if (!mkdtemp(dir)) {
        th_fail(t, "mkdtemp failed");
        return;
    }
    const char *victim = gan_cl_sources[1].name;
    for (int i = 0; i < gan_cl_nsources; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, gan_cl_sources[i].name);
        if (i == 1) {
            const char *bad = "__kernel void broken(__global float *x) { x[0] = ; }\n";
            write_text(path, bad, strlen(bad));
        } else {
            write_text(path, gan_cl_sources[i].text, gan_cl_sources[i].len);
        }
    }
    char sel[16] = "";
    sscanf(gan_ctx_device_name(t->dev), "%15s", sel);
    setenv("GANCL_KERNEL_DIR", dir, 1);
    gan_ctx *c = NULL;
    gan_status st = gan_ctx_create(&c, sel);
    const char *msg = gan_ctx_error(c);
    if (st != GAN_ERR_BUILD || !strstr(msg, victim) || !strstr(msg, "-cl-std") || !strstr(msg, "build log"))
        th_fail(t, "syntax error: got %s, want GAN_ERR_BUILD naming %s, the options and the log: %s",
                gan_status_name(st), victim, msg);
    else
        th_diag("  syntax error -> %s: %.300s...", gan_status_name(st), msg);
    gan_ctx_free(c);
    /* a missing file is an error too, never an empty source */
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, victim);
    unlink(path);
    st = gan_ctx_create(&c, sel);
    if (st != GAN_ERR_IO || !strstr(gan_ctx_error(c), victim))
        th_fail(t, "missing %s: got %s: %s", victim, gan_status_name(st), gan_ctx_error(c));
    gan_ctx_free(c);
    for (int i = 0; i < gan_cl_nsources; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, gan_cl_sources[i].name);
        unlink(path);
    }
    rmdir(dir);
    unsetenv("GANCL_KERNEL_DIR");
}

void test_bad_arguments(th *t)
{
    gan_ctx *cs[2] = {t->ref, t->dev};
    for (int k = 0; k < 2 && cs[k]; k++) {
        gan_ctx *c = cs[k];
        gan_tensor z;
        th_expect_error(t, c, gan_tensor_alloc4(c, &z, GAN_F32, 2, 3, 0, 0, 0), GAN_ERR_ARG, "zero-size tensor");
        th_expect_error(t, c, gan_tensor_alloc4(c, &z, GAN_F32, 2, -3, 4, 0, 0), GAN_ERR_ARG, "negative-size tensor");
        th_expect_error(t, c, gan_tensor_alloc4(c, &z, GAN_F32, 5, 1, 1, 1, 1), GAN_ERR_ARG, "rank 5");

        gan_tensor x, w, b, y, x4, w4, y4, lab;
        TH_OK(t, c, gan_tensor_alloc4(c, &x, GAN_F32, 2, 4, 3, 0, 0));
        TH_OK(t, c, gan_tensor_alloc4(c, &w, GAN_F32, 2, 5, 7, 0, 0));
        TH_OK(t, c, gan_tensor_alloc4(c, &b, GAN_F32, 1, 5, 0, 0, 0));
        TH_OK(t, c, gan_tensor_alloc4(c, &y, GAN_F32, 2, 4, 5, 0, 0));
        th_expect_error(t, c, gan_dense_forward(c, &x, &w, &b, &y), GAN_ERR_SHAPE, "dense with mismatched w");
        th_expect_error(t, c, gan_gemm(c, 0, 0, 1.f, &x, &w, 0.f, &y), GAN_ERR_SHAPE, "gemm with mismatched inner dims");
        th_expect_error(t, c, gan_dense_forward(c, &x, &w, &b, NULL), GAN_ERR_ARG, "dense without y");

        TH_OK(t, c, gan_tensor_alloc4(c, &x4, GAN_F32, 4, 2, 3, 5, 5));
        TH_OK(t, c, gan_tensor_alloc4(c, &w4, GAN_F32, 4, 4, 3, 3, 3));
        TH_OK(t, c, gan_tensor_alloc4(c, &y4, GAN_F32, 4, 2, 4, 3, 3));
        gan_conv2d_params p0 = {.stride = 0, .pad = 0}, pneg = {.stride = 1, .pad = -1}, pok = {.stride = 1};
        th_expect_error(t, c, gan_conv2d_forward(c, &x4, &w4, NULL, &y4, &p0), GAN_ERR_ARG, "conv stride 0");
        th_expect_error(t, c, gan_conv2d_forward(c, &x4, &w4, NULL, &y4, &pneg), GAN_ERR_ARG, "conv padding -1");
        gan_tensor wbig;
        TH_OK(t, c, gan_tensor_alloc4(c, &wbig, GAN_F32, 4, 4, 3, 7, 7));
        th_expect_error(t, c, gan_conv2d_forward(c, &x4, &wbig, NULL, &y4, &pok), GAN_ERR_SHAPE,
                        "kernel larger than the padded input");
        gan_conv2d_params pop = {.stride = 2, .pad = 0, .out_pad = 2};
        th_expect_error(t, c, gan_deconv2d_forward(c, &x4, &w4, NULL, &y4, &pop), GAN_ERR_ARG,
                        "output padding >= stride");
        th_expect_error(t, c, gan_conv2d_forward(c, &x4, &w4, &b, &y4, &pok), GAN_ERR_SHAPE,
                        "conv bias of the wrong length");
        TH_OK(t, c, gan_tensor_alloc4(c, &lab, GAN_I32, 1, 4, 0, 0, 0));
        th_expect_error(t, c, gan_softmax_xent(c, &x, &x, &b, &x), GAN_ERR_ARG, "float labels");
        gan_adam_params hp = {.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .step = 0};
        th_expect_error(t, c, gan_adam_step(c, &x, &x, &x, &x, &hp), GAN_ERR_ARG, "adam step 0");
        th_expect_error(t, c, gan_dropout_forward(c, 1.0f, (gan_rng){1, 0}, &x, &x, &x), GAN_ERR_ARG, "dropout p = 1");
        gan_tensor *all[] = {&x, &w, &b, &y, &x4, &w4, &y4, &wbig, &lab};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) gan_tensor_free(c, all[i]);
    }
}

/* ---- program binary cache (src/ocl/program.c) ---- */

static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.') n++;
    closedir(d);
    return n;
}

/* The one entry in dir (a path into out), or 0. */
static int only_entry(const char *dir, char *out, size_t cap)
{
    DIR *d = opendir(dir);
    int n = 0;
    if (!d) return 0;
    for (struct dirent *e; (e = readdir(d));)
        if (e->d_name[0] != '.') n += snprintf(out, cap, "%s/%s", dir, e->d_name) > 0;
    closedir(d);
    return n == 1;
}

/* A context on t->dev's device, its program_cache state in *state. */
static gan_ctx *cache_ctx(th *t, int *state)
{
    char sel[16] = "";
    sscanf(gan_ctx_device_name(t->dev), "%15s", sel);
    gan_ctx *c = NULL;
    gan_status st = gan_ctx_create(&c, sel);
    if (TH_OK(t, c, st)) {
        gan_ctx_free(c);
        *state = -1;
        return NULL;
    }
    *state = ocl_st(c)->program_cache;
    return c;
}

/* The kernels of a context built from a cached binary compute: gan_gemm
 * (cl/gemm.cl's two kernels on CPU devices, CLBlast elsewhere) against the
 * reference; tolerance as tests/test_gemm_paths.c. */
static void cached_program_works(th *t, gan_ctx *c, const char *what)
{
    for (int tb = 0; tb < 2; tb++) {
        int M = 9, N = 33, K = 17;
        float *ha = th_rand_host(t, (size_t)M * K, -1, 1), *hb = th_rand_host(t, (size_t)K * N, -1, 1);
        float *want = malloc((size_t)M * N * sizeof *want), *got = malloc((size_t)M * N * sizeof *got);
        gan_tensor A = {0}, B = {0}, C = {0}, rA = {0}, rB = {0}, rC = {0};
        gan_ctx *cs[2] = {t->ref, c};
        gan_tensor *ts[2][3] = {{&rA, &rB, &rC}, {&A, &B, &C}};
        int ok = want && got;
        for (int x = 0; x < 2 && ok; x++) {
            ok = !TH_OK(t, cs[x], gan_tensor_alloc4(cs[x], ts[x][0], GAN_F32, 2, M, K, 0, 0)) &&
                 !TH_OK(t, cs[x], gan_tensor_alloc4(cs[x], ts[x][1], GAN_F32, 2, tb ? N : K, tb ? K : N, 0, 0)) &&
                 !TH_OK(t, cs[x], gan_tensor_alloc4(cs[x], ts[x][2], GAN_F32, 2, M, N, 0, 0)) &&
                 !TH_OK(t, cs[x], gan_tensor_write(cs[x], ts[x][0], ha)) &&
                 !TH_OK(t, cs[x], gan_tensor_write(cs[x], ts[x][1], hb)) &&
                 !TH_OK(t, cs[x], gan_gemm(cs[x], 0, tb, 1.f, ts[x][0], ts[x][1], 0.f, ts[x][2])) &&
                 !TH_OK(t, cs[x], gan_tensor_read(cs[x], ts[x][2], x ? got : want));
        }
        char name[96];
        snprintf(name, sizeof name, "%s: gemm tb%d", what, tb);
        if (ok) th_compare_host(t, name, got, want, (size_t)M * N, 1e-5 * sqrt((double)K) + 1e-6, 1e-4);
        for (int x = 0; x < 2; x++)
            for (int k = 0; k < 3; k++) gan_tensor_free(cs[x], ts[x][k]);
        free(ha);
        free(hb);
        free(want);
        free(got);
    }
}

/* Rewrite byte `at` (from the end when negative) of a file, or cut the
 * file to `at` bytes when cut. */
static int poke(const char *path, long at, int cut)
{
    FILE *f = fopen(path, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = malloc((size_t)n);
    int ok = b && fread(b, 1, (size_t)n, f) == (size_t)n;
    fclose(f);
    if (!ok) {
        free(b);
        return -1;
    }
    if (at < 0) at += n;
    if (!cut) b[at] ^= 0x5a;
    f = fopen(path, "wb");
    ok = f && fwrite(b, 1, cut ? (size_t)at : (size_t)n, f) == (cut ? (size_t)at : (size_t)n);
    if (f) fclose(f);
    free(b);
    return ok ? 0 : -1;
}

/* With the cache forced on (GANCL_PROGRAM_CACHE=1): the first start stores
 * the binary, the next builds from it and computes the same; a damaged
 * binary, a truncated entry or a header naming another device means a
 * rebuild from source (and a fresh entry); other build options are another
 * entry; GANCL_PROGRAM_CACHE=0 neither reads nor writes; unset, it is on
 * except on PoCL and NVIDIA, which cache themselves. */
void test_program_cache(th *t)
{
    if (!t->dev) return;
    char dir[] = "/tmp/gancl-pcache-XXXXXX", pdir[64], entry[512], cmd[128];
    if (!mkdtemp(dir)) {
        th_fail(t, "mkdtemp failed");
        return;
    }
    snprintf(pdir, sizeof pdir, "%s/programs", dir);
    const char *prev = getenv("GANCL_CACHE_DIR"), *prev_pc = getenv("GANCL_PROGRAM_CACHE");
    char *saved = prev ? strdup(prev) : NULL, *saved_pc = prev_pc ? strdup(prev_pc) : NULL;
    setenv("GANCL_CACHE_DIR", dir, 1);
    unsetenv("GANCL_PROGRAM_CACHE");
    int state;
    gan_ctx *c = cache_ctx(t, &state);
    char plat[256] = "";
    clGetPlatformInfo(ocl_st(t->dev)->platform, CL_PLATFORM_NAME, sizeof plat - 1, plat, NULL);
    int self = strstr(plat, "Portable Computing Language") || strstr(plat, "NVIDIA CUDA");
    if (c && (ocl_program_cache_default(c) == self || state != (self ? 0 : 1)))
        th_fail(t, "default on %s: program_cache %d, default %d", plat, state, ocl_program_cache_default(c));
    gan_ctx_free(c);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", pdir);
    if (system(cmd) != 0) th_fail(t, "cannot remove %s", pdir);
    setenv("GANCL_PROGRAM_CACHE", "1", 1);
    c = cache_ctx(t, &state);
    gan_ctx_free(c);
    if (state != 1 || !only_entry(pdir, entry, sizeof entry)) {
        th_fail(t, "first start: program_cache %d, %d entries in %s (want 1 and 1)", state, count_entries(pdir), pdir);
        goto done;
    }
    c = cache_ctx(t, &state);
    if (state != 2) th_fail(t, "second start: program_cache %d, want 2 (from the binary)", state);
    if (c) cached_program_works(t, c, "from cache");
    gan_ctx_free(c);
    /* damage: a byte of the binary, the device name in the header, the length */
    static const struct { const char *what; long at; int cut; } dmg[] = {
        {"binary byte flipped", -100, 0}, {"header changed", 30, 0}, {"truncated", 40, 1}};
    for (size_t i = 0; i < sizeof dmg / sizeof dmg[0]; i++) {
        if (poke(entry, dmg[i].at, dmg[i].cut)) {
            th_fail(t, "cannot damage %s", entry);
            break;
        }
        c = cache_ctx(t, &state);
        if (state != 1) th_fail(t, "%s: program_cache %d, want 1 (rebuilt, stored again)", dmg[i].what, state);
        if (c) cached_program_works(t, c, dmg[i].what);
        gan_ctx_free(c);
        c = cache_ctx(t, &state);
        if (state != 2) th_fail(t, "after %s: program_cache %d, want 2", dmg[i].what, state);
        gan_ctx_free(c);
    }
    /* other build options: a separate entry */
    setenv("GANCL_FAST_MATH", "1", 1);
    c = cache_ctx(t, &state);
    unsetenv("GANCL_FAST_MATH");
    gan_ctx_free(c);
    if (state != 1 || count_entries(pdir) != 2)
        th_fail(t, "fast math: program_cache %d, %d entries (want 1 and 2)", state, count_entries(pdir));
    /* off */
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", pdir);
    if (system(cmd) != 0) th_fail(t, "cannot remove %s", pdir);
    setenv("GANCL_PROGRAM_CACHE", "0", 1);
    c = cache_ctx(t, &state);
    gan_ctx_free(c);
    if (state != 0 || count_entries(pdir) != 0)
        th_fail(t, "GANCL_PROGRAM_CACHE=0: program_cache %d, %d entries (want 0 and 0)", state, count_entries(pdir));
done:
    if (saved) setenv("GANCL_CACHE_DIR", saved, 1);
    else unsetenv("GANCL_CACHE_DIR");
    if (saved_pc) setenv("GANCL_PROGRAM_CACHE", saved_pc, 1);
    else unsetenv("GANCL_PROGRAM_CACHE");
    free(saved);
    free(saved_pc);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) th_fail(t, "cannot remove %s", dir);
}

/* ---- device limits (src/ocl/runtime.c) ----------------------------------
 * The limits are those of the machine running the tests, a CPU device with
 * generous ones, so the tests also run on contexts whose limits they lower
 * to a GPU's (or below): the launches must then choose sizes within them,
 * round the global size up, refuse what does not fit with a named error,
 * and still compute what the reference does. */

/* A context of its own on t->dev's device, whose limits a test may change. */
static gan_ctx *limits_ctx(th *t)
{
    char sel[16] = "";
    sscanf(gan_ctx_device_name(t->dev), "%15s", sel);
    gan_ctx *c = NULL;
    if (TH_OK(t, c, gan_ctx_create(&c, sel))) {
        gan_ctx_free(c);
        return NULL;
    }
    return c;
}

static ocl_kernel_entry *entry_of(gan_ctx *c, const char *name)
{
    cl_kernel k;
    if (ocl_kernel(c, name, &k)) return NULL; /* also reads the kernel's limits */
    for (int i = 0; i < ocl_st(c)->nkernels; i++)
        if (!strcmp(ocl_st(c)->kernels[i].name, name)) return &ocl_st(c)->kernels[i];
    return NULL;
}

static int expect_limit(th *t, gan_ctx *c, gan_status st, gan_status want, const char *needle, const char *what)
{
    const char *msg = gan_ctx_error(c);
    if (st == want && !strstr(msg, needle)) {
        th_fail(t, "%s: the message does not name %s: %s", what, needle, msg);
        gan_ctx_clear_error(c);
        return -1;
    }
    return th_expect_error(t, c, st, want, what);
}

/* bias_add over n elements (y[i] += b[(i / S) % O]) with an explicit local
 * size (0: ocl_local_size's), checked on the host. */
static void bias_add_launch(th *t, gan_ctx *c, size_t n, size_t local, const char *what)
{
    int O = 7, S = 11;
    if (!local && TH_OK(t, c, ocl_local_size(c, "bias_add", &local))) return;
    float b[7], *want = malloc(n * sizeof *want), *got = malloc(n * sizeof *got);
    gan_tensor y = {0}, tb = {0};
    for (int o = 0; o < O; o++) b[o] = (float)(o + 1);
    for (size_t i = 0; i < n; i++) want[i] = b[(i / (size_t)S) % (size_t)O];
    if (want && got && !TH_OK(t, c, gan_tensor_alloc4(c, &y, GAN_F32, 1, (int)n, 0, 0, 0)) &&
        !TH_OK(t, c, gan_tensor_alloc4(c, &tb, GAN_F32, 1, O, 0, 0, 0)) && !TH_OK(t, c, gan_tensor_write(c, &tb, b)) &&
        !TH_OK(t, c, ocl_run_nd(c, "bias_add", 1, &n, &local, "TTiii", &y, &tb, O, S, (int)n)) &&
        !TH_OK(t, c, gan_tensor_read(c, &y, got)))
        th_compare_host(t, what, got, want, n, 0, 0);
    gan_tensor_free(c, &y);
    gan_tensor_free(c, &tb);
    free(want);
    free(got);
}

/* Launch shapes on the device as it is: a global size that is not a
 * multiple of the local size is rounded up (the kernel's guard keeps the
 * extra work-items out); a zero global size launches nothing; a work-group
 * beyond the device's item sizes, the kernel's work-group size, or local
 * memory beyond the device's are named errors, not the driver's. */
void test_launch_limits(th *t)
{
    if (!t->dev) return;
    gan_ctx *c = limits_ctx(t);
    if (!c) return;
    bias_add_launch(t, c, 1001, 0, "bias_add over 1001 items in ocl_local_size's work-groups");
    bias_add_launch(t, c, 5, 4, "bias_add over 5 items in work-groups of 4");
    size_t zero = 0, one = 1;
    TH_OK(t, c, ocl_run_nd(c, "bias_add", 1, &zero, &one, "TTiii", NULL, NULL, 1, 1, 0));
    size_t big = ocl_st(c)->max_item[0] + 1;
    expect_limit(t, c, ocl_run_nd(c, "bias_add", 1, &big, &big, "TTiii", NULL, NULL, 1, 1, 0), GAN_ERR_DEVICE_LIMIT,
                 "CL_DEVICE_MAX_WORK_ITEM_SIZES", "a work-group wider than the device's first item size");
    /* a kernel compiled for at most 16 work-items per group (as a GPU
     * compiler may decide for a kernel with many registers) */
    ocl_kernel_entry *e = entry_of(c, "bias_add");
    if (e) {
        e->wg_max = 16;
        size_t n = 100, l32 = 32, l;
        expect_limit(t, c, ocl_run_nd(c, "bias_add", 1, &n, &l32, "TTiii", NULL, NULL, 1, 1, (int)n),
                     GAN_ERR_DEVICE_LIMIT, "CL_KERNEL_WORK_GROUP_SIZE", "a work-group beyond the kernel's limit");
        if (!TH_OK(t, c, ocl_local_size(c, "bias_add", &l)) && l != 16)
            th_fail(t, "ocl_local_size under a kernel limit of 16: %zu", l);
        bias_add_launch(t, c, 1001, 16, "bias_add in work-groups of the kernel's 16");
    }
    /* local memory: one byte more than the device has */
    size_t wg = 1;
    gan_tensor x = {0}, loss = {0};
    if (!TH_OK(t, c, gan_tensor_alloc4(c, &x, GAN_F32, 1, 4, 0, 0, 0)) &&
        !TH_OK(t, c, gan_tensor_alloc4(c, &loss, GAN_F32, 1, 1, 0, 0, 0)))
        expect_limit(t, c,
                     ocl_run_nd(c, "loss_mse", 1, &wg, &wg, "TTTTiL", &x, &x, &loss, &x, 4, (size_t)ocl_st(c)->local_mem + 1),
                     GAN_ERR_DEVICE_LIMIT, "CL_DEVICE_LOCAL_MEM_SIZE", "local memory beyond the device's");
    gan_tensor_free(c, &x);
    gan_tensor_free(c, &loss);
    gan_ctx_free(c);
}

/* One host array on the reference and on context c. */
static int two_sides(th *t, gan_ctx *c, gan_tensor *r, gan_tensor *d, int ndim, int d0, int d1, int d2, int d3,
                     const float *h)
{
    return TH_OK(t, t->ref, gan_tensor_alloc4(t->ref, r, GAN_F32, ndim, d0, d1, d2, d3)) ||
           TH_OK(t, c, gan_tensor_alloc4(c, d, GAN_F32, ndim, d0, d1, d2, d3)) ||
           (h && (TH_OK(t, t->ref, gan_tensor_write(t->ref, r, h)) || TH_OK(t, c, gan_tensor_write(c, d, h))));
}

static void compare_sides(th *t, gan_ctx *c, const char *what, const gan_tensor *r, const gan_tensor *d)
{
    float *want = th_read(t, t->ref, r), *got = th_read(t, c, d);
    if (want && got) th_compare_host(t, what, got, want, r->numel, 1e-5, 1e-4);
    free(want);
    free(got);
}

/* A GPU's limits on the CPU device: work-groups of at most 7 work-items (not
 * a power of two) and 64 bytes of local memory. Element-wise launches use
 * groups of 7 with the global size rounded up, reductions a power of two
 * that fits both, and activation, batch norm (the per-channel reduction),
 * BCE (one work-group) and weight norm (one work-group per row) still match
 * the reference. */
void test_device_limits(th *t)
{
    if (!t->dev) return;
    gan_ctx *c = limits_ctx(t);
    if (!c) return;
    ocl_st(c)->max_wg = 7;
    ocl_st(c)->max_item[0] = 7;
    ocl_st(c)->local_mem = 64;
    size_t l = 0, r = 0;
    if (!TH_OK(t, c, ocl_local_size(c, "ew_act_forward", &l)) && l != 7)
        th_fail(t, "element-wise work-group under a limit of 7: %zu", l);
    if (!TH_OK(t, c, ocl_reduce_wg(c, "bn_stats", SIZE_MAX, &r)) && r != 4)
        th_fail(t, "reduction work-group under a limit of 7: %zu, want 4", r);
    ocl_st(c)->local_mem = 8;
    if (!TH_OK(t, c, ocl_reduce_wg(c, "wn_forward", SIZE_MAX, &r)) && r != 2)
        th_fail(t, "reduction work-group in 8 bytes of local memory: %zu, want 2", r);
    ocl_st(c)->local_mem = 0;
    expect_limit(t, c, ocl_reduce_wg(c, "bn_stats", SIZE_MAX, &r), GAN_ERR_DEVICE_LIMIT, "CL_DEVICE_LOCAL_MEM_SIZE",
                 "a reduction without local memory");
    ocl_st(c)->local_mem = 64;

    enum { NA = 16 * 50 + 5 };
    float *ha = th_rand_host(t, NA, -2, 2), *hx = th_rand_host(t, 3 * 5 * 16, -2, 2);
    float *hg = th_rand_host(t, 5, 0.5, 1.5), *hb = th_rand_host(t, 5, -0.5, 0.5);
    float *hl = th_rand_host(t, 37, -3, 3), *hv = th_rand_host(t, 5 * 13, -1, 1);
    float ht[37];
    for (int i = 0; i < 37; i++) ht[i] = (float)(i % 2);
    gan_tensor R[12] = {{0}}, D[12] = {{0}};
    enum { A, AY, X, G, B, RM, RV, SM, SI, Y, L, T };
    int bad = two_sides(t, c, &R[A], &D[A], 1, NA, 0, 0, 0, ha) || two_sides(t, c, &R[AY], &D[AY], 1, NA, 0, 0, 0, NULL) ||
              two_sides(t, c, &R[X], &D[X], 4, 3, 5, 4, 4, hx) || two_sides(t, c, &R[G], &D[G], 1, 5, 0, 0, 0, hg) ||
              two_sides(t, c, &R[B], &D[B], 1, 5, 0, 0, 0, hb) || two_sides(t, c, &R[RM], &D[RM], 1, 5, 0, 0, 0, NULL) ||
              two_sides(t, c, &R[RV], &D[RV], 1, 5, 0, 0, 0, NULL) || two_sides(t, c, &R[SM], &D[SM], 1, 5, 0, 0, 0, NULL) ||
              two_sides(t, c, &R[SI], &D[SI], 1, 5, 0, 0, 0, NULL) || two_sides(t, c, &R[Y], &D[Y], 4, 3, 5, 4, 4, NULL);
    gan_bn_params bp = {.momentum = 0.1f, .eps = 1e-5f, .training = 1};
    gan_ctx *cs[2] = {t->ref, c};
    gan_tensor *S[2] = {R, D};
    for (int k = 0; k < 2 && !bad; k++) {
        gan_tensor *s = S[k];
        bad = TH_OK(t, cs[k], gan_act_forward(cs[k], GAN_ACT_LEAKY_RELU, 0.2f, &s[A], &s[AY])) ||
              TH_OK(t, cs[k], gan_batchnorm_forward(cs[k], &s[X], &s[G], &s[B], &s[RM], &s[RV], &s[SM], &s[SI], &s[Y], &bp));
    }
    if (!bad) {
        compare_sides(t, c, "leaky relu, work-groups of 7", &R[AY], &D[AY]);
        compare_sides(t, c, "batch norm y, reduction groups of 4", &R[Y], &D[Y]);
        compare_sides(t, c, "batch norm mean", &R[SM], &D[SM]);
        compare_sides(t, c, "batch norm invstd", &R[SI], &D[SI]);
    }
    for (int i = 0; i < 12; i++) {
        gan_tensor_free(t->ref, &R[i]);
        gan_tensor_free(c, &D[i]);
    }
    /* BCE over 37 logits in one work-group of 4; weight norm of [5, 13] */
    gan_tensor R2[6] = {{0}}, D2[6] = {{0}};
    enum { LG, TG, LS, GR, V, W };
    bad = two_sides(t, c, &R2[LG], &D2[LG], 1, 37, 0, 0, 0, hl) || two_sides(t, c, &R2[TG], &D2[TG], 1, 37, 0, 0, 0, ht) ||
          two_sides(t, c, &R2[LS], &D2[LS], 1, 1, 0, 0, 0, NULL) || two_sides(t, c, &R2[GR], &D2[GR], 1, 37, 0, 0, 0, NULL) ||
          two_sides(t, c, &R2[V], &D2[V], 2, 5, 13, 0, 0, hv) || two_sides(t, c, &R2[W], &D2[W], 2, 5, 13, 0, 0, NULL);
    gan_tensor gn[2] = {{0}}; /* weight norm's g: b's values (5 entries) */
    gan_tensor *S2[2] = {R2, D2};
    for (int k = 0; k < 2 && !bad; k++) {
        gan_tensor *s = S2[k];
        bad = TH_OK(t, cs[k], gan_tensor_alloc4(cs[k], &gn[k], GAN_F32, 1, 5, 0, 0, 0)) ||
              TH_OK(t, cs[k], gan_tensor_write(cs[k], &gn[k], hg)) ||
              TH_OK(t, cs[k], gan_bce_logits(cs[k], &s[LG], &s[TG], &s[LS], &s[GR])) ||
              TH_OK(t, cs[k], gan_weightnorm_forward(cs[k], &s[V], &gn[k], &s[W]));
    }
    if (!bad) {
        compare_sides(t, c, "bce loss, one work-group of 4", &R2[LS], &D2[LS]);
        compare_sides(t, c, "bce gradient", &R2[GR], &D2[GR]);
        compare_sides(t, c, "weight norm, groups of 4 per row", &R2[W], &D2[W]);
    }
    for (int i = 0; i < 6; i++) {
        gan_tensor_free(t->ref, &R2[i]);
        gan_tensor_free(c, &D2[i]);
    }
    gan_tensor_free(t->ref, &gn[0]);
    gan_tensor_free(c, &gn[1]);
    free(ha);
    free(hx);
    free(hg);
    free(hb);
    free(hl);
    free(hv);
    gan_ctx_free(c);
}

/* Buffers beyond CL_DEVICE_MAX_MEM_ALLOC_SIZE: a tensor one row larger than
 * the device allows, then on a context that allows 4 KiB: tensors up to
 * it and not beyond, the workspace, and a convolution whose columns need
 * more. All named errors that keep no memory and leave the workspace as it
 * was. */
void test_alloc_limits(th *t)
{
    if (!t->dev) return;
    gan_ctx *c = limits_ctx(t);
    if (!c) return;
    gan_tensor x = {0};
    unsigned long long rows = ocl_st(c)->max_alloc / (4096 * 4) + 1;
    if (rows <= INT_MAX)
        expect_limit(t, c, gan_tensor_alloc4(c, &x, GAN_F32, 2, (int)rows, 4096, 0, 0), GAN_ERR_DEVICE_LIMIT,
                     "CL_DEVICE_MAX_MEM_ALLOC_SIZE", "a tensor just over the device's largest buffer");
    if (x.data) th_fail(t, "a refused tensor holds a buffer");
    ocl_st(c)->max_alloc = 4096;
    cl_mem ws;
    size_t now0, now1, peak;
    TH_OK(t, c, ocl_scratch(c, 4096, &ws));
    gan_ctx_memory(c, &now0, &peak);
    TH_OK(t, c, gan_tensor_alloc4(c, &x, GAN_F32, 1, 1024, 0, 0, 0));
    gan_tensor_free(c, &x);
    expect_limit(t, c, gan_tensor_alloc4(c, &x, GAN_F32, 2, 5, 205, 0, 0), GAN_ERR_DEVICE_LIMIT, "[5, 205]",
                 "a tensor of 4100 bytes under a 4096-byte limit");
    expect_limit(t, c, ocl_scratch(c, 4097, &ws), GAN_ERR_DEVICE_LIMIT, "workspace", "4097 bytes of workspace");
    gan_tensor xi = {0}, w = {0}, y = {0};
    gan_conv2d_params p = {.stride = 1, .pad = 0};
    if (!TH_OK(t, c, gan_tensor_alloc4(c, &xi, GAN_F32, 4, 2, 3, 8, 8)) &&
        !TH_OK(t, c, gan_tensor_alloc4(c, &w, GAN_F32, 4, 4, 3, 3, 3)) &&
        !TH_OK(t, c, gan_tensor_alloc4(c, &y, GAN_F32, 4, 2, 4, 6, 6)))
        expect_limit(t, c, gan_conv2d_forward(c, &xi, &w, NULL, &y, &p), GAN_ERR_DEVICE_LIMIT,
                     "CL_DEVICE_MAX_MEM_ALLOC_SIZE", "a convolution whose columns exceed the limit");
    gan_tensor_free(c, &xi);
    gan_tensor_free(c, &w);
    gan_tensor_free(c, &y);
    gan_ctx_memory(c, &now1, &peak);
    if (now1 != now0) th_fail(t, "after the refusals the context holds %zu bytes, before them %zu", now1, now0);
    gan_ctx_free(c);
}

/* cl/gemm.cl's kernels are shaped for CPUs (reqd_work_group_size(1, 1, 1)):
 * every one of them reads so from the driver, and on a device that is not
 * a CPU each is refused by name, a GEMM forced onto them fails instead of
 * running one work-item per GPU work-group, and other kernels still run. */
void test_cpu_kernels(th *t)
{
    if (!t->dev) return;
    gan_ctx *c = limits_ctx(t);
    if (!c) return;
    ocl_kernel_entry *e = entry_of(c, "bias_add");
    if (e && e->reqd[0]) th_fail(t, "bias_add requires a work-group size (%zu) it does not declare", e->reqd[0]);
    for (int i = 0; i < ocl_gemm_nkernels(); i++) {
        e = entry_of(c, ocl_gemm_kernel_at(i)->kernel);
        if (!e)
            th_fail(t, "%s is not in the program", ocl_gemm_kernel_at(i)->kernel);
        else if (e->reqd[0] != 1 || e->reqd[1] != 1 || e->reqd[2] != 1)
            th_fail(t, "%s's required work-group reads %zu x %zu x %zu, want 1 x 1 x 1", e->name, e->reqd[0],
                    e->reqd[1], e->reqd[2]);
    }
    float *ha = th_rand_host(t, 9 * 17, -1, 1), *hb = th_rand_host(t, 17 * 33, -1, 1);
    gan_tensor A = {0}, B = {0}, C = {0};
    int bad = TH_OK(t, c, gan_tensor_alloc4(c, &A, GAN_F32, 2, 9, 17, 0, 0)) ||
              TH_OK(t, c, gan_tensor_alloc4(c, &B, GAN_F32, 2, 17, 33, 0, 0)) ||
              TH_OK(t, c, gan_tensor_alloc4(c, &C, GAN_F32, 2, 9, 33, 0, 0)) || TH_OK(t, c, gan_tensor_write(c, &A, ha)) ||
              TH_OK(t, c, gan_tensor_write(c, &B, hb));
    ocl_st(c)->gemm_own = 1;
    ocl_st(c)->gemm_forced = 1;
    if (!bad && ocl_cpu_kernels_ok(c)) TH_OK(t, c, gan_gemm(c, 0, 0, 1.f, &A, &B, 0.f, &C));
    ocl_st(c)->dev_type = CL_DEVICE_TYPE_GPU;
    if (ocl_cpu_kernels_ok(c)) th_fail(t, "a GPU is taken for a CPU");
    size_t g3[3] = {4, 4, 1}, ones[3] = {1, 1, 1};
    for (int i = 0; i < ocl_gemm_nkernels(); i++) {
        const char *name = ocl_gemm_kernel_at(i)->kernel;
        char what[96];
        snprintf(what, sizeof what, "%s on a GPU", name);
        expect_limit(t, c, ocl_run_nd(c, name, 3, g3, i % 2 ? ones : NULL, ""), GAN_ERR_UNSUPPORTED,
                     "reqd_work_group_size", what);
    }
    if (!bad) {
        gan_status st = gan_gemm(c, 0, 0, 1.f, &A, &B, 0.f, &C);
        if (st == GAN_OK) th_fail(t, "a GEMM forced onto the CPU kernels ran on a GPU");
        gan_ctx_clear_error(c);
        bias_add_launch(t, c, 100, 0, "bias_add on a GPU");
    }
    gan_tensor_free(c, &A);
    gan_tensor_free(c, &B);
    gan_tensor_free(c, &C);
    free(ha);
    free(hb);
    gan_ctx_free(c);
}

/* Run gan_ctx_create(sel) with stderr going to a file: what the driver
 * printed there (malloc'd), or NULL when it could not be captured. */
static char *create_capturing(th *t, const char *sel, gan_ctx **c)
{
    char path[] = "/tmp/gancl-stderr-XXXXXX";
    int fd = mkstemp(path), saved = dup(2);
    if (fd < 0 || saved < 0) {
        th_fail(t, "cannot capture stderr");
        return NULL;
    }
    fflush(stderr);
    dup2(fd, 2);
    gan_status st = gan_ctx_create(c, sel);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    TH_OK(t, *c, st);
    char *out = calloc(4097, 1);
    ssize_t n = out ? pread(fd, out, 4096, 0) : -1;
    if (n < 0) n = 0;
    close(fd);
    unlink(path);
    return out;
}

/* A successful build prints nothing, also when the driver's compiler warns
 * (PoCL's writes "N warnings generated." to stderr by itself): the kernels
 * are built with -w. With GANCL_VERBOSE=1 they are not, and the driver's
 * warnings are in gan_ctx_build_log (PoCL puts them there; other drivers
 * may log nothing for a successful build). The program is the cl/ sources
 * plus a kernel that warns by default (an assignment as a condition) with a
 * constant unique to the run, so that no driver cache (PoCL's is keyed by
 * the preprocessed source: a comment would not do) skips the compiler. */
void test_build_quiet(th *t)
{
    if (!t->dev) return;
    char dir[] = "/tmp/gancl-quiet-XXXXXX", sel[16] = "", plat[256] = "";
    if (!mkdtemp(dir)) {
        th_fail(t, "mkdtemp failed");
        return;
    }
    sscanf(gan_ctx_device_name(t->dev), "%15s", sel);
    clGetPlatformInfo(ocl_st(t->dev)->platform, CL_PLATFORM_NAME, sizeof plat - 1, plat, NULL);
    const char *names[] = {"GANCL_KERNEL_DIR", "GANCL_VERBOSE", "GANCL_PROGRAM_CACHE"};
    char *saved[3];
    for (int i = 0; i < 3; i++) {
        const char *v = getenv(names[i]);
        saved[i] = v ? strdup(v) : NULL;
    }
    setenv("GANCL_KERNEL_DIR", dir, 1);
    setenv("GANCL_PROGRAM_CACHE", "0", 1); /* no gancl cache entry for a one-off program */
    for (int verbose = 0; verbose < 2; verbose++) {
        for (int i = 0; i < gan_cl_nsources; i++) {
            char path[512];
            snprintf(path, sizeof path, "%s/%s", dir, gan_cl_sources[i].name);
            FILE *f = fopen(path, "wb");
            if (!f) continue;
            fwrite(gan_cl_sources[i].text, 1, gan_cl_sources[i].len, f);
            if (i == gan_cl_nsources - 1)
                fprintf(f, "\n__kernel void build_quiet(__global int *x, int n)\n{\n    if (n = 2) x[0] = n + %ld;\n}\n",
                        ((long)time(NULL) * 4099 + (long)getpid()) % 1000000000 * 2 + verbose);
            fclose(f);
        }
        if (verbose)
            setenv("GANCL_VERBOSE", "1", 1);
        else
            unsetenv("GANCL_VERBOSE");
        gan_ctx *c = NULL;
        char *err = create_capturing(t, sel, &c);
        const char *log = gan_ctx_build_log(c);
        if (!verbose) {
            if (err && err[0]) th_fail(t, "building a program that warns printed to stderr:\n%s", err);
            if (strstr(log, "warning")) th_fail(t, "-w, yet the build log has warnings:\n%s", log);
        } else if (strstr(plat, "Portable Computing Language") && !strstr(log, "warning")) {
            th_fail(t, "GANCL_VERBOSE=1 on PoCL: the build log has no warning: '%s'", log);
        } else {
            th_diag("  GANCL_VERBOSE=1 build log: %.300s", log[0] ? log : "(empty)");
        }
        free(err);
        gan_ctx_free(c);
    }
    for (int i = 0; i < 3; i++) {
        if (saved[i])
            setenv(names[i], saved[i], 1);
        else
            unsetenv(names[i]);
        free(saved[i]);
    }
    for (int i = 0; i < gan_cl_nsources; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, gan_cl_sources[i].name);
        unlink(path);
    }
    rmdir(dir);
}
