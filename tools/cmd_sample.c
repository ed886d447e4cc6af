/* `gancl sample`: a PNG grid of a generator checkpoint's images (gan,
 * cgan, semi), from noise of --seed: --n images (a conditional generator:
 * one row per class), or with --interpolate STEPS rows that walk from one
 * noise vector to another (spherical by default: Gaussian noise lives near
 * a sphere, and a straight line between two points passes through
 * low-norm noise the generator never saw; --lerp for the straight line). */
#include "tool.h"
#include "gancl/data.h"
#include "gancl/generator.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SAMPLE_BATCH 256
#define SAMPLE_MAX 10000 /* a grid of 100 x 100 images: 2800 x 2800 pixels */

static int fail(gan_ctx *c, const char *what)
{
    fprintf(stderr, "gancl sample: %s: %s\n", what, gan_ctx_error(c));
    return 1;
}

/* z = a walked to b by t in [0, 1] */
static void interp(const float *a, const float *b, int nz, double t, int linear, float *z)
{
    double na = 0, nb = 0, dot = 0;
    for (int i = 0; i < nz; i++) na += (double)a[i] * a[i], nb += (double)b[i] * b[i], dot += (double)a[i] * b[i];
    double cosw = dot / (sqrt(na * nb) + 1e-300), w = acos(cosw < -1 ? -1 : cosw > 1 ? 1 : cosw);
    if (linear || sin(w) < 1e-6) {
        for (int i = 0; i < nz; i++) z[i] = (float)((1 - t) * a[i] + t * b[i]);
        return;
    }
    double ka = sin((1 - t) * w) / sin(w), kb = sin(t * w) / sin(w);
    for (int i = 0; i < nz; i++) z[i] = (float)(ka * a[i] + kb * b[i]);
}

int cmd_sample(const tool_opts *o)
{
    if (!o->checkpoint || !o->out) {
        fprintf(stderr, "gancl sample: needs --checkpoint FILE (a gan, cgan or semi checkpoint) and --out FILE.png\n");
        return 2;
    }
    int rc = 1, n = o->n ? o->n : 64;
    if (n > SAMPLE_MAX) {
        fprintf(stderr, "gancl sample: --n %d: a grid shows at most %d images (100 rows of 100, 2800 x 2800 "
                        "pixels); to score more images use gancl eval --fid/--is --n N\n", n, SAMPLE_MAX);
        return 2;
    }
    gan_ctx *c = tool_ctx(o->device);
    if (!c) return 1;
    gan_generator g;
    memset(&g, 0, sizeof g);
    float *zh = NULL, *ends = NULL, *img = NULL, *fixed = NULL;
    int32_t *labels = NULL;
    gan_rng rng = {.seed = o->seed, .counter = 0};
    if (gan_generator_load(c, &g, o->checkpoint, SAMPLE_BATCH)) {
        rc = fail(c, "--checkpoint");
        goto out;
    }
    int S = o->interpolate, rows, cols, R = 0, chunk = SAMPLE_BATCH;
    if (o->fixed) { /* the training grid: each stored noise row (cgan: once per class, a row per class) */
        gan_ckpt *k = NULL;
        const gan_ckpt_tensor *t;
        if (S) {
            fprintf(stderr, "gancl sample: --fixed and --interpolate exclude each other\n");
            goto out;
        }
        if (gan_ckpt_load(c, o->checkpoint, &k)) {
            rc = fail(c, "--checkpoint");
            goto out;
        }
        t = gan_ckpt_find(k, "state.sample_noise");
        if (!t || t->dtype != GAN_ST_F32 || t->ndim != 2 || t->shape[1] != g.info.nz || t->shape[0] < 1 ||
            t->shape[0] > SAMPLE_BATCH) {
            fprintf(stderr, "gancl sample: --fixed: %s has no state.sample_noise F32 [R, %d] (the training grid's "
                            "noise; an imported PyTorch state_dict has none)\n", o->checkpoint, g.info.nz);
            gan_ckpt_free(k);
            goto out;
        }
        R = (int)t->shape[0];
        int batch = 0; /* training draws min(batch, R) rows of the gan and semi grids */
        n = g.info.nclass ? R * g.info.nclass : R;
        if (gan_ckpt_meta_int(k, "batch", &batch) == 0 && batch >= 1 && batch <= SAMPLE_BATCH) {
            if (!g.info.nclass && batch < R) n = batch;
            chunk = batch; /* as training runs the generator: a GEMM's last bit may depend on the batch */
        }
        fixed = malloc(t->nbytes);
        if (fixed) memcpy(fixed, t->data, t->nbytes);
        gan_ckpt_free(k);
        if (!fixed) goto out;
        cols = g.info.nclass ? R : n < 8 ? n : 8;
        rows = g.info.nclass ? g.info.nclass : (n + cols - 1) / cols;
    } else if (S) {
        rows = n / S > 0 ? n / S : 1;
        cols = S;
    } else if (g.info.nclass) {
        rows = g.info.nclass;
        cols = n / g.info.nclass > 0 ? n / g.info.nclass : 1;
    } else {
        cols = (int)ceil(sqrt((double)n));
        rows = (n + cols - 1) / cols;
    }
    int total = o->fixed ? n : S || g.info.nclass ? rows * cols : n, nz = g.info.nz;
    zh = malloc((size_t)total * (size_t)nz * sizeof *zh);
    img = malloc((size_t)total * 784 * sizeof *img);
    labels = malloc((size_t)total * sizeof *labels);
    if (!zh || !img || !labels) {
        fprintf(stderr, "gancl sample: out of memory for %d images\n", total);
        goto out;
    }
    /* noise: every image's own, or each row's two ends */
    int draws = fixed ? 0 : S ? 2 * rows : total;
    if (!(ends = malloc((size_t)draws * (size_t)nz * sizeof *ends))) goto out;
    if (gan_generator_noise(c, &g, draws, &rng, ends)) {
        rc = fail(c, "noise");
        goto out;
    }
    for (int i = 0; i < total; i++) {
        int r = S || g.info.nclass ? i / cols : 0;
        labels[i] = g.info.nclass ? (S ? r % g.info.nclass : r) : 0;
        if (fixed)
            memcpy(zh + (size_t)i * (size_t)nz, fixed + (size_t)(i % R) * (size_t)nz, (size_t)nz * sizeof *zh);
        else if (S)
            interp(ends + (size_t)(2 * r) * (size_t)nz, ends + (size_t)(2 * r + 1) * (size_t)nz, nz,
                   (double)(i % cols) / (cols - 1), o->lerp || !g.info.normal, zh + (size_t)i * (size_t)nz);
        else
            memcpy(zh + (size_t)i * (size_t)nz, ends + (size_t)i * (size_t)nz, (size_t)nz * sizeof *zh);
    }
    for (int at = 0; at < total; at += chunk) {
        int b = total - at < chunk ? total - at : chunk;
        if (gan_generator_generate_z(c, &g, b, g.info.nclass ? labels + at : NULL, zh + (size_t)at * (size_t)nz,
                                     !fixed, img + (size_t)at * 784)) {
            rc = fail(c, "generator");
            goto out;
        }
    }
    gan_grid_opts go = gan_grid_defaults();
    go.nrow = cols;
    go.lo = 0.f; /* the generator's images come back in [0, 1] */
    go.hi = 1.f;
    if (fixed && g.info.tanh) { /* --fixed: tanh images in [-1, 1], mapped to pixels as training does */
        go.lo = -1.f;
    }
    if (gan_png_write_grid(c, o->out, img, total, 1, 28, 28, &go)) {
        rc = fail(c, "--out");
        goto out;
    }
    if (o->raw) { /* in [0, 1], as a unit-range generation gives them */
        if (fixed && g.info.tanh)
            for (size_t i = 0; i < (size_t)total * 784; i++) img[i] = 0.5f * (img[i] + 1.f);
        FILE *f = fopen(o->raw, "wb");
        int bad = !f || fwrite(img, sizeof *img, (size_t)total * 784, f) != (size_t)total * 784;
        if (f && fclose(f)) bad = 1;
        if (bad) {
            fprintf(stderr, "gancl sample: --raw %s: cannot write\n", o->raw);
            goto out;
        }
    }
    if (fixed)
        printf("%s: %d images, %d rows of %d, the training grid of the %s generator %s (its fixed noise%s)\n", o->out,
               total, rows, cols, g.info.arch, o->checkpoint, g.info.nclass ? ", row k: class k" : "");
    else
        printf("%s: %d images, %d rows of %d, of the %s generator %s (seed %llu%s%s)\n", o->out, total, rows, cols,
               g.info.arch, o->checkpoint, (unsigned long long)o->seed,
               g.info.nclass ? (S ? ", row r: class r mod K" : ", row k: class k") : "",
               S ? (o->lerp || !g.info.normal ? ", linear interpolation" : ", spherical interpolation") : "");
    rc = 0;
out:
    free(fixed);
    free(zh);
    free(ends);
    free(img);
    free(labels);
    gan_generator_free(c, &g);
    gan_ctx_free(c);
    return rc;
}
