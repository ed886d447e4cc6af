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
    gan_tensor *t;   /* a device tensor, or */
    int64_t *count;  /* a host counter, stored as an I64 scalar */
    int col;         /* stored with a trailing dimension 1 (weight_g: [O] -> [O, 1], as weight_norm keeps it) */
} entry;

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Every tensor of the registries under its checkpoint name (format 2):
 * parameters, buffers and counters under their module names, Adam moments
 * under "optim.". */
static int collect(gan_params *const *regs, int nregs, entry *out, int cap)
{
    int n = 0;
    for (int r = 0; r < nregs; r++) {
        gan_params *reg = regs[r];
        for (int i = 0; i < reg->n && n + 3 <= cap; i++) {
            gan_param *p = reg->p[i];
            int col = ends_with(p->name, ".weight_g") && p->w.ndim == 1;
            out[n] = (entry){.t = &p->w, .col = col};
            snprintf(out[n++].name, sizeof out[0].name, "%s", p->name);
            out[n] = (entry){.t = &p->m, .col = col};
            snprintf(out[n++].name, sizeof out[0].name, "optim.%s.exp_avg", p->name);
            out[n] = (entry){.t = &p->v, .col = col};
            snprintf(out[n++].name, sizeof out[0].name, "optim.%s.exp_avg_sq", p->name);
        }
        for (int i = 0; i < reg->nbuf && n < cap; i++) {
            out[n] = (entry){.t = reg->buf[i].t, .col = ends_with(reg->buf[i].name, ".weight_g") && reg->buf[i].t->ndim == 1};
            snprintf(out[n++].name, sizeof out[0].name, "%s", reg->buf[i].name);
        }
        for (int i = 0; i < reg->ncnt && n < cap; i++) {
            out[n] = (entry){.count = reg->cnt[i].v};
            snprintf(out[n++].name, sizeof out[0].name, "%s", reg->cnt[i].name);
        }
    }
    return n;
}

/* The stored shape of an entry; its rank. */
static int entry_shape(const entry *e, int64_t *shape)
{
    if (e->count) return 0;
    for (int d = 0; d < e->t->ndim; d++) shape[d] = e->t->dim[d];
    if (e->col) shape[e->t->ndim] = 1;
    return e->t->ndim + e->col;
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
        int64_t shape[GAN_MAX_DIMS + 1];
        int ndim = entry_shape(&e[i], shape);
        if (e[i].count) {
            TRY(gan_ckpt_writer_add(c, w, e[i].name, GAN_ST_I64, 0, shape, e[i].count));
            continue;
        }
        gan_tensor *t = e[i].t;
        if (!(host[i] = malloc(t->numel * sizeof(float)))) {
            st = GAN_FAIL(c, GAN_ERR_NOMEM, "checkpoint tensor %s", e[i].name);
            goto cleanup;
        }
        TRY(gan_tensor_read(c, t, host[i]));
        TRY(gan_ckpt_writer_add(c, w, e[i].name, GAN_ST_F32, ndim, shape, host[i]));
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

/* Training state rather than a network's state_dict: the Adam moments, the
 * parameter average, the fixed sample noise. */
static int training_state(const char *name)
{
    return !strncmp(name, "optim.", 6) || !strncmp(name, "ema.", 4) || !strncmp(name, "state.", 6);
}

gan_status gan_params_restore(gan_ctx *c, const gan_ckpt *k, gan_params *const *regs, int nregs, int optim)
{
    gan_status st = GAN_OK;
    entry *e = calloc(MAX_ENTRIES, sizeof *e);
    const gan_ckpt_tensor **found = calloc(MAX_ENTRIES, sizeof *found);
    if (!e || !found) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "loading %s", gan_ckpt_label(k));
        goto cleanup;
    }
    /* An imported PyTorch state_dict has no Adam moments: they stay as
     * they are (zero in a fresh model); nor, when it holds one network,
     * the other network's tensors: a registry none of whose tensors it
     * has keeps its values (its initial weights). */
    int imported = gan_ckpt_imported(k), skip_optim = !optim || imported, n = 0, any = 0;
    for (int r = 0; r < nregs; r++) {
        int present = 0, m = collect(regs + r, 1, e, MAX_ENTRIES);
        for (int i = 0; i < m; i++) present += !training_state(e[i].name) && gan_ckpt_find(k, e[i].name);
        any += present > 0;
    }
    for (int r = 0; r < nregs; r++) {
        int n0 = n, present = 0;
        n += collect(regs + r, 1, e + n, MAX_ENTRIES - n);
        for (int i = n0; i < n; i++) present += !training_state(e[i].name) && gan_ckpt_find(k, e[i].name);
        if (imported && !present && any) n = n0; /* with none present, the expect below names what is missing */
    }
    /* check every tensor before changing any, so a refused checkpoint
     * leaves the model as it was */
    for (int i = 0; i < n && st == GAN_OK; i++) {
        if ((skip_optim && !strncmp(e[i].name, "optim.", 6)) || ((imported || !optim) && training_state(e[i].name)))
            continue;
        int64_t shape[GAN_MAX_DIMS + 1];
        int ndim = entry_shape(&e[i], shape);
        st = gan_ckpt_expect(c, k, e[i].name, e[i].count ? GAN_ST_I64 : GAN_ST_F32, ndim, shape, &found[i]);
    }
    for (int i = 0; i < n && st == GAN_OK; i++) {
        if (!found[i]) continue;
        if (e[i].count)
            memcpy(e[i].count, found[i]->data, sizeof *e[i].count); /* little-endian host, as the writer assumes */
        else
            st = gan_tensor_write(c, e[i].t, found[i]->data);
    }
cleanup:
    free(found);
    free(e);
    return st;
}

gan_status gan_params_init_from(gan_ctx *c, const char *path, gan_params *const *regs, int nregs)
{
    gan_status st = GAN_OK;
    gan_ckpt *k = NULL;
    entry *e = calloc(MAX_ENTRIES, sizeof *e);
    char *want = malloc(4096), *got = malloc(4096);
    if (!e || !want || !got) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "--init %s", path);
        goto cleanup;
    }
    TRY(gan_ckpt_load(c, path, &k));
    gan_params *use[GAN_MAX_PARAMS];
    int nuse = 0;
    size_t wl = 0, gl = 0;
    want[0] = got[0] = 0;
    for (int r = 0; r < nregs && r < GAN_MAX_PARAMS; r++) {
        int n = collect(regs + r, 1, e, MAX_ENTRIES), present = 0;
        for (int i = 0; i < n; i++) {
            if (training_state(e[i].name)) continue;
            present += gan_ckpt_find(k, e[i].name) != NULL;
            if (wl < 4096) wl += (size_t)snprintf(want + wl, 4096 - wl, "%s%s", wl ? ", " : "", e[i].name);
        }
        if (present) use[nuse++] = regs[r];
    }
    if (!nuse) {
        for (int i = 0; i < gan_ckpt_count(k) && gl < 4096; i++)
            gl += (size_t)snprintf(got + gl, 4096 - gl, "%s%s", gl ? ", " : "", gan_ckpt_tensor_at(k, i)->name);
        st = GAN_FAIL(c, GAN_ERR_MISMATCH, "--init %s holds none of this model's networks: expected %s; found %s",
                      path, want, got[0] ? got : "no tensors");
        goto cleanup;
    }
    /* each network the file has, whole and strictly; Adam, the average
     * and the sample noise start afresh */
    TRY(gan_params_restore(c, k, use, nuse, 0));
cleanup:
    gan_ckpt_free(k);
    free(e);
    free(want);
    free(got);
    return st;
}

gan_status gan_state_load(gan_ctx *c, const char *path, gan_params *const *regs, int nregs, const gan_ckpt_kv *arch,
                          int narch, gan_ckpt **meta_out)
{
    gan_status st = GAN_OK;
    gan_ckpt *k = NULL;
    if (meta_out) *meta_out = NULL;
    TRY(gan_ckpt_load(c, path, &k));
    TRY(gan_ckpt_compare_config(c, k, arch, (size_t)narch));
    TRY(gan_params_restore(c, k, regs, nregs, 1));
    if (meta_out) {
        *meta_out = k;
        k = NULL;
    }
cleanup:
    gan_ckpt_free(k);
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
