/* The one training loop (include/gancl/loop.h). Each mode's table sits
 * beside that mode's code: src/train/gan.c, cgan.c, classifier.c,
 * augment.c, semi.c, features.c. The loops this replaces
 * (tools/cmd_train*.c) made the same calls in the same order, so
 * checkpoints are byte-identical to theirs
 * (tests/cli/test_ckpt_identity.sh). */
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
