/* The one generator interface (include/gancl/generator.h): what a
 * checkpoint's generator is, handles loaded from checkpoints or over a
 * training model's network, and generation. The one-hot/concat input of a
 * conditional generator is built here once (gan_onehot_concat), for the
 * handles and for the cgan training step. */
#include "gancl/generator.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

gan_status gan_onehot_concat(gan_ctx *c, const gan_tensor *z, const int32_t *labels, int n, int K, float *h_onehot,
                             gan_tensor *onehot, gan_tensor *zin)
{
    gan_status st = GAN_OK;
    gan_tensor oh, zc;
    for (int i = 0; i < n; i++)
        if (labels[i] < 0 || labels[i] >= K)
            return GAN_FAIL(c, GAN_ERR_ARG, "label %d of image %d: expected 0..%d", labels[i], i, K - 1);
    memset(h_onehot, 0, (size_t)n * (size_t)K * sizeof *h_onehot);
    for (int i = 0; i < n; i++) h_onehot[(size_t)i * (size_t)K + (size_t)labels[i]] = 1.f;
    TRY(gan_tensor_narrow(c, onehot, n, &oh));
    TRY(gan_tensor_narrow(c, zin, n, &zc));
    TRY(gan_tensor_write(c, &oh, h_onehot));
    TRY(gan_concat_forward(c, z, &oh, &zc));
    *zin = zc;
cleanup:
    return st;
}

gan_generator_info gan_generator_info_gan(const gan_dcgan_config *model, int nclass)
{
    gan_generator_info i;
    memset(&i, 0, sizeof i);
    i.kind = GAN_GEN_GAN;
    snprintf(i.model_name, sizeof i.model_name, "%s", nclass ? "acgan" : "dcgan");
    snprintf(i.arch, sizeof i.arch, "%s", gan_arch_name(model->arch));
    i.model = *model;
    i.nz = model->nz;
    i.conditional = nclass > 0;
    i.nclass = nclass;
    i.normal = 1;
    i.tanh = 1;
    return i;
}

gan_generator_info gan_generator_info_semi(const gan_semi_config *cfg)
{
    gan_generator_info i;
    memset(&i, 0, sizeof i);
    i.kind = GAN_GEN_SEMI;
    snprintf(i.model_name, sizeof i.model_name, "semi-mlp");
    snprintf(i.arch, sizeof i.arch, "semi-mlp");
    i.semi = *cfg;
    i.nz = cfg->nz;
    return i;
}

static gan_status info_of(gan_ctx *c, const gan_ckpt *k, gan_generator_info *out)
{
    const char *path = gan_ckpt_label(k);
    const char *model = gan_ckpt_meta(k, "model"), *arch = gan_ckpt_meta(k, "arch");
    if (model && !strcmp(model, "semi-mlp")) {
        gan_semi_config cfg = gan_semi_default();
        gan_ckpt_meta_int(k, "nz", &cfg.nz); /* absent: the default */
        gan_ckpt_meta_int(k, "g_hidden", &cfg.g_hidden);
        *out = gan_generator_info_semi(&cfg);
        return GAN_OK;
    }
    if (!model || (strcmp(model, "dcgan") && strcmp(model, "acgan"))) {
        const char *mode = gan_ckpt_meta(k, "mode");
        return GAN_FAIL(c, GAN_ERR_MISMATCH,
                        "%s holds no generator: its model is %s (mode %s); expected a GAN checkpoint: model "
                        "\"dcgan\" (`gancl train --mode gan`), \"acgan\" (--mode cgan) or \"semi-mlp\" (--mode semi)",
                        path, model ? model : "(absent)", mode ? mode : "(absent)");
    }
    int conditional = !strcmp(model, "acgan"), nclass = 0;
    gan_dcgan_config m = gan_dcgan_default();
    if (arch && gan_arch_parse(arch, &m.arch))
        return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: arch \"%s\": expected dcgan or mlp", path, arch);
    int bad = gan_ckpt_meta_int(k, "nz", &m.nz) || gan_ckpt_meta_int(k, "ndf", &m.ndf) ||
              gan_ckpt_meta_int(k, "nout", &m.nout) || gan_ckpt_meta_float(k, "slope", &m.slope) ||
              gan_ckpt_meta_float(k, "dropout", &m.drop) ||
              gan_ckpt_meta_int(k, m.arch == GAN_ARCH_MLP ? "hidden" : "ngf",
                                m.arch == GAN_ARCH_MLP ? &m.hidden : &m.ngf) ||
              (conditional && gan_ckpt_meta_int(k, "nclass", &nclass));
    if (bad)
        return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: a %s checkpoint without a readable configuration (nz, %s, ndf, nout, "
                        "slope, dropout%s)", path, model, m.arch == GAN_ARCH_MLP ? "hidden" : "ngf",
                        conditional ? ", nclass" : "");
    m.ncond = conditional ? nclass : 0;
    *out = gan_generator_info_gan(&m, nclass);
    return GAN_OK;
}

gan_status gan_generator_info_of(gan_ctx *c, const gan_ckpt *k, gan_generator_info *out)
{
    memset(out, 0, sizeof *out);
    gan_status st = info_of(c, k, out);
    const char *s = gan_ckpt_meta(k, "step");
    if (!st && s) out->step = atoi(s);
    return st;
}

gan_status gan_generator_probe(gan_ctx *c, const char *path, gan_generator_info *out)
{
    gan_ckpt *k = NULL;
    gan_status st = gan_ckpt_load(c, path, &k);
    if (st == GAN_OK) st = gan_generator_info_of(c, k, out);
    gan_ckpt_free(k);
    return st;
}

/* The handle's own buffers for chunks of N. */
static gan_status alloc_io(gan_ctx *c, gan_generator *g, int N)
{
    gan_status st = GAN_OK;
    int K = g->info.nclass, nz = g->info.nz;
    if (N < 1) return GAN_FAIL(c, GAN_ERR_ARG, "generator batch %d: expected >= 1", N);
    g->N = N;
    TRY(gan_tensor_alloc4(c, &g->noise, GAN_F32, 2, N, nz, 0, 0));
    if (K) {
        TRY(gan_tensor_alloc4(c, &g->onehot, GAN_F32, 2, N, K, 0, 0));
        TRY(gan_tensor_alloc4(c, &g->zc, GAN_F32, 2, N, nz + K, 0, 0));
        if (!(g->h_onehot = malloc((size_t)N * (size_t)K * sizeof *g->h_onehot)))
            st = GAN_FAIL(c, GAN_ERR_NOMEM, "generator labels for batch %d", N);
    }
cleanup:
    return st;
}

gan_status gan_generator_wrap(gan_ctx *c, gan_generator *g, const gan_generator_info *info, const gan_gen *net,
                              gan_semi_g *semi, int N)
{
    memset(g, 0, sizeof *g);
    g->info = *info;
    g->net = net;
    g->semi = semi;
    if (info->kind == GAN_GEN_SEMI ? !semi : !net)
        return GAN_FAIL(c, GAN_ERR_ARG, "generator handle: no %s network", info->arch);
    gan_status st = alloc_io(c, g, N);
    if (st) gan_generator_free(c, g);
    return st;
}

gan_status gan_generator_load(gan_ctx *c, gan_generator *g, const char *path, int batch)
{
    gan_status st = GAN_OK;
    gan_ckpt *k = NULL;
    memset(g, 0, sizeof *g);
    if (batch < 1) return GAN_FAIL(c, GAN_ERR_ARG, "generator batch %d: expected >= 1", batch);
    TRY(gan_ckpt_load(c, path, &k));
    TRY(gan_generator_info_of(c, k, &g->info));
    gan_rng rng = {.seed = 1, .counter = 0}; /* initial weights, all overwritten by the checkpoint's */
    gan_params *reg;
    g->owned = 1;
    if (g->info.kind == GAN_GEN_SEMI) {
        TRY(gan_semi_g_init(c, &g->own_semi, &g->info.semi, batch, &rng));
        g->semi = &g->own_semi;
        reg = &g->own_semi.params;
    } else {
        TRY(gan_gen_init(c, &g->own_gen, &g->own_dc, &g->own_mlp, &g->info.model, batch, &rng));
        g->net = &g->own_gen;
        reg = gan_gen_params(&g->own_gen);
    }
    /* every parameter, buffer and counter, each checked for name, dtype and shape */
    TRY(gan_params_restore(c, k, &reg, 1, 0));
    TRY(alloc_io(c, g, batch));
cleanup:
    gan_ckpt_free(k);
    if (st) gan_generator_free(c, g);
    return st;
}

gan_status gan_generator_noise(gan_ctx *c, gan_generator *g, int n, gan_rng *rng, float *z)
{
    gan_status st = GAN_OK;
    for (int at = 0; at < n; at += g->N) {
        int b = n - at < g->N ? n - at : g->N;
        gan_tensor v;
        TRY(gan_tensor_narrow(c, &g->noise, b, &v));
        if (g->info.normal)
            TRY(gan_rng_normal(c, gan_rng_take(rng, v.numel, 1), 0.f, 1.f, &v));
        else
            TRY(gan_rng_uniform(c, gan_rng_take(rng, v.numel, 0), &v));
        if (z) TRY(gan_tensor_read(c, &v, z + (size_t)at * (size_t)g->info.nz));
    }
cleanup:
    return st;
}

/* The first b rows of g->noise through the network into out[b, 784]. */
static gan_status run_chunk(gan_ctx *c, gan_generator *g, int b, const int32_t *labels, int unit, float *out)
{
    gan_status st = GAN_OK;
    gan_tensor z;
    TRY(gan_tensor_narrow(c, &g->noise, b, &z));
    if (g->info.kind == GAN_GEN_SEMI) {
        TRY(gan_semi_g_forward(c, g->semi, &z, 0));
        TRY(gan_tensor_read(c, &g->semi->out.y, out));
    } else {
        gan_tensor zin = g->zc;
        if (g->info.nclass) TRY(gan_onehot_concat(c, &z, labels, b, g->info.nclass, g->h_onehot, &g->onehot, &zin));
        TRY(gan_gen_forward(c, g->net, g->info.nclass ? &zin : &z, 0));
        TRY(gan_tensor_read(c, gan_gen_out(g->net), out));
    }
    /* tanh images to [0, 1], the range the evaluator and grids take */
    if (unit && g->info.tanh)
        for (size_t i = 0; i < (size_t)b * 784; i++) out[i] = 0.5f * (out[i] + 1.f);
cleanup:
    return st;
}

static gan_status check_args(gan_ctx *c, const gan_generator *g, int n, const int32_t *labels)
{
    if (n < 1) return GAN_FAIL(c, GAN_ERR_ARG, "generation of %d images: expected >= 1", n);
    if (g->info.nclass && !labels)
        return GAN_FAIL(c, GAN_ERR_ARG, "the generator is conditional on %d classes: labels are needed",
                        g->info.nclass);
    return GAN_OK;
}

gan_status gan_generator_generate(gan_ctx *c, gan_generator *g, int n, const int32_t *labels, gan_rng *rng, int unit,
                                  float *out)
{
    gan_status st = check_args(c, g, n, labels);
    for (int at = 0; at < n && !st; at += g->N) {
        int b = n - at < g->N ? n - at : g->N;
        st = gan_generator_noise(c, g, b, rng, NULL);
        if (!st) st = run_chunk(c, g, b, labels ? labels + at : NULL, unit, out + (size_t)at * 784);
    }
    return st;
}

gan_status gan_generator_generate_z(gan_ctx *c, gan_generator *g, int n, const int32_t *labels, const float *z,
                                    int unit, float *out)
{
    gan_status st = check_args(c, g, n, labels);
    for (int at = 0; at < n && !st; at += g->N) {
        int b = n - at < g->N ? n - at : g->N;
        gan_tensor v;
        st = gan_tensor_narrow(c, &g->noise, b, &v);
        if (!st) st = gan_tensor_write(c, &v, z + (size_t)at * (size_t)g->info.nz);
        if (!st) st = run_chunk(c, g, b, labels ? labels + at : NULL, unit, out + (size_t)at * 784);
    }
    return st;
}

void gan_generator_free(gan_ctx *c, gan_generator *g)
{
    if (g->owned) {
        if (g->info.kind == GAN_GEN_SEMI)
            gan_semi_g_free(c, &g->own_semi);
        else if (g->own_gen.dc || g->own_gen.mlp)
            gan_gen_free(c, &g->own_gen);
    }
    gan_tensor_free(c, &g->noise);
    gan_tensor_free(c, &g->onehot);
    gan_tensor_free(c, &g->zc);
    free(g->h_onehot);
    memset(g, 0, sizeof *g);
}
