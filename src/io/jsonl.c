/* The metrics log: one compact JSON object per line (built and dumped with
 * jansson), flushed after each line so `tail -f` and a crashed run both see
 * every finished step; and its reader, which turns a log back into named
 * series for the curve plots. JSON has no NaN/Inf, so a non-finite value is
 * written as null and read back as NaN.
 */
#include "gancl/data.h"
#include "internal.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

struct gan_jsonl {
    FILE *f;
    char *path;
};

gan_status gan_jsonl_open(gan_ctx *c, const char *path, int append, gan_jsonl **out)
{
    if (!path || !out) return GAN_FAIL(c, GAN_ERR_ARG, "gan_jsonl_open: NULL %s", path ? "out" : "path");
    *out = NULL;
    gan_jsonl *log = calloc(1, sizeof *log);
    char *p = malloc(strlen(path) + 1);
    if (!log || !p) {
        free(log);
        free(p);
        return GAN_FAIL(c, GAN_ERR_NOMEM, "%s: metrics log", path);
    }
    memcpy(p, path, strlen(path) + 1);
    log->path = p;
    log->f = fopen(path, append ? "a" : "w");
    if (!log->f) {
        gan_status st = GAN_FAIL(c, GAN_ERR_IO, "%s: cannot open metrics log: %s", path, strerror(errno));
        free(p);
        free(log);
        return st;
    }
    *out = log;
    return GAN_OK;
}

gan_status gan_jsonl_write(gan_ctx *c, gan_jsonl *log, int64_t step, int64_t epoch, const gan_metric *fields,
                           size_t nfields)
{
    if (!log || (nfields && !fields)) return GAN_FAIL(c, GAN_ERR_ARG, "gan_jsonl_write: NULL argument");
    gan_status st = GAN_OK;
    char *line = NULL;
    json_t *obj = json_object();
    if (!obj) return GAN_FAIL(c, GAN_ERR_NOMEM, "%s: JSON object", log->path);
    if (json_object_set_new(obj, "step", json_integer((json_int_t)step)) ||
        json_object_set_new(obj, "epoch", json_integer((json_int_t)epoch))) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "%s: JSON object", log->path);
        goto cleanup;
    }
    for (size_t i = 0; i < nfields; i++) {
        const char *name = fields[i].name;
        if (!name || !*name || !strcmp(name, "step") || !strcmp(name, "epoch")) {
            st = GAN_FAIL(c, GAN_ERR_ARG, "%s: field %zu is named \"%s\": names must be non-empty and not "
                          "\"step\" or \"epoch\"", log->path, i, name ? name : "(null)");
            goto cleanup;
        }
        if (json_object_get(obj, name)) {
            st = GAN_FAIL(c, GAN_ERR_ARG, "%s: field \"%s\" given twice", log->path, name);
            goto cleanup;
        }
        double v = fields[i].value;
        json_t *jv = isfinite(v) ? json_real(v) : json_null();
        if (!jv || json_object_set_new(obj, name, jv)) {
            st = GAN_FAIL(c, GAN_ERR_ARG, "%s: cannot store field \"%s\" (not UTF-8?)", log->path, name);
            goto cleanup;
        }
    }
    line = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(17));
    if (!line) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "%s: json_dumps failed", log->path);
        goto cleanup;
    }
    if (fputs(line, log->f) == EOF || fputc('\n', log->f) == EOF || fflush(log->f) != 0) {
        st = GAN_FAIL(c, GAN_ERR_IO, "%s: writing metrics failed: %s", log->path, strerror(errno));
        goto cleanup;
    }
cleanup:
    free(line);
    json_decref(obj);
    return st;
}

gan_status gan_jsonl_close(gan_ctx *c, gan_jsonl *log)
{
    if (!log) return GAN_OK;
    gan_status st = GAN_OK;
    if (fclose(log->f) != 0)
        st = GAN_FAIL(c, GAN_ERR_IO, "%s: closing metrics log failed: %s", log->path, strerror(errno));
    free(log->path);
    free(log);
    return st;
}

/* ---- reading ----------------------------------------------------------- */

void gan_metrics_free(gan_metrics *m)
{
    if (!m) return;
    for (size_t i = 0; i < m->nseries; i++) {
        free(m->series[i].name);
        free(m->series[i].step);
        free(m->series[i].value);
    }
    free(m->series);
    m->series = NULL;
    m->nseries = 0;
}

const gan_series *gan_metrics_find(const gan_metrics *m, const char *name)
{
    if (!m || !name) return NULL;
    for (size_t i = 0; i < m->nseries; i++)
        if (!strcmp(m->series[i].name, name)) return &m->series[i];
    return NULL;
}

/* Capacities ride alongside, so series stay a plain public struct. */
typedef struct series_cap {
    size_t cap;
} series_cap;

static gan_status add_point(gan_ctx *c, const char *path, gan_metrics *m, size_t *mcap, series_cap **caps,
                            const char *name, double step, double value)
{
    gan_series *s = (gan_series *)gan_metrics_find(m, name);
    size_t si;
    if (!s) {
        if (m->nseries == *mcap) {
            size_t nc = *mcap ? *mcap * 2 : 8;
            gan_series *ns = realloc(m->series, nc * sizeof *ns);
            if (!ns) return GAN_FAIL(c, GAN_ERR_NOMEM, "%s: series table", path);
            m->series = ns;
            series_cap *ncaps = realloc(*caps, nc * sizeof *ncaps);
            if (!ncaps) return GAN_FAIL(c, GAN_ERR_NOMEM, "%s: series table", path);
            *caps = ncaps;
            *mcap = nc;
        }
        s = &m->series[m->nseries];
        memset(s, 0, sizeof *s);
        s->name = malloc(strlen(name) + 1);
        if (!s->name) return GAN_FAIL(c, GAN_ERR_NOMEM, "%s: series name", path);
        memcpy(s->name, name, strlen(name) + 1);
        (*caps)[m->nseries].cap = 0;
        m->nseries++;
    }
    si = (size_t)(s - m->series);
    series_cap *sc = &(*caps)[si];
    if (s->n == sc->cap) {
        size_t nc = sc->cap ? sc->cap * 2 : 64;
        double *nstep = realloc(s->step, nc * sizeof *nstep);
        if (!nstep) return GAN_FAIL(c, GAN_ERR_NOMEM, "%s: series %s", path, name);
        s->step = nstep;
        double *nval = realloc(s->value, nc * sizeof *nval);
        if (!nval) return GAN_FAIL(c, GAN_ERR_NOMEM, "%s: series %s", path, name);
        s->value = nval;
        sc->cap = nc;
    }
    s->step[s->n] = step;
    s->value[s->n] = value;
    s->n++;
    return GAN_OK;
}

static int blank(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') return 0;
    return 1;
}

gan_status gan_metrics_load(gan_ctx *c, const char *path, gan_metrics *out)
{
    if (!path || !out) return GAN_FAIL(c, GAN_ERR_ARG, "gan_metrics_load: NULL %s", path ? "out" : "path");
    memset(out, 0, sizeof *out);
    FILE *f = fopen(path, "rb");
    if (!f) return GAN_FAIL(c, GAN_ERR_IO, "%s: cannot open metrics log: %s", path, strerror(errno));
    gan_status st = GAN_OK;
    char *line = NULL;
    size_t linecap = 0, mcap = 0;
    series_cap *caps = NULL;
    json_t *obj = NULL;
    ssize_t len;
    size_t lineno = 0;
    errno = 0;
    while ((len = getline(&line, &linecap, f)) >= 0) {
        lineno++;
        int complete = len > 0 && line[len - 1] == '\n';
        size_t n = (size_t)len - (complete ? 1 : 0);
        if (blank(line, n)) continue;
        json_error_t jerr;
        obj = json_loadb(line, n, JSON_DECODE_ANY, &jerr);
        if (!obj || !json_is_object(obj)) {
            if (!complete && obj == NULL) break; /* a writer caught mid-line */
            st = GAN_FAIL(c, GAN_ERR_FORMAT, "%s:%zu: %s", path, lineno,
                          obj ? "expected a JSON object" : jerr.text);
            goto cleanup;
        }
        json_t *js = json_object_get(obj, "step");
        if (!json_is_integer(js)) {
            st = GAN_FAIL(c, GAN_ERR_FORMAT, "%s:%zu: no integer \"step\" field", path, lineno);
            goto cleanup;
        }
        double step = (double)json_integer_value(js);
        const char *key;
        json_t *val;
        json_object_foreach(obj, key, val)
        {
            if (!strcmp(key, "step")) continue;
            double v;
            if (json_is_number(val))
                v = json_number_value(val);
            else if (json_is_null(val))
                v = NAN;
            else
                continue;
            TRY(add_point(c, path, out, &mcap, &caps, key, step, v));
        }
        json_decref(obj);
        obj = NULL;
    }
    if (ferror(f)) st = GAN_FAIL(c, GAN_ERR_IO, "%s: read failed: %s", path, strerror(errno));
cleanup:
    json_decref(obj);
    free(line);
    free(caps);
    fclose(f);
    if (st) gan_metrics_free(out);
    return st;
}
