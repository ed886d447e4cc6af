/* The MNIST IDX reader: one parser fed either from memory or from a file
 * through zlib (which reads gzip and raw files alike), plus locating the
 * MNIST directory. Every size in a header is checked before anything is
 * allocated, and the data buffer only grows as bytes actually arrive, so a
 * lying header cannot make us allocate gigabytes. This file needs nothing of
 * the library but gan_fail (the fuzz target links it alone).
 */
#include "gancl/data.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define IDX_PIXELS ((size_t)GAN_MNIST_H * GAN_MNIST_W)

/* Where bytes come from: memory (gz == NULL) or an open gzip/raw file. */
typedef struct idx_src {
    const char *name;
    gzFile gz;
    const uint8_t *mem;
    size_t len, pos;
    int gz_cut; /* zlib saw the gzip stream end before its trailer */
} idx_src;

static gan_status src_read(gan_ctx *c, idx_src *s, void *buf, size_t n, size_t *got)
{
    *got = 0;
    if (!s->gz) {
        size_t k = s->len - s->pos < n ? s->len - s->pos : n;
        if (k) memcpy(buf, s->mem + s->pos, k);
        s->pos += k;
        *got = k;
        return GAN_OK;
    }
    while (*got < n) {
        size_t left = n - *got;
        unsigned chunk = left > (1u << 30) ? 1u << 30 : (unsigned)left;
        errno = 0;
        int r = gzread(s->gz, (uint8_t *)buf + *got, chunk);
        if (r < 0) {
            int zerr = Z_OK;
            const char *msg = gzerror(s->gz, &zerr);
            if (zerr == Z_ERRNO)
                return GAN_FAIL(c, GAN_ERR_IO, "%s: read failed: %s", s->name, strerror(errno));
            return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: corrupt gzip data: %s", s->name, msg);
        }
        if (r == 0) {
            int zerr = Z_OK;
            gzerror(s->gz, &zerr);
            if (zerr == Z_BUF_ERROR) s->gz_cut = 1;
            break;
        }
        *got += (size_t)r;
    }
    return GAN_OK;
}

static uint32_t be32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static const char *kind_noun(gan_idx_kind kind) { return kind == GAN_IDX_IMAGES ? "images" : "labels"; }

static gan_status check_magic(gan_ctx *c, const char *name, uint32_t magic, gan_idx_kind kind)
{
    uint32_t want = (uint32_t)kind;
    if (magic == want) return GAN_OK;
    const char *noun = kind_noun(kind);
    int want_dims = kind == GAN_IDX_IMAGES ? 3 : 1;
    if ((magic & 0xffffff00u) == 0x00000800u) {
        uint32_t other = kind == GAN_IDX_IMAGES ? GAN_IDX_LABELS : GAN_IDX_IMAGES;
        return GAN_FAIL(c, GAN_ERR_FORMAT,
                        "%s: magic 0x%08x says %u dimensions, expected 0x%08x (%u) with %d for %s%s", name,
                        magic, magic & 0xffu, want, want, want_dims, noun,
                        magic == other ? (kind == GAN_IDX_IMAGES ? " (this is a label file)"
                                                                 : " (this is an image file)")
                                       : "");
    }
    if ((magic & 0xffff0000u) == 0 && (magic & 0xff00u) != 0x0800u)
        return GAN_FAIL(c, GAN_ERR_FORMAT,
                        "%s: magic 0x%08x has data type 0x%02x, expected 0x%08x (%u): unsigned bytes for %s",
                        name, magic, (magic >> 8) & 0xffu, want, want, noun);
    if (magic >> 16 == 0x1f8bu)
        return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: gzip data where raw IDX was expected (magic 0x%08x)", name,
                        magic);
    return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: magic 0x%08x, expected 0x%08x (%u) for %s", name, magic, want,
                    want, noun);
}

/* The whole parse, shared by memory and files. */
static gan_status parse(gan_ctx *c, idx_src *s, gan_idx_kind kind, uint8_t **data, size_t *count)
{
    gan_status st = GAN_OK;
    uint8_t *buf = NULL;
    const char *name = s->name;
    const char *noun = kind_noun(kind);
    uint8_t hdr[16];
    size_t got = 0;
    size_t hdr_len = kind == GAN_IDX_IMAGES ? 16 : 8;

    TRY(src_read(c, s, hdr, 4, &got));
    if (got == 0) {
        st = GAN_FAIL(c, GAN_ERR_FORMAT, "%s: empty file, expected IDX %s", name, noun);
        goto cleanup;
    }
    if (got < 4) {
        st = GAN_FAIL(c, GAN_ERR_FORMAT, "%s: truncated header: %zu of %zu bytes%s", name, got, hdr_len,
                      s->gz_cut ? " (gzip stream cut short)" : "");
        goto cleanup;
    }
    TRY(check_magic(c, name, be32(hdr), kind));
    TRY(src_read(c, s, hdr + 4, hdr_len - 4, &got));
    if (got < hdr_len - 4) {
        st = GAN_FAIL(c, GAN_ERR_FORMAT, "%s: truncated header: %zu of %zu bytes%s", name, got + 4, hdr_len,
                      s->gz_cut ? " (gzip stream cut short)" : "");
        goto cleanup;
    }
    uint32_t n = be32(hdr + 4);
    if (n == 0 || n > GAN_IDX_MAX_ITEMS) {
        st = GAN_FAIL(c, GAN_ERR_FORMAT, "%s: header says %u %s, expected 1..%u", name, n, noun,
                      GAN_IDX_MAX_ITEMS);
        goto cleanup;
    }
    size_t item = 1;
    if (kind == GAN_IDX_IMAGES) {
        uint32_t rows = be32(hdr + 8), cols = be32(hdr + 12);
        if (rows != GAN_MNIST_H || cols != GAN_MNIST_W) {
            st = GAN_FAIL(c, GAN_ERR_FORMAT, "%s: images are %ux%u, expected %dx%d", name, rows, cols,
                          GAN_MNIST_H, GAN_MNIST_W);
            goto cleanup;
        }
        item = IDX_PIXELS;
    }
    /* n <= 1e7 and item = 784: fits in 64 bits; checked for 32-bit size_t. */
    uint64_t want64 = (uint64_t)n * item;
    if (want64 > SIZE_MAX) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "%s: %u %s do not fit in memory here", name, n, noun);
        goto cleanup;
    }
    size_t want = (size_t)want64, have = 0, cap = 0;
    while (have < want) {
        size_t ncap = cap ? (cap > want / 2 ? want : cap * 2) : (want < ((size_t)1 << 20) ? want : (size_t)1 << 20);
        uint8_t *nb = realloc(buf, ncap);
        if (!nb) {
            st = GAN_FAIL(c, GAN_ERR_NOMEM, "%s: %zu bytes for %u %s", name, ncap, n, noun);
            goto cleanup;
        }
        buf = nb;
        cap = ncap;
        TRY(src_read(c, s, buf + have, cap - have, &got));
        have += got;
        if (have < cap) break;
    }
    if (have < want) {
        st = GAN_FAIL(c, GAN_ERR_FORMAT,
                      "%s: truncated: header says %u %s, data ends after %zu (%zu of %zu data bytes)%s", name, n,
                      noun, have / item, have, want, s->gz_cut ? "; gzip stream cut short" : "");
        goto cleanup;
    }
    uint8_t extra;
    TRY(src_read(c, s, &extra, 1, &got));
    if (got) {
        st = GAN_FAIL(c, GAN_ERR_FORMAT,
                      "%s: over-long: header says %u %s (%zu data bytes) but more bytes follow", name, n, noun,
                      want);
        goto cleanup;
    }
    if (s->gz_cut) {
        st = GAN_FAIL(c, GAN_ERR_FORMAT, "%s: gzip stream cut short after the data (file truncated)", name);
        goto cleanup;
    }
    if (kind == GAN_IDX_LABELS) {
        for (size_t i = 0; i < want; i++) {
            if (buf[i] >= GAN_MNIST_CLASSES) {
                st = GAN_FAIL(c, GAN_ERR_FORMAT, "%s: label %u at item %zu, expected 0..%d", name, buf[i], i,
                              GAN_MNIST_CLASSES - 1);
                goto cleanup;
            }
        }
    }
    *data = buf;
    *count = n;
    return GAN_OK;
cleanup:
    free(buf);
    return st;
}

gan_status gan_idx_parse(gan_ctx *c, const char *name, const void *mem, size_t len, gan_idx_kind kind,
                         uint8_t **data, size_t *count)
{
    if (!data || !count || (!mem && len))
        return GAN_FAIL(c, GAN_ERR_ARG, "gan_idx_parse: NULL %s", !data ? "data" : !count ? "count" : "buffer");
    if (kind != GAN_IDX_IMAGES && kind != GAN_IDX_LABELS)
        return GAN_FAIL(c, GAN_ERR_ARG, "gan_idx_parse: kind %d, expected GAN_IDX_IMAGES or GAN_IDX_LABELS",
                        (int)kind);
    *data = NULL;
    *count = 0;
    idx_src s = {.name = name ? name : "(memory)", .mem = mem, .len = len};
    return parse(c, &s, kind, data, count);
}

gan_status gan_idx_load(gan_ctx *c, const char *path, gan_idx_kind kind, uint8_t **data, size_t *count)
{
    if (!path || !data || !count)
        return GAN_FAIL(c, GAN_ERR_ARG, "gan_idx_load: NULL %s", !path ? "path" : !data ? "data" : "count");
    if (kind != GAN_IDX_IMAGES && kind != GAN_IDX_LABELS)
        return GAN_FAIL(c, GAN_ERR_ARG, "%s: kind %d, expected GAN_IDX_IMAGES or GAN_IDX_LABELS", path,
                        (int)kind);
    *data = NULL;
    *count = 0;
    int fd = open(path, O_RDONLY);
    if (fd < 0) return GAN_FAIL(c, GAN_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return GAN_FAIL(c, GAN_ERR_IO, "%s: cannot stat: %s", path, strerror(e));
    }
    if (S_ISDIR(sb.st_mode)) {
        close(fd);
        return GAN_FAIL(c, GAN_ERR_IO, "%s: is a directory, expected an IDX %s file", path, kind_noun(kind));
    }
    gzFile gz = gzdopen(fd, "rb");
    if (!gz) {
        close(fd);
        return GAN_FAIL(c, GAN_ERR_NOMEM, "%s: gzdopen failed", path);
    }
    gzbuffer(gz, 1u << 17);
    idx_src s = {.name = path, .gz = gz};
    gan_status st = parse(c, &s, kind, data, count);
    int zr = gzclose_r(gz);
    if (st == GAN_OK && zr != Z_OK) {
        free(*data);
        *data = NULL;
        *count = 0;
        if (zr == Z_BUF_ERROR)
            return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: gzip stream cut short (file truncated)", path);
        return GAN_FAIL(c, GAN_ERR_IO, "%s: closing failed (zlib error %d)", path, zr);
    }
    return st;
}

/* ---- datasets from IDX pairs -------------------------------------------- */

static gan_status pair(gan_ctx *c, const char *iname, uint8_t *img, size_t ni, const char *lname, uint8_t *lab,
                       size_t nl, gan_dataset *out)
{
    if (ni != nl) {
        free(img);
        free(lab);
        return GAN_FAIL(c, GAN_ERR_FORMAT, "%s has %zu images but %s has %zu labels: counts must match", iname,
                        ni, lname, nl);
    }
    out->n = ni;
    out->h = GAN_MNIST_H;
    out->w = GAN_MNIST_W;
    out->images = img;
    out->labels = lab;
    return GAN_OK;
}

gan_status gan_dataset_parse_idx(gan_ctx *c, const char *images_name, const void *images, size_t images_len,
                                 const char *labels_name, const void *labels, size_t labels_len,
                                 gan_dataset *out)
{
    if (!out) return GAN_FAIL(c, GAN_ERR_ARG, "gan_dataset_parse_idx: NULL out");
    memset(out, 0, sizeof *out);
    images_name = images_name ? images_name : "(images in memory)";
    labels_name = labels_name ? labels_name : "(labels in memory)";
    uint8_t *img = NULL, *lab = NULL;
    size_t ni = 0, nl = 0;
    gan_status st = gan_idx_parse(c, images_name, images, images_len, GAN_IDX_IMAGES, &img, &ni);
    if (st) return st;
    st = gan_idx_parse(c, labels_name, labels, labels_len, GAN_IDX_LABELS, &lab, &nl);
    if (st) {
        free(img);
        return st;
    }
    return pair(c, images_name, img, ni, labels_name, lab, nl, out);
}

gan_status gan_dataset_load_idx(gan_ctx *c, const char *images_path, const char *labels_path,
                                gan_dataset *out)
{
    if (!out || !images_path || !labels_path)
        return GAN_FAIL(c, GAN_ERR_ARG, "gan_dataset_load_idx: NULL argument");
    memset(out, 0, sizeof *out);
    uint8_t *img = NULL, *lab = NULL;
    size_t ni = 0, nl = 0;
    gan_status st = gan_idx_load(c, images_path, GAN_IDX_IMAGES, &img, &ni);
    if (st) return st;
    st = gan_idx_load(c, labels_path, GAN_IDX_LABELS, &lab, &nl);
    if (st) {
        free(img);
        return st;
    }
    return pair(c, images_path, img, ni, labels_path, lab, nl, out);
}

/* ---- locating MNIST ------------------------------------------------------ */

static const char *split_base(gan_mnist_split split, int labels)
{
    static const char *const names[2][2] = {{"train-images-idx3-ubyte", "train-labels-idx1-ubyte"},
                                      {"t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"}};
    return names[split == GAN_MNIST_TEST][labels != 0];
}

static int is_file(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISREG(sb.st_mode);
}

/* The existing file "<dir>/<base>.gz" or "<dir>/<base>" into out; 0 if neither. */
static int find_file(const char *dir, const char *base, char *out, size_t cap)
{
    int k = snprintf(out, cap, "%s/%s.gz", dir, base);
    if (k > 0 && (size_t)k < cap && is_file(out)) return 1;
    k = snprintf(out, cap, "%s/%s", dir, base);
    return k > 0 && (size_t)k < cap && is_file(out);
}

/* Why dir does not hold the split (appended to why), or 1 when it does. */
static int dir_holds(const char *dir, gan_mnist_split split, char *why, size_t cap)
{
    struct stat sb;
    if (stat(dir, &sb) != 0) {
        snprintf(why, cap, "%s", strerror(errno));
        return 0;
    }
    if (!S_ISDIR(sb.st_mode)) {
        snprintf(why, cap, "not a directory");
        return 0;
    }
    char path[4096];
    int ok_img = find_file(dir, split_base(split, 0), path, sizeof path);
    int ok_lab = find_file(dir, split_base(split, 1), path, sizeof path);
    if (ok_img && ok_lab) return 1;
    snprintf(why, cap, "no %s[.gz]%s%s%s", !ok_img ? split_base(split, 0) : split_base(split, 1),
             !ok_img && !ok_lab ? " or " : "", !ok_img && !ok_lab ? split_base(split, 1) : "",
             !ok_img && !ok_lab ? "[.gz]" : "");
    return 0;
}

gan_status gan_mnist_find(gan_ctx *c, const char *dir, gan_mnist_split split, char *out, size_t cap)
{
    if (!out || cap == 0) return GAN_FAIL(c, GAN_ERR_ARG, "gan_mnist_find: no output buffer");
    if (split != GAN_MNIST_TRAIN && split != GAN_MNIST_TEST)
        return GAN_FAIL(c, GAN_ERR_ARG, "gan_mnist_find: split %d, expected GAN_MNIST_TRAIN or GAN_MNIST_TEST",
                        (int)split);
    out[0] = 0;
    const char *places[3];
    const char *labels[3];
    int np = 0;
    if (dir && *dir) {
        places[np] = dir;
        labels[np++] = "--data";
    } else {
        const char *env = getenv("GANCL_DATA");
        if (env && *env) {
            places[np] = env;
            labels[np++] = "$GANCL_DATA";
        }
        places[np] = "data/mnist";
        labels[np++] = "default";
        places[np] = "../shared/data/mnist";
        labels[np++] = "default";
    }
    char looked[3][640];
    for (int i = 0; i < np; i++) {
        char why[512];
        if (dir_holds(places[i], split, why, sizeof why)) {
            if (strlen(places[i]) >= cap)
                return GAN_FAIL(c, GAN_ERR_ARG, "gan_mnist_find: directory name longer than %zu bytes", cap);
            memcpy(out, places[i], strlen(places[i]) + 1);
            return GAN_OK;
        }
        snprintf(looked[i], sizeof looked[i], "%s (%s): %s", places[i], labels[i], why);
    }
    char cwd[1024];
    if (!getcwd(cwd, sizeof cwd)) snprintf(cwd, sizeof cwd, "(unknown)");
    return GAN_FAIL(c, GAN_ERR_IO,
                    "MNIST %s files (%s[.gz], %s[.gz]) not found; looked in: %s%s%s%s%s (relative paths from %s). "
                    "Get them with tools/download_mnist.sh (writes data/mnist/), then pass --data DIR or set "
                    "GANCL_DATA=DIR if they live elsewhere",
                    split == GAN_MNIST_TRAIN ? "train" : "test", split_base(split, 0), split_base(split, 1),
                    looked[0], np > 1 ? "; " : "", np > 1 ? looked[1] : "", np > 2 ? "; " : "",
                    np > 2 ? looked[2] : "", cwd);
}

gan_status gan_mnist_load(gan_ctx *c, const char *dir, gan_mnist_split split, gan_dataset *out)
{
    if (!out) return GAN_FAIL(c, GAN_ERR_ARG, "gan_mnist_load: NULL out");
    memset(out, 0, sizeof *out);
    char found[2048], img[4096], lab[4096];
    gan_status st = gan_mnist_find(c, dir, split, found, sizeof found);
    if (st) return st;
    if (!find_file(found, split_base(split, 0), img, sizeof img) ||
        !find_file(found, split_base(split, 1), lab, sizeof lab))
        return GAN_FAIL(c, GAN_ERR_IO, "%s: MNIST files disappeared while loading", found);
    return gan_dataset_load_idx(c, img, lab, out);
}
