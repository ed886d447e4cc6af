/* Generators from training checkpoints (include/gancl/eval.h), for
 * scoring and sampling: the model a checkpoint's metadata and tensor
 * shapes describe, with only its generator's weights loaded. */
#include "gancl/eval.h"
#include "gancl/train.h"
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Copy every parameter, buffer and counter of reg from the checkpoint,
 * each checked for name, dtype and shape first (GAN_ERR_MISMATCH naming
 * what differs). */
static gan_status load_registry(gan_ctx *c, const gan_ckpt *k, gan_params *reg)
{
    return gan_params_restore(c, k, &reg, 1, 0);
}

static gan_status wrong_kind(gan_ctx *c, const char *path, const char *model)
{
    return GAN_FAIL(c, GAN_ERR_MISMATCH,
                    "%s holds no generator (its model is %s%s%s); expected a GAN checkpoint: model \"dcgan\" "
                    "(`gancl train --mode gan`), \"acgan\" (--mode cgan) or \"semi-mlp\" (--mode semi)",
                    path, model ? "\"" : "", model ? model : "not named", model ? "\"" : "");
}

gan_status gan_generator_load(gan_ctx *c, gan_generator *g, const char *path, int batch)
{
    gan_status st = GAN_OK;
    gan_ckpt *k = NULL;
    memset(g, 0, sizeof *g);
    if (batch < 1) return GAN_FAIL(c, GAN_ERR_ARG, "generator batch %d: expected >= 1", batch);
    TRY(gan_ckpt_load(c, path, &k));
    const char *model = gan_ckpt_meta(k, "model");
    gan_rng rng = {.seed = 1, .counter = 0}; /* initial weights, all overwritten by the checkpoint's */
    g->N = batch;
    snprintf(g->model, sizeof g->model, "%s", model ? model : "");
    gan_params *reg = NULL;
    if (model && !strcmp(model, "semi-mlp")) {
        gan_semi_config cfg = gan_semi_default();
        gan_ckpt_meta_int(k, "nz", &cfg.nz); /* absent: the default */
        gan_ckpt_meta_int(k, "g_hidden", &cfg.g_hidden);
        g->kind = GAN_GEN_SEMI;
        g->nz = cfg.nz;
        g->normal = 0;
        snprintf(g->arch, sizeof g->arch, "semi-mlp");
        TRY(gan_semi_g_init(c, &g->semi, &cfg, batch, &rng));
        reg = &g->semi.params;
    } else {
        if (!model || (strcmp(model, "dcgan") && strcmp(model, "acgan"))) {
            st = wrong_kind(c, path, model);
            goto cleanup;
        }
        gan_gen_info info;
        TRY(gan_gen_info_of(c, k, &info));
        gan_dcgan_config cfg = info.model;
        g->kind = GAN_GEN_GAN;
        g->nz = cfg.nz;
        g->nclass = cfg.ncond;
        g->normal = 1;
        snprintf(g->arch, sizeof g->arch, "%s", gan_arch_name(cfg.arch));
        TRY(gan_gen_init(c, &g->gen, &g->dc, &g->mlp, &cfg, batch, &rng));
        reg = gan_gen_params(&g->gen);
        if (g->nclass) {
            TRY(gan_tensor_alloc4(c, &g->onehot, GAN_F32, 2, batch, g->nclass, 0, 0));
            TRY(gan_tensor_alloc4(c, &g->zc, GAN_F32, 2, batch, g->nz + g->nclass, 0, 0));
            if (!(g->h_onehot = malloc((size_t)batch * (size_t)g->nclass * sizeof *g->h_onehot))) {
                st = GAN_FAIL(c, GAN_ERR_NOMEM, "generator labels");
                goto cleanup;
            }
        }
    }
    TRY(load_registry(c, k, reg));
    TRY(gan_tensor_alloc4(c, &g->noise, GAN_F32, 2, batch, g->nz, 0, 0));
    if (!(g->h_out = malloc((size_t)batch * 784 * sizeof *g->h_out)))
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "generator output staging for batch %d", batch);
cleanup:
    gan_ckpt_free(k);
    if (st) gan_generator_free(c, g);
    return st;
}

gan_status gan_generator_noise(gan_ctx *c, gan_generator *g, int n, gan_rng *rng)
{
    gan_tensor z;
    gan_status st = GAN_OK;
    if (n < 1 || n > g->N) return GAN_FAIL(c, GAN_ERR_ARG, "generator noise for %d rows: expected 1..%d", n, g->N);
    TRY(gan_tensor_narrow(c, &g->noise, n, &z));
    if (g->normal)
        TRY(gan_rng_normal(c, gan_rng_take(rng, z.numel, 1), 0.f, 1.f, &z));
    else
        TRY(gan_rng_uniform(c, gan_rng_take(rng, z.numel, 0), &z));
cleanup:
    return st;
}

gan_status gan_generator_run(gan_ctx *c, gan_generator *g, int n, const int32_t *labels, float *out)
{
    gan_status st = gan_generator_run_native(c, g, n, labels, out);
    /* tanh images to [0, 1], the range the evaluator and grids take */
    if (st == GAN_OK && g->kind != GAN_GEN_SEMI)
        for (size_t i = 0; i < (size_t)n * 784; i++) out[i] = 0.5f * (out[i] + 1.f);
    return st;
}

gan_status gan_generator_run_native(gan_ctx *c, gan_generator *g, int n, const int32_t *labels, float *out)
{
    gan_status st = GAN_OK;
    gan_tensor z;
    if (n < 1 || n > g->N) return GAN_FAIL(c, GAN_ERR_ARG, "generator run of %d images: expected 1..%d", n, g->N);
    if (g->nclass && !labels)
        return GAN_FAIL(c, GAN_ERR_ARG, "the generator is conditional on %d classes: labels are needed", g->nclass);
    TRY(gan_tensor_narrow(c, &g->noise, n, &z));
    if (g->kind == GAN_GEN_SEMI) {
        TRY(gan_semi_g_forward(c, &g->semi, &z, 0));
        TRY(gan_tensor_read(c, &g->semi.out.y, out));
        return GAN_OK;
    }
    if (g->nclass) {
        gan_tensor oh, zc;
        for (int i = 0; i < n; i++) {
            if (labels[i] < 0 || labels[i] >= g->nclass) {
                st = GAN_FAIL(c, GAN_ERR_ARG, "label %d of image %d: expected 0..%d", labels[i], i, g->nclass - 1);
                goto cleanup;
            }
            for (int k = 0; k < g->nclass; k++) g->h_onehot[(size_t)i * (size_t)g->nclass + (size_t)k] = k == labels[i];
        }
        TRY(gan_tensor_narrow(c, &g->onehot, n, &oh));
        TRY(gan_tensor_narrow(c, &g->zc, n, &zc));
        TRY(gan_tensor_write(c, &oh, g->h_onehot));
        TRY(gan_concat_forward(c, &z, &oh, &zc));
        z = zc;
    }
    TRY(gan_gen_forward(c, &g->gen, &z, 0));
    TRY(gan_tensor_read(c, gan_gen_out(&g->gen), out));
cleanup:
    return st;
}

void gan_generator_free(gan_ctx *c, gan_generator *g)
{
    if (g->kind == GAN_GEN_SEMI)
        gan_semi_g_free(c, &g->semi);
    else if (g->gen.dc || g->gen.mlp)
        gan_gen_free(c, &g->gen);
    gan_tensor_free(c, &g->noise);
    gan_tensor_free(c, &g->onehot);
    gan_tensor_free(c, &g->zc);
    free(g->h_out);
    free(g->h_onehot);
    memset(g, 0, sizeof *g);
}
