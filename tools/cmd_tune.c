/* `gancl tune`: tune the device's GEMM for the shapes gancl runs and store
 * the result for later runs (include/gancl/tune.h). The shapes are recorded
 * from one real training step of the DCGAN and of the MNIST classifier at
 * each --batch-sizes entry (default 64,256; --quick: 8 and two parameter
 * sets, for tests) and of the semi-supervised GAN at its batch (100; --quick
 * 8), so they are exactly what ocl_gemm_run sees. Prints every own kernel's
 * and CLBlast parameter set's result and, per shape, CLBlast's default, the
 * tuned CLBlast and the best own kernel, then reopens the device to show
 * that the file loads. Also home of the shape recorder (gemm_shapes.h). */
#include "tool.h"
#include "gancl/classifier.h"
#include "gancl/semi.h"
#include "gancl/train.h"
#include "gancl/tune.h"
#include "gemm_shapes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static gan_status fill_uniform(gan_ctx *c, gan_tensor *t, uint64_t seed, double lo, double hi)
{
    float *h = malloc(t->numel * sizeof *h);
    if (!h) return GAN_ERR_NOMEM;
    for (size_t i = 0; i < t->numel; i++) {
        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
        h[i] = (float)(lo + (hi - lo) * (double)(seed >> 11) / 9007199254740992.0);
    }
    gan_status st = gan_tensor_write(c, t, h);
    free(h);
    return st;
}

const char *const tool_gemm_models[3] = {"gan", "classifier", "semi"};

static gan_status semi_step(gan_ctx *c, int n, uint64_t seed)
{
    gan_semi_config cfg = gan_semi_default();
    cfg.batch = n;
    cfg.seed = seed;
    gan_semi m;
    gan_tensor x[3] = {{0}}, y = {0};
    int32_t *lab = malloc((size_t)n * sizeof *lab);
    gan_status st = lab ? gan_semi_init(c, &m, &cfg) : GAN_ERR_NOMEM;
    if (!lab) return st;
    for (int k = 0; k < 3 && !st; k++)
        if (!(st = gan_tensor_alloc4(c, &x[k], GAN_F32, 2, n, 784, 0, 0))) st = fill_uniform(c, &x[k], seed + k, 0, 1);
    if (!st) st = gan_tensor_alloc4(c, &y, GAN_I32, 1, n, 0, 0, 0);
    for (int i = 0; i < n; i++) lab[i] = i % cfg.nclass;
    if (!st) st = gan_tensor_write(c, &y, lab);
    if (!st) st = gan_semi_step(c, &m, &x[0], &y, &x[1], &x[2], NULL);
    if (!st) st = gan_ctx_finish(c);
    for (int k = 0; k < 3; k++) gan_tensor_free(c, &x[k]);
    gan_tensor_free(c, &y);
    free(lab);
    gan_semi_free(c, &m);
    return st;
}

static gan_status gan_step(gan_ctx *c, int n, uint64_t seed)
{
    gan_gan_config gc = gan_gan_default();
    gc.batch = n;
    gc.seed = seed;
    gan_gan g;
    gan_tensor real = {0};
    gan_status st = gan_gan_init(c, &g, &gc);
    if (!st) st = gan_tensor_alloc4(c, &real, GAN_F32, 4, n, 1, 28, 28);
    if (!st) st = fill_uniform(c, &real, seed, -1, 1);
    if (!st) st = gan_gan_step(c, &g, &real, NULL);
    if (!st) st = gan_ctx_finish(c);
    gan_tensor_free(c, &real);
    gan_gan_free(c, &g);
    return st;
}

static gan_status cls_step(gan_ctx *c, int n, uint64_t seed)
{
    gan_cls_config cc = gan_cls_default();
    cc.batch = n;
    cc.seed = seed;
    gan_cls m;
    gan_status st = gan_cls_init(c, &m, &cc);
    if (!st) {
        for (int i = 0; i < n; i++) m.h_labels[i] = i % 10;
        st = fill_uniform(c, &m.x, seed, 0, 1);
    }
    if (!st) st = gan_tensor_write(c, &m.labels, m.h_labels);
    if (!st) st = gan_cls_step(c, &m, &m.x, &m.labels, NULL);
    if (!st) st = gan_ctx_finish(c);
    gan_cls_free(c, &m);
    return st;
}

gan_status tool_gemm_step(gan_ctx *c, const char *model, int n, uint64_t seed)
{
    if (!strcmp(model, "gan")) return gan_step(c, n, seed);
    if (!strcmp(model, "classifier")) return cls_step(c, n, seed);
    if (!strcmp(model, "semi")) return semi_step(c, n, seed);
    return GAN_ERR_ARG;
}

static void progress(void *arg, const char *line)
{
    (void)arg;
    printf("  %s\n", line);
    fflush(stdout);
}

static void print_ms(double ms)
{
    if (ms < 0)
        printf(" %10s", "mismatch");
    else
        printf(" %10.3f", ms);
}

int cmd_tune(const tool_opts *o)
{
    const char *sizes = o->batch_sizes ? o->batch_sizes : o->quick ? "8" : "64,256";
    gan_ctx *c = tool_ctx(o->device);
    gan_gemm_shape *shapes = NULL;
    gan_tune_report r = {0};
    int rc = 1;
    if (!c) return 1;
    if (gan_ctx_backend(c) != GAN_BACKEND_OCL) {
        fprintf(stderr, "gancl tune: needs an OpenCL device (--device), not the cpu reference\n");
        gan_ctx_free(c);
        return 2;
    }
    printf("%s\nbefore: %s\n", gan_ctx_device_name(c), gan_tune_status(c));
    gan_status st = gan_gemm_record(c, 1);
    char list[256];
    snprintf(list, sizeof list, "%s", sizes);
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok && !st; tok = strtok_r(NULL, ",", &save)) {
        char *end;
        long n = strtol(tok, &end, 10);
        if (*end || n < 1 || n > 65536) {
            fprintf(stderr, "gancl tune: --batch-sizes wants numbers in 1..65536 separated by commas, got '%s'\n",
                    sizes);
            rc = 2;
            goto done;
        }
        st = tool_gemm_step(c, "gan", (int)n, o->seed);
        if (!st) st = tool_gemm_step(c, "classifier", (int)n, o->seed);
    }
    if (!st) st = tool_gemm_step(c, "semi", o->quick ? 8 : 100, o->seed);
    if (!st) st = gan_gemm_record(c, 0);
    const gan_gemm_shape *rec;
    int ns = gan_gemm_recorded(c, &rec);
    if (!st && !(shapes = malloc((size_t)(ns ? ns : 1) * sizeof *shapes))) st = GAN_ERR_NOMEM;
    if (st) goto fail;
    memcpy(shapes, rec, (size_t)ns * sizeof *shapes);
    printf("tuning %d GEMM shapes (DCGAN and classifier training steps at batch %s, semi-supervised at %d)%s\n",
           ns, sizes, o->quick ? 8 : 100, o->quick ? ", quick search" : "");
    fflush(stdout);
    gan_tune_opts to = {.shapes = shapes, .nshapes = ns, .quick = o->quick, .reps = o->quick ? 1 : o->reps,
                       .progress = progress};
    if ((st = gan_tune(c, &to, &r))) goto fail;
    printf("\nCLBlast parameter sets (ms summed over the shapes; score: faster of it and own, summed)\n");
    for (int k = 0; k < r.ncands; k++)
        printf("%c%2d %-8s %10.1f %10.1f  %s\n", k == r.winner ? '*' : ' ', k,
               r.cands[k].valid ? "ok" : "MISMATCH", r.cands[k].ms, r.cands[k].score, r.cands[k].desc);
    if (r.winner < 0) printf("no CLBlast parameter set matched the reference everywhere: own kernels only\n");
    printf("\nown kernels (ms summed over the shapes of their layout; *: the default for shapes not listed)\n");
    for (int k = 0; k < r.nkernels; k++)
        if (r.kernels[k].nshapes)
            printf("%c %-10s %-8s %3d shapes %10.1f ms\n", k == r.tile_default || k == r.dot_default ? '*' : ' ',
                   r.kernels[k].name, r.kernels[k].valid ? "ok" : "MISMATCH", r.kernels[k].nshapes, r.kernels[k].ms);
    printf("\n%2s %2s %6s %7s %6s %5s %11s %11s %11s  %s\n", "ta", "tb", "M", "N", "K", "batch", "default ms",
           "tuned ms", "own ms", "path (own kernel)");
    double sd = 0, stn = 0, so = 0, sp = 0;
    for (int i = 0; i < r.nshapes; i++) {
        const gan_tune_shape *s = &r.shapes[i];
        printf("%2d %2d %6d %7d %6d %5d", s->s.ta, s->s.tb, s->s.M, s->s.N, s->s.K, s->s.batch);
        print_ms(s->ms_default);
        print_ms(s->ms_tuned);
        print_ms(s->ms_own);
        printf("  %s (%s)\n", s->own ? "own" : "clblast", s->kernel >= 0 ? r.kernels[s->kernel].name : "none");
        sd += s->ms_default > 0 ? s->ms_default : 0;
        stn += s->ms_tuned > 0 ? s->ms_tuned : 0;
        so += s->ms_own > 0 ? s->ms_own : 0;
        sp += s->own ? s->ms_own : s->ms_tuned;
    }
    printf("%-30s %11.1f %11.1f %11.1f  chosen %.1f ms\n", "all", sd, stn, so, sp);
    printf("\nwrote %s (%.0f s)\n", r.path, r.seconds);
    gan_ctx *c2 = tool_ctx(o->device);
    if (!c2) goto done;
    char desc[1024];
    printf("reopened: %s\nGEMMs: %s\n", gan_tune_status(c2), gan_gemm_describe(c2, desc, sizeof desc));
    gan_ctx_free(c2);
    rc = 0;
    goto done;
fail:
    fprintf(stderr, "gancl tune: %s\n", gan_ctx_error(c));
done:
    gan_tune_report_free(&r);
    free(shapes);
    gan_ctx_free(c);
    return rc;
}
