/* Tests of the runtime rather than of one op: views, device selection,
 * kernel build failures, the program binary cache, and bad arguments on
 * both backends. */
#include "registry.h"
#include "internal.h"

#include <ctype.h>
#include <dirent.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
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

/* ---- program binary cache (src/ocl/runtime.c) ---- */

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
    *state = c->ocl.program_cache;
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
    clGetPlatformInfo(t->dev->ocl.platform, CL_PLATFORM_NAME, sizeof plat - 1, plat, NULL);
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
