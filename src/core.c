/* Context, status names, error recording and tensors: the parts of gancl
 * that every backend shares. Memory and synchronisation go through the
 * backend table (src/internal.h); nothing here knows a backend. */
#include "gancl/dist.h"
#include "internal.h"

#include <stdlib.h>
#include <string.h>

const char *gan_status_name(gan_status st)
{
    switch (st) {
#define GAN_X_(name, value, text) \
    case GAN_##name:              \
        return "GAN_" #name;
        GAN_STATUS_LIST(GAN_X_)
#undef GAN_X_
    }
    return "GAN_UNKNOWN_STATUS";
}

const char *gan_status_str(gan_status st)
{
    switch (st) {
#define GAN_X_(name, value, text) \
    case GAN_##name:              \
        return text;
        GAN_STATUS_LIST(GAN_X_)
#undef GAN_X_
    }
    return "unknown status";
}

gan_status gan_fail(gan_ctx *c, gan_status st, const char *file, int line, const char *fmt, ...)
{
    if (!c || c->err[0]) return st; /* keep the first error: it is the cause */
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(c->err, sizeof c->err, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    size_t len = (size_t)n < sizeof c->err ? (size_t)n : sizeof c->err - 1;
    if (c->cur_op)
        len += (size_t)snprintf(c->err + len, sizeof c->err - len, " in op %s", c->cur_op);
    if (len < sizeof c->err)
        snprintf(c->err + len, sizeof c->err - len, " at %s:%d", file, line);
    return st;
}

const char *gan_ctx_error(const gan_ctx *c)
{
    if (!c) return "no context (out of memory)";
    return c->err[0] ? c->err : "no error";
}

void gan_ctx_clear_error(gan_ctx *c)
{
    if (c) c->err[0] = 0;
}

gan_backend_kind gan_ctx_backend(const gan_ctx *c) { return c->ops->kind; }
const char *gan_ctx_device_name(const gan_ctx *c) { return c->device_name; }
const char *gan_ctx_build_log(const gan_ctx *c) { return c->ops->build_log(c); }

static int is_cpu_selector(const char *s)
{
    return s && (strcmp(s, "cpu") == 0 || strcmp(s, "CPU") == 0 || strcmp(s, "ref") == 0);
}

gan_status gan_ctx_create(gan_ctx **out, const char *selector)
{
    *out = NULL;
    gan_ctx *c = calloc(1, sizeof *c);
    if (!c) return GAN_ERR_NOMEM;
    *out = c;
    if (!selector || !*selector) {
        const char *env = getenv("GANCL_DEVICE");
        if (env && *env) selector = env;
    }
    c->ops = is_cpu_selector(selector) ? &gan_backend_ref : &gan_backend_ocl;
    return c->ops->init(c, selector);
}

void gan_ctx_free(gan_ctx *c)
{
    if (!c) return;
    gan_dist_detach(c);
    c->ops->free(c);
    free(c->host_scratch);
    free(c);
}

gan_status gan_ctx_finish(gan_ctx *c) { return c->ops->finish(c); }

void gan_mem_track(gan_ctx *c, long long delta)
{
    c->mem_now = (size_t)((long long)c->mem_now + delta);
    if (c->mem_now > c->mem_peak) c->mem_peak = c->mem_now;
}

void gan_ctx_memory(const gan_ctx *c, size_t *now, size_t *peak)
{
    *now = c->mem_now;
    *peak = c->mem_peak;
}

/* ---- tensors ----------------------------------------------------------- */

const char *gan_tensor_shape_str(const gan_tensor *t, char *buf, size_t cap)
{
    size_t len = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < t->ndim && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%d", i ? ", " : "", t->dim[i]);
    if (len < cap) snprintf(buf + len, cap - len, "]");
    return buf;
}

static gan_status check_dims(gan_ctx *c, int ndim, const int *dim, size_t *numel)
{
    if (ndim < 1 || ndim > GAN_MAX_DIMS)
        return GAN_FAIL(c, GAN_ERR_ARG, "tensor rank %d: expected 1..%d", ndim, GAN_MAX_DIMS);
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (dim[i] <= 0)
            return GAN_FAIL(c, GAN_ERR_ARG, "tensor dim %d is %d: expected > 0", i, dim[i]);
        if (n > SIZE_MAX / 4 / (size_t)dim[i])
            return GAN_FAIL(c, GAN_ERR_ARG, "tensor size overflows at dim %d", i);
        n *= (size_t)dim[i];
    }
    *numel = n;
    return GAN_OK;
}

gan_status gan_tensor_alloc(gan_ctx *c, gan_tensor *t, gan_dtype dtype, int ndim, const int *dim)
{
    gan_status st = GAN_OK;
    memset(t, 0, sizeof *t);
    size_t n;
    TRY(check_dims(c, ndim, dim, &n));
    t->dtype = dtype;
    t->ndim = ndim;
    memcpy(t->dim, dim, (size_t)ndim * sizeof *dim);
    t->numel = n;
    t->owner = 1;
    char shape[64], what[80];
    snprintf(what, sizeof what, "a tensor %s", gan_tensor_shape_str(t, shape, sizeof shape));
    TRY(c->ops->buf_alloc(c, n * 4, what, &t->data));
    gan_mem_track(c, (long long)(n * 4));
    /* zero it, so a fresh tensor reads the same on every backend */
    TRY(c->ops->buf_fill(c, t->data, 0.f, n * 4));
cleanup:
    if (st != GAN_OK) gan_tensor_free(c, t);
    return st;
}

gan_status gan_tensor_alloc4(gan_ctx *c, gan_tensor *t, gan_dtype dtype, int ndim, int d0, int d1,
                             int d2, int d3)
{
    int dim[4] = {d0, d1, d2, d3};
    return gan_tensor_alloc(c, t, dtype, ndim, dim);
}

void gan_tensor_free(gan_ctx *c, gan_tensor *t)
{
    if (!t) return;
    if (t->owner && t->data) {
        gan_mem_track(c, -(long long)(t->numel * 4));
        c->ops->buf_free(c, t->data);
    }
    memset(t, 0, sizeof *t);
}

gan_status gan_tensor_view(gan_ctx *c, const gan_tensor *src, int ndim, const int *dim, gan_tensor *out)
{
    size_t n;
    gan_status st = check_dims(c, ndim, dim, &n);
    if (st) return st;
    if (n != src->numel) {
        char b[64];
        return GAN_FAIL(c, GAN_ERR_SHAPE, "view of %s (%zu elements) as %zu elements",
                        gan_tensor_shape_str(src, b, sizeof b), src->numel, n);
    }
    gan_tensor v = *src;
    v.ndim = ndim;
    memset(v.dim, 0, sizeof v.dim);
    memcpy(v.dim, dim, (size_t)ndim * sizeof *dim);
    v.owner = 0;
    *out = v;
    return GAN_OK;
}

gan_status gan_tensor_narrow(gan_ctx *c, const gan_tensor *src, int n, gan_tensor *out)
{
    if (n < 1 || n > src->dim[0]) {
        char b[64];
        return GAN_FAIL(c, GAN_ERR_ARG, "narrow of %s to %d entries: expected 1..%d", gan_tensor_shape_str(src, b, sizeof b),
                        n, src->dim[0]);
    }
    gan_tensor v = *src;
    v.numel = src->numel / (size_t)src->dim[0] * (size_t)n;
    v.dim[0] = n;
    v.owner = 0;
    *out = v;
    return GAN_OK;
}

gan_status gan_tensor_write(gan_ctx *c, gan_tensor *t, const void *src)
{
    if (!t || !t->data) return GAN_FAIL(c, GAN_ERR_ARG, "write to an unallocated tensor");
    return c->ops->buf_write(c, t->data, src, t->numel * 4);
}

gan_status gan_tensor_read(gan_ctx *c, const gan_tensor *t, void *dst)
{
    if (!t || !t->data) return GAN_FAIL(c, GAN_ERR_ARG, "read from an unallocated tensor");
    return c->ops->buf_read(c, t->data, dst, t->numel * 4);
}
