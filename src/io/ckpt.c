/* Checkpoint semantics on top of the safetensors reader: fetching a tensor
 * the caller expects with an exact dtype and shape, and refusing to resume a
 * run from a checkpoint of a different architecture. */
#include "internal.h"
#include "gancl/ckpt.h"

#include <string.h>

static void shape_str(const int64_t *shape, int ndim, char *buf, size_t cap)
{
    size_t len = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < ndim && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? ", " : "", (long long)shape[i]);
    if (len < cap) snprintf(buf + len, cap - len, "]");
}

gan_status gan_ckpt_expect(gan_ctx *c, const gan_ckpt *k, const char *name, gan_st_dtype dtype, int ndim,
                           const int64_t *shape, const gan_ckpt_tensor **out)
{
    *out = NULL;
    const gan_ckpt_tensor *t = gan_ckpt_find(k, name);
    if (!t) return GAN_FAIL(c, GAN_ERR_MISMATCH, "checkpoint %s has no tensor '%s'", gan_ckpt_label(k), name);
    int same = t->dtype == dtype && t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++) same = t->shape[i] == shape[i];
    if (!same) {
        char got[160], want[160];
        shape_str(t->shape, t->ndim, got, sizeof got);
        shape_str(shape, ndim, want, sizeof want);
        const char *wn = gan_st_dtype_name(dtype);
        return GAN_FAIL(c, GAN_ERR_MISMATCH, "checkpoint %s: tensor '%s' is %s %s, expected %s %s",
                        gan_ckpt_label(k), name, gan_st_dtype_name(t->dtype), got, wn ? wn : "(bad dtype)",
                        want);
    }
    *out = t;
    return GAN_OK;
}

gan_status gan_ckpt_compare_config(gan_ctx *c, const gan_ckpt *k, const gan_ckpt_kv *expected, size_t n)
{
    char msg[4096];
    size_t len = 0;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        const char *have = gan_ckpt_meta(k, expected[i].key);
        if (have && strcmp(have, expected[i].value) == 0) continue;
        bad++;
        if (len < sizeof msg)
            len += (size_t)snprintf(msg + len, sizeof msg - len, "%s%s: checkpoint %s, run %s", bad > 1 ? "; " : "",
                                    expected[i].key, have ? have : "(absent)", expected[i].value);
    }
    if (!bad) return GAN_OK;
    return GAN_FAIL(c, GAN_ERR_MISMATCH, "checkpoint %s was written by a different architecture (%d mismatched field%s): %s",
                    gan_ckpt_label(k), bad, bad > 1 ? "s" : "", msg);
}
