/* The tune file of a device (include/gancl/tune.h): its path, writing it
 * (ocl_tune_write, for the search in src/ocl/tune.c), loading it at
 * context creation (its CLBlast parameters applied, its per-shape paths
 * kept for the GEMM dispatch), and recording the GEMM shapes a run takes
 * for the tuner. */
#include "ocl.h"
#include "tune_params.h"

#include <clblast_c.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

const char *const ocl_tune_kernels[NKERNELS] = {"Xgemm", "XgemmDirect", "GemmRoutine"};

static size_t pget(const pset *p, const char *name, int *found)
{
    for (int i = 0; i < p->n; i++)
        if (!strcmp(p->names[i], name)) {
            if (found) *found = 1;
            return p->vals[i];
        }
    if (found) *found = 0;
    return 0;
}

int ocl_tune_fits(gan_ctx *c, const cand *cd)
{
    size_t maxwg = ocl_st(c)->max_wg;
    cl_ulong lmem = 0;
    if (clGetDeviceInfo(ocl_st(c)->device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof lmem, &lmem, NULL) != CL_SUCCESS) lmem = 0;
    const pset *x = &cd->p[0], *d = &cd->p[1];
#define G(p, n) pget(p, n, NULL)
    size_t MWG = G(x, "MWG"), NWG = G(x, "NWG"), KWG = G(x, "KWG"), MDIMC = G(x, "MDIMC"), NDIMC = G(x, "NDIMC"),
           MDIMA = G(x, "MDIMA"), NDIMB = G(x, "NDIMB"), KWI = G(x, "KWI"), VWM = G(x, "VWM"), VWN = G(x, "VWN");
    if (G(x, "GEMMK") == 0) {
        if (!MWG || !NWG || !KWG || !MDIMC || !NDIMC || !MDIMA || !NDIMB || !KWI || !VWM || !VWN) return 0;
        if (MWG % (MDIMC * VWM) || NWG % (NDIMC * VWN) || MWG % (MDIMA * VWM) || NWG % (NDIMB * VWN)) return 0;
        if (KWG % ((MDIMC * NDIMC) / MDIMA) || KWG % ((MDIMC * NDIMC) / NDIMB) || KWG % KWI) return 0;
        if (MDIMC * NDIMC > maxwg) return 0;
        size_t local = ((G(x, "SA") ? KWG * MWG : 0) + (G(x, "SB") ? KWG * NWG : 0)) * sizeof(float);
        if (lmem && local > lmem) return 0;
    }
    size_t WGD = G(d, "WGD"), MDIMCD = G(d, "MDIMCD"), NDIMCD = G(d, "NDIMCD"), MDIMAD = G(d, "MDIMAD"),
           NDIMBD = G(d, "NDIMBD"), KWID = G(d, "KWID"), VWMD = G(d, "VWMD"), VWND = G(d, "VWND");
    if (!WGD || !MDIMCD || !NDIMCD || !MDIMAD || !NDIMBD || !KWID || !VWMD || !VWND) return 0;
    if (WGD % (MDIMCD * VWMD) || WGD % (NDIMCD * VWND) || WGD % (MDIMAD * VWMD) || WGD % (NDIMBD * VWND)) return 0;
    if (WGD % ((MDIMCD * NDIMCD) / MDIMAD) || WGD % ((MDIMCD * NDIMCD) / NDIMBD) || WGD % KWID) return 0;
    if (MDIMCD * NDIMCD > maxwg) return 0;
    if (lmem && 2 * WGD * WGD * sizeof(float) > lmem) return 0;
#undef G
    return 1;
}

gan_status ocl_tune_apply(gan_ctx *c, const cand *cd)
{
    for (int k = 0; k < NKERNELS; k++) {
        const char *names[MAX_PARAMS];
        for (int i = 0; i < cd->p[k].n; i++) names[i] = cd->p[k].names[i];
        CLBlastStatusCode s = CLBlastOverrideParameters(ocl_st(c)->device, ocl_tune_kernels[k], CLBlastPrecisionSingle,
                                                        (size_t)cd->p[k].n, names, cd->p[k].vals);
        if (s != CLBlastSuccess)
            return GAN_FAIL(c, GAN_ERR_CLBLAST, "CLBlastOverrideParameters(%s): %s (%d)", ocl_tune_kernels[k],
                            clblast_status_name(s), (int)s);
    }
    return GAN_OK;
}

gan_status ocl_tune_current(gan_ctx *c, cand *cd)
{
    for (int k = 0; k < NKERNELS; k++) {
        int n = ocl_clblast_params(ocl_st(c)->device, ocl_tune_kernels[k], cd->p[k].names, cd->p[k].vals, MAX_PARAMS);
        if (n < 0)
            return GAN_FAIL(c, GAN_ERR_CLBLAST, "cannot read CLBlast's %s parameters (%d)", ocl_tune_kernels[k], n);
        cd->p[k].n = n;
    }
    return GAN_OK;
}

/* ---- the tune file -------------------------------------------------------- */

static gan_status device_key(gan_ctx *c, char *name, size_t ncap, char *driver, size_t dcap)
{
    gan_status st = GAN_OK;
    memset(name, 0, ncap);
    memset(driver, 0, dcap);
    CL_CHECK(c, clGetDeviceInfo, (ocl_st(c)->device, CL_DEVICE_NAME, ncap - 1, name, NULL));
    CL_CHECK(c, clGetDeviceInfo, (ocl_st(c)->device, CL_DRIVER_VERSION, dcap - 1, driver, NULL));
cleanup:
    return st;
}

gan_status gan_tune_file(gan_ctx *c, char *buf, size_t cap)
{
    if (gan_ctx_backend(c) != GAN_BACKEND_OCL) return GAN_FAIL(c, GAN_ERR_ARG, "GEMM tuning needs an OpenCL device");
    char name[256], driver[256], sn[256], sd[256], sub[600];
    gan_status st = device_key(c, name, sizeof name, driver, sizeof driver);
    if (st) return st;
    ocl_sanitize(name, sn, sizeof sn);
    ocl_sanitize(driver, sd, sizeof sd);
    snprintf(sub, sizeof sub, "tune/%s-%s.json", sn, sd);
    return ocl_cache_dir(c, sub, 0, buf, cap);
}

static json_t *pset_json(const pset *p)
{
    json_t *o = json_object();
    for (int i = 0; o && i < p->n; i++) json_object_set_new(o, p->names[i], json_integer((json_int_t)p->vals[i]));
    return o;
}

gan_status ocl_tune_write(gan_ctx *c, const char *path, const cand *win, const gan_tune_report *r)
{
    gan_status st = GAN_OK;
    char name[256], driver[256], dir[4096];
    char *text = NULL;
    TRY(device_key(c, name, sizeof name, driver, sizeof driver));
    TRY(ocl_cache_dir(c, "tune", 1, dir, sizeof dir));
    json_t *root = json_object(), *shapes = json_array(), *cands = json_array();
    json_t *cl = win ? json_object() : json_null();
    for (int k = 0; win && k < NKERNELS; k++) json_object_set_new(cl, ocl_tune_kernels[k], pset_json(&win->p[k]));
    for (int i = 0; i < r->nshapes; i++) {
        const gan_tune_shape *s = &r->shapes[i];
        json_t *e = json_pack("{s:i,s:i,s:i,s:i,s:i,s:i,s:s,s:f,s:f,s:f}", "ta", s->s.ta, "tb", s->s.tb, "M", s->s.M,
                              "N", s->s.N, "K", s->s.K, "batch", s->s.batch, "path", s->own ? "own" : "clblast",
                              "ms_default", s->ms_default, "ms_tuned", s->ms_tuned, "ms_own", s->ms_own);
        if (e && s->kernel >= 0) {
            json_t *per = json_object();
            json_object_set_new(e, "kernel", json_string(r->kernels[s->kernel].name));
            for (int k = 0; per && k < r->nkernels; k++)
                if (s->ms_kernel[k] != 0) json_object_set_new(per, r->kernels[k].name, json_real(s->ms_kernel[k]));
            json_object_set_new(e, "ms_kernels", per);
        }
        json_array_append_new(shapes, e);
    }
    json_t *defs = json_object(), *kern = json_array();
    json_object_set_new(defs, "tile", r->tile_default >= 0 ? json_string(r->kernels[r->tile_default].name) : json_null());
    json_object_set_new(defs, "dot", r->dot_default >= 0 ? json_string(r->kernels[r->dot_default].name) : json_null());
    for (int k = 0; k < r->nkernels; k++)
        if (r->kernels[k].nshapes)
            json_array_append_new(kern, json_pack("{s:s,s:b,s:i,s:f}", "name", r->kernels[k].name, "valid",
                                                  r->kernels[k].valid, "shapes", r->kernels[k].nshapes, "ms",
                                                  r->kernels[k].ms));
    for (int i = 0; i < r->ncands; i++)
        json_array_append_new(cands, json_pack("{s:s,s:b,s:f,s:f}", "params", r->cands[i].desc, "valid",
                                               r->cands[i].valid, "clblast_ms", r->cands[i].ms, "score_ms",
                                               r->cands[i].score));
    json_object_set_new(root, "format", json_string("gancl-tune"));
    json_object_set_new(root, "version", json_integer(1));
    json_object_set_new(root, "device", json_string(name));
    json_object_set_new(root, "driver", json_string(driver));
    json_object_set_new(root, "clblast", cl);
    json_object_set_new(root, "own_default", defs);
    json_object_set_new(root, "own_kernels", kern);
    json_object_set_new(root, "shapes", shapes);
    json_object_set_new(root, "candidates", cands);
    text = json_dumps(root, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!text) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "tune file text");
        goto cleanup;
    }
    TRY(ocl_write_atomic(c, path, text, strlen(text)));
cleanup:
    free(text);
    return st;
}

/* Parse and check a tune file; on success *cd holds its CLBlast parameters
 * (*has_cl = 0 when it keeps CLBlast's defaults) and the context its
 * shape table. Errors go to why. */
static int parse_tune(gan_ctx *c, const char *path, cand *cd, int *has_cl, char *why, size_t cap)
{
    char name[256], driver[256];
    json_error_t je;
    int ok = 0;
    json_t *root = json_load_file(path, 0, &je);
    if (!root) {
        snprintf(why, cap, "not valid JSON (line %d: %s)", je.line, je.text);
        return 0;
    }
    if (device_key(c, name, sizeof name, driver, sizeof driver)) {
        snprintf(why, cap, "cannot read the device name");
        goto done;
    }
    const char *fmt = json_string_value(json_object_get(root, "format"));
    json_t *ver = json_object_get(root, "version");
    const char *dev = json_string_value(json_object_get(root, "device"));
    const char *drv = json_string_value(json_object_get(root, "driver"));
    if (!fmt || strcmp(fmt, "gancl-tune") || !json_is_integer(ver) || json_integer_value(ver) != 1) {
        snprintf(why, cap, "not a version 1 gancl tune file");
        goto done;
    }
    if (!dev || !drv || strcmp(dev, name) || strcmp(drv, driver)) {
        snprintf(why, cap, "stale: tuned for '%s' driver '%s', this is '%s' driver '%s'", dev ? dev : "?",
                 drv ? drv : "?", name, driver);
        goto done;
    }
    json_t *cl = json_object_get(root, "clblast");
    *has_cl = cl && !json_is_null(cl);
    if (*has_cl) {
        if (!json_is_object(cl)) {
            snprintf(why, cap, "\"clblast\" is not an object");
            goto done;
        }
        cand cur;
        if (ocl_tune_current(c, &cur)) {
            snprintf(why, cap, "cannot read CLBlast's parameters");
            goto done;
        }
        for (int k = 0; k < NKERNELS; k++) {
            json_t *o = json_object_get(cl, ocl_tune_kernels[k]);
            pset *p = &cd->p[k];
            *p = cur.p[k];
            for (int i = 0; i < p->n; i++) {
                json_t *v = o ? json_object_get(o, p->names[i]) : NULL;
                if (!json_is_integer(v) || json_integer_value(v) < 0) {
                    snprintf(why, cap, "clblast.%s.%s missing or not a count", ocl_tune_kernels[k], p->names[i]);
                    goto done;
                }
                p->vals[i] = (size_t)json_integer_value(v);
            }
        }
        if (!ocl_tune_fits(c, cd)) {
            snprintf(why, cap, "CLBlast parameters violate the kernels' constraints");
            goto done;
        }
    }
    int defk[2] = {0, 0}; /* own_default tile, dot: index + 1 */
    json_t *defs = json_object_get(root, "own_default");
    for (int d = 0; d < 2 && defs && !json_is_null(defs); d++) {
        json_t *v = json_object_get(defs, d ? "dot" : "tile");
        if (!v || json_is_null(v)) continue;
        int k = json_is_string(v) ? ocl_gemm_kernel_find(json_string_value(v)) : -1;
        if (k < 0 || ocl_gemm_kernel_at(k)->dot != d) {
            snprintf(why, cap, "own_default.%s is not an own %s kernel", d ? "dot" : "tile", d ? "dot" : "tile");
            goto done;
        }
        defk[d] = k + 1;
    }
    json_t *shapes = json_object_get(root, "shapes");
    size_t n = json_array_size(shapes);
    if (!json_is_array(shapes)) {
        snprintf(why, cap, "\"shapes\" is not an array");
        goto done;
    }
    gan_gemm_shape *tab = calloc(n ? n : 1, sizeof *tab);
    unsigned char *own = calloc(n ? n : 1, 1), *kern = calloc(n ? n : 1, 1);
    if (!tab || !own || !kern) {
        free(tab);
        free(own);
        free(kern);
        snprintf(why, cap, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < n; i++) {
        json_t *e = json_array_get(shapes, i);
        int v[6];
        const char *keys[6] = {"ta", "tb", "M", "N", "K", "batch"};
        for (int j = 0; j < 6; j++) {
            json_t *x = json_object_get(e, keys[j]);
            long long lo = j < 2 ? 0 : 1, hi = j < 2 ? 1 : 2147483647;
            if (!json_is_integer(x) || json_integer_value(x) < lo || json_integer_value(x) > hi) {
                snprintf(why, cap, "shapes[%zu].%s missing or out of range", i, keys[j]);
                free(tab);
                free(own);
                free(kern);
                goto done;
            }
            v[j] = (int)json_integer_value(x);
        }
        const char *p = json_string_value(json_object_get(e, "path"));
        if (!p || (strcmp(p, "own") && strcmp(p, "clblast"))) {
            snprintf(why, cap, "shapes[%zu].path is not \"own\" or \"clblast\"", i);
            free(tab);
            free(own);
            free(kern);
            goto done;
        }
        tab[i] = (gan_gemm_shape){v[0], v[1], v[2], v[3], v[4], v[5]};
        own[i] = !strcmp(p, "own");
        json_t *kv = json_object_get(e, "kernel");
        if (kv && !json_is_null(kv)) {
            int k = json_is_string(kv) ? ocl_gemm_kernel_find(json_string_value(kv)) : -1;
            ocl_gemm_args g = {.ta = v[0], .tb = v[1]};
            if (!ocl_gemm_kernel_fits(k, &g)) {
                snprintf(why, cap, "shapes[%zu].kernel is not an own kernel for ta %d tb %d", i, v[0], v[1]);
                free(tab);
                free(own);
                free(kern);
                goto done;
            }
            kern[i] = (unsigned char)(k + 1);
        }
    }
    ocl_tune_free(c);
    ocl_st(c)->tune_shapes = tab;
    ocl_st(c)->tune_own = own;
    ocl_st(c)->tune_kernel = kern;
    ocl_st(c)->tune_tile = defk[0];
    ocl_st(c)->tune_dot = defk[1];
    ocl_st(c)->ntune = (int)n;
    ok = 1;
done:
    json_decref(root);
    return ok;
}

void ocl_tune_free(gan_ctx *c)
{
    ocl_state *o = ocl_st(c);
    free(o->tune_shapes);
    free(o->tune_own);
    free(o->tune_kernel);
    o->tune_shapes = NULL;
    o->tune_own = NULL;
    o->tune_kernel = NULL;
    o->tune_tile = o->tune_dot = 0;
    o->ntune = 0;
}

void ocl_tune_load(gan_ctx *c)
{
    ocl_state *o = ocl_st(c);
    char path[4096], why[600];
    const char *env = getenv("GANCL_TUNE");
    ocl_tune_free(c);
    if (env && !strcmp(env, "0")) {
        snprintf(o->tune_note, sizeof o->tune_note, "GANCL_TUNE=0: tune file not read; using defaults");
        return;
    }
    /* the context's error slot is not for this: a bad file is not an error */
    char saved[sizeof c->err];
    memcpy(saved, c->err, sizeof saved);
    if (gan_tune_file(c, path, sizeof path)) {
        snprintf(o->tune_note, sizeof o->tune_note, "no tune file (%.400s); using defaults", c->err);
        memcpy(c->err, saved, sizeof saved);
        return;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(o->tune_note, sizeof o->tune_note, "no tune file %.400s; using defaults", path);
        return;
    }
    fclose(f);
    cand cd;
    int has_cl = 0;
    if (!parse_tune(c, path, &cd, &has_cl, why, sizeof why)) {
        snprintf(o->tune_note, sizeof o->tune_note, "ignored %.200s: %.250s; using defaults", path, why);
        memcpy(c->err, saved, sizeof saved);
        return;
    }
    if (has_cl && ocl_tune_apply(c, &cd)) {
        snprintf(o->tune_note, sizeof o->tune_note, "ignored %.200s: %.250s; using defaults", path, c->err);
        memcpy(c->err, saved, sizeof saved);
        ocl_tune_free(c);
        return;
    }
    snprintf(o->tune_note, sizeof o->tune_note, "loaded %.400s: %d shapes, CLBlast %s", path, o->ntune,
             has_cl ? "parameters applied" : "defaults");
}

const char *gan_tune_status(const gan_ctx *c)
{
    if (gan_ctx_backend(c) != GAN_BACKEND_OCL) return "cpu reference: no GEMM tuning";
    return ocl_st(c)->tune_note;
}

static int tune_find(const gan_ctx *c, const ocl_gemm_args *g)
{
    for (int i = 0; i < ocl_st(c)->ntune; i++) {
        const gan_gemm_shape *s = &ocl_st(c)->tune_shapes[i];
        if ((size_t)s->M == g->M && (size_t)s->N == g->N && (size_t)s->K == g->K && s->ta == !!g->ta &&
            s->tb == !!g->tb && (size_t)s->batch == (g->batch ? g->batch : 1))
            return i;
    }
    return -1;
}

int ocl_tune_lookup(const gan_ctx *c, const ocl_gemm_args *g)
{
    int i = tune_find(c, g);
    return i >= 0 ? ocl_st(c)->tune_own[i] : -1;
}

int ocl_tune_kernel(const gan_ctx *c, const ocl_gemm_args *g)
{
    int i = tune_find(c, g);
    return i >= 0 ? ocl_st(c)->tune_kernel[i] - 1 : -1;
}

/* ---- recording -------------------------------------------------------------- */

void ocl_gemm_note(gan_ctx *c, const ocl_gemm_args *g)
{
    ocl_state *o = ocl_st(c);
    if (g->M == 0 || g->N == 0 || g->M > 2147483647u || g->N > 2147483647u || g->K > 2147483647u) return;
    gan_gemm_shape s = {!!g->ta, !!g->tb, (int)g->M, (int)g->N, (int)g->K, g->batch ? (int)g->batch : 1};
    for (int i = 0; i < o->nrec; i++)
        if (!memcmp(&o->rec[i], &s, sizeof s)) return;
    if (o->nrec < GAN_GEMM_RECORD_MAX) o->rec[o->nrec++] = s;
}

gan_status gan_gemm_record(gan_ctx *c, int on)
{
    if (gan_ctx_backend(c) != GAN_BACKEND_OCL) return GAN_FAIL(c, GAN_ERR_ARG, "recording GEMM shapes needs an OpenCL device");
    if (on) ocl_st(c)->nrec = 0;
    ocl_st(c)->recording = on != 0;
    return GAN_OK;
}

int gan_gemm_recorded(const gan_ctx *c, const gan_gemm_shape **shapes)
{
    *shapes = ocl_st(c)->rec;
    return gan_ctx_backend(c) == GAN_BACKEND_OCL ? ocl_st(c)->nrec : 0;
}
