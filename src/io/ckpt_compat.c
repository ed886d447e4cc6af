/* Reading older and foreign checkpoints as format version 2.
 *
 * Version 1 (gancl before the PyTorch-strict layout) differs from 2 in
 * three ways, all undone here after the file has been validated: the fixed
 * sample noise was "gen.sample_noise" (now "state.sample_noise", so "gen."
 * is exactly the generator's state_dict), weight norm's weight_g (and its
 * Adam moments) were [O] where torch.nn.utils.weight_norm keeps [O, 1], and
 * batch norm had no num_batches_tracked (read as 0: version 1 did not count).
 *
 * A safetensors file without gancl's "format" key is taken for a PyTorch
 * state_dict of one gancl network (ckpt_import.c). */
#include "internal.h"
#include "safetensors.h"

#include <stdlib.h>
#include <string.h>

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static const gan_ckpt_tensor *find(const gan_ckpt *k, const char *name)
{
    for (int i = 0; i < k->n; i++)
        if (!strcmp(k->t[i].name, name)) return &k->t[i];
    return NULL;
}

static gan_status rename_tensor(gan_ctx *c, gan_ckpt *k, gan_ckpt_tensor *t, const char *name)
{
    char *s = strdup(name);
    if (!s) return GAN_FAIL(c, GAN_ERR_NOMEM, "%s: tensor names", k->label);
    free((char *)t->name);
    t->name = s;
    return GAN_OK;
}

static gan_status upgrade_v1(gan_ctx *c, gan_ckpt *k)
{
    gan_status st = GAN_OK;
    int nbn = 0;
    for (int i = 0; i < k->n; i++) {
        gan_ckpt_tensor *t = &k->t[i];
        if (!strcmp(t->name, "gen.sample_noise")) {
            if (find(k, "state.sample_noise"))
                return GAN_FAIL(c, GAN_ERR_FORMAT, "%s: version-1 checkpoint with both gen.sample_noise and "
                                "state.sample_noise", k->label);
            TRY(rename_tensor(c, k, t, "state.sample_noise"));
        } else if ((ends_with(t->name, ".weight_g") || ends_with(t->name, ".weight_g.exp_avg") ||
                    ends_with(t->name, ".weight_g.exp_avg_sq")) &&
                   t->ndim == 1) {
            t->shape[1] = 1;
            t->ndim = 2;
        } else if (ends_with(t->name, ".running_mean") && strncmp(t->name, "optim.", 6) &&
                   strncmp(t->name, "ema.", 4)) {
            nbn++;
        }
    }
    if (!nbn) return GAN_OK;
    gan_ckpt_tensor *nt = realloc(k->t, (size_t)(k->n + nbn) * sizeof *nt);
    if (!nt) return GAN_FAIL(c, GAN_ERR_NOMEM, "%s: index", k->label);
    k->t = nt;
    if (!(k->extra = calloc((size_t)nbn, sizeof(int64_t)))) return GAN_FAIL(c, GAN_ERR_NOMEM, "%s", k->label);
    int n0 = k->n, added = 0;
    for (int i = 0; i < n0; i++) {
        const char *nm = k->t[i].name;
        if (!ends_with(nm, ".running_mean") || !strncmp(nm, "optim.", 6) || !strncmp(nm, "ema.", 4)) continue;
        size_t base = strlen(nm) - strlen("running_mean");
        char name[256];
        if (base + sizeof "num_batches_tracked" > sizeof name) continue;
        snprintf(name, sizeof name, "%.*snum_batches_tracked", (int)base, nm);
        if (find(k, name)) continue;
        gan_ckpt_tensor *t = &k->t[k->n];
        memset(t, 0, sizeof *t);
        if (!(t->name = strdup(name))) return GAN_FAIL(c, GAN_ERR_NOMEM, "%s: tensor names", k->label);
        t->dtype = GAN_ST_I64;
        t->ndim = 0;
        t->numel = 1;
        t->nbytes = sizeof(int64_t);
        t->data = k->extra + (size_t)added++ * sizeof(int64_t);
        k->n++;
    }
cleanup:
    return st;
}

gan_status st_normalize(gan_ctx *c, gan_ckpt *k)
{
    if (k->foreign) return st_import(c, k);
    if (k->version == 1) return upgrade_v1(c, k);
    return GAN_OK;
}
