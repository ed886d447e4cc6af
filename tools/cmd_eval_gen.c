/* `gancl eval --fid --is`: FID and Inception Score of a generator
 * checkpoint (--checkpoint) or of an IDX image file (--images), measured
 * with gancl's own MNIST evaluator (include/gancl/eval.h). The evaluator
 * is trained once by its fixed recipe and cached; so are the test set's
 * feature statistics, keyed by the evaluator's hash, which is printed
 * beside every score. */
#include "tool.h"
#include "gancl/eval.h"
#include "report.h"
#include "train_common.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define EVAL_BATCH 200 /* images per evaluator / generator pass */

static int fail(gan_ctx *c, const char *what)
{
    fprintf(stderr, "gancl eval: %s: %s\n", what, gan_ctx_error(c));
    return 1;
}

static int exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* The evaluator to use: --evaluator, else the cached one of the recipe,
 * trained into the cache when it is not there. */
static int get_evaluator(gan_ctx *c, const tool_opts *o, int batch, gan_evaluator *ev)
{
    char path[1200], name[96], dir[1024];
    if (o->evaluator) {
        snprintf(path, sizeof path, "%s", o->evaluator);
    } else {
        gan_eval_recipe r = gan_eval_recipe_default();
        if (o->evaluator_steps) r.steps = o->evaluator_steps;
        gan_eval_recipe_name(&r, name, sizeof name);
        if (gan_eval_cache_dir(c, 0, dir, sizeof dir)) return fail(c, "cache");
        snprintf(path, sizeof path, "%s/%s.safetensors", dir, name);
        if (!exists(path)) {
            gan_dataset tr = {0}, ts = {0};
            if (gan_mnist_load(c, o->data, GAN_MNIST_TRAIN, &tr) || gan_mnist_load(c, o->data, GAN_MNIST_TEST, &ts)) {
                gan_dataset_free(&tr);
                return fail(c, "the evaluator is trained on MNIST, which is needed once");
            }
            if (gan_eval_cache_dir(c, 1, dir, sizeof dir)) {
                gan_dataset_free(&tr);
                gan_dataset_free(&ts);
                return fail(c, "cache");
            }
            printf("training the evaluator (recipe %s: %d steps on %s) into %s; once per recipe and device\n", name,
                   r.steps, gan_ctx_device_name(c), path);
            fflush(stdout);
            double t0 = train_now(), acc;
            gan_status st = gan_evaluator_train(c, &r, &tr, &ts, path, &acc);
            gan_dataset_free(&tr);
            gan_dataset_free(&ts);
            if (st) return fail(c, "training the evaluator");
            printf("evaluator trained in %.1f s: test accuracy %.2f%%\n", train_now() - t0, 100 * acc);
        }
    }
    if (gan_evaluator_load(c, ev, path, batch)) return fail(c, "--evaluator");
    printf("evaluator %s: %s%s, test accuracy ", ev->hash, path, ev->recipe[0] ? "" : " (not from a recipe)");
    if (isnan(ev->test_accuracy))
        printf("unknown\n");
    else
        printf("%.2f%%\n", 100 * ev->test_accuracy);
    if (o->expect_evaluator && strcmp(o->expect_evaluator, ev->hash)) {
        fprintf(stderr,
                "gancl eval: the evaluator's hash is %s, --expect-evaluator wants %s: scores from different "
                "evaluators are not comparable (give the same --evaluator FILE, or train with the same recipe on "
                "the same device)\n",
                ev->hash, o->expect_evaluator);
        return 1;
    }
    return 0;
}

/* Images of an IDX file as floats in [0, 1]; at most max (0: all). */
static int load_idx_images(gan_ctx *c, const char *path, size_t max, float **out, size_t *n)
{
    uint8_t *px = NULL;
    if (gan_idx_load(c, path, GAN_IDX_IMAGES, &px, n)) return fail(c, "images");
    if (max && *n > max) *n = max;
    *out = malloc(*n * 784 * sizeof **out);
    if (!*out) {
        free(px);
        fprintf(stderr, "gancl eval: out of memory for %zu images\n", *n);
        return 1;
    }
    gan_pixels_to_float(px, *n * 784, GAN_RANGE_UNIT, *out);
    free(px);
    return 0;
}

static int stats_of(gan_ctx *c, gan_evaluator *ev, const float *x, size_t n, gan_fid_stats *out)
{
    gan_moments m;
    if (gan_moments_init(c, &m, ev->nfeat) || gan_evaluator_run(c, ev, x, n, GAN_RANGE_UNIT, &m, NULL) ||
        gan_fid_stats_from(c, &m, out)) {
        gan_moments_free(&m);
        return fail(c, "reference statistics");
    }
    gan_moments_free(&m);
    return 0;
}

/* The reference statistics: --reference's images, else the MNIST test
 * set's, cached under the evaluator's hash. */
static int reference_stats(gan_ctx *c, const tool_opts *o, gan_evaluator *ev, gan_fid_stats *ref, char *what,
                           size_t cap)
{
    float *x = NULL;
    size_t n = 0;
    int rc;
    if (o->reference) {
        if (load_idx_images(c, o->reference, 0, &x, &n)) return 1;
        rc = stats_of(c, ev, x, n, ref);
        free(x);
        snprintf(what, cap, "%zu images of %s", n, o->reference);
        return rc;
    }
    char path[1200], dir[1024];
    if (gan_eval_cache_dir(c, 0, dir, sizeof dir)) return fail(c, "cache");
    snprintf(path, sizeof path, "%s/mnist-test-stats-%s.safetensors", dir, ev->hash);
    if (exists(path) && gan_fid_stats_load(c, path, ev->hash, ref) == GAN_OK) {
        snprintf(what, cap, "%zu test images", ref->n);
        return 0;
    }
    gan_ctx_clear_error(c);
    gan_dataset ts = {0};
    if (gan_mnist_load(c, o->data, GAN_MNIST_TEST, &ts))
        return fail(c, "FID compares with the MNIST test set, which was not found");
    n = ts.n;
    x = malloc(n * 784 * sizeof *x);
    if (!x) {
        gan_dataset_free(&ts);
        fprintf(stderr, "gancl eval: out of memory\n");
        return 1;
    }
    gan_pixels_to_float(ts.images, n * 784, GAN_RANGE_UNIT, x);
    gan_dataset_free(&ts);
    rc = stats_of(c, ev, x, n, ref);
    free(x);
    if (rc) return rc;
    /* a cache that cannot be written only costs time next run */
    if (gan_eval_cache_dir(c, 1, dir, sizeof dir) || gan_fid_stats_save(c, ref, ev->hash, path)) {
        fprintf(stderr, "gancl eval: note: test statistics not cached: %s\n", gan_ctx_error(c));
        gan_ctx_clear_error(c);
    }
    snprintf(what, cap, "%zu test images", n);
    return 0;
}

static int write_json(const char *path, json_t *j)
{
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    if (json_dump_file(j, tmp, JSON_INDENT(2) | JSON_PRESERVE_ORDER) || rename(tmp, path)) {
        fprintf(stderr, "gancl eval: cannot write %s: %s\n", path, strerror(errno));
        unlink(tmp);
        return 1;
    }
    return 0;
}

int cmd_eval_gen(const tool_opts *o)
{
    if (!o->checkpoint == !o->images) {
        fprintf(stderr, "gancl eval --fid/--is: give either --checkpoint FILE (a generator checkpoint) or --images "
                        "FILE (IDX images, 28x28 bytes)\n");
        return 2;
    }
    int rc = 1, batch = o->batch ? o->batch : EVAL_BATCH;
    size_t n = o->n ? (size_t)o->n : 10000;
    gan_ctx *c = tool_ctx(o->device);
    if (!c) return 1;
    gan_evaluator ev;
    gan_generator g;
    memset(&ev, 0, sizeof ev);
    memset(&g, 0, sizeof g);
    gan_fid_stats ref = {0}, gen = {0};
    gan_moments mom = {0};
    float *x = NULL;
    double *probs = NULL, fid = NAN, is_mean = NAN, is_std = NAN;
    char refwhat[1200];
    json_t *j = NULL;
    double t0 = train_now();

    /* what is scored first: a wrong file should not wait for an evaluator's training */
    if (o->checkpoint) {
        if (gan_generator_load(c, &g, o->checkpoint, batch)) {
            rc = fail(c, "--checkpoint");
            goto out;
        }
        x = malloc((size_t)batch * 784 * sizeof *x);
    } else {
        if (load_idx_images(c, o->images, o->n ? (size_t)o->n : 0, &x, &n)) goto out;
    }
    if (get_evaluator(c, o, batch, &ev)) goto out;
    if (o->fid && reference_stats(c, o, &ev, &ref, refwhat, sizeof refwhat)) goto out;
    double t_ref = train_now();
    probs = malloc(n * GAN_CNN_CLASSES * sizeof *probs);
    int32_t *labels = malloc((size_t)batch * sizeof *labels);
    if (!x || !probs || !labels || gan_moments_init(c, &mom, ev.nfeat)) {
        free(labels);
        fprintf(stderr, "gancl eval: out of memory for %zu images\n", n);
        goto out;
    }
    if (o->checkpoint) {
        gan_rng rng = {.seed = o->seed, .counter = 0};
        for (size_t at = 0; at < n; at += (size_t)batch) {
            int b = n - at < (size_t)batch ? (int)(n - at) : batch;
            /* a conditional generator makes every class equally often */
            for (int i = 0; i < b; i++)
                labels[i] = g.info.nclass ? (int32_t)((at + (size_t)i) % (size_t)g.info.nclass) : 0;
            if (gan_generator_generate(c, &g, b, g.info.nclass ? labels : NULL, &rng, 1, x) ||
                gan_evaluator_run(c, &ev, x, (size_t)b, GAN_RANGE_UNIT, &mom, probs + at * GAN_CNN_CLASSES)) {
                free(labels);
                rc = fail(c, "generating and scoring");
                goto out;
            }
        }
    } else if (gan_evaluator_run(c, &ev, x, n, GAN_RANGE_UNIT, &mom, probs)) {
        free(labels);
        rc = fail(c, "scoring --images");
        goto out;
    }
    free(labels);
    char what[1300];
    if (o->checkpoint)
        snprintf(what, sizeof what, "%zu images of %s generator %s (seed %llu)", n, g.info.arch, o->checkpoint,
                 (unsigned long long)o->seed);
    else
        snprintf(what, sizeof what, "%zu images of %s", n, o->images);
    if (o->fid) {
        if (gan_fid_stats_from(c, &mom, &gen) || gan_fid_of(c, &gen, &ref, &fid)) {
            rc = fail(c, "FID");
            goto out;
        }
        printf("FID %.4f  evaluator %s  (%s vs %s)\n", fid, ev.hash, what, refwhat);
    }
    if (o->is) {
        if (gan_inception_score(c, probs, n, GAN_CNN_CLASSES, 10, &is_mean, &is_std)) {
            rc = fail(c, "IS");
            goto out;
        }
        printf("IS %.4f +- %.4f  evaluator %s  (10 splits of %s)\n", is_mean, is_std, ev.hash, what);
    }
    printf("time: %.1f s (evaluator and reference %.1f s, scoring %.1f s)\n", train_now() - t0, t_ref - t0,
           train_now() - t_ref);
    j = json_object();
    json_object_set_new(j, "evaluator", json_string(ev.hash));
    json_object_set_new(j, "evaluator_recipe", json_string(ev.recipe));
    if (!isnan(ev.test_accuracy)) json_object_set_new(j, "evaluator_test_accuracy", json_real(ev.test_accuracy));
    json_object_set_new(j, o->checkpoint ? "checkpoint" : "images",
                        json_string(o->checkpoint ? o->checkpoint : o->images));
    json_object_set_new(j, "n", json_integer((json_int_t)n));
    if (o->checkpoint) json_object_set_new(j, "seed", json_integer((json_int_t)o->seed));
    if (o->fid) {
        json_object_set_new(j, "fid", json_real(fid));
        json_object_set_new(j, "fid_reference", json_string(refwhat));
    }
    if (o->is) {
        json_object_set_new(j, "is_mean", json_real(is_mean));
        json_object_set_new(j, "is_std", json_real(is_std));
        json_object_set_new(j, "is_splits", json_integer(10));
    }
    if (o->json) {
        char *line = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);
        if (line) printf("%s\n", line);
        free(line);
    }
    if (o->out) {
        if (write_json(o->out, j)) goto out;
        printf("scores: %s\n", o->out);
        /* a run directory's report shows the scores written into it */
        char dir[1200], rep[1300];
        snprintf(dir, sizeof dir, "%s", o->out);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = 0;
        else
            snprintf(dir, sizeof dir, ".");
        snprintf(rep, sizeof rep, "%s/report.md", dir);
        if (exists(rep)) report_refresh(c, dir);
    }
    rc = 0;
out:
    json_decref(j);
    free(x);
    free(probs);
    gan_moments_free(&mom);
    gan_fid_stats_free(&ref);
    gan_fid_stats_free(&gen);
    gan_generator_free(c, &g);
    gan_evaluator_free(c, &ev);
    gan_ctx_free(c);
    return rc;
}
