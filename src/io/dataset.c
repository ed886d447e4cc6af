/* The host-side dataset: index sets, the per-epoch shuffle, the validation,
 * labeled and imbalanced subsets, and batch extraction into float buffers.
 * Every random choice comes from a Philox4x32-10 stream keyed by the seed, so
 * the same seed picks the same items in the same order on every machine; the
 * `purpose` word of the counter keeps the streams of different choices
 * (shuffle, validation, labels, imbalance) apart for one seed.
 */
#include "gancl/data.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

enum {
    PURPOSE_SHUFFLE = 0x53487566u, /* "SHuf" */
    PURPOSE_VALID = 0x56616c69u,   /* "Vali" */
    PURPOSE_LABELED = 0x4c61626cu, /* "Labl" */
    PURPOSE_IMBAL = 0x496d626cu    /* "Imbl" */
};

typedef struct philox_stream {
    uint32_t key[2];
    uint32_t ctr[4];
    uint32_t buf[4];
    int pos; /* next unused word of buf; 4 = empty */
} philox_stream;

static void stream_init(philox_stream *s, uint64_t seed, uint64_t epoch, uint32_t purpose)
{
    s->key[0] = (uint32_t)seed;
    s->key[1] = (uint32_t)(seed >> 32);
    s->ctr[0] = 0;
    s->ctr[1] = (uint32_t)epoch;
    s->ctr[2] = (uint32_t)(epoch >> 32);
    s->ctr[3] = purpose;
    s->pos = 4;
}

static uint32_t stream_next(philox_stream *s)
{
    if (s->pos == 4) {
        gan_philox4x32_10(s->ctr, s->key, s->buf);
        s->ctr[0]++; /* 2^32 blocks: far more than any shuffle draws */
        s->pos = 0;
    }
    return s->buf[s->pos++];
}

/* Uniform in [0, k), 1 <= k <= 2^32 - 1, without modulo bias: reject the
 * top partial range of 32-bit words. */
static uint32_t stream_below(philox_stream *s, uint32_t k)
{
    uint32_t limit = UINT32_MAX - (uint32_t)(((uint64_t)UINT32_MAX + 1) % k);
    for (;;) {
        uint32_t r = stream_next(s);
        if (r <= limit) return r % k;
    }
}

static void shuffle(size_t *a, size_t n, uint64_t seed, uint64_t epoch, uint32_t purpose)
{
    philox_stream s;
    stream_init(&s, seed, epoch, purpose);
    for (size_t i = n; i > 1; i--) {
        size_t j = stream_below(&s, (uint32_t)i);
        size_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;
    return (x > y) - (x < y);
}

void gan_dataset_free(gan_dataset *d)
{
    if (!d) return;
    free(d->images);
    free(d->labels);
    memset(d, 0, sizeof *d);
}

void gan_indices_free(gan_indices *s)
{
    if (!s) return;
    free(s->idx);
    s->idx = NULL;
    s->n = 0;
}

static gan_status indices_alloc(gan_ctx *c, gan_indices *s, size_t n)
{
    s->n = 0;
    s->idx = malloc((n ? n : 1) * sizeof *s->idx);
    if (!s->idx) return GAN_FAIL(c, GAN_ERR_NOMEM, "index set of %zu items", n);
    return GAN_OK;
}

gan_status gan_indices_all(gan_ctx *c, const gan_dataset *d, gan_indices *out)
{
    if (!d || !out) return GAN_FAIL(c, GAN_ERR_ARG, "gan_indices_all: NULL argument");
    gan_status st = indices_alloc(c, out, d->n);
    if (st) return st;
    for (size_t i = 0; i < d->n; i++) out->idx[i] = i;
    out->n = d->n;
    return GAN_OK;
}

/* Checks shared by the subset functions: base indexes d, labels in range,
 * and the item count fits the 32-bit draws. */
static gan_status check_base(gan_ctx *c, const char *fn, const gan_dataset *d, const gan_indices *base,
                             int need_labels)
{
    if (!base || (base->n && !base->idx)) return GAN_FAIL(c, GAN_ERR_ARG, "%s: NULL index set", fn);
    if (base->n >= UINT32_MAX)
        return GAN_FAIL(c, GAN_ERR_ARG, "%s: %zu items, at most %u supported", fn, base->n, UINT32_MAX - 1);
    if (!d) return need_labels ? GAN_FAIL(c, GAN_ERR_ARG, "%s: NULL dataset", fn) : GAN_OK;
    for (size_t i = 0; i < base->n; i++) {
        if (base->idx[i] >= d->n)
            return GAN_FAIL(c, GAN_ERR_ARG, "%s: index %zu at position %zu, dataset has %zu items", fn,
                            base->idx[i], i, d->n);
        if (need_labels && d->labels[base->idx[i]] >= GAN_MNIST_CLASSES)
            return GAN_FAIL(c, GAN_ERR_ARG, "%s: item %zu has label %u, expected 0..%d", fn, base->idx[i],
                            d->labels[base->idx[i]], GAN_MNIST_CLASSES - 1);
    }
    return GAN_OK;
}

gan_status gan_epoch_order(gan_ctx *c, const gan_indices *base, uint64_t seed, uint64_t epoch, size_t *out)
{
    gan_status st = check_base(c, "gan_epoch_order", NULL, base, 0);
    if (st) return st;
    if (!out && base->n) return GAN_FAIL(c, GAN_ERR_ARG, "gan_epoch_order: NULL out");
    if (base->n) memcpy(out, base->idx, base->n * sizeof *out);
    shuffle(out, base->n, seed, epoch, PURPOSE_SHUFFLE);
    return GAN_OK;
}

/* A seeded permutation of base, in a fresh array. */
static gan_status permuted(gan_ctx *c, const gan_indices *base, uint64_t seed, uint32_t purpose, size_t **out)
{
    *out = malloc((base->n ? base->n : 1) * sizeof **out);
    if (!*out) return GAN_FAIL(c, GAN_ERR_NOMEM, "permutation of %zu items", base->n);
    if (base->n) memcpy(*out, base->idx, base->n * sizeof **out);
    shuffle(*out, base->n, seed, 0, purpose);
    return GAN_OK;
}

/* Split the permutation perm[0..n) by take[i] into two sorted sets. */
static gan_status split_by(gan_ctx *c, const size_t *perm, const unsigned char *take, size_t n, gan_indices *a,
                           gan_indices *b)
{
    gan_status st = GAN_OK;
    size_t na = 0;
    for (size_t i = 0; i < n; i++) na += take[i] != 0;
    memset(a, 0, sizeof *a);
    if (b) memset(b, 0, sizeof *b);
    TRY(indices_alloc(c, a, na));
    if (b) TRY(indices_alloc(c, b, n - na));
    for (size_t i = 0; i < n; i++) {
        if (take[i])
            a->idx[a->n++] = perm[i];
        else if (b)
            b->idx[b->n++] = perm[i];
    }
    qsort(a->idx, a->n, sizeof *a->idx, cmp_size);
    if (b) qsort(b->idx, b->n, sizeof *b->idx, cmp_size);
cleanup:
    if (st) {
        gan_indices_free(a);
        if (b) gan_indices_free(b);
    }
    return st;
}

gan_status gan_split_validation(gan_ctx *c, const gan_dataset *d, const gan_indices *base, size_t n_val,
                                uint64_t seed, gan_indices *train, gan_indices *val)
{
    gan_status st = GAN_OK;
    size_t *perm = NULL;
    unsigned char *take = NULL;
    if (!train || !val) return GAN_FAIL(c, GAN_ERR_ARG, "gan_split_validation: NULL output");
    memset(train, 0, sizeof *train);
    memset(val, 0, sizeof *val);
    TRY(check_base(c, "gan_split_validation", d, base, 0));
    if (n_val > base->n)
        return GAN_FAIL(c, GAN_ERR_ARG, "gan_split_validation: %zu validation items from a set of %zu", n_val,
                        base->n);
    TRY(permuted(c, base, seed, PURPOSE_VALID, &perm));
    take = calloc(base->n ? base->n : 1, 1);
    if (!take) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "validation split of %zu items", base->n);
        goto cleanup;
    }
    memset(take, 1, n_val);
    TRY(split_by(c, perm, take, base->n, val, train));
cleanup:
    free(perm);
    free(take);
    return st;
}

gan_status gan_split_labeled(gan_ctx *c, const gan_dataset *d, const gan_indices *base, size_t per_class,
                             uint64_t seed, gan_indices *labeled, gan_indices *unlabeled)
{
    gan_status st = GAN_OK;
    size_t *perm = NULL;
    unsigned char *take = NULL;
    if (!labeled || !unlabeled) return GAN_FAIL(c, GAN_ERR_ARG, "gan_split_labeled: NULL output");
    memset(labeled, 0, sizeof *labeled);
    memset(unlabeled, 0, sizeof *unlabeled);
    TRY(check_base(c, "gan_split_labeled", d, base, 1));
    size_t have[GAN_MNIST_CLASSES] = {0};
    for (size_t i = 0; i < base->n; i++) have[d->labels[base->idx[i]]]++;
    for (int k = 0; k < GAN_MNIST_CLASSES; k++)
        if (have[k] < per_class)
            return GAN_FAIL(c, GAN_ERR_ARG, "gan_split_labeled: %zu labels per class asked, class %d has %zu items",
                            per_class, k, have[k]);
    TRY(permuted(c, base, seed, PURPOSE_LABELED, &perm));
    take = calloc(base->n ? base->n : 1, 1);
    if (!take) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "labeled split of %zu items", base->n);
        goto cleanup;
    }
    size_t taken[GAN_MNIST_CLASSES] = {0};
    for (size_t i = 0; i < base->n; i++) {
        unsigned k = d->labels[perm[i]];
        if (taken[k] < per_class) {
            taken[k]++;
            take[i] = 1;
        }
    }
    TRY(split_by(c, perm, take, base->n, labeled, unlabeled));
cleanup:
    free(perm);
    free(take);
    return st;
}

gan_status gan_imbalance(gan_ctx *c, const gan_dataset *d, const gan_indices *base,
                         const double keep[GAN_MNIST_CLASSES], uint64_t seed, gan_indices *out)
{
    gan_status st = GAN_OK;
    size_t *perm = NULL;
    unsigned char *take = NULL;
    if (!out || !keep) return GAN_FAIL(c, GAN_ERR_ARG, "gan_imbalance: NULL argument");
    memset(out, 0, sizeof *out);
    TRY(check_base(c, "gan_imbalance", d, base, 1));
    for (int k = 0; k < GAN_MNIST_CLASSES; k++)
        if (!(keep[k] >= 0.0 && keep[k] <= 1.0))
            return GAN_FAIL(c, GAN_ERR_ARG, "gan_imbalance: class %d keeps %g, expected a fraction in [0, 1]", k,
                            keep[k]);
    size_t have[GAN_MNIST_CLASSES] = {0}, quota[GAN_MNIST_CLASSES];
    for (size_t i = 0; i < base->n; i++) have[d->labels[base->idx[i]]]++;
    for (int k = 0; k < GAN_MNIST_CLASSES; k++) quota[k] = (size_t)floor(keep[k] * (double)have[k] + 0.5);
    TRY(permuted(c, base, seed, PURPOSE_IMBAL, &perm));
    take = calloc(base->n ? base->n : 1, 1);
    if (!take) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "imbalanced subset of %zu items", base->n);
        goto cleanup;
    }
    for (size_t i = 0; i < base->n; i++) {
        unsigned k = d->labels[perm[i]];
        if (quota[k]) {
            quota[k]--;
            take[i] = 1;
        }
    }
    TRY(split_by(c, perm, take, base->n, out, NULL));
cleanup:
    free(perm);
    free(take);
    return st;
}

static const char *skip_space(const char *p)
{
    while (*p == ' ' || *p == '\t') p++;
    return p;
}

gan_status gan_imbalance_parse(gan_ctx *c, const char *spec, double keep[GAN_MNIST_CLASSES])
{
    if (!spec || !keep) return GAN_FAIL(c, GAN_ERR_ARG, "gan_imbalance_parse: NULL argument");
    int named[GAN_MNIST_CLASSES] = {0};
    for (int k = 0; k < GAN_MNIST_CLASSES; k++) keep[k] = 1.0;
    const char *p = skip_space(spec);
    if (!*p) return GAN_FAIL(c, GAN_ERR_ARG, "--imbalance \"%s\": empty, expected e.g. \"3,5:0.1\"", spec);
    for (;;) {
        int group[GAN_MNIST_CLASSES], ng = 0;
        for (;;) {
            p = skip_space(p);
            if (*p < '0' || *p > '9' || (p[1] >= '0' && p[1] <= '9'))
                return GAN_FAIL(c, GAN_ERR_ARG,
                                "--imbalance \"%s\": expected a class 0..9 at offset %d, as in \"3,5:0.1\"", spec,
                                (int)(p - spec));
            int k = *p++ - '0';
            if (named[k])
                return GAN_FAIL(c, GAN_ERR_ARG, "--imbalance \"%s\": class %d named twice", spec, k);
            named[k] = 1;
            group[ng++] = k;
            p = skip_space(p);
            if (*p == ',') {
                p++;
                continue;
            }
            if (*p == ':') {
                p++;
                break;
            }
            return GAN_FAIL(c, GAN_ERR_ARG, "--imbalance \"%s\": expected ',' or ':' at offset %d", spec,
                            (int)(p - spec));
        }
        p = skip_space(p);
        char *end = NULL;
        double f = strtod(p, &end);
        if (end == p || !(f >= 0.0 && f <= 1.0))
            return GAN_FAIL(c, GAN_ERR_ARG, "--imbalance \"%s\": expected a fraction in [0, 1] at offset %d", spec,
                            (int)(p - spec));
        for (int i = 0; i < ng; i++) keep[group[i]] = f;
        p = skip_space(end);
        if (!*p) return GAN_OK;
        if (*p != ';')
            return GAN_FAIL(c, GAN_ERR_ARG, "--imbalance \"%s\": expected ';' or the end at offset %d", spec,
                            (int)(p - spec));
        p++;
    }
}

void gan_pixels_to_float(const uint8_t *px, size_t n, gan_pixel_range range, float *out)
{
    if (range == GAN_RANGE_UNIT)
        for (size_t i = 0; i < n; i++) out[i] = (float)px[i] / 255.0f;
    else
        for (size_t i = 0; i < n; i++) out[i] = (float)px[i] / 127.5f - 1.0f;
}

gan_status gan_dataset_batch(gan_ctx *c, const gan_dataset *d, const size_t *idx, size_t count,
                             gan_pixel_range range, float *x, int32_t *labels)
{
    if (!d || (count && (!idx || !x)))
        return GAN_FAIL(c, GAN_ERR_ARG, "gan_dataset_batch: NULL argument");
    if (range != GAN_RANGE_TANH && range != GAN_RANGE_UNIT)
        return GAN_FAIL(c, GAN_ERR_ARG, "gan_dataset_batch: pixel range %d, expected GAN_RANGE_TANH or "
                        "GAN_RANGE_UNIT", (int)range);
    size_t px = (size_t)d->h * (size_t)d->w;
    for (size_t i = 0; i < count; i++)
        if (idx[i] >= d->n)
            return GAN_FAIL(c, GAN_ERR_ARG, "gan_dataset_batch: index %zu at batch position %zu, dataset has %zu "
                            "items", idx[i], i, d->n);
    for (size_t i = 0; i < count; i++) {
        gan_pixels_to_float(d->images + idx[i] * px, px, range, x + i * px);
        if (labels) labels[i] = d->labels[idx[i]];
    }
    return GAN_OK;
}
