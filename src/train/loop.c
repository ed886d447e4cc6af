/* The one training loop (include/gancl/loop.h) and the mode tables of gan,
 * cgan and classifier. The loops this replaces (tools/cmd_train*.c) made
 * the same calls in the same order, so checkpoints are byte-identical to
 * theirs (tests/cli/test_ckpt_identity.sh). */
#include "gancl/dist.h"
#include "gancl/loop.h"
#include "internal.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/file.h>
#include <unistd.h>

static double now_s(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

size_t gan_loop_per_epoch(const gan_loop_run *run)
{
    size_t B = (size_t)run->batch, n = run->set->n;
    size_t per = run->mode->full_batches ? n / B : (n + B - 1) / B;
    if (run->steps_per_epoch > 0 && (size_t)run->steps_per_epoch < per) per = (size_t)run->steps_per_epoch;
    return per;
}

gan_status gan_loop_resume(gan_ctx *c, gan_loop_run *run, const char *path)
{
    gan_ckpt *k = NULL;
    gan_status st = run->mode->load(c, run->model, path, &k);
    if (st) goto done;
    char b[32];
    snprintf(b, sizeof b, "%d", run->model_batch ? run->model_batch : run->batch);
    int n = 1 + run->nconfig;
    gan_ckpt_kv *want = calloc((size_t)n, sizeof *want);
    if (!want) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "resume: out of memory");
        goto done;
    }
    want[0] = (gan_ckpt_kv){"batch", b};
    for (int i = 0; i < run->nconfig; i++) want[1 + i] = run->config[i];
    st = gan_ckpt_compare_config(c, k, want, (size_t)n);
    free(want);
    if (st) goto done;
    const char *e = gan_ckpt_meta(k, "epoch"), *p = gan_ckpt_meta(k, "data_pos");
    run->epoch0 = e ? atoi(e) : 0;
    run->pos0 = p ? (size_t)strtoull(p, NULL, 10) : 0;
    run->resumed = 1;
    run->resumed_step = run->mode->steps(run->model);
done:
    gan_ckpt_free(k);
    return st;
}

/* Keep the records of steps <= step in path (a resumed run's metrics.jsonl;
 * a missing file is fine): write the kept lines to path.tmp, rename. With
 * a prefix only the records holding a name "PREFIX..." are cut. */
static gan_status cut_metrics(gan_ctx *c, const char *path, int step, const char *prefix)
{
    FILE *in = fopen(path, "rb");
    if (!in) return errno == ENOENT ? GAN_OK : GAN_FAIL(c, GAN_ERR_IO, "%s: %s", path, strerror(errno));
    char tmp[1200];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    FILE *out = fopen(tmp, "wb");
    if (!out) {
        fclose(in);
        return GAN_FAIL(c, GAN_ERR_IO, "%s: %s", tmp, strerror(errno));
    }
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    char quoted[80];
    snprintf(quoted, sizeof quoted, "\"%s", prefix ? prefix : "");
    while ((len = getline(&line, &cap, in)) > 0) {
        const char *at = strstr(line, "\"step\":");
        long long s = at ? strtoll(at + 7, NULL, 10) : 0;
        if (s <= step || (prefix && !strstr(line, quoted))) fwrite(line, 1, (size_t)len, out);
    }
    free(line);
    int bad = ferror(in);
    fclose(in);
    if (fclose(out) || bad || rename(tmp, path)) {
        remove(tmp);
        return GAN_FAIL(c, GAN_ERR_IO, "cutting %s back to step %d: %s", path, step, strerror(errno));
    }
    return GAN_OK;
}

static gan_status save_at(gan_ctx *c, const gan_loop_run *run, const char *path, int epoch, size_t pos)
{
    char e[32], p[32];
    snprintf(e, sizeof e, "%d", epoch);
    snprintf(p, sizeof p, "%zu", pos);
    int n = 3 + run->ntag + run->nconfig + 4, at = 0;
    gan_ckpt_kv *kv = calloc((size_t)n, sizeof *kv);
    if (!kv) return GAN_FAIL(c, GAN_ERR_NOMEM, "checkpoint: out of memory");
    kv[at++] = (gan_ckpt_kv){"mode", run->mode->name};
    for (int i = 0; i < run->ntag; i++) kv[at++] = run->tag[i];
    kv[at++] = (gan_ckpt_kv){"epoch", e};
    kv[at++] = (gan_ckpt_kv){"data_pos", p};
    for (int i = 0; i < run->nconfig; i++) kv[at++] = run->config[i];
    if (run->mode->state) at += run->mode->state(run->model, kv + at);
    gan_status st = run->mode->save(c, run->model, path, kv, at);
    free(kv);
    return st;
}

/* One record: a companion run's names get its prefix ("baseline_loss"). */
static gan_status write_record(gan_ctx *c, const gan_loop_run *run, gan_jsonl *log, int step, int epoch,
                               const gan_loop_metrics *m)
{
    if (!run->prefix) return gan_jsonl_write(c, log, step, epoch, m->f, (size_t)m->n);
    char names[GAN_LOOP_MAX_METRICS][64];
    gan_metric f[GAN_LOOP_MAX_METRICS];
    for (int i = 0; i < m->n; i++) {
        snprintf(names[i], sizeof names[i], "%s%s", run->prefix, m->f[i].name);
        f[i] = (gan_metric){names[i], m->f[i].value};
    }
    return gan_jsonl_write(c, log, step, epoch, f, (size_t)m->n);
}

static void emit(const gan_loop_run *run, const gan_loop_event *e)
{
    if (run->on_event) run->on_event(run->user, e);
}

gan_status gan_loop_train(gan_ctx *c, gan_loop_run *run, gan_loop_result *res)
{
    const gan_loop_mode *md = run->mode;
    gan_status st = GAN_OK;
    gan_jsonl *log = NULL;
    size_t B = (size_t)run->batch, *order = NULL;
    float *x = NULL;
    int32_t *labels = NULL;
    int lock = -1;
    char path[1100];

    memset(res, 0, sizeof *res);
    int P = gan_dist_size(c), lead = gan_dist_rank(c) == 0, setup = 1;
    double start = now_s(), mark = start;
    size_t mark_images = 0, mark_steps = 0;
    snprintf(res->checkpoint, sizeof res->checkpoint, "%s/checkpoint.safetensors", run->outdir);
    if (run->batch < 1 || run->log_every < 1 || !run->set || run->set->n == 0)
        return GAN_FAIL(c, GAN_ERR_ARG, "training loop: batch %d, log_every %d, %zu items", run->batch,
                        run->log_every, run->set ? run->set->n : (size_t)0);
    if (md->full_batches && B > run->set->n)
        return GAN_FAIL(c, GAN_ERR_ARG, "batch %d is larger than the %zu training images", run->batch, run->set->n);
    if (P > 1 && !md->data_parallel)
        return GAN_FAIL(c, GAN_ERR_ARG, "mode %s does not train data-parallel (%d ranks): run it in one process; "
                        "gan, cgan, classifier and semi do", md->name, P);
    /* Data-parallel (include/gancl/dist.h): rank 0 alone holds the lock and
     * writes metrics, epoch artifacts and checkpoints; the others agree on
     * its setup before the first step. */
    if (!lead) goto setup_done;
    snprintf(path, sizeof path, "%s/.gancl.lock", run->outdir);
    lock = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (lock < 0) {
        st = GAN_FAIL(c, GAN_ERR_IO, "cannot open the run lock %s: %s", path, strerror(errno));
        goto out;
    }
    if (flock(lock, LOCK_EX | LOCK_NB)) {
        st = GAN_FAIL(c, GAN_ERR_IO, "%s is in use by another run (%s is locked)", run->outdir, path);
        goto out;
    }
    if (!run->prefix && !run->resumed && !run->overwrite && access(res->checkpoint, F_OK) == 0) {
        st = GAN_FAIL(c, GAN_ERR_ARG,
                      "%s already holds a run (%s): continue it with --resume %s, choose another --outdir, or "
                      "replace it with --overwrite",
                      run->outdir, res->checkpoint, res->checkpoint);
        goto out;
    }
    snprintf(path, sizeof path, "%s/metrics.jsonl", run->outdir);
    if (run->prefix ? (st = cut_metrics(c, path, 0, run->prefix))
                    : run->resumed && (st = cut_metrics(c, path, run->resumed_step, NULL)))
        goto out;
    if ((st = gan_jsonl_open(c, path, run->resumed || run->prefix, &log))) goto out;
setup_done:
    order = malloc(run->set->n * sizeof *order);
    x = malloc(B * 784 * sizeof *x);
    labels = malloc(B * sizeof *labels);
    if (!order || !x || !labels) {
        st = GAN_FAIL(c, GAN_ERR_NOMEM, "training loop: out of memory for %zu items", run->set->n);
        goto out;
    }
    setup = 0;
    if (P > 1 && (st = gan_dist_agree(c, GAN_OK))) goto out;
    size_t per_epoch = gan_loop_per_epoch(run);
    for (int epoch = run->epoch0; epoch < run->epochs; epoch++) {
        double t_epoch = now_s();
        uint64_t key = md->order_key ? md->order_key(epoch) : (uint64_t)epoch;
        if ((st = gan_epoch_order(c, run->set, run->seed, key, order))) goto out;
        if (md->epoch_begin && (st = md->epoch_begin(c, run->model, run, epoch))) goto out;
        for (size_t b = epoch == run->epoch0 ? run->pos0 : 0; b < per_epoch; b++) {
            size_t at = b * B, n = run->set->n - at < B ? run->set->n - at : B;
            int logit = (md->steps(run->model) + 1) % run->log_every == 0 || b + 1 == per_epoch;
            gan_loop_metrics m = {0};
            int r0, nl; /* this rank's rows of the global batch: all of them in one process */
            if ((st = gan_dist_shard(c, (int)n, &r0, &nl))) goto out;
            if ((!md->no_batch && (st = gan_dataset_batch(c, run->data, order + at + r0, (size_t)nl, md->range, x,
                                                          md->labels ? labels : NULL))) ||
                (st = md->step(c, run->model, b, md->no_batch ? NULL : x, md->labels && !md->no_batch ? labels : NULL,
                               nl, logit ? &m : NULL))) {
                gan_dist_fail(c);
                goto out;
            }
            gan_dist_shard_end(c);
            int stop = run->interrupt && *run->interrupt;
            if (P > 1) { /* the global batch's means, and any rank's interruption, on every rank */
                double v[1 + GAN_LOOP_MAX_METRICS] = {stop ? 1.0 : 0.0};
                for (int i = 0; i < m.n; i++) v[1 + i] = m.f[i].value * (double)nl / (double)n;
                if ((st = gan_dist_sum(c, v, 1 + (size_t)m.n, 1.0))) goto out;
                for (int i = 0; i < m.n; i++) m.f[i].value = v[1 + i];
                stop = v[0] > 0;
                if (logit && (st = gan_dist_check(c, md->steps(run->model)))) goto out;
            }
            res->steps++;
            mark_images += n;
            mark_steps++;
            int step = md->steps(run->model);
            if (logit) {
                int finite = 1;
                for (int i = 0; i < md->nloss && i < m.n; i++) finite &= isfinite(m.f[i].value) != 0;
                if (!finite) {
                    res->end = GAN_LOOP_NONFINITE;
                    res->nloss = md->nloss < m.n ? md->nloss : m.n;
                    memcpy(res->loss, m.f, (size_t)res->nloss * sizeof m.f[0]);
                    goto out;
                }
                double t = now_s(), ips = (double)mark_images / (t - mark), sps = (double)mark_steps / (t - mark);
                mark = t;
                mark_images = mark_steps = 0;
                if (m.n + 2 > GAN_LOOP_MAX_METRICS) {
                    st = GAN_FAIL(c, GAN_ERR_ARG, "mode %s: %d metrics, at most %d", md->name, m.n,
                                  GAN_LOOP_MAX_METRICS - 2);
                    goto out;
                }
                m.f[m.n++] = (gan_metric){"images_per_s", ips};
                m.f[m.n++] = (gan_metric){"wall_s", t - start};
                if (lead && (st = write_record(c, run, log, step, epoch, &m))) goto out;
                gan_loop_event e = {.kind = GAN_LOOP_LOGGED, .epoch = epoch, .epochs = run->epochs, .b = b,
                                    .per_epoch = per_epoch, .step = step, .f = m.f, .nf = m.n, .images_per_s = ips,
                                    .steps_per_s = sps,
                                    .eta_s = ((double)(run->epochs - epoch) * (double)per_epoch - (double)(b + 1)) / sps};
                emit(run, &e);
            }
            if (stop) {
                int last = b + 1 == per_epoch;
                if (lead && !run->prefix)
                    st = save_at(c, run, res->checkpoint, last ? epoch + 1 : epoch, last ? 0 : b + 1);
                if (P > 1) st = gan_dist_agree(c, st);
                if (st) goto out;
                res->end = GAN_LOOP_INTERRUPTED;
                goto out;
            }
        }
        double t_train = now_s() - t_epoch;
        gan_loop_metrics m = {0};
        char artifact[1100] = "";
        if (lead && md->epoch_end) st = md->epoch_end(c, run->model, run, epoch, &m, artifact, sizeof artifact);
        if (st) goto epoch_agree;
        double t_all = now_s() - t_epoch;
        if (lead && m.n > 0) {
            if (m.n + 2 > GAN_LOOP_MAX_METRICS) {
                st = GAN_FAIL(c, GAN_ERR_ARG, "mode %s: %d epoch metrics, at most %d", md->name, m.n,
                              GAN_LOOP_MAX_METRICS - 2);
                goto epoch_agree;
            }
            m.f[m.n++] = (gan_metric){"epoch_train_s", t_train};
            m.f[m.n++] = (gan_metric){"epoch_s", t_all};
            if ((st = write_record(c, run, log, md->steps(run->model), epoch, &m))) goto epoch_agree;
        }
        if (lead && !run->prefix) st = save_at(c, run, res->checkpoint, epoch + 1, 0);
    epoch_agree:
        if (P > 1) st = gan_dist_agree(c, st);
        if (st) goto out;
        gan_loop_event e = {.kind = GAN_LOOP_EPOCH, .epoch = epoch, .epochs = run->epochs, .per_epoch = per_epoch,
                            .b = per_epoch ? per_epoch - 1 : 0, .step = md->steps(run->model), .f = m.f, .nf = m.n,
                            .epoch_train_s = t_train, .epoch_s = now_s() - t_epoch,
                            .checkpoint = res->checkpoint, .artifact = artifact};
        emit(run, &e);
    }
    res->end = GAN_LOOP_DONE;
out:
    if (P > 1 && setup) st = gan_dist_agree(c, st); /* a failed setup on any rank stops them all */
    if (log) {
        gan_status cs = gan_jsonl_close(c, log);
        if (!st) st = cs;
    }
    free(order);
    free(x);
    free(labels);
    if (lock >= 0) close(lock); /* releases the flock */
    res->seconds = now_s() - start;
    res->step = md->steps(run->model);
    res->have_checkpoint = access(res->checkpoint, F_OK) == 0;
    return st;
}

/* ---- gan ---- */

gan_status gan_loop_gan_init(gan_ctx *c, gan_loop_gan *g, const gan_gan_config *cfg)
{
    memset(g, 0, sizeof *g);
    gan_status st = gan_gan_init(c, &g->m, cfg);
    if (!st) st = gan_tensor_alloc4(c, &g->real, GAN_F32, 4, cfg->batch, 1, 28, 28);
    gan_generator_info info = gan_generator_info_gan(&g->m.cfg.model, 0);
    if (!st) st = gan_generator_wrap(c, &g->gen, &info, &g->m.gen, NULL, cfg->batch);
    return st;
}

void gan_loop_gan_free(gan_ctx *c, gan_loop_gan *g)
{
    gan_generator_free(c, &g->gen);
    gan_tensor_free(c, &g->real);
    gan_gan_free(c, &g->m);
}

static gan_status gan_step_(gan_ctx *c, void *model, size_t b, const float *x, const int32_t *labels, int n,
                            gan_loop_metrics *out)
{
    (void)b;
    (void)labels;
    gan_loop_gan *g = model;
    gan_gan_stats s;
    gan_tensor real; /* full batches; a rank's slice of one when data-parallel */
    gan_status st = gan_tensor_narrow(c, &g->real, n, &real);
    if (!st) st = gan_tensor_write(c, &real, x);
    if (!st) st = gan_gan_step(c, &g->m, &real, out ? &s : NULL);
    if (!st && out)
        *out = (gan_loop_metrics){4, {{"loss_d", s.loss_d}, {"loss_g", s.loss_g}, {"d_real", s.d_real},
                                      {"d_fake", s.d_fake}}};
    return st;
}

static int gan_steps_(const void *model) { return ((const gan_loop_gan *)model)->m.step; }

static gan_status gan_save_(gan_ctx *c, const void *model, const char *path, const gan_ckpt_kv *kv, int n)
{
    return gan_gan_save(c, &((const gan_loop_gan *)model)->m, path, kv, n);
}

static gan_status gan_load_(gan_ctx *c, void *model, const char *path, gan_ckpt **out)
{
    return gan_gan_load(c, &((gan_loop_gan *)model)->m, path, out);
}

/* A grid of n images of a generator handle in its own range, image i from
 * row i % sample_z's rows of the fixed noise sample_z (labels: NULL, or
 * one per image); nrow 0: the default columns. */
static gan_status fixed_grid(gan_ctx *c, gan_generator *g, const gan_tensor *sample_z, int n, const int32_t *labels,
                             const char *path)
{
    int R = sample_z->dim[0], nz = g->info.nz;
    float *zr = malloc((size_t)R * (size_t)nz * sizeof *zr), *z = malloc((size_t)n * (size_t)nz * sizeof *z),
          *h = malloc((size_t)n * 784 * sizeof *h);
    gan_status st = !zr || !z || !h ? GAN_FAIL(c, GAN_ERR_NOMEM, "sample grid: out of memory") : GAN_OK;
    if (!st) st = gan_tensor_read(c, sample_z, zr);
    for (int i = 0; i < n && !st; i++)
        memcpy(z + (size_t)i * (size_t)nz, zr + (size_t)(i % R) * (size_t)nz, (size_t)nz * sizeof *z);
    if (!st) st = gan_generator_generate_z(c, g, n, labels, z, 0, h);
    gan_grid_opts go = gan_grid_defaults();
    if (labels) go.nrow = R; /* the class grid: a row per class */
    if (!g->info.tanh) go.lo = 0.f, go.hi = 1.f;
    if (!st) st = gan_png_write_grid(c, path, h, n, 1, 28, 28, &go);
    free(zr);
    free(z);
    free(h);
    return st;
}

/* The fixed-noise grid: G in inference mode on its checkpointed noise. */
static gan_status gan_epoch_end_(gan_ctx *c, void *model, const gan_loop_run *run, int epoch, gan_loop_metrics *out,
                                 char *artifact, size_t cap)
{
    (void)out;
    gan_loop_gan *g = model;
    /* the generator serves any batch up to its own; the grid wants 64 */
    int rows = g->m.cfg.batch < 64 ? g->m.cfg.batch : 64;
    snprintf(artifact, cap, "%s/samples_epoch%03d.png", run->outdir, epoch + 1);
    return fixed_grid(c, &g->gen, &g->m.sample_z, rows, NULL, artifact);
}

const gan_loop_mode gan_loop_mode_gan = {
    .name = "gan",
    .range = GAN_RANGE_TANH,
    .labels = 0,
    .full_batches = 1,
    .nloss = 2,
    .data_parallel = 1,
    .step = gan_step_,
    .steps = gan_steps_,
    .save = gan_save_,
    .load = gan_load_,
    .epoch_end = gan_epoch_end_,
};

/* ---- cgan ---- */

gan_status gan_loop_cgan_init(gan_ctx *c, gan_loop_cgan *g, const gan_cgan_config *cfg)
{
    memset(g, 0, sizeof *g);
    gan_status st = gan_cgan_init(c, &g->m, cfg);
    if (!st) st = gan_tensor_alloc4(c, &g->real, GAN_F32, 4, cfg->batch, 1, 28, 28);
    gan_generator_info info = gan_generator_info_gan(&g->m.cfg.model, g->m.cfg.nclass);
    if (!st) st = gan_generator_wrap(c, &g->gen, &info, &g->m.gen, NULL, cfg->batch);
    return st;
}

void gan_loop_cgan_free(gan_ctx *c, gan_loop_cgan *g)
{
    gan_generator_free(c, &g->gen);
    gan_tensor_free(c, &g->real);
    gan_cgan_free(c, &g->m);
}

static gan_status cgan_step_(gan_ctx *c, void *model, size_t b, const float *x, const int32_t *labels, int n,
                             gan_loop_metrics *out)
{
    (void)b;
    gan_loop_cgan *g = model;
    gan_cgan_stats s;
    gan_tensor real; /* full batches; a rank's slice of one when data-parallel */
    gan_status st = gan_tensor_narrow(c, &g->real, n, &real);
    if (!st) st = gan_tensor_write(c, &real, x);
    if (!st) st = gan_cgan_step(c, &g->m, &real, labels, out ? &s : NULL);
    if (!st && out)
        *out = (gan_loop_metrics){7, {{"loss_d", s.loss_d}, {"loss_g", s.loss_g}, {"loss_cls", s.loss_cls},
                                      {"d_real", s.d_real}, {"d_fake", s.d_fake}, {"acc_real", s.acc_real},
                                      {"acc_fake", s.acc_fake}}};
    return st;
}

static int cgan_steps_(const void *model) { return ((const gan_loop_cgan *)model)->m.step; }

static gan_status cgan_save_(gan_ctx *c, const void *model, const char *path, const gan_ckpt_kv *kv, int n)
{
    return gan_cgan_save(c, &((const gan_loop_cgan *)model)->m, path, kv, n);
}

static gan_status cgan_load_(gan_ctx *c, void *model, const char *path, gan_ckpt **out)
{
    return gan_cgan_load(c, &((gan_loop_cgan *)model)->m, path, out);
}

/* The class grid: a row per class, a fixed noise vector per column. */
static gan_status cgan_epoch_end_(gan_ctx *c, void *model, const gan_loop_run *run, int epoch,
                                  gan_loop_metrics *out, char *artifact, size_t cap)
{
    (void)out;
    gan_loop_cgan *g = model;
    int n = g->m.cfg.nclass * GAN_CGAN_GRID;
    int32_t *labels = malloc((size_t)n * sizeof *labels);
    if (!labels) return GAN_FAIL(c, GAN_ERR_NOMEM, "class grid: out of memory");
    snprintf(artifact, cap, "%s/samples_epoch%03d.png", run->outdir, epoch + 1);
    for (int i = 0; i < n; i++) labels[i] = i / GAN_CGAN_GRID;
    gan_status st = fixed_grid(c, &g->gen, &g->m.sample_z, n, labels, artifact);
    free(labels);
    return st;
}

const gan_loop_mode gan_loop_mode_cgan = {
    .name = "cgan",
    .range = GAN_RANGE_TANH,
    .labels = 1,
    .full_batches = 1,
    .nloss = 2,
    .data_parallel = 1,
    .step = cgan_step_,
    .steps = cgan_steps_,
    .save = cgan_save_,
    .load = cgan_load_,
    .epoch_end = cgan_epoch_end_,
};

/* ---- classifier ---- */

static gan_status cls_step_(gan_ctx *c, void *model, size_t b, const float *x, const int32_t *labels, int n,
                            gan_loop_metrics *out)
{
    (void)b;
    gan_cls *m = &((gan_loop_cls *)model)->m;
    gan_cls_stats s;
    gan_tensor xt, yt;
    gan_status st;
    if ((st = gan_tensor_narrow(c, &m->x, n, &xt)) || (st = gan_tensor_narrow(c, &m->labels, n, &yt)) ||
        (st = gan_tensor_write(c, &xt, x)) || (st = gan_tensor_write(c, &yt, labels)) ||
        (st = gan_cls_step(c, m, &xt, &yt, out ? &s : NULL)))
        return st;
    if (out) *out = (gan_loop_metrics){2, {{"loss", s.loss}, {"accuracy", s.accuracy}}};
    return GAN_OK;
}

static int cls_steps_(const void *model) { return ((const gan_loop_cls *)model)->m.step; }

static gan_status cls_save_(gan_ctx *c, const void *model, const char *path, const gan_ckpt_kv *kv, int n)
{
    return gan_cls_save(c, &((const gan_loop_cls *)model)->m, path, kv, n);
}

static gan_status cls_load_(gan_ctx *c, void *model, const char *path, gan_ckpt **out)
{
    return gan_cls_load(c, &((gan_loop_cls *)model)->m, path, out);
}

static gan_status cls_epoch_end_(gan_ctx *c, void *model, const gan_loop_run *run, int epoch, gan_loop_metrics *out,
                                 char *artifact, size_t cap)
{
    (void)run, (void)epoch, (void)artifact, (void)cap;
    gan_loop_cls *l = model;
    gan_status st = gan_cls_evaluate(c, &l->m, l->test, NULL, &l->eval);
    if (st) return st;
    l->have_eval = 1;
    *out = (gan_loop_metrics){1, {{"test_accuracy", l->eval.accuracy}}};
    return GAN_OK;
}

const gan_loop_mode gan_loop_mode_classifier = {
    .name = "classifier",
    .range = GAN_RANGE_UNIT,
    .labels = 1,
    .full_batches = 0,
    .nloss = 1,
    .data_parallel = 1,
    .step = cls_step_,
    .steps = cls_steps_,
    .save = cls_save_,
    .load = cls_load_,
    .epoch_end = cls_epoch_end_,
};

/* ---- augment ---- */

gan_status gan_loop_augment_init(gan_ctx *c, gan_loop_augment *a, const gan_cls_config *cfg, gan_generator *gen,
                                 int ngen, const double *cdf, uint64_t gen_seed)
{
    memset(a, 0, sizeof *a);
    a->gen = gen;
    a->ngen = gen ? ngen : 0;
    memcpy(a->cdf, cdf, sizeof a->cdf);
    a->gen_rng = (gan_rng){.seed = gen_seed, .counter = 0};
    a->eval_every = 1;
    return gan_cls_init(c, &a->m, cfg);
}

void gan_loop_augment_free(gan_ctx *c, gan_loop_augment *a)
{
    gan_cls_free(c, &a->m);
}

double gan_loop_augment_reduced(const gan_loop_augment *a, const gan_cls_eval *e)
{
    size_t right = 0, n = 0;
    for (int k = 0; k < GAN_CNN_CLASSES; k++)
        if (a->reduced[k]) right += e->confusion[k][k], n += e->class_n[k];
    return n ? (double)right / (double)n : 0.0;
}

/* Labels from the cumulative distribution cdf: word i%4 of Philox block
 * counter + i/4 as a uniform in [0, 1). */
static void draw_classes(gan_rng *rng, const double *cdf, int n, int32_t *out)
{
    gan_rng at = gan_rng_take(rng, (size_t)n, 0);
    uint32_t key[2] = {(uint32_t)at.seed, (uint32_t)(at.seed >> 32)}, w[4] = {0, 0, 0, 0};
    for (int i = 0; i < n; i++) {
        if (i % 4 == 0) {
            uint64_t b = at.counter + (uint64_t)(i / 4);
            uint32_t ctr[4] = {(uint32_t)b, (uint32_t)(b >> 32), 0, 0};
            gan_philox4x32_10(ctr, key, w);
        }
        double u = w[i % 4] / 4294967296.0;
        int k = 0;
        while (k < GAN_CNN_CLASSES - 1 && u >= cdf[k]) k++;
        out[i] = k;
    }
}

static gan_status aug_step_(gan_ctx *c, void *model, size_t b, const float *x, const int32_t *labels, int n,
                            gan_loop_metrics *out)
{
    (void)b;
    gan_loop_augment *a = model;
    gan_cls *m = &a->m;
    int G = a->ngen;
    gan_status st;
    memcpy(m->h_x, x, (size_t)n * 784 * sizeof *x);
    memcpy(m->h_labels, labels, (size_t)n * sizeof *labels);
    if (G) {
        int32_t *gl = m->h_labels + n;
        draw_classes(&a->gen_rng, a->cdf, G, gl);
        /* in the classifier's [0, 1] */
        if ((st = gan_generator_generate(c, a->gen, G, gl, &a->gen_rng, 1, m->h_x + (size_t)n * 784))) return st;
    }
    int rows = n + G;
    gan_cls_stats s;
    gan_tensor xt, yt;
    if ((st = gan_tensor_narrow(c, &m->x, rows, &xt)) || (st = gan_tensor_narrow(c, &m->labels, rows, &yt)) ||
        (st = gan_tensor_write(c, &xt, m->h_x)) || (st = gan_tensor_write(c, &yt, m->h_labels)) ||
        (st = gan_cls_step(c, m, &xt, &yt, out ? &s : NULL)))
        return st;
    if (out) *out = (gan_loop_metrics){2, {{"loss", s.loss}, {"accuracy", s.accuracy}}};
    return GAN_OK;
}

static int aug_steps_(const void *model) { return ((const gan_loop_augment *)model)->m.step; }

static gan_status aug_save_(gan_ctx *c, const void *model, const char *path, const gan_ckpt_kv *kv, int n)
{
    return gan_cls_save(c, &((const gan_loop_augment *)model)->m, path, kv, n);
}

static gan_status aug_load_(gan_ctx *c, void *model, const char *path, gan_ckpt **out)
{
    gan_loop_augment *a = model;
    gan_status st = gan_cls_load(c, &a->m, path, out);
    if (st) return st;
    const char *g = gan_ckpt_meta(*out, "gen_rng_counter");
    a->gen_rng.counter = g ? strtoull(g, NULL, 10) : 0;
    return GAN_OK;
}

static int aug_state_(void *model, gan_ckpt_kv *out)
{
    gan_loop_augment *a = model;
    snprintf(a->counter, sizeof a->counter, "%llu", (unsigned long long)a->gen_rng.counter);
    out[0] = (gan_ckpt_kv){"gen_rng_counter", a->counter};
    return 1;
}

/* A small label budget makes epochs of a step or two: scoring the 10,000
 * test images after each would cost more than training. */
static gan_status aug_epoch_end_(gan_ctx *c, void *model, const gan_loop_run *run, int epoch, gan_loop_metrics *out,
                                 char *artifact, size_t cap)
{
    (void)artifact, (void)cap;
    gan_loop_augment *a = model;
    a->scored = (epoch + 1) % a->eval_every == 0 || epoch + 1 == run->epochs;
    if (!a->scored) return GAN_OK;
    gan_status st = gan_cls_evaluate(c, &a->m, a->test, NULL, &a->eval);
    if (st) return st;
    *out = (gan_loop_metrics){1, {{"test_accuracy", a->eval.accuracy}}};
    if (a->nreduced) out->f[out->n++] = (gan_metric){"test_accuracy_reduced", gan_loop_augment_reduced(a, &a->eval)};
    return GAN_OK;
}

const gan_loop_mode gan_loop_mode_augment = {
    .name = "augment",
    .range = GAN_RANGE_UNIT,
    .labels = 1,
    .full_batches = 0,
    .nloss = 1,
    .step = aug_step_,
    .steps = aug_steps_,
    .save = aug_save_,
    .load = aug_load_,
    .epoch_end = aug_epoch_end_,
    .state = aug_state_,
};

/* ---- semi ---- */

uint64_t gan_loop_semi_key(int purpose, int epoch, size_t r)
{
    return (uint64_t)purpose << 56 | (uint64_t)(uint32_t)epoch << 24 | (uint64_t)(r & 0xffffff);
}

gan_status gan_loop_semi_init(gan_ctx *c, gan_loop_semi *s, const gan_semi_config *cfg)
{
    memset(s, 0, sizeof *s);
    size_t N = (size_t)cfg->batch;
    gan_status st;
    if ((st = gan_semi_init(c, &s->m, cfg)) ||
        (st = gan_tensor_alloc4(c, &s->x_lab, GAN_F32, 2, cfg->batch, 784, 0, 0)) ||
        (st = gan_tensor_alloc4(c, &s->x_unl, GAN_F32, 2, cfg->batch, 784, 0, 0)) ||
        (st = gan_tensor_alloc4(c, &s->x_unl2, GAN_F32, 2, cfg->batch, 784, 0, 0)) ||
        (st = gan_tensor_alloc4(c, &s->y_lab, GAN_I32, 1, cfg->batch, 0, 0, 0)) ||
        (st = gan_tensor_alloc4(c, &s->x_test, GAN_F32, 2, 3 * cfg->batch, 784, 0, 0)))
        return st;
    s->xh = malloc(N * 784 * sizeof *s->xh);
    s->yh = malloc(N * sizeof *s->yh);
    s->xh_test = malloc(3 * N * 784 * sizeof *s->xh_test);
    s->yh_test = malloc(3 * N * sizeof *s->yh_test);
    s->pred = malloc(3 * N * sizeof *s->pred);
    if (!s->xh || !s->yh || !s->xh_test || !s->yh_test || !s->pred)
        return GAN_FAIL(c, GAN_ERR_NOMEM, "semi: staging for batch %d", cfg->batch);
    gan_generator_info info = gan_generator_info_semi(&s->m.cfg);
    return gan_generator_wrap(c, &s->gen, &info, NULL, &s->m.g, cfg->batch);
}

gan_status gan_loop_semi_data_init(gan_ctx *c, gan_loop_semi *s)
{
    size_t N = (size_t)s->m.cfg.batch, n = 3 * N < s->all->n ? 3 * N : s->all->n;
    size_t *init = malloc(s->all->n * sizeof *init);
    float *h = malloc(n * 784 * sizeof *h);
    gan_tensor xi;
    gan_status st = GAN_OK;
    if (!init || !h) st = GAN_FAIL(c, GAN_ERR_NOMEM, "semi: initialisation batch");
    if (!st) st = gan_epoch_order(c, s->all, s->m.cfg.seed, gan_loop_semi_key(GAN_SEMI_ORDER_INIT, 0, 0), init);
    if (!st) st = gan_dataset_batch(c, s->data, init, n, GAN_RANGE_UNIT, h, NULL);
    if (!st) st = gan_tensor_narrow(c, &s->x_test, (int)n, &xi);
    if (!st) st = gan_tensor_write(c, &xi, h);
    if (!st) st = gan_semi_data_init(c, &s->m, &xi);
    free(init);
    free(h);
    return st;
}

void gan_loop_semi_free(gan_ctx *c, gan_loop_semi *s)
{
    gan_tensor *ts[] = {&s->x_lab, &s->x_unl, &s->x_unl2, &s->y_lab, &s->x_test};
    for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) gan_tensor_free(c, ts[i]);
    free(s->ord_unl2);
    free(s->ord_lab);
    free(s->xh);
    free(s->yh);
    free(s->xh_test);
    free(s->yh_test);
    free(s->pred);
    gan_generator_free(c, &s->gen);
    gan_semi_free(c, &s->m);
}

static uint64_t semi_order_key_(int epoch) { return gan_loop_semi_key(GAN_SEMI_ORDER_UNL, epoch, 0); }

/* The G step's unlabeled order, and the labeled indices of the epoch:
 * permutation after permutation of the labeled set; the epoch's learning
 * rate factor. */
static gan_status semi_epoch_begin_(gan_ctx *c, void *model, const gan_loop_run *run, int epoch)
{
    gan_loop_semi *s = model;
    s->m.lr_scale = gan_semi_lr_factor(&s->m.cfg, epoch, run->epochs);
    size_t N = (size_t)s->m.cfg.batch, per = gan_loop_per_epoch(run), need = per * N, lab_n = s->lab->n;
    if (!s->ord_unl2 || s->per_epoch != per) {
        free(s->ord_unl2);
        free(s->ord_lab);
        s->ord_unl2 = malloc(s->all->n * sizeof *s->ord_unl2);
        s->ord_lab = malloc((need ? need : 1) * sizeof *s->ord_lab);
        s->per_epoch = per;
        if (!s->ord_unl2 || !s->ord_lab) return GAN_FAIL(c, GAN_ERR_NOMEM, "semi: epoch orders");
    }
    gan_status st = gan_epoch_order(c, s->all, run->seed, gan_loop_semi_key(GAN_SEMI_ORDER_UNL2, epoch, 0), s->ord_unl2);
    if (st) return st;
    if (lab_n == 0) return GAN_FAIL(c, GAN_ERR_ARG, "semi: no labeled images");
    size_t *perm = malloc(lab_n * sizeof *perm);
    if (!perm) return GAN_FAIL(c, GAN_ERR_NOMEM, "semi: labeled order");
    for (size_t r = 0; r * lab_n < need && !st; r++) {
        size_t at = r * lab_n, take = need - at < lab_n ? need - at : lab_n;
        st = gan_epoch_order(c, s->lab, run->seed, gan_loop_semi_key(GAN_SEMI_ORDER_LAB, epoch, r), perm);
        if (!st) memcpy(s->ord_lab + at, perm, take * sizeof *perm);
    }
    free(perm);
    return st;
}

static gan_status semi_step_(gan_ctx *c, void *model, size_t b, const float *x, const int32_t *labels, int n,
                             gan_loop_metrics *out)
{
    (void)labels; /* full batches of N; data-parallel, x holds this rank's n rows [r0, r0 + n) of them */
    gan_loop_semi *s = model;
    size_t N = (size_t)s->m.cfg.batch;
    gan_semi_stats t;
    gan_tensor xl, yl, xu, xu2;
    int r0, rows;
    gan_status st;
    /* the labeled and second unlabeled batches: the same rows of theirs */
    if ((st = gan_dist_shard(c, (int)N, &r0, &rows))) return st;
    if (rows != n) return GAN_FAIL(c, GAN_ERR_ARG, "semi: a step of %d rows, the rank's slice has %d", n, rows);
    size_t at = b * N + (size_t)r0;
    if ((st = gan_tensor_narrow(c, &s->x_lab, n, &xl)) || (st = gan_tensor_narrow(c, &s->y_lab, n, &yl)) ||
        (st = gan_tensor_narrow(c, &s->x_unl, n, &xu)) || (st = gan_tensor_narrow(c, &s->x_unl2, n, &xu2)) ||
        (st = gan_dataset_batch(c, s->data, s->ord_lab + at, (size_t)n, GAN_RANGE_UNIT, s->xh, s->yh)) ||
        (st = gan_tensor_write(c, &xl, s->xh)) || (st = gan_tensor_write(c, &yl, s->yh)) ||
        (st = gan_tensor_write(c, &xu, x)) ||
        (st = gan_dataset_batch(c, s->data, s->ord_unl2 + at, (size_t)n, GAN_RANGE_UNIT, s->xh, NULL)) ||
        (st = gan_tensor_write(c, &xu2, s->xh)) ||
        (st = gan_semi_step(c, &s->m, &xl, &yl, &xu, &xu2, out ? &t : NULL)))
        return st;
    if (out) {
        *out = (gan_loop_metrics){6, {{"loss_lab", t.loss_lab}, {"loss_unl", t.loss_unl}, {"loss_g", t.loss_g},
                                      {"train_acc", t.train_acc}, {"d_real", t.d_real}, {"d_fake", t.d_fake}}};
        if (s->m.cfg.consistency > 0) out->f[out->n++] = (gan_metric){"loss_ct", t.loss_ct};
    }
    return GAN_OK;
}

static int semi_steps_(const void *model) { return ((const gan_loop_semi *)model)->m.step; }

static gan_status semi_save_(gan_ctx *c, const void *model, const char *path, const gan_ckpt_kv *kv, int n)
{
    return gan_semi_save(c, &((const gan_loop_semi *)model)->m, path, kv, n);
}

static gan_status semi_load_(gan_ctx *c, void *model, const char *path, gan_ckpt **out)
{
    return gan_semi_load(c, &((gan_loop_semi *)model)->m, path, out);
}

/* Test accuracy in [0, 1] over the whole test set, in batches of up to the
 * discriminator's 3N rows, with D's averaged or current parameters. */
static gan_status semi_test_accuracy(gan_ctx *c, gan_loop_semi *s, int averaged, double *acc)
{
    gan_status st = GAN_OK;
    const gan_dataset *test = s->test;
    size_t cap = (size_t)s->x_test.dim[0], correct = 0;
    size_t *idx = malloc(cap * sizeof *idx);
    if (!idx) return GAN_FAIL(c, GAN_ERR_NOMEM, "semi: test batch");
    for (size_t at = 0; at < test->n; at += cap) {
        size_t n = test->n - at < cap ? test->n - at : cap;
        gan_tensor xv;
        for (size_t i = 0; i < n; i++) idx[i] = at + i;
        if ((st = gan_dataset_batch(c, test, idx, n, GAN_RANGE_UNIT, s->xh_test, s->yh_test)) ||
            (st = gan_tensor_narrow(c, &s->x_test, (int)n, &xv)) || (st = gan_tensor_write(c, &xv, s->xh_test)) ||
            (st = gan_semi_classify(c, &s->m, &xv, averaged, s->pred)))
            break;
        for (size_t i = 0; i < n; i++) correct += s->pred[i] == s->yh_test[i];
    }
    free(idx);
    *acc = test->n ? (double)correct / (double)test->n : 0;
    return st;
}

static gan_status semi_epoch_end_(gan_ctx *c, void *model, const gan_loop_run *run, int epoch, gan_loop_metrics *out,
                                  char *artifact, size_t cap)
{
    gan_loop_semi *s = model;
    gan_status st;
    if ((st = semi_test_accuracy(c, s, 1, &s->acc)) || (st = semi_test_accuracy(c, s, 0, &s->raw))) return st;
    *out = (gan_loop_metrics){3, {{"test_acc", s->acc}, {"test_error", 1 - s->acc}, {"test_acc_current", s->raw}}};
    int rows = s->m.cfg.batch < 64 ? s->m.cfg.batch : 64;
    snprintf(artifact, cap, "%s/samples_epoch%03d.png", run->outdir, epoch + 1);
    return fixed_grid(c, &s->gen, &s->m.sample_z, rows, NULL, artifact);
}

const gan_loop_mode gan_loop_mode_semi = {
    .name = "semi",
    .range = GAN_RANGE_UNIT,
    .labels = 0,
    .full_batches = 1,
    .nloss = 3,
    .data_parallel = 1,
    .step = semi_step_,
    .steps = semi_steps_,
    .save = semi_save_,
    .load = semi_load_,
    .epoch_end = semi_epoch_end_,
    .order_key = semi_order_key_,
    .epoch_begin = semi_epoch_begin_,
};
