/* Tests of safetensors checkpoints: exact round trips, an independent Python
 * reader, every malformed-file case as its own named error, the regression
 * corpus, file-system errors (directory, missing path, read-only and full
 * file systems) and crash safety under kill -9. TAP output.
 *
 *   test_ckpt [--corpus DIR] [--checker check_safetensors.py] [--write-corpus DIR]
 *
 * --write-corpus regenerates the malformed inputs into DIR (the files kept in
 * tests/io/corpus, which also seed the fuzzer). $GANCL_PYTHON names the
 * interpreter for the checker (default python3); without one that part skips. */
#include "gancl/ckpt.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

static gan_ctx *C;
static int failures;        /* in the current test */
static char skip_why[256]; /* set when the current test could not run */

static void skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(skip_why, sizeof skip_why, fmt, ap);
    va_end(ap);
}

static void fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("# FAIL: ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    failures++;
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("# ");
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
}

/* Require GAN_OK from a call. */
static int ok_call(gan_status st, const char *what)
{
    if (st == GAN_OK) return 1;
    fail("%s: %s: %s", what, gan_status_name(st), gan_ctx_error(C));
    gan_ctx_clear_error(C);
    return 0;
}
#define OK(call) ok_call((call), #call)

/* Require a given error whose message contains `sub`. */
static int expect_err(gan_status st, gan_status want, const char *sub, const char *what)
{
    const char *msg = gan_ctx_error(C);
    int good = st == want && (!sub || strstr(msg, sub));
    if (!good)
        fail("%s: got %s \"%s\", expected %s containing \"%s\"", what, gan_status_name(st),
             st ? msg : "", gan_status_name(want), sub ? sub : "");
    gan_ctx_clear_error(C);
    return good;
}

/* ---- files and temporary directories ------------------------------------ */

static char *tmp_dir(void)
{
    const char *base = getenv("TMPDIR");
    char buf[4096];
    snprintf(buf, sizeof buf, "%s/gancl-ckpt-XXXXXX", base && *base ? base : "/tmp");
    char *d = mkdtemp(buf);
    if (!d) {
        fail("mkdtemp %s: %s", buf, strerror(errno));
        return NULL;
    }
    return strdup(d);
}

static char *join(const char *dir, const char *name)
{
    size_t n = strlen(dir) + strlen(name) + 2;
    char *p = malloc(n);
    snprintf(p, n, "%s/%s", dir, name);
    return p;
}

/* Remove a flat directory the tests made (files only). */
static void rm_dir(char *dir)
{
    if (!dir) return;
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *e;
        while ((e = readdir(d)))
            if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
                char *p = join(dir, e->d_name);
                unlink(p);
                free(p);
            }
        closedir(d);
    }
    rmdir(dir);
    free(dir);
}

/* Names in dir containing ".tmp."; removes them when `remove` is set. */
static int count_tmp(const char *dir, int remove)
{
    int n = 0;
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    while ((e = readdir(d)))
        if (strstr(e->d_name, ".tmp.")) {
            n++;
            if (remove) {
                char *p = join(dir, e->d_name);
                unlink(p);
                free(p);
            }
        }
    closedir(d);
    return n;
}

static int write_file(const char *path, const void *buf, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) {
        fail("fopen %s: %s", path, strerror(errno));
        return 0;
    }
    int good = fwrite(buf, 1, n, f) == n;
    if (fclose(f) != 0) good = 0;
    if (!good) fail("writing %s", path);
    return good;
}

static unsigned char *read_file(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    size_t cap = 4096, len = 0;
    unsigned char *b = malloc(cap);
    size_t k;
    while ((k = fread(b + len, 1, cap - len, f)) > 0) {
        len += k;
        if (len == cap) b = realloc(b, cap *= 2);
    }
    fclose(f);
    *n = len;
    return b;
}

/* ---- test content -------------------------------------------------------- */

/* Element i of a pattern tensor (check_safetensors.py --pattern knows these). */
static void fill_pattern(gan_st_dtype dt, void *data, size_t n)
{
    for (size_t i = 0; i < n; i++) switch (dt) {
        case GAN_ST_F32: ((float *)data)[i] = (float)i * 0.25f - 3.0f; break;
        case GAN_ST_I32: ((int32_t *)data)[i] = 7 * (int32_t)i - 100; break;
        case GAN_ST_I64: ((int64_t *)data)[i] = (int64_t)i * ((int64_t)1 << 40) - 5; break;
        case GAN_ST_U8: ((uint8_t *)data)[i] = (uint8_t)(13 * i); break;
        default: break;
        }
}

typedef struct spec {
    const char *name;
    gan_st_dtype dt;
    int ndim;
    int64_t shape[GAN_CKPT_MAX_DIMS];
} spec;

/* Deliberately mixed: the writer reorders wider dtypes first. */
static const spec rt_specs[] = {
    {"gen.deconv1.weight", GAN_ST_F32, 4, {3, 2, 4, 4}},
    {"labels", GAN_ST_U8, 1, {33}},
    {"rng.counter", GAN_ST_I64, 1, {3}},
    {"disc.fc.bias", GAN_ST_F32, 1, {7}},
    {"idx", GAN_ST_I32, 2, {5, 3}},
    {"scalar", GAN_ST_F32, 0, {0}},
    {"empty", GAN_ST_F32, 2, {0, 4}},
    {"one", GAN_ST_U8, 1, {1}},
    {"rank8", GAN_ST_I32, 8, {1, 2, 1, 2, 1, 1, 3, 1}},
};
#define NRT (int)(sizeof rt_specs / sizeof rt_specs[0])

static const char *rt_meta[][2] = {
    {"step", "1234"},
    {"gen.width", "64"},
    {"note", "utf-8: \xce\xb4 \xe2\x88\x82 \"quoted\" back\\slash"},
    {"empty", ""},
};
#define NMETA (int)(sizeof rt_meta / sizeof rt_meta[0])

static size_t spec_numel(const spec *s)
{
    size_t n = 1;
    for (int i = 0; i < s->ndim; i++) n *= (size_t)s->shape[i];
    return n;
}

/* A writer with the round-trip tensors; data[i] are malloc'd pattern buffers. */
static gan_ckpt_writer *rt_writer(void **data)
{
    gan_ckpt_writer *w;
    if (!OK(gan_ckpt_writer_create(C, &w))) return NULL;
    for (int i = 0; i < NRT; i++) {
        size_t n = spec_numel(&rt_specs[i]);
        data[i] = calloc(n ? n : 1, gan_st_dtype_size(rt_specs[i].dt));
        fill_pattern(rt_specs[i].dt, data[i], n);
        OK(gan_ckpt_writer_add(C, w, rt_specs[i].name, rt_specs[i].dt, rt_specs[i].ndim, rt_specs[i].shape,
                               data[i]));
    }
    for (int i = 0; i < NMETA; i++) OK(gan_ckpt_writer_meta(C, w, rt_meta[i][0], rt_meta[i][1]));
    return w;
}

static void check_rt(const gan_ckpt *k, void **data, const char *what)
{
    if (gan_ckpt_count(k) != NRT) fail("%s: %d tensors, expected %d", what, gan_ckpt_count(k), NRT);
    size_t prev_size = 8;
    for (int i = 0; i < gan_ckpt_count(k); i++) {
        size_t es = gan_st_dtype_size(gan_ckpt_tensor_at(k, i)->dtype);
        if (es > prev_size) fail("%s: tensor %d is wider than the one before it", what, i);
        prev_size = es;
    }
    for (int i = 0; i < NRT; i++) {
        const spec *s = &rt_specs[i];
        const gan_ckpt_tensor *t = gan_ckpt_find(k, s->name);
        if (!t) {
            fail("%s: tensor %s missing", what, s->name);
            continue;
        }
        size_t es = gan_st_dtype_size(s->dt), n = spec_numel(s);
        int same = t->dtype == s->dt && t->ndim == s->ndim && t->numel == n && t->nbytes == n * es;
        for (int d = 0; same && d < s->ndim; d++) same = t->shape[d] == s->shape[d];
        if (!same) fail("%s: %s has another dtype or shape", what, s->name);
        else if (n && memcmp(t->data, data[i], n * es) != 0) fail("%s: %s data differs", what, s->name);
        if ((uintptr_t)t->data % es != 0) fail("%s: %s data is not %zu-byte aligned", what, s->name, es);
    }
    for (int i = 0; i < NMETA; i++) {
        const char *v = gan_ckpt_meta(k, rt_meta[i][0]);
        if (!v || strcmp(v, rt_meta[i][1]) != 0)
            fail("%s: metadata %s = %s, expected %s", what, rt_meta[i][0], v ? v : "(absent)", rt_meta[i][1]);
    }
    const char *fmt = gan_ckpt_meta(k, "format"), *ver = gan_ckpt_meta(k, "format_version");
    if (!fmt || strcmp(fmt, "gancl-ckpt") || !ver || strcmp(ver, "2") || !gan_ckpt_meta(k, "crc32"))
        fail("%s: format metadata missing", what);
    if (gan_ckpt_meta_count(k) != NMETA + 3)
        fail("%s: %d metadata entries, expected %d", what, gan_ckpt_meta_count(k), NMETA + 3);
}

static char *g_rt_path; /* kept for the Python check */

static void test_roundtrip(char *dir)
{
    void *data[NRT] = {0};
    gan_ckpt_writer *w = rt_writer(data);
    gan_ckpt *k = NULL, *m = NULL;
    char *path = join(dir, "rt.safetensors");
    if (!w) goto done;
    if (!OK(gan_ckpt_writer_save(C, w, path))) goto done;
    if (count_tmp(dir, 0)) fail("temporary file left after a successful save");
    if (OK(gan_ckpt_load(C, path, &k))) check_rt(k, data, "load");

    size_t n;
    unsigned char *buf = read_file(path, &n);
    if (!buf || n < 8) {
        fail("cannot read back %s", path);
    } else {
        uint64_t h = 0;
        for (int i = 7; i >= 0; i--) h = h << 8 | buf[i];
        if (h % 8 != 0) fail("header length %llu is not a multiple of 8", (unsigned long long)h);
        if (buf[8] != '{') fail("header does not start with '{'");
        if (OK(gan_ckpt_parse(C, buf, n, "rt-memory", &m))) check_rt(m, data, "parse");
        if (m && strcmp(gan_ckpt_label(m), "rt-memory") != 0) fail("parse label is %s", gan_ckpt_label(m));
    }
    free(buf);

    /* Overwriting replaces the content. */
    fill_pattern(GAN_ST_F32, data[0], 1);
    ((float *)data[0])[0] = 42.5f;
    if (OK(gan_ckpt_writer_save(C, w, path))) {
        gan_ckpt *k2 = NULL;
        if (OK(gan_ckpt_load(C, path, &k2))) {
            const gan_ckpt_tensor *t = gan_ckpt_find(k2, rt_specs[0].name);
            if (!t || ((const float *)t->data)[0] != 42.5f) fail("overwritten checkpoint has the old data");
        }
        gan_ckpt_free(k2);
    }
    /* Keep the pattern file for the Python check. */
    ((float *)data[0])[0] = -3.0f;
    OK(gan_ckpt_writer_save(C, w, path));
    g_rt_path = strdup(path);

    /* A checkpoint of nothing but metadata is valid too. */
    gan_ckpt_writer *e = NULL;
    char *epath = join(dir, "empty.safetensors");
    if (OK(gan_ckpt_writer_create(C, &e)) && OK(gan_ckpt_writer_save(C, e, epath))) {
        gan_ckpt *ek = NULL;
        if (OK(gan_ckpt_load(C, epath, &ek)) && gan_ckpt_count(ek) != 0) fail("empty checkpoint has tensors");
        gan_ckpt_free(ek);
    }
    gan_ckpt_writer_free(e);
    free(epath);
done:
    gan_ckpt_free(k);
    gan_ckpt_free(m);
    gan_ckpt_writer_free(w);
    for (int i = 0; i < NRT; i++) free(data[i]);
    free(path);
}

static void test_writer_args(char *dir)
{
    gan_ckpt_writer *w;
    if (!OK(gan_ckpt_writer_create(C, &w))) return;
    float x[4] = {1, 2, 3, 4};
    int64_t s1[1] = {4}, sneg[1] = {-1}, s9[9] = {1, 1, 1, 1, 1, 1, 1, 1, 4};
    int64_t sbig[2] = {INT64_MAX, 4};
    OK(gan_ckpt_writer_add(C, w, "x", GAN_ST_F32, 1, s1, x));
    expect_err(gan_ckpt_writer_add(C, w, "x", GAN_ST_F32, 1, s1, x), GAN_ERR_ARG, "added twice", "duplicate name");
    expect_err(gan_ckpt_writer_add(C, w, "", GAN_ST_F32, 1, s1, x), GAN_ERR_ARG, "empty name", "empty name");
    expect_err(gan_ckpt_writer_add(C, w, "__metadata__", GAN_ST_F32, 1, s1, x), GAN_ERR_ARG, "reserved",
               "reserved name");
    expect_err(gan_ckpt_writer_add(C, w, "bad\xff", GAN_ST_F32, 1, s1, x), GAN_ERR_ARG, "UTF-8", "non-UTF-8 name");
    expect_err(gan_ckpt_writer_add(C, w, "neg", GAN_ST_F32, 1, sneg, x), GAN_ERR_ARG, "expected >= 0",
               "negative dim");
    expect_err(gan_ckpt_writer_add(C, w, "r9", GAN_ST_F32, 9, s9, x), GAN_ERR_ARG, "rank 9", "rank 9");
    expect_err(gan_ckpt_writer_add(C, w, "big", GAN_ST_F32, 2, sbig, x), GAN_ERR_ARG, "overflows", "size overflow");
    expect_err(gan_ckpt_writer_add(C, w, "dt", (gan_st_dtype)99, 1, s1, x), GAN_ERR_ARG, "dtype", "bad dtype");
    expect_err(gan_ckpt_writer_add(C, w, "nodata", GAN_ST_F32, 1, s1, NULL), GAN_ERR_ARG, "no data", "NULL data");
    expect_err(gan_ckpt_writer_meta(C, w, "format", "x"), GAN_ERR_ARG, "reserved", "reserved meta key");
    expect_err(gan_ckpt_writer_meta(C, w, "crc32", "x"), GAN_ERR_ARG, "reserved", "reserved meta key crc32");
    OK(gan_ckpt_writer_meta(C, w, "k", "v"));
    expect_err(gan_ckpt_writer_meta(C, w, "k", "w"), GAN_ERR_ARG, "set twice", "duplicate meta key");
    expect_err(gan_ckpt_writer_meta(C, w, "k2", "\xc3"), GAN_ERR_ARG, "UTF-8", "non-UTF-8 value");
    expect_err(gan_ckpt_writer_save(C, w, ""), GAN_ERR_ARG, "empty path", "empty path");
    /* The failed calls left the writer usable. */
    char *path = join(dir, "args.safetensors");
    gan_ckpt *k = NULL;
    if (OK(gan_ckpt_writer_save(C, w, path)) && OK(gan_ckpt_load(C, path, &k)) && gan_ckpt_count(k) != 1)
        fail("writer after failed adds holds %d tensors, expected 1", gan_ckpt_count(k));
    gan_ckpt_free(k);
    free(path);
    gan_ckpt_writer_free(w);
}

static void test_expect_and_config(char *dir)
{
    gan_ckpt_writer *w;
    if (!OK(gan_ckpt_writer_create(C, &w))) return;
    float x[15] = {0};
    int64_t s[2] = {3, 5}, s_other[2] = {3, 6};
    OK(gan_ckpt_writer_add(C, w, "gen.w", GAN_ST_F32, 2, s, x));
    OK(gan_ckpt_writer_meta(C, w, "gen.width", "64"));
    OK(gan_ckpt_writer_meta(C, w, "gen.depth", "4"));
    OK(gan_ckpt_writer_meta(C, w, "model", "dcgan"));
    OK(gan_ckpt_writer_meta(C, w, "slope", "0.2"));
    OK(gan_ckpt_writer_meta(C, w, "neg", "-3"));
    char *path = join(dir, "cfg.safetensors");
    gan_ckpt *k = NULL;
    if (!OK(gan_ckpt_writer_save(C, w, path)) || !OK(gan_ckpt_load(C, path, &k))) goto done;
    const gan_ckpt_tensor *t = NULL;
    if (OK(gan_ckpt_expect(C, k, "gen.w", GAN_ST_F32, 2, s, &t)) && (!t || t->numel != 15))
        fail("expect returned the wrong tensor");
    expect_err(gan_ckpt_expect(C, k, "gen.b", GAN_ST_F32, 2, s, &t), GAN_ERR_MISMATCH, "has no tensor 'gen.b'",
               "missing tensor");
    expect_err(gan_ckpt_expect(C, k, "gen.w", GAN_ST_F32, 2, s_other, &t), GAN_ERR_MISMATCH,
               "is F32 [3, 5], expected F32 [3, 6]", "other shape");
    expect_err(gan_ckpt_expect(C, k, "gen.w", GAN_ST_I32, 2, s, &t), GAN_ERR_MISMATCH, "expected I32",
               "other dtype");
    expect_err(gan_ckpt_expect(C, k, "gen.w", GAN_ST_F32, 1, s, &t), GAN_ERR_MISMATCH, "expected F32 [3]",
               "other rank");

    /* typed metadata: a number parses; absent, negative, trailing text and
     * a float as an int fail and leave the caller's default alone */
    int iv = 7;
    float fv = 9.f;
    if (gan_ckpt_meta_int(k, "gen.width", &iv) || iv != 64) fail("meta_int gen.width: %d", iv);
    if (gan_ckpt_meta_float(k, "slope", &fv) || fv != 0.2f) fail("meta_float slope: %g", fv);
    iv = 7;
    fv = 9.f;
    if (!gan_ckpt_meta_int(k, "absent", &iv) || !gan_ckpt_meta_int(k, "neg", &iv) ||
        !gan_ckpt_meta_int(k, "model", &iv) || !gan_ckpt_meta_int(k, "slope", &iv) || iv != 7)
        fail("meta_int accepted a bad value or changed the default (%d)", iv);
    if (!gan_ckpt_meta_float(k, "absent", &fv) || !gan_ckpt_meta_float(k, "model", &fv) || fv != 9.f)
        fail("meta_float accepted a bad value or changed the default (%g)", fv);

    gan_ckpt_kv same[] = {{"gen.width", "64"}, {"model", "dcgan"}};
    OK(gan_ckpt_compare_config(C, k, same, 2));
    gan_ckpt_kv other[] = {{"gen.width", "128"}, {"model", "dcgan"}, {"disc.depth", "3"}, {"gen.depth", "4"}};
    gan_status st = gan_ckpt_compare_config(C, k, other, 4);
    const char *msg = gan_ctx_error(C);
    if (st != GAN_ERR_MISMATCH || !strstr(msg, "gen.width: checkpoint 64, run 128") ||
        !strstr(msg, "disc.depth: checkpoint (absent), run 3") || !strstr(msg, "2 mismatched fields") ||
        strstr(msg, "model:") || strstr(msg, "gen.depth:"))
        fail("compare_config: %s \"%s\"", gan_status_name(st), msg);
    else
        note("mismatch message: %s", msg);
    gan_ctx_clear_error(C);
done:
    gan_ckpt_free(k);
    free(path);
    gan_ckpt_writer_free(w);
}

/* ---- the independent Python reader -------------------------------------- */

static const char *g_checker;
static const char *g_corpus;

/* Run the checker on one file; its report is copied into the TAP stream as
 * diagnostics when `show` is set. Returns its exit status, 127 when the
 * interpreter cannot run, -1 when it died. */
static int run_checker(const char *py, const char *file, int pattern, int show)
{
    int fds[2];
    if (pipe(fds) != 0) {
        fail("pipe: %s", strerror(errno));
        return -1;
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        execlp(py, py, g_checker, file, pattern ? "--pattern" : (char *)NULL, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    FILE *f = fdopen(fds[0], "r");
    char line[1024];
    while (f && fgets(line, sizeof line, f))
        if (show) printf("# %s%s", line, strchr(line, '\n') ? "" : "\n");
    if (f) fclose(f);
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0) {
        fail("cannot run %s: %s", py, strerror(errno));
        return -1;
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The round-trip file must pass the independent reader, values included;
 * and it must agree with gancl on the corpus: ok_* pass, the rest fail. */
static void test_python(char *dir)
{
    (void)dir;
    const char *py = getenv("GANCL_PYTHON");
    if (!py || !*py) py = "python3";
    if (!g_checker || !g_rt_path) {
        skip("no checker script given (--checker) or no round-trip file");
        return;
    }
    int rc = run_checker(py, g_rt_path, 1, 1);
    if (rc == 127) {
        skip("%s not available", py);
        return;
    }
    if (rc != 0) fail("%s %s rejected %s (exit %d)", py, g_checker, g_rt_path, rc);
    DIR *d = g_corpus ? opendir(g_corpus) : NULL;
    if (!d) return;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *p = join(g_corpus, e->d_name);
        int want = strncmp(e->d_name, "ok_", 3) == 0 ? 0 : 1;
        rc = run_checker(py, p, 0, 0);
        if (rc != want) {
            fail("the Python reader %s corpus file %s (exit %d):", rc == 0 ? "accepts" : "rejects", e->d_name, rc);
            run_checker(py, p, 0, 1);
        }
        n++;
        free(p);
    }
    closedir(d);
    note("the Python reader agrees on %d corpus files", n);
}

/* ---- malformed files ----------------------------------------------------- */

/* Base content of the hand-built files: a = F32 [2] {1, -2}, b = U8 [3]. */
static const unsigned char base_data[16] = {0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0, 1, 2, 3, 0, 0, 0, 0, 0};
#define BASE_LEN 11

/* Header templates: @M expands to a valid gancl __metadata__ member (with
 * the real CRCs of a and b) followed by a comma; @A/@B to those CRCs. */
#define TA "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}"
#define TB "\"b\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[8,11]}"
#define META_FMT "\"format\":\"gancl-ckpt\",\"format_version\":\"1\""
#define CRC_AB "\"crc32\":\"{\\\"a\\\":\\\"@A\\\",\\\"b\\\":\\\"@B\\\"}\""

typedef enum { K_HEADER, K_RAW, K_VALID_CUT, K_VALID_FLIP, K_DEEP } case_kind;

typedef struct mcase {
    const char *name; /* also the corpus file name (.st) */
    case_kind kind;
    const char *hdr;  /* K_HEADER: template; K_RAW: bytes */
    int len;          /* K_HEADER: data bytes (0: the 11 of a and b); K_RAW: byte count; CUT: bytes removed */
    gan_status want;
    const char *sub;
    int variant; /* 1: a variant of another case, tested but not kept in the corpus */
} mcase;

static const mcase cases[] = {
    {"empty", K_RAW, "", 0, GAN_ERR_FORMAT, "0 bytes, too short for the 8-byte header length", 0},
    {"short", K_RAW, "\x10\x00\x00\x00\x00", 5, GAN_ERR_FORMAT, "5 bytes, too short", 1},
    {"huge_header_len", K_RAW, "\xff\xff\xff\xff\xff\xff\xff\xff{}      ", 16, GAN_ERR_FORMAT, "exceeds the limit", 0},
    {"header_len_past_eof", K_RAW, "\xe8\x03\x00\x00\x00\x00\x00\x00{\"a\":1}", 15, GAN_ERR_FORMAT,
     "exceeds the 7 bytes that follow it", 0},
    {"header_len_zero", K_RAW, "\x00\x00\x00\x00\x00\x00\x00\x00{}", 10, GAN_ERR_FORMAT, "header length is 0", 1},
    {"invalid_json", K_HEADER, "{\"a\": ", 0, GAN_ERR_FORMAT, "not valid JSON", 0},
    {"invalid_utf8", K_HEADER, "{@M\"\xff\xfe\":{}}", 0, GAN_ERR_FORMAT, "not valid JSON", 0},
    {"nul_in_header", K_RAW, "\x04\x00\x00\x00\x00\x00\x00\x00{\x00}\x20", 12, GAN_ERR_FORMAT, "not valid JSON", 0},
    {"int_too_big", K_HEADER, "{\"a\":{\"dtype\":\"U8\",\"shape\":[99999999999999999999],\"data_offsets\":[0,1]}}", 1,
     GAN_ERR_FORMAT, "not valid JSON", 0},
    {"trailing_garbage_json", K_HEADER, "{@M" TA "," TB "} x", 0, GAN_ERR_FORMAT, "not valid JSON", 1},
    {"non_object", K_HEADER, "[1,2,3]", 0, GAN_ERR_FORMAT, "header is a JSON array, expected an object", 0},
    {"string_header", K_HEADER, "\"{}\"", 0, GAN_ERR_FORMAT, "not valid JSON: '[' or '{' expected", 1},
    {"duplicate_key", K_HEADER, "{@M" TA "," TB "," TB "}", 0, GAN_ERR_FORMAT, "duplicate key", 0},
    {"duplicate_meta_key", K_HEADER, "{\"__metadata__\":{\"x\":\"1\",\"x\":\"2\"}," TA "," TB "}", 0,
     GAN_ERR_FORMAT, "duplicate key", 1},
    {"meta_not_object", K_HEADER, "{\"__metadata__\":[]," TA "," TB "}", 0, GAN_ERR_FORMAT,
     "__metadata__ is a JSON array", 1},
    {"meta_not_string", K_HEADER, "{\"__metadata__\":{\"step\":5}," TA "," TB "}", 0, GAN_ERR_FORMAT,
     "metadata \"step\" is a JSON integer; values must be strings", 0},
    {"entry_not_object", K_HEADER, "{@M\"a\":[0,8]," TB "}", 0, GAN_ERR_FORMAT,
     "tensor 'a' is a JSON array, expected an object", 0},
    {"missing_dtype", K_HEADER, "{@M\"a\":{\"shape\":[2],\"data_offsets\":[0,8]}," TB "}", 0, GAN_ERR_FORMAT,
     "tensor 'a' has no \"dtype\"", 0},
    {"missing_shape", K_HEADER, "{@M\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,8]}," TB "}", 0, GAN_ERR_FORMAT,
     "tensor 'a' has no \"shape\"", 1},
    {"missing_offsets", K_HEADER, "{@M\"a\":{\"dtype\":\"F32\",\"shape\":[2]}," TB "}", 0, GAN_ERR_FORMAT,
     "tensor 'a' has no \"data_offsets\"", 1},
    {"unknown_field", K_HEADER, "{@M\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8],\"x\":1}," TB "}",
     0, GAN_ERR_FORMAT, "unknown field \"x\"", 0},
    {"unknown_dtype", K_HEADER, "{@M\"a\":{\"dtype\":\"F33\",\"shape\":[2],\"data_offsets\":[0,8]}," TB "}", 0,
     GAN_ERR_FORMAT, "unknown dtype \"F33\"", 0},
    {"dtype_not_string", K_HEADER, "{@M\"a\":{\"dtype\":4,\"shape\":[2],\"data_offsets\":[0,8]}," TB "}", 0,
     GAN_ERR_FORMAT, "dtype is a JSON integer", 1},
    {"shape_not_array", K_HEADER, "{@M\"a\":{\"dtype\":\"F32\",\"shape\":2,\"data_offsets\":[0,8]}," TB "}", 0,
     GAN_ERR_FORMAT, "shape is a JSON integer, expected an array", 1},
    {"negative_shape", K_HEADER, "{@M\"a\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}," TB "}", 0,
     GAN_ERR_FORMAT, "shape[0] is negative", 0},
    {"nonint_shape", K_HEADER, "{@M\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}," TB "}", 0,
     GAN_ERR_FORMAT, "shape[0] is a JSON number, expected an integer", 0},
    {"string_shape", K_HEADER, "{@M\"a\":{\"dtype\":\"F32\",\"shape\":[1,\"2\"],\"data_offsets\":[0,8]}," TB "}", 0,
     GAN_ERR_FORMAT, "shape[1] is a JSON string", 1},
    {"rank_too_big", K_HEADER,
     "{@M\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,2],\"data_offsets\":[0,8]}," TB "}", 0, GAN_ERR_FORMAT,
     "rank 9 exceeds 8", 0},
    {"offsets_not_pair", K_HEADER, "{@M\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8,8]}," TB "}", 0,
     GAN_ERR_FORMAT, "data_offsets is not an array of two integers", 1},
    {"offsets_negative", K_HEADER, "{@M\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[-8,0]}," TB "}", 0,
     GAN_ERR_FORMAT, "data_offsets[0] is not a non-negative integer", 0},
    {"offsets_reversed", K_HEADER, "{@M\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}," TB "}", 0,
     GAN_ERR_FORMAT, "end before they begin", 1},
    {"wrong_size", K_HEADER, "{@M\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}," TB "}", 0,
     GAN_ERR_FORMAT, "shape [3] of F32 is 12 bytes but data_offsets span 8", 0},
    {"wrong_dtype_size", K_HEADER, "{@M\"a\":{\"dtype\":\"I64\",\"shape\":[2],\"data_offsets\":[0,8]}," TB "}", 0,
     GAN_ERR_FORMAT, "shape [2] of I64 is 16 bytes but data_offsets span 8", 0},
    {"size_overflow", K_HEADER,
     "{@M\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,8]}," TB "}", 0,
     GAN_ERR_FORMAT, "overflows 64 bits", 0},
    {"size_overflow_dtype", K_HEADER,
     "{@M\"a\":{\"dtype\":\"F64\",\"shape\":[4611686018427387904],\"data_offsets\":[0,8]}," TB "}", 0,
     GAN_ERR_FORMAT, "overflows 64 bits", 1},
    {"huge_dims", K_HEADER,
     "{@M\"a\":{\"dtype\":\"U8\",\"shape\":[1099511627776,1024],\"data_offsets\":[0,1125899906842624]}}", 0,
     GAN_ERR_FORMAT, "runs past the end of the data (11 bytes", 0},
    {"overlap", K_HEADER, "{@M" TA ",\"b\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[6,9]}}", 9,
     GAN_ERR_FORMAT, "overlaps tensor 'a'", 0},
    {"overlap_same", K_HEADER, "{@M" TA ",\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", 8,
     GAN_ERR_FORMAT, "overlaps tensor", 1},
    {"gap", K_HEADER, "{@M" TA ",\"b\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[10,13]}}", 13,
     GAN_ERR_FORMAT, "gap of 2 bytes in the data before tensor 'b'", 0},
    {"gap_at_start", K_HEADER, "{@M\"b\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[8,11]}}", 0,
     GAN_ERR_FORMAT, "gap of 8 bytes in the data before tensor 'b'", 1},
    {"offsets_past_end", K_HEADER, "{@M" TA "," TB "}", 10, GAN_ERR_FORMAT,
     "data of tensor 'b' at [8, 11] runs past the end of the data (10 bytes", 0},
    {"trailing_bytes", K_HEADER, "{@M" TA "," TB "}", 12, GAN_ERR_FORMAT, "1 trailing bytes", 0},
    {"no_metadata", K_HEADER, "{" TA "," TB "}", 0, GAN_ERR_FORMAT, "not a gancl checkpoint: no \"format\"", 0},
    {"wrong_format", K_HEADER, "{\"__metadata__\":{\"format\":\"pt\"}," TA "," TB "}", 0, GAN_ERR_FORMAT,
     "format is \"pt\", expected \"gancl-ckpt\"", 0},
    {"no_version", K_HEADER, "{\"__metadata__\":{\"format\":\"gancl-ckpt\"}," TA "," TB "}", 0, GAN_ERR_FORMAT,
     "no \"format_version\"", 1},
    {"future_version", K_HEADER,
     "{\"__metadata__\":{\"format\":\"gancl-ckpt\",\"format_version\":\"3\"," CRC_AB "}," TA "," TB "}", 0,
     GAN_ERR_UNSUPPORTED, "format_version \"3\"", 0},
    {"missing_crc", K_HEADER, "{\"__metadata__\":{" META_FMT "}," TA "," TB "}", 0, GAN_ERR_FORMAT,
     "no \"crc32\" in __metadata__", 0},
    {"crc_not_json", K_HEADER, "{\"__metadata__\":{" META_FMT ",\"crc32\":\"{\"}," TA "," TB "}", 0, GAN_ERR_FORMAT,
     "\"crc32\" is not valid JSON", 0},
    {"crc_not_object", K_HEADER, "{\"__metadata__\":{" META_FMT ",\"crc32\":\"[]\"}," TA "," TB "}", 0,
     GAN_ERR_FORMAT, "\"crc32\" is a JSON array", 1},
    {"crc_missing_tensor", K_HEADER,
     "{\"__metadata__\":{" META_FMT ",\"crc32\":\"{\\\"a\\\":\\\"@A\\\"}\"}," TA "," TB "}", 0, GAN_ERR_FORMAT,
     "tensor 'b' has no CRC32", 0},
    {"crc_unknown_tensor", K_HEADER,
     "{\"__metadata__\":{" META_FMT ",\"crc32\":\"{\\\"a\\\":\\\"@A\\\",\\\"b\\\":\\\"@B\\\",\\\"z\\\":\\\"00000000\\\"}\"},"
     TA "," TB "}", 0, GAN_ERR_FORMAT, "names 'z', which is not a tensor", 1},
    {"crc_bad_hex", K_HEADER,
     "{\"__metadata__\":{" META_FMT ",\"crc32\":\"{\\\"a\\\":\\\"@A\\\",\\\"b\\\":\\\"xyz\\\"}\"}," TA "," TB "}", 0,
     GAN_ERR_FORMAT, "CRC32 of tensor 'b' is not 8 hex digits", 0},
    {"crc_duplicate", K_HEADER,
     "{\"__metadata__\":{" META_FMT ",\"crc32\":\"{\\\"a\\\":\\\"@A\\\",\\\"a\\\":\\\"@A\\\",\\\"b\\\":\\\"@B\\\"}\"},"
     TA "," TB "}", 0, GAN_ERR_FORMAT, "\"crc32\" is not valid JSON", 1},
    {"crc_wrong", K_HEADER,
     "{\"__metadata__\":{" META_FMT ",\"crc32\":\"{\\\"a\\\":\\\"@B\\\",\\\"b\\\":\\\"@B\\\"}\"}," TA "," TB "}", 0,
     GAN_ERR_FORMAT, "CRC32 mismatch in tensor 'a'", 0},
    {"crc_mismatch_flip", K_VALID_FLIP, NULL, 0, GAN_ERR_FORMAT, "CRC32 mismatch in tensor", 0},
    {"truncated_data", K_VALID_CUT, NULL, 3, GAN_ERR_FORMAT, "truncated file?", 0},
    {"truncated_header", K_VALID_CUT, NULL, -20, GAN_ERR_FORMAT, "that follow it (truncated file?)", 0},
    {"deep_nesting", K_DEEP, NULL, 0, GAN_ERR_FORMAT, "not valid JSON", 1},
};
#define NCASES (int)(sizeof cases / sizeof cases[0])

typedef struct bytes {
    unsigned char *p;
    size_t n;
} bytes;

static void put_le64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (unsigned char)(v >> (8 * i));
}

/* header + data into one file image; the header is padded to 8 bytes. */
static bytes image(const char *hdr, size_t hlen, const unsigned char *data, size_t dlen)
{
    size_t padded = (hlen + 7) & ~(size_t)7;
    bytes b = {malloc(8 + padded + dlen + 1), 8 + padded + dlen};
    put_le64(b.p, padded);
    memcpy(b.p + 8, hdr, hlen);
    memset(b.p + 8 + hlen, ' ', padded - hlen);
    if (dlen) memcpy(b.p + 8 + padded, data, dlen);
    return b;
}

static void crc_hex(const unsigned char *p, size_t n, char out[9])
{
    snprintf(out, 9, "%08lx", crc32(0L, p, (uInt)n) & 0xffffffffUL);
}

static char *expand(const char *tpl)
{
    char ca[9], cb[9], meta[256];
    crc_hex(base_data, 8, ca);
    crc_hex(base_data + 8, 3, cb);
    snprintf(meta, sizeof meta,
             "\"__metadata__\":{" META_FMT ",\"crc32\":\"{\\\"a\\\":\\\"%s\\\",\\\"b\\\":\\\"%s\\\"}\"},", ca, cb);
    size_t cap = strlen(tpl) * 2 + sizeof meta + 64, n = 0;
    char *out = malloc(cap);
    for (const char *s = tpl; *s; s++) {
        const char *ins = NULL;
        if (s[0] == '@' && s[1] == 'M') ins = meta;
        if (s[0] == '@' && s[1] == 'A') ins = ca;
        if (s[0] == '@' && s[1] == 'B') ins = cb;
        if (ins) {
            n += (size_t)snprintf(out + n, cap - n, "%s", ins);
            s++;
        } else {
            out[n++] = *s;
        }
    }
    out[n] = 0;
    return out;
}

/* A valid two-tensor checkpoint from the writer itself. */
static bytes valid_image(const char *dir)
{
    bytes b = {NULL, 0};
    gan_ckpt_writer *w;
    if (!OK(gan_ckpt_writer_create(C, &w))) return b;
    float a[2] = {1.0f, -2.0f};
    uint8_t u[3] = {1, 2, 3};
    int64_t sa[1] = {2}, su[1] = {3};
    OK(gan_ckpt_writer_add(C, w, "a", GAN_ST_F32, 1, sa, a));
    OK(gan_ckpt_writer_add(C, w, "b", GAN_ST_U8, 1, su, u));
    OK(gan_ckpt_writer_meta(C, w, "step", "7"));
    char *path = join(dir, "valid.safetensors");
    if (OK(gan_ckpt_writer_save(C, w, path))) b.p = read_file(path, &b.n);
    unlink(path);
    free(path);
    gan_ckpt_writer_free(w);
    return b;
}

static bytes make_case(const mcase *m, const char *dir)
{
    bytes b = {NULL, 0};
    switch (m->kind) {
    case K_RAW:
        b.n = (size_t)m->len;
        b.p = malloc(b.n + 1);
        memcpy(b.p, m->hdr, b.n);
        break;
    case K_HEADER: {
        char *h = expand(m->hdr);
        size_t dlen = m->len ? (size_t)m->len : BASE_LEN;
        unsigned char data[64] = {0};
        memcpy(data, base_data, BASE_LEN);
        b = image(h, strlen(h), data, dlen);
        free(h);
        break;
    }
    case K_VALID_CUT:
        b = valid_image(dir);
        if (b.p) b.n = m->len > 0 ? b.n - (size_t)m->len : 8 + (size_t)(-m->len);
        break;
    case K_VALID_FLIP:
        b = valid_image(dir);
        if (b.p) b.p[b.n - 5] ^= 0x10;
        break;
    case K_DEEP: {
        size_t depth = 3000;
        char *h = malloc(2 * depth + 1);
        memset(h, '[', depth);
        memset(h + depth, ']', depth);
        h[2 * depth] = 0;
        b = image(h, 2 * depth, NULL, 0);
        free(h);
        break;
    }
    }
    return b;
}

static void test_malformed(char *dir)
{
    char *path = join(dir, "bad.safetensors");
    for (int i = 0; i < NCASES; i++) {
        const mcase *m = &cases[i];
        bytes b = make_case(m, dir);
        if (!b.p) continue; /* valid_image failed: already reported */
        char what[128];
        gan_ckpt *k = NULL;
        snprintf(what, sizeof what, "%s (memory)", m->name);
        expect_err(gan_ckpt_parse(C, b.p, b.n, m->name, &k), m->want, m->sub, what);
        if (k) fail("%s: parse failed but returned a checkpoint", m->name);
        gan_ckpt_free(k);
        k = NULL;
        if (write_file(path, b.p, b.n)) {
            snprintf(what, sizeof what, "%s (file)", m->name);
            gan_status st = gan_ckpt_load(C, path, &k);
            if (st != GAN_OK && !strstr(gan_ctx_error(C), path)) fail("%s: message does not name the file", what);
            expect_err(st, m->want, m->sub, what);
            gan_ckpt_free(k);
        }
        free(b.p);
    }
    note("%d malformed cases", NCASES);
    free(path);
}

static const mcase *find_case(const char *file)
{
    for (int i = 0; i < NCASES; i++) {
        size_t n = strlen(cases[i].name);
        if (strncmp(file, cases[i].name, n) == 0 && strcmp(file + n, ".st") == 0) return &cases[i];
    }
    return NULL;
}

static int write_corpus(const char *out)
{
    char *dir = tmp_dir();
    int n = 0;
    for (int i = 0; i < NCASES; i++) {
        if (cases[i].variant) continue;
        bytes b = make_case(&cases[i], dir);
        char name[128];
        snprintf(name, sizeof name, "%s.st", cases[i].name);
        char *p = join(out, name);
        n += b.p && write_file(p, b.p, b.n);
        free(p);
        free(b.p);
    }
    bytes v = valid_image(dir);
    char *p = join(out, "ok_small.st");
    n += v.p && write_file(p, v.p, v.n);
    free(p);
    free(v.p);
    rm_dir(dir);
    printf("wrote %d corpus files to %s\n", n, out);
    return failures ? 1 : 0;
}

/* Every kept input: ok_* must load; a file named after a case must fail
 * the same way; any other (e.g. a fuzzer find) must fail cleanly. */

static void test_corpus(char *dir)
{
    (void)dir;
    if (!g_corpus) {
        skip("no --corpus directory");
        return;
    }
    DIR *d = opendir(g_corpus);
    if (!d) {
        fail("cannot open corpus %s: %s", g_corpus, strerror(errno));
        return;
    }
    int n = 0, named = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        char *p = join(g_corpus, e->d_name);
        gan_ckpt *k = NULL;
        gan_status st = gan_ckpt_load(C, p, &k);
        const mcase *m = find_case(e->d_name);
        if (strncmp(e->d_name, "ok_", 3) == 0) {
            if (st != GAN_OK) fail("corpus %s: %s", e->d_name, gan_ctx_error(C));
        } else if (m) {
            expect_err(st, m->want, m->sub, e->d_name);
            named++;
        } else if (st == GAN_OK) {
            fail("corpus %s loads, but only ok_* files should", e->d_name);
        }
        gan_ctx_clear_error(C);
        gan_ckpt_free(k);
        free(p);
        n++;
    }
    closedir(d);
    note("%d corpus files (%d named after a case)", n, named);
    if (n == 0) fail("corpus %s is empty", g_corpus);
}

/* ---- the file system ----------------------------------------------------- */

static gan_ckpt_writer *small_writer(float *buf, size_t n, float v, const char *which)
{
    gan_ckpt_writer *w;
    if (!OK(gan_ckpt_writer_create(C, &w))) return NULL;
    for (size_t i = 0; i < n; i++) buf[i] = v + (float)i;
    int64_t s[1] = {(int64_t)n};
    OK(gan_ckpt_writer_add(C, w, "w", GAN_ST_F32, 1, s, buf));
    OK(gan_ckpt_writer_meta(C, w, "which", which));
    return w;
}

/* Loads path and checks it is the content small_writer(n, v, which) wrote. */
static int is_small(const char *path, size_t n, float v, const char *which, const char *what)
{
    gan_ckpt *k = NULL;
    if (!ok_call(gan_ckpt_load(C, path, &k), what)) return 0;
    const gan_ckpt_tensor *t = gan_ckpt_find(k, "w");
    const char *wm = gan_ckpt_meta(k, "which");
    int good = t && t->numel == n && wm && strcmp(wm, which) == 0;
    for (size_t i = 0; good && i < n; i++) good = ((const float *)t->data)[i] == v + (float)i;
    if (!good) fail("%s: %s is not checkpoint %s", what, path, which);
    gan_ckpt_free(k);
    return good;
}

static void test_file_errors(char *dir)
{
    gan_ckpt *k = NULL;
    expect_err(gan_ckpt_load(C, dir, &k), GAN_ERR_IO, "is a directory", "directory");
    char *missing = join(dir, "no-such-file.safetensors");
    expect_err(gan_ckpt_load(C, missing, &k), GAN_ERR_IO, "No such file or directory", "missing file");
    char *fifo = join(dir, "fifo");
    if (mkfifo(fifo, 0600) == 0)
        expect_err(gan_ckpt_load(C, fifo, &k), GAN_ERR_IO, "not a regular file", "fifo");
    char *plain = join(dir, "plain");
    write_file(plain, "x", 1);
    char *under_file = join(plain, "x.safetensors");
    expect_err(gan_ckpt_load(C, under_file, &k), GAN_ERR_IO, "Not a directory", "path through a file");
    expect_err(gan_ckpt_load(C, "", &k), GAN_ERR_ARG, "empty path", "empty path");
    if (geteuid() != 0) {
        char *locked = join(dir, "locked");
        write_file(locked, "12345678", 8);
        chmod(locked, 0);
        expect_err(gan_ckpt_load(C, locked, &k), GAN_ERR_IO, "Permission denied", "unreadable file");
        free(locked);
    } else {
        note("unreadable file: running as root, which reads anything; covered by the missing file");
    }
    if (k) fail("a failed load returned a checkpoint");

    float buf[4];
    gan_ckpt_writer *w = small_writer(buf, 4, 1.0f, "A");
    if (!w) goto done;
    char *nodir = join(missing, "x.safetensors");
    expect_err(gan_ckpt_writer_save(C, w, nodir), GAN_ERR_IO, "No such file or directory", "missing directory");
    expect_err(gan_ckpt_writer_save(C, w, under_file), GAN_ERR_IO, "Not a directory", "destination under a file");
    expect_err(gan_ckpt_writer_save(C, w, dir), GAN_ERR_IO, "Is a directory", "destination is a directory");
    if (count_tmp(dir, 0)) fail("a failed save left a temporary file in %s", dir);

    /* Unwritable destination directory: permissions do not stop root, a
     * read-only mount does. */
    char *ro = join(dir, "ro");
    mkdir(ro, 0755);
    int mounted = 0;
    if (geteuid() == 0) {
        mounted = mount("tmpfs", ro, "tmpfs", MS_RDONLY, "size=64k") == 0;
        if (!mounted) note("read-only tmpfs: mount failed (%s); using permissions", strerror(errno));
    }
    if (!mounted) chmod(ro, 0555);
    if (mounted || geteuid() != 0) {
        char *p = join(ro, "x.safetensors");
        expect_err(gan_ckpt_writer_save(C, w, p), GAN_ERR_IO, mounted ? "Read-only file system" : "Permission denied",
                   "unwritable directory");
        free(p);
    } else {
        note("unwritable directory skipped: root, and mounting failed");
    }
    if (mounted) umount2(ro, MNT_DETACH);
    chmod(ro, 0755);
    rmdir(ro);
    free(ro);
    free(nodir);
done:
    gan_ckpt_writer_free(w);
    free(missing);
    free(fifo);
    free(plain);
    free(under_file);
}

/* A full file system: the save fails with ENOSPC, the previous checkpoint
 * survives intact and no temporary file is left. */
static void test_enospc(char *dir)
{
    if (geteuid() != 0) {
        skip("mounting a tiny tmpfs needs root");
        return;
    }
    char *mnt = join(dir, "full");
    mkdir(mnt, 0755);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=64k") != 0) {
        skip("cannot mount a tmpfs (%s)", strerror(errno));
        rmdir(mnt);
        free(mnt);
        return;
    }
    char *path = join(mnt, "ckpt.safetensors");
    float small[8];
    size_t nbig = 64 * 1024; /* 256 KiB of data on a 64 KiB file system */
    float *big = malloc(nbig * sizeof *big);
    gan_ckpt_writer *a = small_writer(small, 8, 1.0f, "A"), *b = small_writer(big, nbig, 5.0f, "B");
    if (a && b && OK(gan_ckpt_writer_save(C, a, path))) {
        gan_status st = gan_ckpt_writer_save(C, b, path);
        note("full file system: %s", gan_ctx_error(C));
        expect_err(st, GAN_ERR_IO, "No space left on device", "save to a full file system");
        is_small(path, 8, 1.0f, "A", "previous checkpoint after ENOSPC");
        if (count_tmp(mnt, 0)) fail("ENOSPC left a temporary file");
        /* The space came back: saving works again. */
        gan_ckpt_writer_free(a);
        a = small_writer(small, 8, 2.0f, "C");
        if (a && OK(gan_ckpt_writer_save(C, a, path))) is_small(path, 8, 2.0f, "C", "save after ENOSPC");
    }
    gan_ckpt_writer_free(a);
    gan_ckpt_writer_free(b);
    free(big);
    umount2(mnt, MNT_DETACH);
    rmdir(mnt);
    free(mnt);
    free(path);
}

/* kill -9 a process that saves checkpoints in a loop, at random moments:
 * the file is always one of the two complete versions. Each child starts
 * with the version the file does not hold, so a kill before its first
 * rename leaves the old version and any later one a new write. */
static void test_kill(char *dir)
{
    enum { KILLS = 200, N = 256 };
    char *path = join(dir, "killed.safetensors");
    float da[N], db[N];
    gan_ckpt_writer *a = small_writer(da, N, 1.0f, "A"), *b = small_writer(db, N, -1000.0f, "B");
    if (!a || !b || !OK(gan_ckpt_writer_save(C, a, path))) goto done;
    unsigned seed = 12345;
    int seen_a = 0, seen_b = 0, changed = 0, stray = 0, bad = 0, holds_a = 1;
    fflush(stdout);
    for (int i = 0; i < KILLS && !bad; i++) {
        pid_t pid = fork();
        if (pid < 0) {
            fail("fork: %s", strerror(errno));
            break;
        }
        if (pid == 0) {
            for (long j = 0; j < 1000000; j++)
                if (gan_ckpt_writer_save(C, ((j & 1) == 0) == holds_a ? b : a, path) != GAN_OK) _exit(3);
            _exit(0);
        }
        struct timespec ts = {0, (long)(rand_r(&seed) % 2001) * 1000L};
        nanosleep(&ts, NULL);
        kill(pid, SIGKILL);
        int status = 0;
        waitpid(pid, &status, 0);
        if (WIFEXITED(status) && WEXITSTATUS(status) == 3) {
            fail("the writer child failed to save");
            break;
        }
        gan_ckpt *k = NULL;
        if (gan_ckpt_load(C, path, &k) != GAN_OK) {
            fail("after kill %d: %s", i, gan_ctx_error(C));
            gan_ctx_clear_error(C);
            bad = 1;
        } else {
            const char *wm = gan_ckpt_meta(k, "which");
            int now_a = wm && strcmp(wm, "A") == 0;
            if (now_a && is_small(path, N, 1.0f, "A", "after kill"))
                seen_a++;
            else if (wm && strcmp(wm, "B") == 0 && is_small(path, N, -1000.0f, "B", "after kill"))
                seen_b++;
            else
                bad = 1;
            changed += now_a != holds_a;
            holds_a = now_a;
        }
        gan_ckpt_free(k);
        stray += count_tmp(dir, 1);
    }
    note("%d kills: A %d times, B %d; %d kills after a completed rename, %d left a temporary file behind",
         seen_a + seen_b, seen_a, seen_b, changed, stray);
    if (!bad && seen_a + seen_b < KILLS) fail("only %d of %d kills checked", seen_a + seen_b, KILLS);
done:
    gan_ckpt_writer_free(a);
    gan_ckpt_writer_free(b);
    free(path);
}

/* Write w to path, then turn its "format_version":"2" into "1" (the CRCs
 * cover tensor data only, so the file stays valid): a version-1 file. */
static int save_as_v1(gan_ckpt_writer *w, const char *path)
{
    if (!OK(gan_ckpt_writer_save(C, w, path))) return -1;
    FILE *f = fopen(path, "r+b");
    unsigned char le[8];
    if (!f || fread(le, 1, 8, f) != 8) {
        if (f) fclose(f);
        return -1;
    }
    size_t h = 0;
    for (int i = 7; i >= 0; i--) h = h << 8 | le[i];
    char *hdr = malloc(h + 1);
    int rc = -1;
    if (hdr && fread(hdr, 1, h, f) == h) {
        hdr[h] = 0;
        char *v = strstr(hdr, "\"format_version\":\"2\"");
        if (v) {
            v[18] = '1';
            rc = fseek(f, 8, SEEK_SET) || fwrite(hdr, 1, h, f) != h ? -1 : 0;
        }
    }
    free(hdr);
    fclose(f);
    return rc;
}

/* A version-1 checkpoint reads as version 2: gen.sample_noise becomes
 * state.sample_noise, weight_g [O] (and its Adam moments) [O, 1], each
 * batch norm gains num_batches_tracked = 0; the data is unchanged. */
static void test_v1(char *dir)
{
    gan_ckpt_writer *w;
    if (!OK(gan_ckpt_writer_create(C, &w))) return;
    float noise[6] = {1, 2, 3, 4, 5, 6}, g[4] = {.5f, 1, 1.5f, 2}, m[4] = {1e-3f, 0, 0, 0}, rm[3] = {0, 1, 2},
          rv[3] = {1, 1, 1};
    int64_t s23[2] = {2, 3}, s4[1] = {4}, s3[1] = {3};
    OK(gan_ckpt_writer_add(C, w, "gen.sample_noise", GAN_ST_F32, 2, s23, noise));
    OK(gan_ckpt_writer_add(C, w, "disc.fc6.weight_g", GAN_ST_F32, 1, s4, g));
    OK(gan_ckpt_writer_add(C, w, "optim.disc.fc6.weight_g.exp_avg", GAN_ST_F32, 1, s4, m));
    OK(gan_ckpt_writer_add(C, w, "gen.bn1.running_mean", GAN_ST_F32, 1, s3, rm));
    OK(gan_ckpt_writer_add(C, w, "gen.bn1.running_var", GAN_ST_F32, 1, s3, rv));
    char *path = join(dir, "v1.safetensors");
    gan_ckpt *k = NULL;
    if (save_as_v1(w, path)) {
        fail("cannot write the version-1 file");
        goto done;
    }
    if (!OK(gan_ckpt_load(C, path, &k))) goto done;
    const char *ver = gan_ckpt_meta(k, "format_version");
    if (!ver || strcmp(ver, "1")) fail("v1: format_version %s, expected 1 (as in the file)", ver ? ver : "(absent)");
    if (gan_ckpt_find(k, "gen.sample_noise")) fail("v1: gen.sample_noise still under gen.");
    const gan_ckpt_tensor *t = NULL;
    int64_t s41[2] = {4, 1}, s0[1] = {0};
    if (OK(gan_ckpt_expect(C, k, "state.sample_noise", GAN_ST_F32, 2, s23, &t)) && memcmp(t->data, noise, sizeof noise))
        fail("v1: sample noise data differs");
    if (OK(gan_ckpt_expect(C, k, "disc.fc6.weight_g", GAN_ST_F32, 2, s41, &t)) && memcmp(t->data, g, sizeof g))
        fail("v1: weight_g data differs");
    if (OK(gan_ckpt_expect(C, k, "optim.disc.fc6.weight_g.exp_avg", GAN_ST_F32, 2, s41, &t)) &&
        memcmp(t->data, m, sizeof m))
        fail("v1: weight_g moment data differs");
    int64_t zero = 0;
    if (OK(gan_ckpt_expect(C, k, "gen.bn1.num_batches_tracked", GAN_ST_I64, 0, s0, &t)) &&
        memcmp(t->data, &zero, sizeof zero))
        fail("v1: num_batches_tracked is not 0");
    if (gan_ckpt_count(k) != 6) fail("v1: %d tensors, expected 6", gan_ckpt_count(k));
done:
    gan_ckpt_free(k);
    gan_ckpt_writer_free(w);
    free(path);
}

/* A plain safetensors file (no gancl metadata) holding a PyTorch
 * state_dict of a gancl network reads as that network's checkpoint, with
 * or without the prefix; anything else is refused listing expected and
 * found tensors. */
static void test_import(char *dir)
{
    static float buf[2 * 64 * 144 * 4];
    int64_t w1[4] = {2, 1, 3, 3}, b1[1] = {2}, w2[4] = {3, 2, 3, 3}, b2[1] = {3}, f1[2] = {4, 3 * 144}, fb1[1] = {4},
            f2[2] = {10, 4}, fb2[1] = {10}, bad[2] = {10, 5};
    const char *names[8] = {"conv1.weight", "conv1.bias", "conv2.weight", "conv2.bias",
                            "fc1.weight",   "fc1.bias",   "fc2.weight",   "fc2.bias"};
    const int64_t *shapes[8] = {w1, b1, w2, b2, f1, fb1, f2, fb2};
    const int nd[8] = {4, 1, 4, 1, 2, 1, 2, 1};
    for (int variant = 0; variant < 3; variant++) { /* bare names, cls. prefix, a wrong shape */
        gan_ckpt_writer *w;
        if (!OK(gan_ckpt_writer_create(C, &w))) return;
        for (int i = 0; i < 8; i++) {
            char nm[64];
            snprintf(nm, sizeof nm, "%s%s", variant ? "cls." : "", names[i]);
            OK(gan_ckpt_writer_add(C, w, nm, GAN_ST_F32, nd[i], variant == 2 && i == 6 ? bad : shapes[i], buf));
        }
        size_t len = 0;
        char *path = join(dir, "torch.safetensors");
        unsigned char *file = NULL;
        gan_ckpt *k = NULL;
        /* the writer adds gancl's metadata: strip it to a plain file */
        if (OK(gan_ckpt_writer_save(C, w, path)) && (file = read_file(path, &len))) {
            size_t h = 0;
            for (int i = 7; i >= 0; i--) h = h << 8 | file[i];
            char *hdr = (char *)file + 8, *m = strstr(hdr, "\"__metadata__\"");
            char *end = m ? strstr(m, "\"}") : NULL; /* the crc32 JSON string is the last value */
            while (end && end[2] != ',' && end[2] != '}') end = strstr(end + 1, "\"}");
            if (m && end && end[2] == ',') {
                memset(m, ' ', (size_t)(end + 3 - m));
                write_file(path, file, len);
                gan_status st = gan_ckpt_load(C, path, &k);
                if (variant < 2) {
                    if (!OK(st)) fail("import variant %d refused", variant);
                    else {
                        const char *md = gan_ckpt_meta(k, "model"), *hid = gan_ckpt_meta(k, "hidden");
                        if (!gan_ckpt_imported(k) || !md || strcmp(md, "cnn-classifier") || !hid || strcmp(hid, "4") ||
                            !gan_ckpt_find(k, "cls.fc2.weight"))
                            fail("import variant %d: not read as a classifier of hidden width 4", variant);
                    }
                } else {
                    const char *msg = gan_ctx_error(C);
                    if (st != GAN_ERR_MISMATCH || !strstr(msg, "expected 8 tensors") ||
                        !strstr(msg, "cls.fc2.weight F32 [10, 4]") || !strstr(msg, "found 8") ||
                        !strstr(msg, "cls.fc2.weight F32 [10, 5]"))
                        fail("import with a wrong shape: got %s \"%s\", expected a mismatch listing expected and "
                             "found tensors", gan_status_name(st), msg);
                    gan_ctx_clear_error(C);
                }
            } else {
                fail("cannot strip the metadata");
            }
        }
        gan_ckpt_free(k);
        free(file);
        free(path);
        gan_ckpt_writer_free(w);
    }
}

static const struct {
    const char *name;
    void (*fn)(char *dir);
} tests[] = {
    {"v1", test_v1},
    {"import", test_import},
    {"roundtrip", test_roundtrip},
    {"writer_args", test_writer_args},
    {"expect_and_config", test_expect_and_config},
    {"python_reader", test_python},
    {"malformed", test_malformed},
    {"corpus", test_corpus},
    {"file_errors", test_file_errors},
    {"enospc", test_enospc},
    {"kill9", test_kill},
};

int main(int argc, char **argv)
{
    const char *write_to = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--corpus") && i + 1 < argc)
            g_corpus = argv[++i];
        else if (!strcmp(argv[i], "--checker") && i + 1 < argc)
            g_checker = argv[++i];
        else if (!strcmp(argv[i], "--write-corpus") && i + 1 < argc)
            write_to = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--corpus DIR] [--checker SCRIPT] [--write-corpus DIR]\n", argv[0]);
            return 2;
        }
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (gan_ctx_create(&C, "cpu") != GAN_OK) {
        printf("Bail out! reference context: %s\n", gan_ctx_error(C));
        return 1;
    }
    if (write_to) {
        int rc = write_corpus(write_to);
        gan_ctx_free(C);
        return rc;
    }
    int n = 0, failed = 0;
    char *dir = tmp_dir();
    if (!dir) return 1;
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        failures = 0;
        skip_why[0] = 0;
        tests[i].fn(dir);
        if (strcmp(gan_ctx_error(C), "no error") != 0) {
            fail("error left in the context: %s", gan_ctx_error(C));
            gan_ctx_clear_error(C);
        }
        n++;
        if (failures) failed++;
        printf("%s %d - %s%s%s\n", failures ? "not ok" : "ok", n, tests[i].name,
               skip_why[0] && !failures ? " # SKIP " : "", failures ? "" : skip_why);
    }
    printf("1..%d\n", n);
    free(g_rt_path);
    rm_dir(dir);
    gan_ctx_free(C);
    return failed ? 1 : 0;
}
