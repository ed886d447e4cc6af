/* A PyTorch state_dict of one gancl network (or of a generator and its
 * discriminator), saved as a plain safetensors file, read as a gancl
 * checkpoint: the networks are recognised by their tensor names, their
 * sizes taken from the shapes, every tensor checked against the full list
 * the network has (names, dtypes, shapes: nothing missing, nothing more),
 * and the metadata gancl's readers need is filled in where the file does
 * not give it (a key in the file's __metadata__ wins: "nz", "nclass",
 * "slope", ...). Names may carry the network's prefix ("gen.", "disc.",
 * "cls.") or none. The networks are those of tools/gancl_torch.py. */
#include "internal.h"
#include "safetensors.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAXW 48

typedef struct want {
    char name[48];
    gan_st_dtype dt;
    int ndim;
    int64_t shape[4];
} want;

typedef struct net {
    const char *kind; /* "dcgan-g", ... */
    const char *prefix;
    want w[MAXW];
    int n;
} net;

static void add(net *t, const char *name, int ndim, int64_t a, int64_t b, int64_t c, int64_t d)
{
    if (t->n >= MAXW) return;
    want *w = &t->w[t->n++];
    snprintf(w->name, sizeof w->name, "%s", name);
    w->dt = GAN_ST_F32;
    w->ndim = ndim;
    w->shape[0] = a, w->shape[1] = b, w->shape[2] = c, w->shape[3] = d;
}

static void add_bn(net *t, const char *bn, int64_t C)
{
    static const char *const f[] = {"weight", "bias", "running_mean", "running_var"};
    char nm[48];
    for (int i = 0; i < 4; i++) {
        snprintf(nm, sizeof nm, "%s.%s", bn, f[i]);
        add(t, nm, 1, C, 0, 0, 0);
    }
    snprintf(nm, sizeof nm, "%s.num_batches_tracked", bn);
    add(t, nm, 0, 0, 0, 0, 0);
    t->w[t->n - 1].dt = GAN_ST_I64;
}

/* The tensor prefix+name of k, or NULL. */
static const gan_ckpt_tensor *get(const gan_ckpt *k, const char *prefix, const char *name)
{
    size_t pl = strlen(prefix);
    for (int i = 0; i < k->n; i++)
        if (!strncmp(k->t[i].name, prefix, pl) && !strcmp(k->t[i].name + pl, name)) return &k->t[i];
    return NULL;
}

static int64_t dim_of(const gan_ckpt *k, const char *prefix, const char *name, int d)
{
    const gan_ckpt_tensor *t = get(k, prefix, name);
    return t && d < t->ndim && t->shape[d] > 0 && t->shape[d] < (1 << 20) ? t->shape[d] : 1;
}

static void dcgan_g(net *t, int64_t nin, int64_t ngf)
{
    int64_t f0 = 4 * ngf, f1 = 2 * ngf, f2 = ngf;
    add(t, "fc.weight", 2, f0 * 49, nin, 0, 0);
    add_bn(t, "bn0", f0 * 49);
    add(t, "deconv1.weight", 4, f0, f1, 5, 5);
    add_bn(t, "bn1", f1);
    add(t, "deconv2.weight", 4, f1, f2, 5, 5);
    add(t, "deconv2.bias", 1, f2, 0, 0, 0);
    add_bn(t, "bn2", f2);
    add(t, "deconv3.weight", 4, f2, 1, 5, 5);
}

static void mlp_g(net *t, int64_t nin, int64_t H)
{
    add(t, "fc1.weight", 2, H, nin, 0, 0);
    add(t, "fc1.bias", 1, H, 0, 0, 0);
    add(t, "fc2.weight", 2, H, H, 0, 0);
    add(t, "fc2.bias", 1, H, 0, 0, 0);
    add(t, "fc3.weight", 2, 784, H, 0, 0);
    add(t, "fc3.bias", 1, 784, 0, 0, 0);
}

static void semi_g(net *t, int64_t nz, int64_t H)
{
    add(t, "fc1.weight", 2, H, nz, 0, 0);
    add_bn(t, "bn1", H);
    add(t, "fc2.weight", 2, H, H, 0, 0);
    add_bn(t, "bn2", H);
    add(t, "fc3.weight_v", 2, 784, H, 0, 0);
    add(t, "fc3.weight_g", 2, 784, 1, 0, 0);
    add(t, "fc3.bias", 1, 784, 0, 0, 0);
}

static void dcgan_d(net *t, int64_t ndf, int64_t nout)
{
    add(t, "conv1.weight", 4, ndf, 1, 5, 5);
    add(t, "conv1.bias", 1, ndf, 0, 0, 0);
    add(t, "conv2.weight", 4, 2 * ndf, ndf, 5, 5);
    add(t, "conv2.bias", 1, 2 * ndf, 0, 0, 0);
    add(t, "fc.weight", 2, nout, 2 * ndf * 49, 0, 0);
    add(t, "fc.bias", 1, nout, 0, 0, 0);
}

static void cnn(net *t, int64_t c1, int64_t c2, int64_t hid)
{
    add(t, "conv1.weight", 4, c1, 1, 3, 3);
    add(t, "conv1.bias", 1, c1, 0, 0, 0);
    add(t, "conv2.weight", 4, c2, c1, 3, 3);
    add(t, "conv2.bias", 1, c2, 0, 0, 0);
    add(t, "fc1.weight", 2, hid, c2 * 144, 0, 0);
    add(t, "fc1.bias", 1, hid, 0, 0, 0);
    add(t, "fc2.weight", 2, 10, hid, 0, 0);
    add(t, "fc2.bias", 1, 10, 0, 0, 0);
}

static void semi_d(net *t, const int64_t *width)
{
    char nm[48];
    for (int l = 0; l < 6; l++) {
        snprintf(nm, sizeof nm, "fc%d.weight_v", l + 1);
        add(t, nm, 2, width[l + 1], width[l], 0, 0);
        snprintf(nm, sizeof nm, "fc%d.weight_g", l + 1);
        add(t, nm, 2, width[l + 1], 1, 0, 0);
        snprintf(nm, sizeof nm, "fc%d.bias", l + 1);
        add(t, nm, 1, width[l + 1], 0, 0, 0);
    }
}

/* The network the tensors under prefix look like ("" = no prefix, any
 * network), with its expected tensors; 0 when none. */
static int recognise(const gan_ckpt *k, const char *prefix, net *t)
{
    const char *p = prefix;
    int any = !*p, g = any || !strcmp(p, "gen."), d = any || !strcmp(p, "disc."), cl = any || !strcmp(p, "cls.");
    memset(t, 0, sizeof *t);
    t->prefix = prefix;
    if (g && get(k, p, "deconv1.weight")) {
        t->kind = "dcgan-g";
        dcgan_g(t, dim_of(k, p, "fc.weight", 1), dim_of(k, p, "deconv3.weight", 0));
    } else if (g && get(k, p, "fc3.weight_v") && !get(k, p, "fc1.weight_v")) {
        t->kind = "semi-g";
        semi_g(t, dim_of(k, p, "fc1.weight", 1), dim_of(k, p, "fc1.weight", 0));
    } else if (d && get(k, p, "fc1.weight_v")) {
        int64_t w[7] = {784};
        for (int l = 0; l < 6; l++) {
            char nm[32];
            snprintf(nm, sizeof nm, "fc%d.weight_v", l + 1);
            w[l + 1] = dim_of(k, p, nm, 0);
        }
        t->kind = "semi-d";
        semi_d(t, w);
    } else if (cl && get(k, p, "conv1.weight") && get(k, p, "fc1.weight")) {
        t->kind = "cnn-classifier";
        cnn(t, dim_of(k, p, "conv1.weight", 0), dim_of(k, p, "conv2.weight", 0), dim_of(k, p, "fc1.weight", 0));
    } else if (d && get(k, p, "conv1.weight")) {
        t->kind = "dcgan-d";
        dcgan_d(t, dim_of(k, p, "conv1.weight", 0), dim_of(k, p, "fc.weight", 0));
    } else if (g && get(k, p, "fc1.weight") && get(k, p, "fc3.weight")) {
        t->kind = "mlp-g";
        mlp_g(t, dim_of(k, p, "fc1.weight", 1), dim_of(k, p, "fc1.weight", 0));
    } else {
        return 0;
    }
    return 1;
}

static int matches(const gan_ckpt_tensor *f, const want *w)
{
    if (f->dtype != w->dt || f->ndim != w->ndim) return 0;
    for (int i = 0; i < w->ndim; i++)
        if (f->shape[i] != w->shape[i]) return 0;
    return 1;
}

static size_t put_tensor(char *buf, size_t cap, size_t len, const char *name, gan_st_dtype dt, int ndim,
                         const int64_t *shape)
{
    char sb[96];
    st_shape_str(shape, ndim, sb, sizeof sb);
    if (len < cap) len += (size_t)snprintf(buf + len, cap - len, "%s%s %s %s", len ? ", " : "", name,
                                           gan_st_dtype_name(dt), sb);
    return len;
}

static size_t list_found(const gan_ckpt *k, const char *prefix, char *buf, size_t cap)
{
    size_t len = 0, pl = strlen(prefix);
    buf[0] = 0;
    for (int i = 0; i < k->n; i++)
        if (!strncmp(k->t[i].name, prefix, pl))
            len = put_tensor(buf, cap, len, k->t[i].name, k->t[i].dtype, k->t[i].ndim, k->t[i].shape);
    return len;
}

/* Every expected tensor present with its dtype and shape, nothing else
 * under the prefix; otherwise GAN_ERR_MISMATCH listing both. */
static gan_status check_net(gan_ctx *c, const gan_ckpt *k, const net *t)
{
    size_t pl = strlen(t->prefix);
    int ok = 1, nfound = 0;
    for (int i = 0; i < t->n && ok; i++) {
        const gan_ckpt_tensor *f = get(k, t->prefix, t->w[i].name);
        ok = f && matches(f, &t->w[i]);
    }
    for (int i = 0; i < k->n; i++) nfound += !strncmp(k->t[i].name, t->prefix, pl);
    if (ok && nfound == t->n) return GAN_OK;
    char *exp = malloc(8192), *got = malloc(8192);
    if (!exp || !got) {
        free(exp);
        free(got);
        return GAN_FAIL(c, GAN_ERR_NOMEM, "%s", k->label);
    }
    size_t len = 0;
    exp[0] = 0;
    for (int i = 0; i < t->n; i++) {
        char nm[96];
        snprintf(nm, sizeof nm, "%s%s", t->prefix, t->w[i].name);
        len = put_tensor(exp, 8192, len, nm, t->w[i].dt, t->w[i].ndim, t->w[i].shape);
    }
    list_found(k, t->prefix, got, 8192);
    gan_status st = GAN_FAIL(c, GAN_ERR_MISMATCH,
                             "%s: a PyTorch state_dict that does not fit gancl's %s network: expected %d tensors "
                             "(%s); found %d (%s)",
                             k->label, t->kind, t->n, exp, nfound, got);
    free(exp);
    free(got);
    return st;
}

static gan_status meta_default(gan_ctx *c, gan_ckpt *k, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static gan_status meta_default(gan_ctx *c, gan_ckpt *k, const char *key, const char *fmt, ...)
{
    for (int i = 0; i < k->nmeta; i++)
        if (!strcmp(k->key[i], key)) return GAN_OK;
    char val[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(val, sizeof val, fmt, ap);
    va_end(ap);
    char **nk = realloc(k->key, (size_t)(k->nmeta + 1) * sizeof *nk);
    if (nk) k->key = nk;
    char **nv = realloc(k->val, (size_t)(k->nmeta + 1) * sizeof *nv);
    if (nv) k->val = nv;
    if (!nk || !nv) return GAN_FAIL(c, GAN_ERR_NOMEM, "%s: metadata", k->label);
    k->key[k->nmeta] = strdup(key);
    k->val[k->nmeta] = strdup(val);
    k->nmeta++;
    if (!k->key[k->nmeta - 1] || !k->val[k->nmeta - 1]) return GAN_FAIL(c, GAN_ERR_NOMEM, "%s: metadata", k->label);
    return GAN_OK;
}

static const char *meta(const gan_ckpt *k, const char *key)
{
    for (int i = 0; i < k->nmeta; i++)
        if (!strcmp(k->key[i], key)) return k->val[i];
    return NULL;
}

static int64_t shape_at(const net *t, const char *name, int d)
{
    for (int i = 0; i < t->n; i++)
        if (!strcmp(t->w[i].name, name)) return t->w[i].shape[d];
    return 0;
}

#define F9(x) ((double)(float)(x)) /* a float as gancl prints it (%.9g of the float) */

/* gancl's metadata for the networks found; g/d/cl may be NULL. */
static gan_status fill_meta(gan_ctx *c, gan_ckpt *k, const net *g, const net *d, const net *cl)
{
    gan_status st = GAN_OK;
    char what[160];
    snprintf(what, sizeof what, "pytorch state_dict:%s%s%s%s%s%s", g ? " gen=" : "", g ? g->kind : "",
             d ? " disc=" : "", d ? d->kind : "", cl ? " cls=" : "", cl ? cl->kind : "");
    TRY(meta_default(c, k, "imported", "%s", what));
    TRY(meta_default(c, k, "step", "0"));
    TRY(meta_default(c, k, "rng_seed", "1"));
    TRY(meta_default(c, k, "rng_counter", "0"));
    TRY(meta_default(c, k, "epoch", "0"));
    TRY(meta_default(c, k, "data_pos", "0"));
    if (cl) {
        TRY(meta_default(c, k, "mode", "classifier"));
        TRY(meta_default(c, k, "model", "cnn-classifier"));
        TRY(meta_default(c, k, "conv1", "%lld", (long long)shape_at(cl, "conv1.weight", 0)));
        TRY(meta_default(c, k, "conv2", "%lld", (long long)shape_at(cl, "conv2.weight", 0)));
        TRY(meta_default(c, k, "hidden", "%lld", (long long)shape_at(cl, "fc1.weight", 0)));
        TRY(meta_default(c, k, "dropout1", "%.9g", F9(0.25)));
        TRY(meta_default(c, k, "dropout2", "%.9g", F9(0.5)));
        TRY(meta_default(c, k, "batch", "64"));
        return GAN_OK;
    }
    int semi = (g && !strcmp(g->kind, "semi-g")) || (d && !strcmp(d->kind, "semi-d"));
    if (semi) {
        TRY(meta_default(c, k, "mode", "semi"));
        TRY(meta_default(c, k, "model", "semi-mlp"));
        TRY(meta_default(c, k, "nz", "%lld", g ? (long long)shape_at(g, "fc1.weight", 1) : 100LL));
        TRY(meta_default(c, k, "g_hidden", "%lld", g ? (long long)shape_at(g, "fc1.weight", 0) : 500LL));
        if (d)
            TRY(meta_default(c, k, "d_hidden", "%lld,%lld,%lld,%lld,%lld", (long long)shape_at(d, "fc1.weight_v", 0),
                             (long long)shape_at(d, "fc2.weight_v", 0), (long long)shape_at(d, "fc3.weight_v", 0),
                             (long long)shape_at(d, "fc4.weight_v", 0), (long long)shape_at(d, "fc5.weight_v", 0)));
        else
            TRY(meta_default(c, k, "d_hidden", "1000,500,250,250,250"));
        TRY(meta_default(c, k, "nclass", "%lld", d ? (long long)shape_at(d, "fc6.weight_v", 0) : 10LL));
        TRY(meta_default(c, k, "noise", "%.9g,%.9g", F9(0.3), F9(0.5)));
        TRY(meta_default(c, k, "batch", "100"));
        TRY(meta_default(c, k, "ema", "0"));
        return GAN_OK;
    }
    /* gan or cgan: a generator input of nz + nclass; the discriminator's
     * outputs 1 (gan) or 1 + nclass (AC-GAN) */
    long long nin = 0, nout = d ? (long long)shape_at(d, "fc.weight", 0) : 0;
    if (g) nin = (long long)(!strcmp(g->kind, "dcgan-g") ? shape_at(g, "fc.weight", 1) : shape_at(g, "fc1.weight", 1));
    int nclass = 0;
    const char *ncs = meta(k, "nclass");
    if (ncs)
        nclass = atoi(ncs);
    else if (nout > 1)
        nclass = (int)nout - 1;
    else if (!d && nin == 110 && !meta(k, "nz"))
        nclass = 10; /* the AC-GAN generator's 100 + 10 inputs (say "nz"/"nclass" in the metadata otherwise) */
    const char *nzs = meta(k, "nz");
    long long nz = nzs ? atoll(nzs) : g ? nin - nclass : 100;
    TRY(meta_default(c, k, "mode", nclass ? "cgan" : "gan"));
    TRY(meta_default(c, k, "model", nclass ? "acgan" : "dcgan"));
    TRY(meta_default(c, k, "arch", g && !strcmp(g->kind, "mlp-g") ? "mlp" : "dcgan"));
    TRY(meta_default(c, k, "nz", "%lld", nz));
    if (nclass) TRY(meta_default(c, k, "nclass", "%d", nclass));
    if (g && !strcmp(g->kind, "mlp-g"))
        TRY(meta_default(c, k, "hidden", "%lld", (long long)shape_at(g, "fc1.weight", 0)));
    else
        TRY(meta_default(c, k, "ngf", "%lld", g ? (long long)shape_at(g, "deconv3.weight", 0) : 64LL));
    TRY(meta_default(c, k, "ndf", "%lld", d ? (long long)shape_at(d, "conv1.weight", 0) : 64LL));
    TRY(meta_default(c, k, "nout", "%lld", d ? nout : 1LL + nclass));
    TRY(meta_default(c, k, "slope", "%.9g", F9(0.2)));
    TRY(meta_default(c, k, "dropout", "%.9g", F9(0.3)));
    TRY(meta_default(c, k, "loss", "bce"));
    TRY(meta_default(c, k, "batch", "64"));
cleanup:
    return st;
}

static gan_status prefix_all(gan_ctx *c, gan_ckpt *k, const char *prefix)
{
    size_t pl = strlen(prefix);
    for (int i = 0; i < k->n; i++) {
        size_t n = strlen(k->t[i].name);
        char *s = malloc(pl + n + 1);
        if (!s) return GAN_FAIL(c, GAN_ERR_NOMEM, "%s: tensor names", k->label);
        memcpy(s, prefix, pl);
        memcpy(s + pl, k->t[i].name, n + 1);
        free((char *)k->t[i].name);
        k->t[i].name = s;
    }
    return GAN_OK;
}

static const char *const EXPECTED =
    "the state_dict of one of tools/gancl_torch.py's networks, with or without its prefix: DCGAN generator "
    "(gen.: fc, bn0, deconv1, bn1, deconv2, bn2, deconv3), MLP generator (gen.: fc1, fc2, fc3), semi generator "
    "(gen.: fc1, bn1, fc2, bn2, weight-normed fc3), DCGAN discriminator (disc.: conv1, conv2, fc), semi "
    "discriminator (disc.: weight-normed fc1..fc6), CNN classifier (cls.: conv1, conv2, fc1, fc2)";

gan_status st_import(gan_ctx *c, gan_ckpt *k)
{
    gan_status st = GAN_OK;
    char *got = NULL;
    net *nets = calloc(3, sizeof *nets);
    if (!nets) return GAN_FAIL(c, GAN_ERR_NOMEM, "%s", k->label);
    static const char *const prefixes[3] = {"gen.", "disc.", "cls."};
    int have[3] = {0}, nprefixed = 0;
    for (int i = 0; i < k->n; i++)
        for (int j = 0; j < 3; j++)
            if (!strncmp(k->t[i].name, prefixes[j], strlen(prefixes[j]))) {
                have[j] = 1;
                nprefixed++;
            }
    if (k->n > 0 && nprefixed == 0) { /* no prefix: one network, whichever it is */
        net t;
        if (recognise(k, "", &t)) {
            int j = !strcmp(t.kind, "cnn-classifier") ? 2 : !strcmp(t.kind, "dcgan-d") || !strcmp(t.kind, "semi-d");
            TRY(check_net(c, k, &t));
            TRY(prefix_all(c, k, prefixes[j]));
            have[j] = 1;
            nprefixed = k->n;
        }
    }
    if (k->n == 0 || nprefixed != k->n) {
        if (!(got = malloc(4096))) {
            st = GAN_FAIL(c, GAN_ERR_NOMEM, "%s", k->label);
            goto cleanup;
        }
        list_found(k, "", got, 4096);
        st = GAN_FAIL(c, GAN_ERR_FORMAT,
                      "%s: not a gancl checkpoint: no \"format\" in __metadata__, and not a PyTorch state_dict "
                      "gancl knows: expected %s; found %d tensors (%s)",
                      k->label, EXPECTED, k->n, got);
        goto cleanup;
    }
    for (int j = 0; j < 3; j++) {
        if (!have[j]) continue;
        if (!recognise(k, prefixes[j], &nets[j])) {
            if (!(got = malloc(4096))) {
                st = GAN_FAIL(c, GAN_ERR_NOMEM, "%s", k->label);
                goto cleanup;
            }
            list_found(k, prefixes[j], got, 4096);
            st = GAN_FAIL(c, GAN_ERR_MISMATCH, "%s: the tensors under \"%s\" are no gancl network: expected %s; "
                          "found %s", k->label, prefixes[j], EXPECTED, got);
            goto cleanup;
        }
        TRY(check_net(c, k, &nets[j]));
    }
    if (have[2] && (have[0] || have[1])) {
        st = GAN_FAIL(c, GAN_ERR_MISMATCH, "%s: a classifier (cls.) together with a generator or discriminator: "
                      "import one model at a time", k->label);
        goto cleanup;
    }
    if (have[0] && have[1] && !strcmp(nets[0].kind, "semi-g") != !strcmp(nets[1].kind, "semi-d")) {
        st = GAN_FAIL(c, GAN_ERR_MISMATCH, "%s: generator %s with discriminator %s: not one gancl model", k->label,
                      nets[0].kind, nets[1].kind);
        goto cleanup;
    }
    TRY(fill_meta(c, k, have[0] ? &nets[0] : NULL, have[1] ? &nets[1] : NULL, have[2] ? &nets[2] : NULL));
cleanup:
    free(got);
    free(nets);
    return st;
}
