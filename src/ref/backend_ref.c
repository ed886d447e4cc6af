/* The reference backend's table: plain-C loops, the oracle every device op
 * is tested against. Its memory is host memory (malloc) and it keeps no
 * state of its own beyond the context's host workspace; the ops live in
 * src/ref/<family>.c. */
#include "../internal.h"

#include <stdlib.h>
#include <string.h>

static gan_status ref_init(gan_ctx *c, const char *selector)
{
    (void)selector;
    snprintf(c->device_name, sizeof c->device_name, "cpu reference");
    return GAN_OK;
}

static void ref_free(gan_ctx *c) { (void)c; }

static gan_status ref_buf_alloc(gan_ctx *c, size_t bytes, const char *what, void **out)
{
    *out = malloc(bytes);
    if (!*out) return GAN_FAIL(c, GAN_ERR_NOMEM, "%s of %zu bytes", what, bytes);
    return GAN_OK;
}

static void ref_buf_free(gan_ctx *c, void *buf)
{
    (void)c;
    free(buf);
}

static gan_status ref_buf_write(gan_ctx *c, void *buf, const void *src, size_t bytes)
{
    (void)c;
    memcpy(buf, src, bytes);
    return GAN_OK;
}

static gan_status ref_buf_read(gan_ctx *c, const void *buf, void *dst, size_t bytes)
{
    (void)c;
    memcpy(dst, buf, bytes);
    return GAN_OK;
}

static gan_status ref_buf_fill(gan_ctx *c, void *buf, float value, size_t bytes)
{
    (void)c;
    float *p = buf;
    for (size_t i = 0; i < bytes / sizeof *p; i++) p[i] = value;
    return GAN_OK;
}

static gan_status ref_host_alloc(gan_ctx *c, size_t bytes, void **ptr, void **handle)
{
    *handle = NULL;
    if (!(*ptr = malloc(bytes ? bytes : 1)))
        return GAN_FAIL(c, GAN_ERR_NOMEM, "%zu bytes of host memory", bytes);
    return GAN_OK;
}

static void ref_host_free(gan_ctx *c, void *ptr, void *handle)
{
    (void)c;
    (void)handle;
    free(ptr);
}

/* Every op has finished when it returns. */
static gan_status ref_finish(gan_ctx *c)
{
    (void)c;
    return GAN_OK;
}

static const char *ref_build_log(const gan_ctx *c)
{
    (void)c;
    return "";
}

gan_status ref_scratch(gan_ctx *c, size_t bytes, void **out)
{
    if (bytes > c->host_scratch_bytes) {
        void *p = realloc(c->host_scratch, bytes);
        if (!p) return GAN_FAIL(c, GAN_ERR_NOMEM, "reference workspace of %zu bytes", bytes);
        gan_mem_track(c, (long long)bytes - (long long)c->host_scratch_bytes);
        c->host_scratch = p;
        c->host_scratch_bytes = bytes;
    }
    *out = c->host_scratch;
    return GAN_OK;
}

const struct gan_backend_ops gan_backend_ref = {
    .name = "ref",
    .kind = GAN_BACKEND_REF,
    .init = ref_init,
    .free = ref_free,
    .buf_alloc = ref_buf_alloc,
    .buf_free = ref_buf_free,
    .buf_write = ref_buf_write,
    .buf_read = ref_buf_read,
    .buf_fill = ref_buf_fill,
    .host_alloc = ref_host_alloc,
    .host_free = ref_host_free,
    .finish = ref_finish,
    .build_log = ref_build_log,
#define GAN_X_(name, params, args) .name = ref_##name,
    GAN_OP_LIST(GAN_X_)
#undef GAN_X_
};
