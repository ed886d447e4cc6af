/* OUTDIR/report.md for a training run (tools/report.h): plain markdown
 * from the files the run left (checkpoint metadata, metrics.jsonl, PNGs,
 * scores.json), so it reads the same in a terminal and rendered. */
#include "report.h"
#include "gancl/ckpt.h"
#include "gancl/data.h"

#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define SCORES_HEADING "## Scores"

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The scores section: what scores.json holds, or how to make it. */
static void write_scores(FILE *f, const char *outdir)
{
    char path[1200];
    snprintf(path, sizeof path, "%s/scores.json", outdir);
    fprintf(f, "%s\n\n", SCORES_HEADING);
    json_t *j = json_load_file(path, 0, NULL);
    if (!j) {
        fprintf(f, "None yet. FID and IS of this run's generator (gan, cgan, semi):\n\n"
                   "    gancl eval --fid --is --checkpoint %s/checkpoint.safetensors --out %s/scores.json\n\n",
                outdir, outdir);
        return;
    }
    const char *hash = json_string_value(json_object_get(j, "evaluator"));
    const char *recipe = json_string_value(json_object_get(j, "evaluator_recipe"));
    json_t *acc = json_object_get(j, "evaluator_test_accuracy"), *fid = json_object_get(j, "fid"),
           *ism = json_object_get(j, "is_mean"), *iss = json_object_get(j, "is_std"), *n = json_object_get(j, "n");
    fprintf(f, "| score | value |\n|---|---|\n");
    if (fid) fprintf(f, "| FID | %.4f |\n", json_number_value(fid));
    if (ism) fprintf(f, "| Inception Score (10 splits) | %.4f +- %.4f |\n", json_number_value(ism), json_number_value(iss));
    if (n) fprintf(f, "| generated images | %lld |\n", (long long)json_integer_value(n));
    const char *ref = json_string_value(json_object_get(j, "fid_reference"));
    if (ref) fprintf(f, "| FID reference | %s |\n", ref);
    fprintf(f, "| evaluator hash | `%s` |\n", hash ? hash : "?");
    if (recipe && *recipe) fprintf(f, "| evaluator recipe | %s |\n", recipe);
    if (acc) fprintf(f, "| evaluator test accuracy | %.2f%% |\n", 100 * json_number_value(acc));
    fprintf(f, "\nScores are comparable only between runs scored by the evaluator with the same hash.\n");
    json_decref(j);
}

static void write_config(FILE *f, gan_ctx *c, const char *outdir)
{
    char path[1200];
    gan_ckpt *k = NULL;
    snprintf(path, sizeof path, "%s/checkpoint.safetensors", outdir);
    if (access(path, R_OK) || gan_ckpt_load(c, path, &k) != GAN_OK) {
        gan_ctx_clear_error(c);
        fprintf(f, "No checkpoint in the directory.\n\n");
        return;
    }
    fprintf(f, "From `checkpoint.safetensors` (the state at the end of the run):\n\n| key | value |\n|---|---|\n");
    for (int i = 0; i < gan_ckpt_meta_count(k); i++) {
        const char *key, *val;
        gan_ckpt_meta_at(k, i, &key, &val);
        if (!strcmp(key, "crc32") || !strcmp(key, "format") || !strcmp(key, "format_version")) continue;
        fprintf(f, "| %s | %s |\n", key, val);
    }
    fprintf(f, "\n");
    gan_ckpt_free(k);
}

static void write_metrics(FILE *f, gan_ctx *c, const char *outdir)
{
    char path[1200];
    gan_metrics m;
    snprintf(path, sizeof path, "%s/metrics.jsonl", outdir);
    if (access(path, R_OK) || gan_metrics_load(c, path, &m) != GAN_OK) {
        gan_ctx_clear_error(c);
        fprintf(f, "No metrics log.\n\n");
        return;
    }
    fprintf(f, "From `metrics.jsonl`: each series' last value, and its range over the run.\n\n"
               "| metric | last | at step | min | max |\n|---|---|---|---|---|\n");
    for (size_t s = 0; s < m.nseries; s++) {
        const gan_series *se = &m.series[s];
        if (!se->n || !strcmp(se->name, "epoch")) continue;
        double lo = INFINITY, hi = -INFINITY;
        for (size_t i = 0; i < se->n; i++)
            if (isfinite(se->value[i])) lo = fmin(lo, se->value[i]), hi = fmax(hi, se->value[i]);
        fprintf(f, "| %s | %.6g | %.0f | %.6g | %.6g |\n", se->name, se->value[se->n - 1], se->step[se->n - 1], lo, hi);
    }
    fprintf(f, "\n");
    gan_metrics_free(&m);
}

/* Every PNG but the curves, in name order; with many, the first, the
 * last and a few evenly between. */
static void write_images(FILE *f, const char *outdir)
{
    DIR *d = opendir(outdir);
    char **names = NULL;
    size_t n = 0, cap = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (l < 5 || strcmp(e->d_name + l - 4, ".png") || !strcmp(e->d_name, "curves.png")) continue;
        if (n == cap) {
            char **nn = realloc(names, (cap = cap ? 2 * cap : 16) * sizeof *names);
            if (!nn) break;
            names = nn;
        }
        if (!(names[n] = strdup(e->d_name))) break;
        n++;
    }
    if (d) closedir(d);
    if (names) qsort(names, n, sizeof *names, cmp_str);
    char path[1200];
    snprintf(path, sizeof path, "%s/curves.png", outdir);
    if (!access(path, R_OK)) fprintf(f, "## Curves\n\n![curves](curves.png)\n\n");
    if (n) {
        fprintf(f, "## Images\n\n");
        size_t shown = n < 6 ? n : 6;
        for (size_t i = 0; i < shown; i++) {
            size_t at = shown == n ? i : i * (n - 1) / (shown - 1);
            fprintf(f, "`%s`\n\n![%s](%s)\n\n", names[at], names[at], names[at]);
        }
        if (shown < n) fprintf(f, "(%zu of %zu images shown; all are in the directory.)\n\n", shown, n);
    }
    for (size_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

static int finish(const char *tmp, const char *path)
{
    if (rename(tmp, path)) {
        unlink(tmp);
        return -1;
    }
    return 0;
}

void report_write(gan_ctx *c, const tool_opts *o, const char *outdir)
{
    char path[1200], tmp[1300], when[64];
    snprintf(path, sizeof path, "%s/report.md", outdir);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        fprintf(stderr, "gancl: note: no report: cannot write %s\n", tmp);
        return;
    }
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %Z", localtime(&now));
    fprintf(f, "# gancl run: %s\n\nWritten %s at the end of the run. Device: %s.\n\nCommand:\n\n    ",
            o->mode ? o->mode : "?", when, gan_ctx_device_name(c));
    for (int i = 0; i < o->argc; i++) fprintf(f, "%s%s", i ? " " : "", o->argv[i]);
    fprintf(f, "\n\n## Configuration\n\n");
    fprintf(f, "| option | value |\n|---|---|\n| mode | %s |\n| epochs | %d |\n| batch | %d |\n| seed | %llu |\n"
               "| data | %s |\n| output | %s |\n\n",
            o->mode ? o->mode : "?", o->epochs, o->batch, (unsigned long long)o->seed,
            o->data ? o->data : "(default search)", outdir);
    write_config(f, c, outdir);
    fprintf(f, "## Final metrics\n\n");
    write_metrics(f, c, outdir);
    write_images(f, outdir);
    write_scores(f, outdir);
    if (fclose(f) || finish(tmp, path)) {
        fprintf(stderr, "gancl: note: could not write %s\n", path);
        return;
    }
    printf("report: %s\n", path);
}

void report_refresh(gan_ctx *c, const char *outdir)
{
    (void)c;
    char path[1200], tmp[1300];
    snprintf(path, sizeof path, "%s/report.md", outdir);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *in = fopen(path, "r");
    if (!in) return;
    FILE *out = fopen(tmp, "w");
    if (!out) {
        fclose(in);
        return;
    }
    char line[4096];
    while (fgets(line, sizeof line, in) && strncmp(line, SCORES_HEADING, strlen(SCORES_HEADING))) fputs(line, out);
    fclose(in);
    write_scores(out, outdir);
    if (fclose(out) || finish(tmp, path))
        fprintf(stderr, "gancl: note: could not update %s\n", path);
    else
        printf("report: %s\n", path);
}
