/* libFuzzer target for the safetensors checkpoint reader (gan_ckpt_parse):
 * any input must either parse, with every tensor inside its buffer and every
 * lookup consistent, or fail with an error status and a message; never
 * crash, leak or read out of bounds. Built and run by tools/fuzz.sh from
 * this file, src/io/safetensors.c and src/io/ckpt.c (-ljansson -lz): the
 * reader needs nothing else of the library but gan_fail, whose weak stand-in
 * below yields to src/core.c's when that is linked too. */
#include "gancl/ckpt.h"
#include "internal.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

__attribute__((weak)) gan_status gan_fail(gan_ctx *c, gan_status st, const char *file, int line,
                                          const char *fmt, ...)
{
    if (!c || c->err[0]) return st;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof c->err ? (size_t)n : sizeof c->err - 1;
    snprintf(c->err + len, sizeof c->err - len, " at %s:%d", file, line);
    return st;
}

static gan_ctx ctx_storage; /* zeroed: only err[] is used */
static gan_ctx *const ctx = &ctx_storage;

/* What a successful parse promises the caller. */
static void check_loaded(const gan_ckpt *k)
{
    volatile unsigned sink = 0;
    for (int i = 0; i < gan_ckpt_count(k); i++) {
        const gan_ckpt_tensor *t = gan_ckpt_tensor_at(k, i);
        const unsigned char *p = t->data;
        /* ASan flags these if the data pointer or size is wrong. */
        if (t->nbytes) sink += p[0] + p[t->nbytes - 1];
        if (t->nbytes != t->numel * gan_st_dtype_size(t->dtype)) abort();
        const gan_ckpt_tensor *e = NULL;
        if (gan_ckpt_expect(ctx, k, t->name, t->dtype, t->ndim, t->shape, &e) != GAN_OK || e != t) abort();
        if (gan_ckpt_find(k, t->name) != t) abort();
    }
    int n = gan_ckpt_meta_count(k);
    gan_ckpt_kv *kv = calloc((size_t)n + 1, sizeof *kv);
    if (!kv) return;
    for (int i = 0; i < n; i++) gan_ckpt_meta_at(k, i, &kv[i].key, &kv[i].value);
    if (gan_ckpt_compare_config(ctx, k, kv, (size_t)n) != GAN_OK) abort();
    char *other = n > 0 ? malloc(strlen(kv[0].value) + 2) : NULL;
    if (other) {
        /* Differs from the stored value, so it must be reported. */
        strcpy(other, kv[0].value);
        strcat(other, "!");
        kv[0].value = other;
        if (gan_ckpt_compare_config(ctx, k, kv, (size_t)n) != GAN_ERR_MISMATCH || !ctx->err[0]) abort();
        ctx->err[0] = 0;
    }
    free(other);
    free(kv);
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    gan_ckpt *k = NULL;
    ctx->err[0] = 0;
    gan_status st = gan_ckpt_parse(ctx, data, size, "fuzz", &k);
    if (st == GAN_OK) {
        if (!k) abort();
        check_loaded(k);
    } else if (k || !ctx->err[0]) {
        abort(); /* a failure must return nothing and say why */
    }
    gan_ckpt_free(k);
    return 0;
}
