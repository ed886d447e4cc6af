/* Training curves: series from the metrics log drawn as lines on one set of
 * axes (frame, "nice" 1-2-5 ticks, grid, tick labels, legend, title) by a
 * small software rasteriser into an RGB buffer, saved with gan_png_write;
 * and the confusion-matrix heatmap of a classifier's evaluation.
 * Text uses stb_easy_font.h from libstb-dev (header-only: it turns a string
 * into axis-aligned quads, which we fill as rectangles), so no font files.
 */
#include "gancl/data.h"
#include "internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The header defines static helpers we do not all call, and initialises a
 * struct without inner braces. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wmissing-braces"
#include <stb_easy_font.h>
#pragma GCC diagnostic pop

/* Longest string drawn; stb_easy_font needs about 270 bytes a character. */
#define TEXT_MAX 128
#define QUAD_BYTES (TEXT_MAX * 320)

typedef struct canvas {
    int w, h;
    uint8_t *px;  /* RGB */
    float *quads; /* stb_easy_font vertices: x, y, z, rgba (QUAD_BYTES) */
} canvas;

typedef struct rgb {
    uint8_t r, g, b;
} rgb;

/* matplotlib's tab10, so curves look familiar. */
static const rgb palette[10] = {
    {31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},  {148, 103, 189},
    {140, 86, 75},  {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207},
};
static const rgb black = {0, 0, 0}, white = {255, 255, 255}, grid = {225, 225, 225};

static void put(canvas *cv, int x, int y, rgb c)
{
    if (x < 0 || y < 0 || x >= cv->w || y >= cv->h) return;
    uint8_t *p = cv->px + ((size_t)y * (size_t)cv->w + (size_t)x) * 3;
    p[0] = c.r;
    p[1] = c.g;
    p[2] = c.b;
}

static void fill_rect(canvas *cv, int x0, int y0, int x1, int y1, rgb c)
{
    for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) put(cv, x, y, c);
}

static void hline(canvas *cv, int x0, int x1, int y, rgb c) { fill_rect(cv, x0, y, x1 + 1, y + 1, c); }
static void vline(canvas *cv, int x, int y0, int y1, rgb c) { fill_rect(cv, x, y0, x + 1, y1 + 1, c); }

/* Bresenham with a 2x2 pen, clipped to [cx0, cx1] x [cy0, cy1]. */
static void line(canvas *cv, int x0, int y0, int x1, int y1, rgb c, int cx0, int cy0, int cx1, int cy1)
{
    int dx = abs(x1 - x0), sx = x0 < x1 ? 1 : -1;
    int dy = -abs(y1 - y0), sy = y0 < y1 ? 1 : -1;
    int err = dx + dy;
    for (;;) {
        for (int py = y0; py <= y0 + 1; py++)
            for (int px = x0; px <= x0 + 1; px++)
                if (px >= cx0 && px <= cx1 && py >= cy0 && py <= cy1) put(cv, px, py, c);
        if (x0 == x1 && y0 == y1) break;
        int e2 = 2 * err;
        if (e2 >= dy) {
            err += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            err += dx;
            y0 += sy;
        }
    }
}

/* stb_easy_font indexes a table by (char - 32): keep to printable ASCII. */
static void sanitize(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    for (; src[i] && i + 1 < cap; i++) dst[i] = (src[i] >= 32 && src[i] <= 126) ? src[i] : '?';
    dst[i] = 0;
}

static int text_width(const char *s, int scale)
{
    char buf[TEXT_MAX];
    sanitize(buf, sizeof buf, s);
    return stb_easy_font_width(buf) * scale;
}

/* Draw s with its top-left corner at (x, y), each font pixel scale x scale. */
static void text(canvas *cv, int x, int y, const char *s, rgb c, int scale)
{
    char buf[TEXT_MAX];
    sanitize(buf, sizeof buf, s);
    int nq = stb_easy_font_print(0, 0, buf, NULL, cv->quads, QUAD_BYTES);
    for (int q = 0; q < nq; q++) {
        const float *v = cv->quads + q * 16; /* 4 vertices of 4 words */
        int qx0 = (int)v[0], qy0 = (int)v[1], qx1 = (int)v[8], qy1 = (int)v[9];
        fill_rect(cv, x + qx0 * scale, y + qy0 * scale, x + qx1 * scale, y + qy1 * scale, c);
    }
}

/* A 1-2-5 tick spacing giving about `target` intervals over [lo, hi]. */
static double nice_step(double lo, double hi, int target)
{
    double raw = (hi - lo) / target;
    double mag = pow(10.0, floor(log10(raw)));
    double f = raw / mag;
    double step = (f < 1.5 ? 1.0 : f < 3.5 ? 2.0 : f < 7.5 ? 5.0 : 10.0) * mag;
    return step > 0.0 && isfinite(step) ? step : hi - lo; /* subnormal spans */
}

/* Pixel offset of a scaled value, kept in int range whatever the data. */
static int to_px(double v)
{
    if (!(v > -1e6)) return -1000000;
    if (v > 1e6) return 1000000;
    return (int)lround(v);
}

static void tick_label(char *buf, size_t cap, double v, double step)
{
    if (fabs(v) < step * 1e-9) v = 0.0; /* no "-0" or "1e-17" at the origin */
    double a = fabs(v);
    if (a != 0.0 && (a >= 1e6 || a < 1e-4)) {
        snprintf(buf, cap, "%.3g", v);
        return;
    }
    int dec = step >= 1.0 ? 0 : (int)ceil(-log10(step) - 1e-9);
    snprintf(buf, cap, "%.*f", dec > 6 ? 6 : dec, v);
}

typedef struct range {
    double lo, hi;
} range;

static void widen(range *r)
{
    if (!(r->lo <= r->hi)) { /* nothing finite */
        r->lo = 0.0;
        r->hi = 1.0;
    } else if (r->lo == r->hi) {
        double d = r->lo == 0.0 ? 1.0 : fabs(r->lo) * 0.1;
        r->lo -= d;
        r->hi += d;
    }
}

gan_status gan_plot_png(gan_ctx *c, const char *path, const gan_series *const *series, size_t nseries,
                        const gan_plot_opts *opts)
{
    gan_plot_opts o = {.width = 800, .height = 500};
    if (opts) o = *opts;
    if (!path || (!series && nseries)) return GAN_FAIL(c, GAN_ERR_ARG, "gan_plot_png: NULL argument");
    if (nseries == 0) return GAN_FAIL(c, GAN_ERR_ARG, "%s: no series to plot", path);
    if (o.width < 160 || o.height < 120 || o.width > 8192 || o.height > 8192)
        return GAN_FAIL(c, GAN_ERR_ARG, "%s: plot of %dx%d pixels, expected 160x120 up to 8192x8192", path,
                        o.width, o.height);
    for (size_t i = 0; i < nseries; i++)
        if (!series[i] || (series[i]->n && (!series[i]->step || !series[i]->value)))
            return GAN_FAIL(c, GAN_ERR_ARG, "%s: series %zu is NULL or has no data arrays", path, i);

    range xr = {INFINITY, -INFINITY}, yr = {INFINITY, -INFINITY};
    for (size_t i = 0; i < nseries; i++)
        for (size_t k = 0; k < series[i]->n; k++) {
            double x = series[i]->step[k], y = series[i]->value[k];
            if (!isfinite(x) || !isfinite(y)) continue;
            xr.lo = fmin(xr.lo, x);
            xr.hi = fmax(xr.hi, x);
            yr.lo = fmin(yr.lo, y);
            yr.hi = fmax(yr.hi, y);
        }
    widen(&xr);
    widen(&yr);
    double pad = (yr.hi - yr.lo) * 0.05; /* keep curves off the frame */
    yr.lo -= pad;
    yr.hi += pad;
    if (!isfinite(xr.hi - xr.lo) || !isfinite(yr.hi - yr.lo))
        return GAN_FAIL(c, GAN_ERR_ARG, "%s: values span more than a double holds (x %g..%g, y %g..%g)", path,
                        xr.lo, xr.hi, yr.lo, yr.hi);
    double xstep = nice_step(xr.lo, xr.hi, 6), ystep = nice_step(yr.lo, yr.hi, 6);
    /* ticks k0*step, (k0+1)*step, ...: summing steps would drift; at most 50
     * (far from the origin k0 + i may not change, so count with an int) */
    double xk0 = ceil(xr.lo / xstep), yk0 = ceil(yr.lo / ystep);
    int nxt = (int)fmin(50.0, floor(xr.hi / xstep + 1e-9) - xk0 + 1);
    int nyt = (int)fmin(50.0, floor(yr.hi / ystep + 1e-9) - yk0 + 1);

    canvas cv = {o.width, o.height, malloc((size_t)o.width * (size_t)o.height * 3), malloc(QUAD_BYTES)};
    if (!cv.px || !cv.quads) {
        free(cv.px);
        free(cv.quads);
        return GAN_FAIL(c, GAN_ERR_NOMEM, "%s: %dx%d plot", path, o.width, o.height);
    }
    memset(cv.px, 255, (size_t)o.width * (size_t)o.height * 3);

    char buf[64];
    int ylab_w = 0;
    for (int i = 0; i < nyt; i++) {
        tick_label(buf, sizeof buf, (yk0 + i) * ystep, ystep);
        int tw = text_width(buf, 1);
        if (tw > ylab_w) ylab_w = tw;
    }
    int left = ylab_w + 12, right = o.width - 12;
    int top = o.title ? 30 : 12, bottom = o.height - 34;

    /* grid and ticks */
    double sx = (right - left) / (xr.hi - xr.lo), sy = (bottom - top) / (yr.hi - yr.lo);
    for (int i = 0; i < nxt; i++) {
        double v = (xk0 + i) * xstep;
        int x = left + to_px((v - xr.lo) * sx);
        vline(&cv, x, top, bottom, grid);
        vline(&cv, x, bottom, bottom + 4, black);
        tick_label(buf, sizeof buf, v, xstep);
        text(&cv, x - text_width(buf, 1) / 2, bottom + 7, buf, black, 1);
    }
    for (int i = 0; i < nyt; i++) {
        double v = (yk0 + i) * ystep;
        int y = bottom - to_px((v - yr.lo) * sy);
        hline(&cv, left, right, y, grid);
        hline(&cv, left - 4, left, y, black);
        tick_label(buf, sizeof buf, v, ystep);
        text(&cv, left - 6 - text_width(buf, 1), y - 4, buf, black, 1);
    }
    const char *xlabel = o.xlabel ? o.xlabel : "step";
    text(&cv, (left + right) / 2 - text_width(xlabel, 1) / 2, bottom + 20, xlabel, black, 1);
    if (o.title) text(&cv, (left + right) / 2 - text_width(o.title, 2) / 2, 6, o.title, black, 2);

    hline(&cv, left, right, top, black);
    hline(&cv, left, right, bottom, black);
    vline(&cv, left, top, bottom, black);
    vline(&cv, right, top, bottom, black);

    /* curves; a non-finite value breaks the line, and a point with no
     * finite neighbour gets a dot so it does not vanish */
    for (size_t i = 0; i < nseries; i++) {
        const gan_series *s = series[i];
        rgb col = palette[i % 10];
        int have = 0, px = 0, py = 0;
        for (size_t k = 0; k < s->n; k++) {
            if (!isfinite(s->step[k]) || !isfinite(s->value[k])) {
                have = 0;
                continue;
            }
            int x = left + to_px((s->step[k] - xr.lo) * sx);
            int y = bottom - to_px((s->value[k] - yr.lo) * sy);
            line(&cv, have ? px : x, have ? py : y, x, y, col, left, top, right, bottom);
            int next_ok = k + 1 < s->n && isfinite(s->step[k + 1]) && isfinite(s->value[k + 1]);
            if (!have && !next_ok)
                for (int d = -2; d <= 2; d++) line(&cv, x - 2, y + d, x + 2, y + d, col, left, top, right, bottom);
            px = x;
            py = y;
            have = 1;
        }
    }

    /* legend, top right inside the frame */
    int lw = 0;
    for (size_t i = 0; i < nseries; i++) {
        int tw = text_width(series[i]->name ? series[i]->name : "", 1);
        if (tw > lw) lw = tw;
    }
    int row = 14, lx1 = right - 8, lx0 = lx1 - (lw + 34), ly0 = top + 8;
    int ly1 = ly0 + (int)nseries * row + 6;
    if (lx0 > left + 8 && ly1 < bottom - 8) {
        fill_rect(&cv, lx0, ly0, lx1, ly1, white);
        hline(&cv, lx0, lx1, ly0, black);
        hline(&cv, lx0, lx1, ly1, black);
        vline(&cv, lx0, ly0, ly1, black);
        vline(&cv, lx1, ly0, ly1, black);
        for (size_t i = 0; i < nseries; i++) {
            int y = ly0 + 4 + (int)i * row;
            int lh = stb_easy_font_height("A");
            fill_rect(&cv, lx0 + 6, y + lh / 2 - 2, lx0 + 26, y + lh / 2, palette[i % 10]);
            text(&cv, lx0 + 30, y + 1, series[i]->name ? series[i]->name : "", black, 1);
        }
    }

    gan_status st = gan_png_write(c, path, cv.px, cv.w, cv.h, 3);
    free(cv.px);
    free(cv.quads);
    return st;
}

gan_status gan_plot_metrics(gan_ctx *c, const char *path, const gan_metrics *m, const char *const *names,
                            size_t nnames, const gan_plot_opts *opts)
{
    if (!path || !m || (!names && nnames)) return GAN_FAIL(c, GAN_ERR_ARG, "gan_plot_metrics: NULL argument");
    if (nnames == 0) return GAN_FAIL(c, GAN_ERR_ARG, "%s: no series named to plot", path);
    const gan_series **sel = malloc(nnames * sizeof *sel);
    if (!sel) return GAN_FAIL(c, GAN_ERR_NOMEM, "%s: series list", path);
    for (size_t i = 0; i < nnames; i++) {
        sel[i] = gan_metrics_find(m, names[i]);
        if (!sel[i]) {
            char have[1024];
            size_t len = 0;
            have[0] = 0;
            for (size_t k = 0; k < m->nseries && len < sizeof have; k++)
                len += (size_t)snprintf(have + len, sizeof have - len, "%s%s", k ? ", " : "", m->series[k].name);
            free(sel);
            return GAN_FAIL(c, GAN_ERR_ARG, "%s: no series \"%s\" in the log; it has: %s", path,
                            names[i] ? names[i] : "(null)", m->nseries ? have : "(nothing)");
        }
    }
    gan_status st = gan_plot_png(c, path, sel, nnames, opts);
    free(sel);
    return st;
}

/* matplotlib's "Blues" ends: a rate of 0 is the light one, 1 the dark one. */
static const rgb blues_lo = {247, 251, 255}, blues_hi = {8, 48, 107};

static rgb blend(rgb a, rgb b, double t)
{
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    return (rgb){(uint8_t)lround(a.r + (b.r - a.r) * t), (uint8_t)lround(a.g + (b.g - a.g) * t),
                 (uint8_t)lround(a.b + (b.b - a.b) * t)};
}

gan_status gan_plot_confusion(gan_ctx *c, const char *path, const size_t *counts, int K, const char *title)
{
    if (!path || !counts) return GAN_FAIL(c, GAN_ERR_ARG, "gan_plot_confusion: NULL %s", path ? "counts" : "path");
    if (K < 1 || K > 100) return GAN_FAIL(c, GAN_ERR_ARG, "%s: confusion matrix of %d classes, expected 1..100", path, K);
    const int cell = K <= 20 ? 44 : 20;
    int lab_w = text_width("99", 1);
    int left = 30 + lab_w, top = (title ? 30 : 8) + 32, right = 12, bottom = 12;
    int W = left + K * cell + right, H = top + K * cell + bottom;
    if (title && text_width(title, 2) + 24 > W) W = text_width(title, 2) + 24;
    canvas cv = {W, H, malloc((size_t)W * (size_t)H * 3), malloc(QUAD_BYTES)};
    if (!cv.px || !cv.quads) {
        free(cv.px);
        free(cv.quads);
        return GAN_FAIL(c, GAN_ERR_NOMEM, "%s: %dx%d heatmap", path, W, H);
    }
    memset(cv.px, 255, (size_t)W * (size_t)H * 3);
    char buf[32];
    int lh = stb_easy_font_height("0");
    if (title) text(&cv, W / 2 - text_width(title, 2) / 2, 6, title, black, 2);
    text(&cv, left + K * cell / 2 - text_width("predicted", 1) / 2, top - 30, "predicted", black, 1);
    text(&cv, 4, top - 16, "true", black, 1);
    for (int t = 0; t < K; t++) {
        size_t row = 0;
        for (int p = 0; p < K; p++) row += counts[(size_t)t * (size_t)K + (size_t)p];
        snprintf(buf, sizeof buf, "%d", t);
        text(&cv, left - 6 - text_width(buf, 1), top + t * cell + cell / 2 - lh / 2, buf, black, 1);
        text(&cv, left + t * cell + cell / 2 - text_width(buf, 1) / 2, top - 14, buf, black, 1);
        for (int p = 0; p < K; p++) {
            size_t n = counts[(size_t)t * (size_t)K + (size_t)p];
            double rate = row ? (double)n / (double)row : 0.0;
            int x0 = left + p * cell, y0 = top + t * cell;
            fill_rect(&cv, x0, y0, x0 + cell, y0 + cell, blend(blues_lo, blues_hi, rate));
            snprintf(buf, sizeof buf, "%zu", n);
            if (text_width(buf, 1) <= cell - 4)
                text(&cv, x0 + cell / 2 - text_width(buf, 1) / 2, y0 + cell / 2 - lh / 2, buf,
                     rate > 0.5 ? white : black, 1);
        }
    }
    /* frame and cell borders */
    for (int i = 0; i <= K; i++) {
        hline(&cv, left, left + K * cell, top + i * cell, grid);
        vline(&cv, left + i * cell, top, top + K * cell, grid);
    }
    hline(&cv, left, left + K * cell, top, black);
    hline(&cv, left, left + K * cell, top + K * cell, black);
    vline(&cv, left, top, top + K * cell, black);
    vline(&cv, left + K * cell, top, top + K * cell, black);
    gan_status st = gan_png_write(c, path, cv.px, cv.w, cv.h, 3);
    free(cv.px);
    free(cv.quads);
    return st;
}
