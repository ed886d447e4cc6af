/* libFuzzer target for the IDX parser (src/io/idx.c). The first byte picks
 * what the rest is: an image file, a label file, or both (split at a point
 * taken from the next two bytes) for the images+labels pairing. Checks that
 * a failure leaves a message and no data, and that a success returns what
 * the header promised.
 *
 * Builds from two sources, no OpenCL needed:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -Iinclude -Isrc \
 *       fuzz/fuzz_idx.c src/io/idx.c -lz -o fuzz_idx
 * idx.c needs only gan_fail from the library; the weak definition below
 * stands in for src/core.c's (which wins when core.c is linked too).
 */
#include "gancl/data.h"
#include "internal.h"

#include <stdarg.h>
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

static gan_ctx ctx; /* zeroed: only err[] is used */

static void check_failure(gan_status st, const void *data)
{
    if (st == GAN_OK) return;
    if (!ctx.err[0] || data) abort(); /* a failure must explain itself and own nothing */
}

int LLVMFuzzerTestOneInput(const uint8_t *buf, size_t size)
{
    if (size < 1) return 0;
    int mode = buf[0] % 3;
    buf++;
    size--;
    ctx.err[0] = 0;
    if (mode < 2) {
        gan_idx_kind kind = mode == 0 ? GAN_IDX_IMAGES : GAN_IDX_LABELS;
        uint8_t *data = NULL;
        size_t n = 0;
        gan_status st = gan_idx_parse(&ctx, "fuzz", buf, size, kind, &data, &n);
        check_failure(st, data);
        if (st == GAN_OK) {
            size_t item = kind == GAN_IDX_IMAGES ? (size_t)GAN_MNIST_H * GAN_MNIST_W : 1;
            size_t hdr = kind == GAN_IDX_IMAGES ? 16 : 8;
            if (ctx.err[0] || n == 0 || hdr + n * item != size || memcmp(data, buf + hdr, n * item)) abort();
            free(data);
        }
        return 0;
    }
    if (size < 2) return 0;
    size_t split = ((size_t)buf[0] << 8 | buf[1]);
    buf += 2;
    size -= 2;
    if (split > size) split = size;
    gan_dataset d;
    gan_status st = gan_dataset_parse_idx(&ctx, "fuzz-images", buf, split, "fuzz-labels", buf + split,
                                          size - split, &d);
    check_failure(st, d.images);
    if (st == GAN_OK) {
        if (!d.n || !d.images || !d.labels || d.h != GAN_MNIST_H || d.w != GAN_MNIST_W) abort();
        for (size_t i = 0; i < d.n; i++)
            if (d.labels[i] >= GAN_MNIST_CLASSES) abort();
        free(d.images);
        free(d.labels);
    }
    return 0;
}
