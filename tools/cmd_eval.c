/* `gancl eval --checkpoint FILE`: test accuracy, per-class accuracy and the
 * confusion matrix (printed, and as a PNG heatmap) of any checkpoint that
 * classifies: classifier, semi (with D's parameter average, the accuracy
 * its training reports) or features. The checkpoint's "mode" metadata picks
 * the model; its configuration and batch size come from the checkpoint, so
 * the numbers equal the ones training printed. Generators are scored by
 * --fid/--is (tools/cmd_eval_gen.c). */
#include "cls_report.h"
#include "tool.h"
#include "gancl/features.h"
#include "gancl/semi.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int meta_int(const gan_ckpt *k, const char *key, int *out)
{
    if (gan_ckpt_meta_int(k, key, out) == 0) return 0;
    const char *v = gan_ckpt_meta(k, key);
    fprintf(stderr, "gancl eval: %s: metadata \"%s\" is %s: expected an integer\n", gan_ckpt_label(k), key,
            v ? v : "missing");
    return -1;
}

/* n comma-separated numbers (n = 1: one). */
static int meta_floats(const gan_ckpt *k, const char *key, float *out, int n)
{
    const char *v = gan_ckpt_meta(k, key), *p = v;
    for (int i = 0; p && i < n; i++) {
        char *end;
        double x = strtod(p, &end);
        if (end == p || (i + 1 < n ? *end != ',' : *end != 0)) {
            p = NULL;
            break;
        }
        out[i] = (float)x;
        p = end + 1;
    }
    if (!p) {
        fprintf(stderr, "gancl eval: %s: metadata \"%s\" is %s: expected %d number%s\n", gan_ckpt_label(k), key,
                v ? v : "missing", n, n > 1 ? "s, comma-separated" : "");
        return -1;
    }
    return 0;
}

static int eval_classifier(gan_ctx *c, const char *path, const gan_ckpt *k, const gan_dataset *ts, gan_cls_eval *ev)
{
    gan_cls m;
    memset(&m, 0, sizeof m);
    gan_cls_config cfg = gan_cls_default();
    if (meta_int(k, "conv1", &cfg.model.c1) || meta_int(k, "conv2", &cfg.model.c2) ||
        meta_int(k, "hidden", &cfg.model.hidden) || meta_floats(k, "dropout1", &cfg.model.drop1, 1) ||
        meta_floats(k, "dropout2", &cfg.model.drop2, 1) || meta_int(k, "batch", &cfg.batch))
        return 1;
    int rc = 0;
    if (gan_cls_init(c, &m, &cfg) || gan_cls_load(c, &m, path, NULL) || gan_cls_evaluate(c, &m, ts, NULL, ev)) {
        fprintf(stderr, "gancl eval: %s\n", gan_ctx_error(c));
        rc = 1;
    }
    gan_cls_free(c, &m);
    return rc;
}

/* In chunks of the discriminator's 3N rows, as training evaluates. */
static int eval_semi(gan_ctx *c, const char *path, const gan_ckpt *k, const gan_dataset *ts, gan_cls_eval *ev)
{
    gan_semi m;
    memset(&m, 0, sizeof m);
    gan_semi_config cfg = gan_semi_default();
    float h[GAN_SEMI_DEPTH], noise[2];
    if (meta_int(k, "nz", &cfg.nz) || meta_int(k, "g_hidden", &cfg.g_hidden) ||
        meta_floats(k, "d_hidden", h, GAN_SEMI_DEPTH) || meta_int(k, "nclass", &cfg.nclass) ||
        meta_floats(k, "noise", noise, 2) || meta_int(k, "batch", &cfg.batch) || meta_floats(k, "ema", &cfg.ema, 1))
        return 1;
    if (!gan_ckpt_find(k, "disc.fc1.weight_v")) { /* an imported generator alone: nothing to classify with */
        fprintf(stderr, "gancl eval: %s holds no semi discriminator (disc.fc1.weight_v ...): nothing classifies\n", path);
        return 1;
    }
    for (int i = 0; i < GAN_SEMI_DEPTH; i++) cfg.d_hidden[i] = (int)h[i];
    cfg.noise_in = noise[0];
    cfg.noise_hidden = noise[1];
    if (cfg.nclass != GAN_CNN_CLASSES) {
        fprintf(stderr, "gancl eval: %s: %d classes, expected %d\n", path, cfg.nclass, GAN_CNN_CLASSES);
        return 1;
    }
    size_t cap = 3 * (size_t)cfg.batch;
    gan_tensor x = {0};
    float *xh = malloc(cap * 784 * sizeof *xh);
    int32_t *pred = malloc(ts->n * sizeof *pred), *truth = malloc(ts->n * sizeof *truth);
    size_t *idx = malloc(cap * sizeof *idx);
    int rc = 1;
    if (!xh || !pred || !truth || !idx) goto out;
    if (gan_semi_init(c, &m, &cfg) || gan_semi_load(c, &m, path, NULL) ||
        gan_tensor_alloc4(c, &x, GAN_F32, 2, (int)cap, 784, 0, 0))
        goto fail;
    for (size_t at = 0; at < ts->n; at += cap) {
        size_t n = ts->n - at < cap ? ts->n - at : cap;
        gan_tensor xv;
        for (size_t i = 0; i < n; i++) idx[i] = at + i;
        if (gan_dataset_batch(c, ts, idx, n, GAN_RANGE_UNIT, xh, truth + at) ||
            gan_tensor_narrow(c, &x, (int)n, &xv) || gan_tensor_write(c, &xv, xh) ||
            gan_semi_classify(c, &m, &xv, 1, pred + at))
            goto fail;
    }
    if (gan_cls_eval_tally(c, truth, pred, ts->n, ev)) goto fail;
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "gancl eval: %s\n", gan_ctx_error(c));
out:
    gan_tensor_free(c, &x);
    gan_semi_free(c, &m);
    free(xh);
    free(pred);
    free(truth);
    free(idx);
    return rc;
}

static int eval_features(gan_ctx *c, const char *path, const gan_dataset *ts, gan_cls_eval *ev)
{
    gan_features m;
    memset(&m, 0, sizeof m);
    int rc = 0;
    if (gan_features_load(c, &m, path, 0, NULL) || gan_features_set_test(c, &m, ts, NULL) ||
        gan_features_evaluate(c, &m, 1, ev)) {
        fprintf(stderr, "gancl eval: %s\n", gan_ctx_error(c));
        rc = 1;
    }
    gan_features_free(c, &m);
    return rc;
}

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

static void print_json(const char *path, const char *mode, const gan_cls_eval *e, const char *png)
{
    printf("{\"checkpoint\":");
    json_str(path);
    printf(",\"mode\":");
    json_str(mode);
    printf(",\"n\":%zu,\"correct\":%zu,\"accuracy\":%.6f,\"class_accuracy\":[", e->n, e->correct, e->accuracy);
    for (int k = 0; k < GAN_CNN_CLASSES; k++) printf("%s%.6f", k ? "," : "", e->class_acc[k]);
    printf("],\"confusion\":[");
    for (int t = 0; t < GAN_CNN_CLASSES; t++) {
        printf("%s[", t ? "," : "");
        for (int p = 0; p < GAN_CNN_CLASSES; p++) printf("%s%zu", p ? "," : "", e->confusion[t][p]);
        printf("]");
    }
    printf("],\"heatmap\":");
    if (png)
        json_str(png);
    else
        printf("null");
    printf("}\n");
}

int cmd_eval(const tool_opts *o)
{
    if (o->fid || o->is) return cmd_eval_gen(o);
    if (!o->checkpoint) {
        fprintf(stderr, "gancl eval: --checkpoint FILE is needed (a classifier, semi or features checkpoint)\n");
        return 2;
    }
    const char *path = o->checkpoint;
    gan_ctx *c = tool_ctx(o->device);
    if (!c) return 1;
    gan_ckpt *k = NULL;
    gan_dataset ts = {0};
    gan_cls_eval ev;
    int rc = 1;
    char png[1200], mode[64];
    if (gan_ckpt_load(c, path, &k)) {
        fprintf(stderr, "gancl eval: %s\n", gan_ctx_error(c));
        goto out;
    }
    const char *md = gan_ckpt_meta(k, "mode");
    if (!md) {
        fprintf(stderr, "gancl eval: %s has no \"mode\" metadata: not a checkpoint of `gancl train`\n", path);
        goto out;
    }
    snprintf(mode, sizeof mode, "%s", md);
    if (strcmp(mode, "classifier") && strcmp(mode, "semi") && strcmp(mode, "features")) {
        int gen = !strcmp(mode, "gan") || !strcmp(mode, "cgan");
        fprintf(stderr, "gancl eval: %s is a %s checkpoint%s: accuracy needs a classifier, semi or features "
                        "checkpoint%s\n",
                path, mode,
                !strcmp(mode, "gan")    ? " (generator and discriminator)"
                : !strcmp(mode, "cgan") ? " (class-conditional generator and discriminator)"
                                        : "",
                gen ? "; score generators with --fid/--is" : "");
        goto out;
    }
    if (gan_mnist_load(c, o->data, GAN_MNIST_TEST, &ts)) {
        fprintf(stderr, "gancl eval: %s\n", gan_ctx_error(c));
        goto out;
    }
    int bad = !strcmp(mode, "classifier") ? eval_classifier(c, path, k, &ts, &ev)
              : !strcmp(mode, "semi")     ? eval_semi(c, path, k, &ts, &ev)
                                          : eval_features(c, path, &ts, &ev);
    if (bad) goto out;
    if (o->out) {
        snprintf(png, sizeof png, "%s", o->out);
    } else {
        const char *slash = strrchr(path, '/');
        snprintf(png, sizeof png, "%.*sconfusion.png", slash ? (int)(slash - path + 1) : 0, path);
    }
    printf("eval: %s (mode %s) on %s: %zu test images\n", path, mode, gan_ctx_device_name(c), ev.n);
    print_report(&ev);
    char title[160];
    const char *base = strrchr(path, '/');
    snprintf(title, sizeof title, "%s: %.2f%% (%s)", mode, 100.0 * ev.accuracy, base ? base + 1 : path);
    int have_png = gan_plot_confusion(c, png, &ev.confusion[0][0], GAN_CNN_CLASSES, title) == GAN_OK;
    if (have_png)
        printf("confusion matrix: %s\n", png);
    else
        fprintf(stderr, "gancl eval: heatmap: %s\n", gan_ctx_error(c));
    printf("test accuracy: %.2f%%\n", 100.0 * ev.accuracy);
    if (o->json) print_json(path, mode, &ev, have_png ? png : NULL);
    rc = have_png ? 0 : 1;
out:
    gan_ckpt_free(k);
    gan_dataset_free(&ts);
    gan_ctx_free(c);
    return rc;
}
