/* PNG output: sample grids laid out like torchvision's make_grid/save_image,
 * and the atomic PNG writer under them (and under the curve plots). The
 * encoder is Debian's libstb (libstb.so exports stbi_write_png_to_func, so we
 * include only the declarations, never STB_IMAGE_WRITE_IMPLEMENTATION). Bytes
 * go to a temporary file in the target's directory that is renamed over the
 * target only once complete, so a viewer polling the file never sees half a PNG.
 */
#include "gancl/data.h"
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <stb_image_write.h>

typedef struct png_sink {
    FILE *f;
    int failed;
    int err;
} png_sink;

static void sink_write(void *ctx, void *data, int size)
{
    png_sink *s = ctx;
    if (s->failed || size <= 0) return;
    if (fwrite(data, 1, (size_t)size, s->f) != (size_t)size) {
        s->failed = 1;
        s->err = errno;
    }
}

gan_status gan_png_write(gan_ctx *c, const char *path, const uint8_t *pixels, int w, int h, int comp)
{
    if (!path || !pixels) return GAN_FAIL(c, GAN_ERR_ARG, "gan_png_write: NULL %s", path ? "pixels" : "path");
    if (w <= 0 || h <= 0 || comp < 1 || comp > 4 || (size_t)w * (size_t)comp > (size_t)INT32_MAX / 2)
        return GAN_FAIL(c, GAN_ERR_ARG, "%s: image %dx%d with %d channels, expected positive sizes and 1..4 "
                        "channels", path, w, h, comp);
    size_t plen = strlen(path);
    char *tmp = malloc(plen + 8);
    if (!tmp) return GAN_FAIL(c, GAN_ERR_NOMEM, "%s: temporary name", path);
    memcpy(tmp, path, plen);
    memcpy(tmp + plen, ".XXXXXX", 8);
    gan_status st = GAN_OK;
    int fd = mkstemp(tmp);
    if (fd < 0) {
        st = GAN_FAIL(c, GAN_ERR_IO, "%s: cannot create temporary file %s: %s", path, tmp, strerror(errno));
        free(tmp);
        return st;
    }
    /* mkstemp makes the file 0600; a sample image is for anyone to view. */
    fchmod(fd, 0644);
    png_sink s = {.f = fdopen(fd, "wb")};
    if (!s.f) {
        st = GAN_FAIL(c, GAN_ERR_IO, "%s: fdopen: %s", path, strerror(errno));
        close(fd);
        goto cleanup;
    }
    if (!stbi_write_png_to_func(sink_write, &s, w, h, comp, pixels, w * comp)) {
        st = GAN_FAIL(c, GAN_ERR_IO, "%s: stbi_write_png failed (%dx%d, %d channels)", path, w, h, comp);
        fclose(s.f);
        goto cleanup;
    }
    if (!s.failed && fflush(s.f) != 0) {
        s.failed = 1;
        s.err = errno;
    }
    if (fclose(s.f) != 0 && !s.failed) {
        s.failed = 1;
        s.err = errno;
    }
    if (s.failed) {
        st = GAN_FAIL(c, GAN_ERR_IO, "%s: writing %s failed: %s", path, tmp, strerror(s.err));
        goto cleanup;
    }
    if (rename(tmp, path) != 0) {
        st = GAN_FAIL(c, GAN_ERR_IO, "%s: rename from %s failed: %s", path, tmp, strerror(errno));
        goto cleanup;
    }
    free(tmp);
    return GAN_OK;
cleanup:
    unlink(tmp);
    free(tmp);
    return st;
}

gan_grid_opts gan_grid_defaults(void)
{
    gan_grid_opts o = {.nrow = 8, .padding = 2, .pad_value = 0.0f, .lo = -1.0f, .hi = 1.0f};
    return o;
}

static uint8_t to_byte(float v, float lo, float hi)
{
    double t = ((double)v - lo) / ((double)hi - lo);
    if (!(t > 0.0)) t = 0.0; /* NaN maps to 0 too */
    if (t > 1.0) t = 1.0;
    return (uint8_t)floor(t * 255.0 + 0.5);
}

gan_status gan_png_write_grid(gan_ctx *c, const char *path, const float *images, int n, int channels, int h,
                              int w, const gan_grid_opts *opts)
{
    gan_grid_opts o = opts ? *opts : gan_grid_defaults();
    if (!path || !images) return GAN_FAIL(c, GAN_ERR_ARG, "gan_png_write_grid: NULL %s", path ? "images" : "path");
    if (n <= 0 || h <= 0 || w <= 0 || (channels != 1 && channels != 3))
        return GAN_FAIL(c, GAN_ERR_ARG, "%s: %d images of %d channels %dx%d, expected n, h, w > 0 and 1 or 3 "
                        "channels", path, n, channels, h, w);
    if (o.nrow <= 0 || o.padding < 0 || !(o.hi > o.lo) || !(o.pad_value >= 0.0f && o.pad_value <= 1.0f))
        return GAN_FAIL(c, GAN_ERR_ARG, "%s: grid nrow %d, padding %d, range [%g, %g], pad value %g: expected "
                        "nrow > 0, padding >= 0, lo < hi, pad value in [0, 1]", path, o.nrow, o.padding,
                        (double)o.lo, (double)o.hi, (double)o.pad_value);
    int cols = n < o.nrow ? n : o.nrow;
    int rows = (n + cols - 1) / cols;
    int64_t gw = (int64_t)cols * (w + o.padding) + o.padding;
    int64_t gh = (int64_t)rows * (h + o.padding) + o.padding;
    if (gw > 1 << 15 || gh > 1 << 15)
        return GAN_FAIL(c, GAN_ERR_ARG, "%s: grid of %lldx%lld pixels, at most 32768 per side", path,
                        (long long)gw, (long long)gh);
    size_t npx = (size_t)gw * (size_t)gh * (size_t)channels;
    uint8_t *px = malloc(npx);
    if (!px) return GAN_FAIL(c, GAN_ERR_NOMEM, "%s: %zu bytes of grid", path, npx);
    memset(px, (int)floor(o.pad_value * 255.0 + 0.5), npx);
    size_t plane = (size_t)h * (size_t)w;
    for (int i = 0; i < n; i++) {
        int y0 = (i / cols) * (h + o.padding) + o.padding;
        int x0 = (i % cols) * (w + o.padding) + o.padding;
        const float *img = images + (size_t)i * channels * plane;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                for (int ch = 0; ch < channels; ch++)
                    px[(((size_t)(y0 + y) * (size_t)gw) + (size_t)(x0 + x)) * channels + ch] =
                        to_byte(img[ch * plane + (size_t)y * w + x], o.lo, o.hi);
    }
    gan_status st = gan_png_write(c, path, px, (int)gw, (int)gh, channels);
    free(px);
    return st;
}
