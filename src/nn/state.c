/* Model state <-> safetensors checkpoints: parameters, Adam moments and
 * buffers of one or more registries, plus the caller's metadata. Writes go
 * through the crash-safe checkpoint writer (src/io/safetensors.c). */
#include "gancl/ckpt.h"
#include "gancl/nn.h"
#include "internal.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct entry {
    char name[96];
    gan_tensor *t;
} entry;

/* Every tensor of the registries under its checkpoint name. */
static int collect(gan_params *const *regs, int nregs, entry *out, int cap)
{
    int n = 0;
    for (int r = 0; r < nregs; r++) {
        gan_params *reg = regs[r];
        for (int i = 0; i < reg->n && n + 3 <= cap; i++) {
            gan_param *p = reg->p[i];
            snprintf(out[n].name, sizeof out[n].name, "%s", p->name);
            out[n++].t = &p->w;
            snprintf(out[n].name, sizeof out[n].name, "optim.%s.exp_avg", p->name);
            out[n++].t = &p->m;
            snprintf(out[n].name, sizeof out[n].name, "optim.%s.exp_avg_sq", p->name);
            out[n++].t = &p->v;
        }
        for (int i = 0; i < reg->nbuf && n < cap; i++) {
            snprintf(out[n].name, sizeof out[n].name, "%s", reg->buf[i].name);
            out[n++].t = reg->buf[i].t;
        }
    }
    return n;
}

#define MAX_ENTRIES (8 * GAN_MAX_PARAMS)

gan_status gan_state_save(gan_ctx *c, const char *path, gan_params *const *regs, int nregs, const gan_ckpt_kv *meta,
                          int nmeta)
{
    gan_status st = GAN_OK;
    entry *e = calloc(MAX_ENTRIES, sizeof *e);
    float **host = calloc(MAX_ENTRIES, sizeof *host);
    gan_ckpt_writer *w = NULL;
    int n = 0;
    if (!e || !host) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "checkpoint of %s", path);
        goto cleanup;
    }
    n = collect(regs, nregs, e, MAX_ENTRIES);
    TRY(gan_ckpt_writer_create(c, &w));
    for (int i = 0; i < n; i++) {
        gan_tensor *t = e[i].t;
        int64_t shape[GAN_MAX_DIMS];
        for (int d = 0; d < t->ndim; d++) shape[d] = t->dim[d];
        if (!(host[i] = malloc(t->numel * sizeof(float)))) {
            st = GAN_FAIL(c, GAN_ERR_NOMEM, "checkpoint tensor %s", e[i].name);
            goto cleanup;
        }
        TRY(gan_tensor_read(c, t, host[i]));
        TRY(gan_ckpt_writer_add(c, w, e[i].name, GAN_ST_F32, t->ndim, shape, host[i]));
    }
    for (int i = 0; i < nmeta; i++) TRY(gan_ckpt_writer_meta(c, w, meta[i].key, meta[i].value));
    TRY(gan_ckpt_writer_save(c, w, path));
cleanup:
    gan_ckpt_writer_free(w);
    if (host)
        for (int i = 0; i < n; i++) free(host[i]);
    free(host);
    free(e);
    return st;
}

gan_status gan_state_load(gan_ctx *c, const char *path, gan_params *const *regs, int nregs, const gan_ckpt_kv *arch,
                          int narch, gan_ckpt **meta_out)
{
    gan_status st = GAN_OK;
    gan_ckpt *k = NULL;
    entry *e = calloc(MAX_ENTRIES, sizeof *e);
    if (meta_out) *meta_out = NULL;
    if (!e) return GAN_FAIL(c, GAN_ERR_NOMEM, "loading %s", path);
    TRY(gan_ckpt_load(c, path, &k));
    TRY(gan_ckpt_compare_config(c, k, arch, (size_t)narch));
    int n = collect(regs, nregs, e, MAX_ENTRIES);
    /* check every tensor before changing any, so a refused checkpoint
     * leaves the model as it was */
    const gan_ckpt_tensor **found = calloc((size_t)n + 1, sizeof *found);
    if (!found) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "loading %s", path);
        goto cleanup;
    }
    for (int i = 0; i < n && st == GAN_OK; i++) {
        int64_t shape[GAN_MAX_DIMS];
        for (int d = 0; d < e[i].t->ndim; d++) shape[d] = e[i].t->dim[d];
        st = gan_ckpt_expect(c, k, e[i].name, GAN_ST_F32, e[i].t->ndim, shape, &found[i]);
    }
    for (int i = 0; i < n && st == GAN_OK; i++) st = gan_tensor_write(c, e[i].t, found[i]->data);
    free(found);
    if (st) goto cleanup;
    if (meta_out) {
        *meta_out = k;
        k = NULL;
    }
cleanup:
    gan_ckpt_free(k);
    free(e);
    return st;
}

void gan_kv_add(gan_kvbuf *b, const char *key, const char *fmt, ...)
{
    if (b->n >= GAN_KV_MAX) return; /* callers use a handful; the cap is far above */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(b->val[b->n], sizeof b->val[b->n], fmt, ap);
    va_end(ap);
    b->kv[b->n] = (gan_ckpt_kv){key, b->val[b->n]};
    b->n++;
}

gan_status gan_run_save(gan_ctx *c, const char *path, gan_params *const *regs, int nregs, const gan_kvbuf *arch,
                        const gan_kvbuf *run, int step, gan_rng rng, const gan_ckpt_kv *extra, int nextra)
{
    gan_kvbuf pos = {.n = 0};
    gan_kv_add(&pos, "step", "%d", step);
    gan_kv_add(&pos, "rng_seed", "%llu", (unsigned long long)rng.seed);
    gan_kv_add(&pos, "rng_counter", "%llu", (unsigned long long)rng.counter);
    gan_ckpt_kv meta[3 * GAN_KV_MAX + 32];
    int k = 0;
    const gan_kvbuf *parts[3] = {arch, run, &pos};
    for (int p = 0; p < 3; p++)
        for (int i = 0; parts[p] && i < parts[p]->n; i++) meta[k++] = parts[p]->kv[i];
    if (nextra > 32) return GAN_FAIL(c, GAN_ERR_ARG, "%d extra metadata pairs: at most 32", nextra);
    for (int i = 0; i < nextra; i++) meta[k++] = extra[i];
    return gan_state_save(c, path, regs, nregs, meta, k);
}

static int parse_u64(const char *s, unsigned long long *out)
{
    char *end;
    if (!s || !*s) return -1;
    *out = strtoull(s, &end, 10);
    return *end ? -1 : 0;
}

gan_status gan_run_load(gan_ctx *c, const char *path, gan_params *const *regs, int nregs, const gan_kvbuf *arch,
                        int *step, gan_rng *rng, gan_ckpt **out)
{
    gan_ckpt *k = NULL;
    gan_status st = gan_state_load(c, path, regs, nregs, arch->kv, arch->n, &k);
    if (st) return st;
    unsigned long long s, seed, counter;
    if (parse_u64(gan_ckpt_meta(k, "step"), &s) || s > 2147483647u || parse_u64(gan_ckpt_meta(k, "rng_seed"), &seed) ||
        parse_u64(gan_ckpt_meta(k, "rng_counter"), &counter)) {
        gan_ckpt_free(k);
        return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: step, rng_seed or rng_counter missing or not an integer", path);
    }
    *step = (int)s;
    *rng = (gan_rng){.seed = seed, .counter = counter};
    if (out)
        *out = k;
    else
        gan_ckpt_free(k);
    return GAN_OK;
}
