/* safetensors writing for gancl checkpoints (format described in
 * include/gancl/ckpt.h). The writer never touches the destination until a
 * complete, fsync'd copy is ready beside it, so a crash or a full disk
 * leaves the previous checkpoint in place. */
#include "internal.h"
#include "safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- writer -------------------------------------------------------------- */

typedef struct wtensor {
    char *name;
    gan_st_dtype dtype;
    int ndim;
    int64_t shape[GAN_CKPT_MAX_DIMS];
    size_t nbytes;
    const void *data;
} wtensor;

struct gan_ckpt_writer {
    wtensor *t;
    int n, cap;
    char **key, **val;
    int nmeta, metacap;
};

gan_status gan_ckpt_writer_create(gan_ctx *c, gan_ckpt_writer **out)
{
    *out = calloc(1, sizeof **out);
    if (!*out) return GAN_FAIL(c, GAN_ERR_NOMEM, "checkpoint writer");
    return GAN_OK;
}

void gan_ckpt_writer_free(gan_ckpt_writer *w)
{
    if (!w) return;
    for (int i = 0; i < w->n; i++) free(w->t[i].name);
    for (int i = 0; i < w->nmeta; i++) {
        free(w->key[i]);
        free(w->val[i]);
    }
    free(w->t);
    free(w->key);
    free(w->val);
    free(w);
}

/* jansson refuses strings that are not UTF-8; ask it rather than duplicate it. */
static int is_utf8(const char *s)
{
    json_t *j = json_string(s);
    if (!j) return 0;
    json_decref(j);
    return 1;
}

gan_status gan_ckpt_writer_add(gan_ctx *c, gan_ckpt_writer *w, const char *name, gan_st_dtype dtype,
                               int ndim, const int64_t *shape, const void *data)
{
    if (!w || !name || !*name)
        return GAN_FAIL(c, GAN_ERR_ARG, "checkpoint tensor: %s", !w ? "no writer" : "empty name");
    if (!is_utf8(name)) return GAN_FAIL(c, GAN_ERR_ARG, "checkpoint tensor name is not valid UTF-8");
    if (strcmp(name, "__metadata__") == 0)
        return GAN_FAIL(c, GAN_ERR_ARG, "checkpoint tensor name \"__metadata__\" is reserved");
    size_t esize = gan_st_dtype_size(dtype);
    if (!esize) return GAN_FAIL(c, GAN_ERR_ARG, "checkpoint tensor '%s': dtype %d unknown", name, (int)dtype);
    if (ndim < 0 || ndim > GAN_CKPT_MAX_DIMS)
        return GAN_FAIL(c, GAN_ERR_ARG, "checkpoint tensor '%s': rank %d, expected 0..%d", name, ndim,
                        GAN_CKPT_MAX_DIMS);
    if (ndim > 0 && !shape) return GAN_FAIL(c, GAN_ERR_ARG, "checkpoint tensor '%s': no shape", name);
    for (int i = 0; i < ndim; i++)
        if (shape[i] < 0)
            return GAN_FAIL(c, GAN_ERR_ARG, "checkpoint tensor '%s': dim %d is %lld, expected >= 0", name,
                            i, (long long)shape[i]);
    uint64_t numel, bytes;
    if (!st_shape_bytes(shape, ndim, esize, &numel, &bytes) || bytes > SIZE_MAX)
        return GAN_FAIL(c, GAN_ERR_ARG, "checkpoint tensor '%s': size overflows", name);
    if (bytes > 0 && !data) return GAN_FAIL(c, GAN_ERR_ARG, "checkpoint tensor '%s': no data", name);
    for (int i = 0; i < w->n; i++)
        if (strcmp(w->t[i].name, name) == 0)
            return GAN_FAIL(c, GAN_ERR_ARG, "checkpoint tensor '%s' added twice", name);
    if (w->n == w->cap) {
        int cap = w->cap ? 2 * w->cap : 16;
        wtensor *t = realloc(w->t, (size_t)cap * sizeof *t);
        if (!t) return GAN_FAIL(c, GAN_ERR_NOMEM, "checkpoint writer tensor list");
        w->t = t;
        w->cap = cap;
    }
    wtensor *t = &w->t[w->n];
    memset(t, 0, sizeof *t);
    t->name = strdup(name);
    if (!t->name) return GAN_FAIL(c, GAN_ERR_NOMEM, "checkpoint tensor name");
    t->dtype = dtype;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->nbytes = (size_t)bytes;
    t->data = data;
    w->n++;
    return GAN_OK;
}

gan_status gan_ckpt_writer_meta(gan_ctx *c, gan_ckpt_writer *w, const char *key, const char *value)
{
    if (!w || !key || !value)
        return GAN_FAIL(c, GAN_ERR_ARG, "checkpoint metadata: %s", !w ? "no writer" : "NULL key or value");
    if (strcmp(key, "format") == 0 || strcmp(key, "format_version") == 0 || strcmp(key, "crc32") == 0)
        return GAN_FAIL(c, GAN_ERR_ARG, "checkpoint metadata key \"%s\" is reserved for the writer", key);
    if (!is_utf8(key) || !is_utf8(value))
        return GAN_FAIL(c, GAN_ERR_ARG, "checkpoint metadata \"%s\": key or value is not valid UTF-8", key);
    for (int i = 0; i < w->nmeta; i++)
        if (strcmp(w->key[i], key) == 0)
            return GAN_FAIL(c, GAN_ERR_ARG, "checkpoint metadata key \"%s\" set twice", key);
    if (w->nmeta == w->metacap) {
        int cap = w->metacap ? 2 * w->metacap : 16;
        char **k = realloc(w->key, (size_t)cap * sizeof *k);
        if (!k) return GAN_FAIL(c, GAN_ERR_NOMEM, "checkpoint metadata list");
        w->key = k;
        char **v = realloc(w->val, (size_t)cap * sizeof *v);
        if (!v) return GAN_FAIL(c, GAN_ERR_NOMEM, "checkpoint metadata list");
        w->val = v;
        w->metacap = cap;
    }
    char *k = strdup(key), *v = strdup(value);
    if (!k || !v) {
        free(k);
        free(v);
        return GAN_FAIL(c, GAN_ERR_NOMEM, "checkpoint metadata \"%s\"", key);
    }
    w->key[w->nmeta] = k;
    w->val[w->nmeta] = v;
    w->nmeta++;
    return GAN_OK;
}

/* Wider elements first (stable otherwise): with the data buffer starting at
 * a multiple of 8, every tensor then starts at a multiple of its element
 * size, so readers that map the file can use the data in place. */
static int *write_order(const gan_ckpt_writer *w)
{
    int *ord = malloc((size_t)(w->n ? w->n : 1) * sizeof *ord);
    if (!ord) return NULL;
    int k = 0;
    for (size_t sz = 8; sz >= 1; sz /= 2)
        for (int i = 0; i < w->n; i++)
            if (gan_st_dtype_size(w->t[i].dtype) == sz) ord[k++] = i;
    return ord;
}

static int json_set(json_t *obj, const char *key, json_t *val)
{
    return val && json_object_set_new(obj, key, val) == 0;
}

/* The header JSON, padded with spaces to a multiple of 8 (malloc'd). */
static gan_status build_header(gan_ctx *c, const gan_ckpt_writer *w, const int *ord, char **out,
                               size_t *outlen)
{
    gan_status st = GAN_OK;
    char *crcs = NULL, *text = NULL;
    json_t *root = json_object(), *meta = json_object(), *crc = json_object();
    if (!root || !meta || !crc) goto nomem;
    char hex[9];
    for (int i = 0; i < w->n; i++) {
        snprintf(hex, sizeof hex, "%08x", (unsigned)st_crc(w->t[i].data, w->t[i].nbytes));
        if (!json_set(crc, w->t[i].name, json_string(hex))) goto nomem;
    }
    crcs = json_dumps(crc, JSON_COMPACT);
    if (!crcs) goto nomem;
    if (!json_set(meta, "format", json_string(FORMAT_NAME)) ||
        !json_set(meta, "format_version", json_string(FORMAT_VERSION)) ||
        !json_set(meta, "crc32", json_string(crcs)))
        goto nomem;
    for (int i = 0; i < w->nmeta; i++)
        if (!json_set(meta, w->key[i], json_string(w->val[i]))) goto nomem;
    if (json_object_set(root, "__metadata__", meta) != 0) goto nomem;
    uint64_t off = 0;
    for (int j = 0; j < w->n; j++) {
        const wtensor *t = &w->t[ord[j]];
        json_t *e = json_object(), *shape = json_array(), *offs = json_array();
        int ok = e && shape && offs;
        for (int i = 0; ok && i < t->ndim; i++) ok = json_array_append_new(shape, json_integer(t->shape[i])) == 0;
        ok = ok && json_array_append_new(offs, json_integer((json_int_t)off)) == 0;
        ok = ok && json_array_append_new(offs, json_integer((json_int_t)(off + t->nbytes))) == 0;
        ok = ok && json_set(e, "dtype", json_string(gan_st_dtype_name(t->dtype)));
        /* json_object_set_new takes the reference even when it fails. */
        if (ok) {
            ok = json_set(e, "shape", shape);
            shape = NULL;
        }
        if (ok) {
            ok = json_set(e, "data_offsets", offs);
            offs = NULL;
        }
        if (ok) {
            ok = json_set(root, t->name, e);
            e = NULL;
        }
        json_decref(e);
        json_decref(shape);
        json_decref(offs);
        if (!ok) goto nomem;
        off += t->nbytes;
    }
    text = json_dumps(root, JSON_COMPACT);
    if (!text) goto nomem;
    size_t len = strlen(text), padded = (len + 7) & ~(size_t)7;
    char *p = realloc(text, padded);
    if (!p) goto nomem;
    memset(p + len, ' ', padded - len);
    *out = p;
    *outlen = padded;
    text = NULL;
    goto cleanup;
nomem:
    st = GAN_FAIL(c, GAN_ERR_NOMEM, "checkpoint header");
cleanup:
    free(text);
    free(crcs);
    json_decref(crc);
    json_decref(meta);
    json_decref(root);
    return st;
}

static int write_all(int fd, const void *buf, size_t n)
{
    const char *p = buf;
    while (n > 0) {
        ssize_t k = write(fd, p, n > (1u << 30) ? (1u << 30) : n);
        if (k < 0) {
            if (errno == EINTR) continue;
            return -1;
        }
        if (k == 0) {
            errno = EIO;
            return -1;
        }
        p += k;
        n -= (size_t)k;
    }
    return 0;
}

/* Directory of path ("." when it has none), malloc'd. */
static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) return strdup(".");
    if (slash == path) return strdup("/");
    size_t n = (size_t)(slash - path);
    char *d = malloc(n + 1);
    if (d) {
        memcpy(d, path, n);
        d[n] = 0;
    }
    return d;
}

gan_status gan_ckpt_writer_save(gan_ctx *c, gan_ckpt_writer *w, const char *path)
{
    gan_status st = GAN_OK;
    int *ord = NULL;
    char *hdr = NULL, *tmp = NULL, *dir = NULL;
    size_t hlen = 0;
    int fd = -1, tmp_exists = 0;
    if (!w || !path || !*path) return GAN_FAIL(c, GAN_ERR_ARG, "checkpoint save: %s", !w ? "no writer" : "empty path");
    ord = write_order(w);
    if (!ord) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "checkpoint write order");
        goto cleanup;
    }
    TRY(build_header(c, w, ord, &hdr, &hlen));

    size_t tlen = strlen(path) + 32;
    tmp = malloc(tlen);
    dir = dir_of(path);
    if (!tmp || !dir) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "checkpoint path");
        goto cleanup;
    }
    snprintf(tmp, tlen, "%s.tmp.%ld", path, (long)getpid());
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) {
        st = GAN_FAIL(c, GAN_ERR_IO, "cannot create checkpoint temporary file %s: %s (%s left unchanged)", tmp,
                      strerror(errno), path);
        goto cleanup;
    }
    tmp_exists = 1;
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    if (write_all(fd, le, 8) || write_all(fd, hdr, hlen)) goto write_error;
    for (int j = 0; j < w->n; j++)
        if (write_all(fd, w->t[ord[j]].data, w->t[ord[j]].nbytes)) goto write_error;
    if (fsync(fd) != 0) {
        st = GAN_FAIL(c, GAN_ERR_IO, "fsync of checkpoint temporary file %s: %s (%s left unchanged)", tmp,
                      strerror(errno), path);
        goto cleanup;
    }
    int cfd = fd;
    fd = -1;
    if (close(cfd) != 0) {
        st = GAN_FAIL(c, GAN_ERR_IO, "closing checkpoint temporary file %s: %s (%s left unchanged)", tmp,
                      strerror(errno), path);
        goto cleanup;
    }
    if (rename(tmp, path) != 0) {
        st = GAN_FAIL(c, GAN_ERR_IO, "renaming %s to %s: %s (%s left unchanged)", tmp, path, strerror(errno),
                      path);
        goto cleanup;
    }
    tmp_exists = 0;
    /* Make the rename itself durable. Some file systems cannot fsync a
     * directory (EINVAL); the file is complete either way. */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || (fsync(dfd) != 0 && errno != EINVAL)) {
        st = GAN_FAIL(c, GAN_ERR_IO, "checkpoint %s written, but syncing its directory %s failed: %s", path,
                      dir, strerror(errno));
    }
    if (dfd >= 0) close(dfd);
    goto cleanup;

write_error:
    st = GAN_FAIL(c, GAN_ERR_IO, "writing checkpoint temporary file %s: %s (%s left unchanged)", tmp,
                  strerror(errno), path);
cleanup:
    if (fd >= 0) close(fd);
    if (tmp_exists) unlink(tmp);
    free(dir);
    free(tmp);
    free(hdr);
    free(ord);
    return st;
}
