/* The one OpenCL program, built from the cl/ sources at context creation
 * (ocl_build_program, called by ocl_ctx_init in src/ocl/runtime.c), with
 * its binary cache; and the cache files (directory, names, atomic writes)
 * that the program cache, the tune file and the evaluator's cache share. */
#include "ocl.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- cache files --------------------------------------------------------- */

void ocl_sanitize(const char *in, char *out, size_t cap)
{
    size_t n = 0;
    for (; *in && n + 1 < cap; in++) {
        unsigned char ch = (unsigned char)*in;
        out[n++] = (char)(isalnum(ch) || ch == '.' || ch == '-' ? ch : '_');
    }
    out[n] = 0;
}

gan_status ocl_cache_dir(gan_ctx *c, const char *sub, int mkdirs, char *buf, size_t cap)
{
    const char *env = getenv("GANCL_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int n;
    if (env && *env)
        n = snprintf(buf, cap, "%s/%s", env, sub);
    else if (xdg && *xdg)
        n = snprintf(buf, cap, "%s/gancl/%s", xdg, sub);
    else if (home && *home)
        n = snprintf(buf, cap, "%s/.cache/gancl/%s", home, sub);
    else
        return GAN_FAIL(c, GAN_ERR_IO, "no cache directory: set GANCL_CACHE_DIR, XDG_CACHE_HOME or HOME");
    if (n < 0 || (size_t)n >= cap) return GAN_FAIL(c, GAN_ERR_IO, "cache directory path too long");
    if (!mkdirs) return GAN_OK;
    for (char *p = buf + 1;; p++) {
        if (*p != '/' && *p) continue;
        char saved = *p;
        *p = 0;
        int bad = mkdir(buf, 0777) != 0 && errno != EEXIST;
        int err = errno;
        *p = saved;
        if (bad) {
            return GAN_FAIL(c, GAN_ERR_IO, "cannot create cache directory %.*s: %s", (int)(p - buf), buf,
                            strerror(err));
        }
        if (!saved) break;
    }
    return GAN_OK;
}

gan_status ocl_write_atomic(gan_ctx *c, const char *path, const void *data, size_t len)
{
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return GAN_FAIL(c, GAN_ERR_IO, "cannot create %s: %s", tmp, strerror(errno));
    const char *p = data;
    size_t left = len;
    while (left) {
        ssize_t w = write(fd, p, left);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            int err = errno;
            close(fd);
            unlink(tmp);
            return GAN_FAIL(c, GAN_ERR_IO, "writing %s: %s", tmp, strerror(err));
        }
        p += w;
        left -= (size_t)w;
    }
    if (fsync(fd) != 0 || close(fd) != 0) {
        int err = errno;
        unlink(tmp);
        return GAN_FAIL(c, GAN_ERR_IO, "writing %s: %s", tmp, strerror(err));
    }
    if (rename(tmp, path) != 0) {
        int err = errno;
        unlink(tmp);
        return GAN_FAIL(c, GAN_ERR_IO, "renaming %s to %s: %s", tmp, path, strerror(err));
    }
    return GAN_OK;
}

/* ---- program ------------------------------------------------------------ */

static gan_status read_file(gan_ctx *c, const char *path, char **out, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f) return GAN_FAIL(c, GAN_ERR_IO, "cannot open kernel source %s: %s", path, strerror(errno));
    char *buf = NULL;
    size_t cap = 0, n = 0;
    for (;;) {
        if (n + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 65536;
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                fclose(f);
                return GAN_FAIL(c, GAN_ERR_NOMEM, "reading %s", path);
            }
            buf = nb;
        }
        size_t r = fread(buf + n, 1, cap - n - 1, f);
        n += r;
        if (r == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return GAN_FAIL(c, GAN_ERR_IO, "error reading kernel source %s", path);
    }
    buf[n] = 0;
    *out = buf;
    *len = n;
    return GAN_OK;
}

/* The program text: every cl/ source in order, each preceded by a #line
 * directive so compiler messages name the file. From the embedded copies,
 * or from $GANCL_KERNEL_DIR when set. */
static gan_status program_text(gan_ctx *c, char **out, const char **origin)
{
    gan_status st = GAN_OK;
    const char *dir = getenv("GANCL_KERNEL_DIR");
    size_t cap = 1, len = 0;
    char *text = NULL;
    char **texts = calloc((size_t)gan_cl_nsources, sizeof *texts);
    size_t *lens = calloc((size_t)gan_cl_nsources, sizeof *lens);
    if (!texts || !lens) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "kernel sources");
        goto cleanup;
    }
    *origin = dir && *dir ? dir : "embedded";
    for (int i = 0; i < gan_cl_nsources; i++) {
        if (dir && *dir) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, gan_cl_sources[i].name);
            TRY(read_file(c, path, &texts[i], &lens[i]));
        } else {
            lens[i] = gan_cl_sources[i].len;
        }
        cap += lens[i] + 64 + strlen(gan_cl_sources[i].name);
    }
    text = malloc(cap);
    if (!text) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "kernel program text");
        goto cleanup;
    }
    for (int i = 0; i < gan_cl_nsources; i++) {
        len += (size_t)snprintf(text + len, cap - len, "#line 1 \"%s\"\n", gan_cl_sources[i].name);
        memcpy(text + len, texts[i] ? texts[i] : gan_cl_sources[i].text, lens[i]);
        len += lens[i];
        text[len++] = '\n';
    }
    text[len] = 0;
cleanup:
    if (texts)
        for (int i = 0; i < gan_cl_nsources; i++) free(texts[i]);
    free(texts);
    free(lens);
    if (st) {
        free(text);
        text = NULL;
    }
    *out = text;
    return st;
}

/* The source files a build log mentions, e.g. "conv2d.cl, loss.cl". */
static void files_in_log(const char *log, char *out, size_t cap)
{
    size_t len = 0;
    out[0] = 0;
    for (int i = 0; i < gan_cl_nsources; i++) {
        char pat[128];
        snprintf(pat, sizeof pat, "%s:", gan_cl_sources[i].name);
        if (strstr(log, pat) && len < cap)
            len += (size_t)snprintf(out + len, cap - len, "%s%s", len ? ", " : "", gan_cl_sources[i].name);
    }
    if (!len) snprintf(out, cap, "the cl/ program");
}

/* ---- program binary cache ------------------------------------------------
 * Some drivers keep no compiled programs between runs; for those the build
 * at every start is the cost of a tiny run. After a build from source the
 * device binary (CL_PROGRAM_BINARIES) goes to <cache>/programs/<key>.bin,
 * the key a hash of the program text, build options, platform, device and
 * driver version, which the file repeats in full next to a checksum of the
 * binary. A later start with the same key builds from that binary instead;
 * any mismatch, damage or refusal by the driver means a build from source
 * (which rewrites the entry). Entries are written atomically, so concurrent
 * starts never see half a file.
 * Off by default on platforms that keep their own cache: PoCL (measured:
 * asking it for the binary compiles every kernel up front, 18 s instead of
 * 2 s on the first start, and nothing is gained once its own cache is
 * warm) and NVIDIA's. GANCL_PROGRAM_CACHE=1 or 0 forces it on or off. */

#define PCACHE_MAGIC "GANCLPB1"

static uint64_t fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* The key's identity fields, '\n'-separated: what must match exactly. */
static gan_status pcache_ident(gan_ctx *c, const char *options, char *out, size_t cap)
{
    ocl_state *o = ocl_st(c);
    gan_status st = GAN_OK;
    char plat[256] = "", dev[256] = "", dver[256] = "", drv[256] = "";
    CL_CHECK(c, clGetPlatformInfo, (o->platform, CL_PLATFORM_VERSION, sizeof plat - 1, plat, NULL));
    CL_CHECK(c, clGetDeviceInfo, (o->device, CL_DEVICE_NAME, sizeof dev - 1, dev, NULL));
    CL_CHECK(c, clGetDeviceInfo, (o->device, CL_DEVICE_VERSION, sizeof dver - 1, dver, NULL));
    CL_CHECK(c, clGetDeviceInfo, (o->device, CL_DRIVER_VERSION, sizeof drv - 1, drv, NULL));
    snprintf(out, cap, "%s\n%s\n%s\n%s\n%s", options, plat, dev, dver, drv);
cleanup:
    return st;
}

static gan_status pcache_path(gan_ctx *c, uint64_t src_hash, const char *ident, int mkdirs, char *out, size_t cap)
{
    char dir[4096];
    gan_status st = ocl_cache_dir(c, "programs", mkdirs, dir, sizeof dir);
    if (st) return st;
    uint64_t k = fnv1a(src_hash, ident, strlen(ident));
    snprintf(out, cap, "%s/%016llx.bin", dir, (unsigned long long)k);
    return GAN_OK;
}

/* The program from the cache entry, built; NULL when there is none usable. */
static cl_program pcache_load(gan_ctx *c, const char *path, uint64_t src_hash, const char *ident,
                              const char *options)
{
    ocl_state *o = ocl_st(c);
    cl_program prog = NULL;
    unsigned char *buf = NULL;
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
    size_t ilen = strlen(ident), head = 8 + 8 + 4 + ilen + 8 + 8;
    if (size < (long)head || fseek(f, 0, SEEK_SET) != 0 || !(buf = malloc((size_t)size)) ||
        fread(buf, 1, (size_t)size, f) != (size_t)size)
        goto done;
    uint64_t h, blen, bsum;
    uint32_t il;
    memcpy(&h, buf + 8, 8);
    memcpy(&il, buf + 16, 4);
    if (memcmp(buf, PCACHE_MAGIC, 8) || h != src_hash || il != ilen || memcmp(buf + 20, ident, ilen)) goto done;
    memcpy(&blen, buf + 20 + ilen, 8);
    memcpy(&bsum, buf + 28 + ilen, 8);
    const unsigned char *bin = buf + head;
    if (blen != (uint64_t)size - head || bsum != fnv1a(14695981039346656037ull, bin, (size_t)blen)) goto done;
    size_t len = (size_t)blen;
    cl_int err, bst = CL_SUCCESS;
    prog = clCreateProgramWithBinary(o->context, 1, &o->device, &len, &bin, &bst, &err);
    if (err != CL_SUCCESS || bst != CL_SUCCESS) {
        if (prog) clReleaseProgram(prog);
        prog = NULL;
        goto done;
    }
    if (clBuildProgram(prog, 1, &o->device, options, NULL, NULL) != CL_SUCCESS) {
        clReleaseProgram(prog);
        prog = NULL;
    }
done:
    fclose(f);
    free(buf);
    return prog;
}

/* Store the built program's binary; 0 on success. Failures only mean no
 * cache entry, so they are not errors of the context. */
static int pcache_store(gan_ctx *c, const char *path, uint64_t src_hash, const char *ident)
{
    size_t blen = 0;
    if (clGetProgramInfo(ocl_st(c)->program, CL_PROGRAM_BINARY_SIZES, sizeof blen, &blen, NULL) != CL_SUCCESS ||
        blen == 0)
        return -1;
    size_t ilen = strlen(ident), head = 8 + 8 + 4 + ilen + 8 + 8;
    unsigned char *buf = malloc(head + blen);
    if (!buf) return -1;
    unsigned char *bin = buf + head;
    if (clGetProgramInfo(ocl_st(c)->program, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL) != CL_SUCCESS) {
        free(buf);
        return -1;
    }
    uint64_t b64 = blen, bsum = fnv1a(14695981039346656037ull, bin, blen);
    uint32_t il = (uint32_t)ilen;
    memcpy(buf, PCACHE_MAGIC, 8);
    memcpy(buf + 8, &src_hash, 8);
    memcpy(buf + 16, &il, 4);
    memcpy(buf + 20, ident, ilen);
    memcpy(buf + 20 + ilen, &b64, 8);
    memcpy(buf + 28 + ilen, &bsum, 8);
    char saved[sizeof c->err];
    memcpy(saved, c->err, sizeof saved);
    int bad = ocl_write_atomic(c, path, buf, head + blen) != GAN_OK;
    memcpy(c->err, saved, sizeof saved);
    free(buf);
    return bad ? -1 : 0;
}

int ocl_program_cache_default(gan_ctx *c)
{
    char plat[256] = "";
    if (clGetPlatformInfo(ocl_st(c)->platform, CL_PLATFORM_NAME, sizeof plat - 1, plat, NULL) != CL_SUCCESS) return 0;
    return !strstr(plat, "Portable Computing Language") && !strstr(plat, "NVIDIA CUDA");
}

/* The program's build log (malloc'd; NULL when there is none or no memory). */
static char *build_log(gan_ctx *c)
{
    ocl_state *o = ocl_st(c);
    size_t n = 0;
    if (clGetProgramBuildInfo(o->program, o->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &n) != CL_SUCCESS)
        return NULL;
    char *log = calloc(n + 1, 1);
    if (log && clGetProgramBuildInfo(o->program, o->device, CL_PROGRAM_BUILD_LOG, n, log, NULL) != CL_SUCCESS)
        log[0] = 0;
    /* drivers end it with newlines and blanks, or give one for an empty log */
    for (size_t len = log ? strlen(log) : 0; len && isspace((unsigned char)log[len - 1]); len--) log[len - 1] = 0;
    return log;
}

gan_status ocl_build_program(gan_ctx *c)
{
    ocl_state *o = ocl_st(c);
    gan_status st = GAN_OK;
    char *text = NULL, *log = NULL;
    const char *origin = "embedded";
    cl_int err;
    char options[512];
    const char *fast = getenv("GANCL_FAST_MATH"), *verbose = getenv("GANCL_VERBOSE");
    /* -w: a successful build prints nothing (PoCL's compiler writes "N
     * warnings generated." to stderr by itself); GANCL_VERBOSE=1 keeps the
     * warnings, in the build log (gan_ctx_build_log) */
    snprintf(options, sizeof options, "-cl-std=CL1.2%s%s", verbose && *verbose == '1' ? "" : " -w",
             fast && *fast == '1' ? " -cl-fast-relaxed-math" : "");
    TRY(program_text(c, &text, &origin));
    const char *pc = getenv("GANCL_PROGRAM_CACHE");
    int use_cache = pc && *pc ? strcmp(pc, "0") != 0 : ocl_program_cache_default(c);
    char ident[1600], cpath[4200] = "";
    uint64_t src_hash = fnv1a(14695981039346656037ull, text, strlen(text));
    o->program_cache = 0;
    if (use_cache) {
        /* no cache directory (no HOME): build as if the cache were off */
        char saved[sizeof c->err];
        memcpy(saved, c->err, sizeof saved);
        if (pcache_ident(c, options, ident, sizeof ident) ||
            pcache_path(c, src_hash, ident, 0, cpath, sizeof cpath))
            use_cache = 0;
        memcpy(c->err, saved, sizeof saved);
    }
    if (use_cache && (o->program = pcache_load(c, cpath, src_hash, ident, options))) {
        o->program_cache = 2;
        goto kernels;
    }
    const char *srcs[1] = {text};
    o->program = clCreateProgramWithSource(o->context, 1, srcs, NULL, &err);
    if (err != CL_SUCCESS) {
        st = GAN_FAIL(c, GAN_ERR_OPENCL, "clCreateProgramWithSource: %s (%d)", ocl_error_name(err), (int)err);
        goto cleanup;
    }
    err = clBuildProgram(o->program, 1, &o->device, options, NULL, NULL);
    log = build_log(c);
    if (err != CL_SUCCESS) {
        char files[512];
        files_in_log(log ? log : "", files, sizeof files);
        st = GAN_FAIL(c, err == CL_BUILD_PROGRAM_FAILURE ? GAN_ERR_BUILD : GAN_ERR_OPENCL,
                      "clBuildProgram: %s (%d) in %s (sources: %s; options: %s); build log:\n%s",
                      ocl_error_name(err), (int)err, files, origin, options, log ? log : "(unavailable)");
        goto cleanup;
    }
    if (use_cache) {
        char saved[sizeof c->err];
        memcpy(saved, c->err, sizeof saved);
        if (!pcache_path(c, src_hash, ident, 1, cpath, sizeof cpath) && !pcache_store(c, cpath, src_hash, ident))
            o->program_cache = 1;
        memcpy(c->err, saved, sizeof saved);
    }
kernels:;
    if (!log) log = build_log(c);
    o->build_log = log;
    log = NULL;
    cl_uint nk = 0;
    CL_CHECK(c, clCreateKernelsInProgram, (o->program, 0, NULL, &nk));
    cl_kernel *ks = calloc(nk ? nk : 1, sizeof *ks);
    o->kernels = calloc(nk ? nk : 1, sizeof *o->kernels);
    if (!ks || !o->kernels) {
        free(ks);
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "kernel table");
        goto cleanup;
    }
    err = clCreateKernelsInProgram(o->program, nk, ks, NULL);
    if (err == CL_SUCCESS) {
        for (cl_uint i = 0; i < nk; i++) {
            ocl_kernel_entry *e = &o->kernels[o->nkernels++];
            e->k = ks[i];
            err = clGetKernelInfo(ks[i], CL_KERNEL_FUNCTION_NAME, sizeof e->name - 1, e->name, NULL);
            if (err != CL_SUCCESS) break;
        }
    }
    free(ks);
    if (err != CL_SUCCESS) {
        st = GAN_FAIL(c, GAN_ERR_OPENCL, "clCreateKernelsInProgram: %s (%d)", ocl_error_name(err), (int)err);
        goto cleanup;
    }
cleanup:
    free(text);
    free(log);
    return st;
}
