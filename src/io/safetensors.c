/* safetensors reading for gancl checkpoints (format described in
 * include/gancl/ckpt.h), and what reader and writer (safetensors_write.c)
 * share: dtypes, shape sizes, CRCs.
 *
 * The reader treats every file as hostile: each size it is told is checked
 * against what actually exists before anything is allocated from it, every
 * integer product is overflow-checked, and all structural rules plus every
 * CRC32 are verified before the caller sees a tensor. */
#include "internal.h"
#include "safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static const struct {
    const char *name;
    size_t size;
} dtype_table[GAN_ST_DTYPE_COUNT] = {
#define GAN_X_(name, size) {#name, size},
    GAN_ST_DTYPE_LIST(GAN_X_)
#undef GAN_X_
};

const char *gan_st_dtype_name(gan_st_dtype dt)
{
    return (unsigned)dt < GAN_ST_DTYPE_COUNT ? dtype_table[dt].name : NULL;
}

size_t gan_st_dtype_size(gan_st_dtype dt)
{
    return (unsigned)dt < GAN_ST_DTYPE_COUNT ? dtype_table[dt].size : 0;
}

int st_dtype_from_name(const char *s, gan_st_dtype *out)
{
    for (int i = 0; i < GAN_ST_DTYPE_COUNT; i++)
        if (strcmp(s, dtype_table[i].name) == 0) {
            *out = (gan_st_dtype)i;
            return 1;
        }
    return 0;
}

/* numel and bytes of a shape, 0 on uint64 overflow. */
int st_shape_bytes(const int64_t *shape, int ndim, size_t esize, uint64_t *numel, uint64_t *bytes)
{
    uint64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        uint64_t d = (uint64_t)shape[i];
        if (d != 0 && n > UINT64_MAX / d) return 0;
        n *= d;
    }
    if (n > UINT64_MAX / esize) return 0;
    *numel = n;
    *bytes = n * esize;
    return 1;
}

/* zlib's crc32 takes a uInt length; feed large tensors in pieces. */
uint32_t st_crc(const void *data, size_t n)
{
    uLong crc = crc32(0L, Z_NULL, 0);
    const Bytef *p = data;
    while (n > 0) {
        uInt chunk = n > (1u << 30) ? (1u << 30) : (uInt)n;
        crc = crc32(crc, p, chunk);
        p += chunk;
        n -= chunk;
    }
    return (uint32_t)crc;
}

void st_shape_str(const int64_t *shape, int ndim, char *buf, size_t cap)
{
    size_t len = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (len < cap) snprintf(buf + len, cap - len, "]");
}

/* ---- reader -------------------------------------------------------------- */

void gan_ckpt_free(gan_ckpt *k)
{
    if (!k) return;
    for (int i = 0; i < k->n; i++) free((char *)k->t[i].name);
    for (int i = 0; i < k->nmeta; i++) {
        free(k->key[i]);
        free(k->val[i]);
    }
    free(k->t);
    free(k->key);
    free(k->val);
    free(k->data);
    free(k->extra);
    free(k->label);
    free(k);
}

/* A tensor entry while parsing: offsets are checked before they are used. */
typedef struct pentry {
    uint64_t begin, end;
    uint32_t crc;
    int has_crc;
} pentry;

static const char *json_kind(const json_t *j)
{
    switch (json_typeof(j)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "value";
}

static gan_status parse_entry(gan_ctx *c, const char *label, const char *name, json_t *v,
                              gan_ckpt_tensor *t, pentry *p)
{
    if (!json_is_object(v))
        return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: tensor '%s' is a JSON %s, expected an object", label, name,
                        json_kind(v));
    const char *field;
    json_t *fv;
    json_object_foreach(v, field, fv) {
        if (strcmp(field, "dtype") && strcmp(field, "shape") && strcmp(field, "data_offsets"))
            return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: tensor '%s' has an unknown field \"%s\"", label, name,
                            field);
    }
    json_t *dt = json_object_get(v, "dtype"), *shape = json_object_get(v, "shape"),
           *offs = json_object_get(v, "data_offsets");
    if (!dt || !shape || !offs)
        return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: tensor '%s' has no \"%s\"", label, name,
                        !dt ? "dtype" : !shape ? "shape" : "data_offsets");
    if (!json_is_string(dt))
        return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: tensor '%s': dtype is a JSON %s, expected a string", label,
                        name, json_kind(dt));
    if (!st_dtype_from_name(json_string_value(dt), &t->dtype))
        return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: tensor '%s': unknown dtype \"%.32s\"", label, name,
                        json_string_value(dt));
    if (!json_is_array(shape))
        return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: tensor '%s': shape is a JSON %s, expected an array", label,
                        name, json_kind(shape));
    size_t rank = json_array_size(shape);
    if (rank > GAN_CKPT_MAX_DIMS)
        return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: tensor '%s': rank %zu exceeds %d", label, name, rank,
                        GAN_CKPT_MAX_DIMS);
    t->ndim = (int)rank;
    for (size_t i = 0; i < rank; i++) {
        json_t *d = json_array_get(shape, i);
        if (!json_is_integer(d))
            return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: tensor '%s': shape[%zu] is a JSON %s, expected an integer",
                            label, name, i, json_kind(d));
        if (json_integer_value(d) < 0)
            return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: tensor '%s': shape[%zu] is negative (%lld)", label, name,
                            i, (long long)json_integer_value(d));
        t->shape[i] = (int64_t)json_integer_value(d);
    }
    if (!json_is_array(offs) || json_array_size(offs) != 2)
        return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: tensor '%s': data_offsets is not an array of two integers",
                        label, name);
    json_int_t ob = 0, oe = 0;
    for (size_t i = 0; i < 2; i++) {
        json_t *o = json_array_get(offs, i);
        if (!json_is_integer(o) || json_integer_value(o) < 0)
            return GAN_FAIL(c, GAN_ERR_FORMAT,
                            "%s: tensor '%s': data_offsets[%zu] is not a non-negative integer", label, name, i);
        *(i ? &oe : &ob) = json_integer_value(o);
    }
    if (oe < ob)
        return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: tensor '%s': data_offsets [%lld, %lld] end before they begin",
                        label, name, (long long)ob, (long long)oe);
    p->begin = (uint64_t)ob;
    p->end = (uint64_t)oe;
    uint64_t numel, bytes;
    char sb[160];
    st_shape_str(t->shape, t->ndim, sb, sizeof sb);
    if (!st_shape_bytes(t->shape, t->ndim, gan_st_dtype_size(t->dtype), &numel, &bytes))
        return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: tensor '%s': size of shape %s overflows 64 bits", label, name, sb);
    if (bytes != p->end - p->begin)
        return GAN_FAIL(c, GAN_ERR_FORMAT,
                        "%s: tensor '%s': shape %s of %s is %llu bytes but data_offsets span %llu", label, name,
                        sb, gan_st_dtype_name(t->dtype), (unsigned long long)bytes,
                        (unsigned long long)(p->end - p->begin));
    /* Checked against the real data length later; until then it only has
     * to fit the types it is stored in. */
    if (numel > SIZE_MAX || bytes > SIZE_MAX)
        return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: tensor '%s' is too large for this machine", label, name);
    t->numel = (size_t)numel;
    t->nbytes = (size_t)bytes;
    return GAN_OK;
}

static int hexval(char ch)
{
    if (ch >= '0' && ch <= '9') return ch - '0';
    if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
    return -1;
}

static gan_status parse_crcs(gan_ctx *c, gan_ckpt *k, pentry *pe, const char *text)
{
    json_error_t err;
    json_t *j = json_loads(text, JSON_REJECT_DUPLICATES, &err);
    gan_status st = GAN_OK;
    if (!j)
        return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: metadata \"crc32\" is not valid JSON: %s", k->label, err.text);
    if (!json_is_object(j)) {
        st = GAN_FAIL(c, GAN_ERR_FORMAT, "%s: metadata \"crc32\" is a JSON %s, expected an object", k->label,
                      json_kind(j));
        goto cleanup;
    }
    const char *name;
    json_t *v;
    json_object_foreach(j, name, v) {
        int i = 0;
        while (i < k->n && strcmp(k->t[i].name, name) != 0) i++;
        if (i == k->n) {
            st = GAN_FAIL(c, GAN_ERR_FORMAT, "%s: metadata \"crc32\" names '%s', which is not a tensor",
                          k->label, name);
            goto cleanup;
        }
        const char *s = json_is_string(v) ? json_string_value(v) : "";
        uint32_t crc = 0;
        int ok = strlen(s) == 8;
        for (int d = 0; ok && d < 8; d++) {
            int h = hexval(s[d]);
            ok = h >= 0;
            crc = crc << 4 | (uint32_t)(ok ? h : 0);
        }
        if (!ok) {
            st = GAN_FAIL(c, GAN_ERR_FORMAT, "%s: CRC32 of tensor '%s' is not 8 hex digits", k->label, name);
            goto cleanup;
        }
        pe[i].crc = crc;
        pe[i].has_crc = 1;
    }
    for (int i = 0; i < k->n; i++)
        if (!pe[i].has_crc) {
            st = GAN_FAIL(c, GAN_ERR_FORMAT, "%s: tensor '%s' has no CRC32 in metadata \"crc32\"", k->label,
                          k->t[i].name);
            goto cleanup;
        }
cleanup:
    json_decref(j);
    return st;
}


/* Tensors are checked in offset order: sort (tensor, entry) pairs by
 * (begin, end), n log n even for hostile headers with many entries. */
typedef struct sortpair {
    gan_ckpt_tensor t;
    pentry p;
} sortpair;

static int cmp_pair(const void *a, const void *b)
{
    const pentry *x = &((const sortpair *)a)->p, *y = &((const sortpair *)b)->p;
    if (x->begin != y->begin) return x->begin < y->begin ? -1 : 1;
    if (x->end != y->end) return x->end < y->end ? -1 : 1;
    return 0;
}

static gan_status parse_metadata(gan_ctx *c, gan_ckpt *k, json_t *meta)
{
    if (!json_is_object(meta))
        return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: __metadata__ is a JSON %s, expected an object", k->label,
                        json_kind(meta));
    size_t nm = json_object_size(meta);
    k->key = calloc(nm ? nm : 1, sizeof *k->key);
    k->val = calloc(nm ? nm : 1, sizeof *k->val);
    if (!k->key || !k->val) return GAN_FAIL(c, GAN_ERR_NOMEM, "%s: metadata", k->label);
    const char *mk;
    json_t *mv;
    json_object_foreach(meta, mk, mv) {
        if (!json_is_string(mv))
            return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: metadata \"%.64s\" is a JSON %s; values must be strings",
                            k->label, mk, json_kind(mv));
        k->key[k->nmeta] = strdup(mk);
        k->val[k->nmeta] = strdup(json_string_value(mv));
        k->nmeta++;
        if (!k->key[k->nmeta - 1] || !k->val[k->nmeta - 1])
            return GAN_FAIL(c, GAN_ERR_NOMEM, "%s: metadata", k->label);
    }
    return GAN_OK;
}

/* Offsets in (begin, end) order must tile [0, data_len) exactly. */
static gan_status check_layout(gan_ctx *c, const gan_ckpt *k, const sortpair *sp, size_t n, uint64_t data_len)
{
    uint64_t at = 0;
    for (size_t i = 0; i < n; i++) {
        const pentry *p = &sp[i].p;
        if (p->begin < at)
            return GAN_FAIL(c, GAN_ERR_FORMAT,
                            "%s: data of tensor '%.64s' at [%llu, %llu] overlaps tensor '%.64s', which ends at %llu",
                            k->label, sp[i].t.name, (unsigned long long)p->begin, (unsigned long long)p->end,
                            sp[i - 1].t.name, (unsigned long long)at);
        if (p->begin > at)
            return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: gap of %llu bytes in the data before tensor '%.64s' at %llu",
                            k->label, (unsigned long long)(p->begin - at), sp[i].t.name,
                            (unsigned long long)p->begin);
        if (p->end > data_len)
            return GAN_FAIL(c, GAN_ERR_FORMAT,
                            "%s: data of tensor '%.64s' at [%llu, %llu] runs past the end of the data "
                            "(%llu bytes; truncated file?)",
                            k->label, sp[i].t.name, (unsigned long long)p->begin, (unsigned long long)p->end,
                            (unsigned long long)data_len);
        at = p->end;
    }
    if (at != data_len)
        return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: %llu trailing bytes after the last tensor's data", k->label,
                        (unsigned long long)(data_len - at));
    return GAN_OK;
}

/* The metadata keys that make a safetensors file a gancl checkpoint. */
static gan_status check_format(gan_ctx *c, gan_ckpt *k, pentry *pe)
{
    const char *fmt = gan_ckpt_meta(k, "format"), *ver = gan_ckpt_meta(k, "format_version"),
               *crc = gan_ckpt_meta(k, "crc32");
    if (!fmt) { /* a plain safetensors file: perhaps a PyTorch state_dict (st_import decides) */
        k->foreign = 1;
        return GAN_OK;
    }
    if (strcmp(fmt, FORMAT_NAME) != 0)
        return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: not a gancl checkpoint: format is \"%.64s\", expected \"%s\"",
                        k->label, fmt, FORMAT_NAME);
    if (!ver)
        return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: no \"format_version\" in __metadata__", k->label);
    if (!strcmp(ver, "1"))
        k->version = 1;
    else if (!strcmp(ver, FORMAT_VERSION))
        k->version = 2;
    else
        return GAN_FAIL(c, GAN_ERR_UNSUPPORTED, "%s: checkpoint format_version \"%.64s\"; this gancl reads \"%s\"",
                        k->label, ver, FORMAT_VERSION);
    if (!crc)
        return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: no \"crc32\" in __metadata__ (missing CRC32s)", k->label);
    return parse_crcs(c, k, pe, crc);
}

/* Parse and check the header against a data buffer of data_len bytes: on
 * success k holds the tensors in offset order (data pointers unset) and
 * *pe_out their offsets and CRCs. */
static gan_status parse_header(gan_ctx *c, gan_ckpt *k, const char *hdr, size_t hlen, uint64_t data_len,
                               pentry **pe_out)
{
    gan_status st = GAN_OK;
    sortpair *sp = NULL;
    pentry *pe = NULL;
    size_t n = 0;
    json_error_t err;
    json_t *root = json_loadb(hdr, hlen, JSON_REJECT_DUPLICATES, &err);
    if (!root) {
        if (json_error_code(&err) == json_error_duplicate_key)
            return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: header has a duplicate key (%s)", k->label, err.text);
        return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: header is not valid JSON: %s (line %d, column %d)", k->label,
                        err.text, err.line, err.column);
    }
    if (!json_is_object(root)) {
        st = GAN_FAIL(c, GAN_ERR_FORMAT, "%s: header is a JSON %s, expected an object", k->label,
                      json_kind(root));
        goto cleanup;
    }
    json_t *meta = json_object_get(root, "__metadata__");
    if (meta) TRY(parse_metadata(c, k, meta));
    size_t nt = json_object_size(root) - (meta ? 1 : 0);
    if (nt > (size_t)INT32_MAX) {
        st = GAN_FAIL(c, GAN_ERR_FORMAT, "%s: header lists %zu tensors, too many", k->label, nt);
        goto cleanup;
    }
    /* Sized by the parsed header, itself bounded by the real input size. */
    sp = calloc(nt ? nt : 1, sizeof *sp);
    if (!sp) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "%s: index of %zu tensors", k->label, nt);
        goto cleanup;
    }
    const char *name;
    json_t *v;
    json_object_foreach(root, name, v) {
        if (strcmp(name, "__metadata__") == 0) continue;
        TRY(parse_entry(c, k->label, name, v, &sp[n].t, &sp[n].p));
        sp[n].t.name = strdup(name);
        if (!sp[n].t.name) {
            st = GAN_FAIL(c, GAN_ERR_NOMEM, "%s: tensor names", k->label);
            goto cleanup;
        }
        n++;
    }
    qsort(sp, n, sizeof *sp, cmp_pair);
    TRY(check_layout(c, k, sp, n, data_len));
    k->t = calloc(n ? n : 1, sizeof *k->t);
    pe = calloc(n ? n : 1, sizeof *pe);
    if (!k->t || !pe) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "%s: index of %zu tensors", k->label, n);
        goto cleanup;
    }
    for (size_t i = 0; i < n; i++) {
        k->t[i] = sp[i].t;
        pe[i] = sp[i].p;
        sp[i].t.name = NULL;
    }
    k->n = (int)n;
    TRY(check_format(c, k, pe));
    *pe_out = pe;
    pe = NULL;
cleanup:
    if (sp)
        for (size_t i = 0; i < n; i++) free((char *)sp[i].t.name);
    free(sp);
    free(pe);
    json_decref(root);
    return st;
}

/* With the data in place: point the tensors at it and verify every CRC. */
static gan_status attach_data(gan_ctx *c, gan_ckpt *k, const pentry *pe)
{
    for (int i = 0; i < k->n; i++) {
        gan_ckpt_tensor *t = &k->t[i];
        t->data = k->data + pe[i].begin;
        if (k->foreign && !pe[i].has_crc) continue;
        uint32_t crc = st_crc(t->data, t->nbytes);
        if (crc != pe[i].crc)
            return GAN_FAIL(c, GAN_ERR_FORMAT,
                            "%s: CRC32 mismatch in tensor '%.64s' (header %08x, data %08x): the data is corrupt",
                            k->label, t->name, (unsigned)pe[i].crc, (unsigned)crc);
    }
    return GAN_OK;
}

static gan_status ckpt_new(gan_ctx *c, const char *label, gan_ckpt **out)
{
    gan_ckpt *k = calloc(1, sizeof *k);
    if (k) k->label = strdup(label ? label : "(memory)");
    if (!k || !k->label) {
        free(k);
        return GAN_FAIL(c, GAN_ERR_NOMEM, "checkpoint");
    }
    *out = k;
    return GAN_OK;
}

/* The 8-byte header length, checked against the cap and what follows it. */
static gan_status header_len(gan_ctx *c, const char *label, const unsigned char le[8], uint64_t rest,
                             size_t *out)
{
    uint64_t h = 0;
    for (int i = 7; i >= 0; i--) h = h << 8 | le[i];
    if (h == 0) return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: header length is 0", label);
    if (h > GAN_CKPT_MAX_HEADER)
        return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: header length %llu exceeds the limit of %u bytes", label,
                        (unsigned long long)h, GAN_CKPT_MAX_HEADER);
    if (h > rest)
        return GAN_FAIL(c, GAN_ERR_FORMAT,
                        "%s: header length %llu exceeds the %llu bytes that follow it (truncated file?)", label,
                        (unsigned long long)h, (unsigned long long)rest);
    *out = (size_t)h;
    return GAN_OK;
}

/* A NaN or infinite parameter or optimizer state would only make every
 * later step non-finite: refuse the checkpoint, naming the tensor. */
static gan_status check_finite(gan_ctx *c, const gan_ckpt *k, const char *path)
{
    for (int i = 0; i < k->n; i++) {
        const gan_ckpt_tensor *t = &k->t[i];
        if (t->dtype != GAN_ST_F32) continue;
        for (size_t j = 0; j < t->numel; j++) {
            float v;
            memcpy(&v, (const unsigned char *)t->data + j * sizeof v, sizeof v);
            if (!isfinite(v))
                return GAN_FAIL(c, GAN_ERR_NUMERIC, "checkpoint %s: tensor %s holds a non-finite value (%g at element %zu)",
                                path, t->name, (double)v, j);
        }
    }
    return GAN_OK;
}

gan_status gan_ckpt_parse(gan_ctx *c, const void *buf, size_t len, const char *label, gan_ckpt **out)
{
    gan_status st = GAN_OK;
    gan_ckpt *k = NULL;
    pentry *pe = NULL;
    const unsigned char *b = buf;
    *out = NULL;
    TRY(ckpt_new(c, label, &k));
    if (len < 8 || !buf) {
        st = GAN_FAIL(c, GAN_ERR_FORMAT, "%s is %zu bytes, too short for the 8-byte header length", k->label,
                      buf ? len : 0);
        goto cleanup;
    }
    size_t hlen;
    TRY(header_len(c, k->label, b, len - 8, &hlen));
    k->data_len = len - 8 - hlen;
    TRY(parse_header(c, k, (const char *)b + 8, hlen, k->data_len, &pe));
    k->data = malloc(k->data_len ? k->data_len : 1);
    if (!k->data) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "%s: %zu bytes of tensor data", k->label, k->data_len);
        goto cleanup;
    }
    if (k->data_len) memcpy(k->data, b + 8 + hlen, k->data_len);
    TRY(attach_data(c, k, pe));
    TRY(check_finite(c, k, k->label));
    TRY(st_normalize(c, k));
    *out = k;
    k = NULL;
cleanup:
    free(pe);
    gan_ckpt_free(k);
    return st;
}

/* Read exactly n bytes at off; a short read means the file shrank. */
static gan_status read_at(gan_ctx *c, int fd, const char *path, void *buf, size_t n, uint64_t off)
{
    char *p = buf;
    while (n > 0) {
        ssize_t r = pread(fd, p, n > (1u << 30) ? (1u << 30) : n, (off_t)off);
        if (r < 0) {
            if (errno == EINTR) continue;
            return GAN_FAIL(c, GAN_ERR_IO, "reading %s at byte %llu: %s", path, (unsigned long long)off,
                            strerror(errno));
        }
        if (r == 0)
            return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: unexpected end of file at byte %llu (file changed while reading?)",
                            path, (unsigned long long)off);
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return GAN_OK;
}

gan_status gan_ckpt_load(gan_ctx *c, const char *path, gan_ckpt **out)
{
    gan_status st = GAN_OK;
    gan_ckpt *k = NULL;
    pentry *pe = NULL;
    char *hdr = NULL;
    int fd = -1;
    *out = NULL;
    if (!path || !*path) return GAN_FAIL(c, GAN_ERR_ARG, "checkpoint load: empty path");
    TRY(ckpt_new(c, path, &k));
    /* O_NONBLOCK: opening a FIFO must not hang; fstat rejects it next. */
    fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
    if (fd < 0) {
        st = GAN_FAIL(c, GAN_ERR_IO, "cannot open checkpoint %s: %s", path, strerror(errno));
        goto cleanup;
    }
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        st = GAN_FAIL(c, GAN_ERR_IO, "cannot stat checkpoint %s: %s", path, strerror(errno));
        goto cleanup;
    }
    if (S_ISDIR(sb.st_mode)) {
        st = GAN_FAIL(c, GAN_ERR_IO, "checkpoint %s is a directory, not a file", path);
        goto cleanup;
    }
    if (!S_ISREG(sb.st_mode)) {
        st = GAN_FAIL(c, GAN_ERR_IO, "checkpoint %s is not a regular file", path);
        goto cleanup;
    }
    uint64_t size = (uint64_t)sb.st_size;
    if (size < 8) {
        st = GAN_FAIL(c, GAN_ERR_FORMAT, "%s is %llu bytes, too short for the 8-byte header length", path,
                      (unsigned long long)size);
        goto cleanup;
    }
    if (size - 8 > SIZE_MAX) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "%s: %llu bytes do not fit in memory", path, (unsigned long long)size);
        goto cleanup;
    }
    unsigned char le[8];
    TRY(read_at(c, fd, path, le, 8, 0));
    size_t hlen;
    TRY(header_len(c, path, le, size - 8, &hlen));
    hdr = malloc(hlen);
    if (!hdr) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "%s: header of %zu bytes", path, hlen);
        goto cleanup;
    }
    TRY(read_at(c, fd, path, hdr, hlen, 8));
    k->data_len = (size_t)(size - 8 - hlen);
    TRY(parse_header(c, k, hdr, hlen, k->data_len, &pe));
    free(hdr);
    hdr = NULL;
    k->data = malloc(k->data_len ? k->data_len : 1);
    if (!k->data) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "%s: %zu bytes of tensor data", path, k->data_len);
        goto cleanup;
    }
    TRY(read_at(c, fd, path, k->data, k->data_len, 8 + hlen));
    TRY(attach_data(c, k, pe));
    TRY(check_finite(c, k, path));
    TRY(st_normalize(c, k));
    *out = k;
    k = NULL;
cleanup:
    if (fd >= 0) close(fd);
    free(hdr);
    free(pe);
    gan_ckpt_free(k);
    return st;
}

/* ---- lookups ------------------------------------------------------------- */

const char *gan_ckpt_label(const gan_ckpt *k) { return k->label; }
int gan_ckpt_count(const gan_ckpt *k) { return k->n; }
int gan_ckpt_imported(const gan_ckpt *k) { return k->foreign; }

const gan_ckpt_tensor *gan_ckpt_tensor_at(const gan_ckpt *k, int i)
{
    return i >= 0 && i < k->n ? &k->t[i] : NULL;
}

const gan_ckpt_tensor *gan_ckpt_find(const gan_ckpt *k, const char *name)
{
    for (int i = 0; i < k->n; i++)
        if (strcmp(k->t[i].name, name) == 0) return &k->t[i];
    return NULL;
}

const char *gan_ckpt_meta(const gan_ckpt *k, const char *key)
{
    for (int i = 0; i < k->nmeta; i++)
        if (strcmp(k->key[i], key) == 0) return k->val[i];
    return NULL;
}

int gan_ckpt_meta_count(const gan_ckpt *k) { return k->nmeta; }

int gan_ckpt_meta_int(const gan_ckpt *k, const char *key, int *out)
{
    const char *v = gan_ckpt_meta(k, key);
    char *end;
    if (!v || !*v) return -1;
    long x = strtol(v, &end, 10);
    if (*end || x < 0 || x > 1 << 30) return -1;
    *out = (int)x;
    return 0;
}

int gan_ckpt_meta_float(const gan_ckpt *k, const char *key, float *out)
{
    const char *v = gan_ckpt_meta(k, key);
    char *end;
    if (!v || !*v) return -1;
    float x = strtof(v, &end);
    if (*end) return -1;
    *out = x;
    return 0;
}

void gan_ckpt_meta_at(const gan_ckpt *k, int i, const char **key, const char **value)
{
    int ok = i >= 0 && i < k->nmeta;
    if (key) *key = ok ? k->key[i] : NULL;
    if (value) *value = ok ? k->val[i] : NULL;
}
