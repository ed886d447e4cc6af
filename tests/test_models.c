/* Whole-network tests: training steps of each model on the device and on
 * the reference from the same seed give the same losses and parameters.
 * The shared Philox streams make dropout masks identical and noise equal
 * to within an ulp, so the runs differ only by float rounding, which Adam
 * can amplify for parameters whose gradients are near zero: parameters are
 * compared with atol 2e-5 (a tenth of one Adam step at lr 2e-4). */
#include "registry.h"
#include "gancl/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STEPS 5

static gan_gan_config tiny_gan(void)
{
    gan_gan_config cfg = gan_gan_default();
    cfg.batch = 3;
    cfg.model.ngf = 4;
    cfg.model.ndf = 5;
    cfg.seed = 42;
    return cfg;
}

static int run_gan(th *t, gan_ctx *c, gan_gan *m, const float *real_h, gan_gan_stats *stats)
{
    gan_gan_config cfg = tiny_gan();
    gan_tensor real;
    if (TH_OK(t, c, gan_gan_init(c, m, &cfg))) return -1;
    if (TH_OK(t, c, gan_tensor_alloc4(c, &real, GAN_F32, 4, 3, 1, 28, 28))) return -1;
    if (TH_OK(t, c, gan_tensor_write(c, &real, real_h))) return -1;
    for (int s = 0; s < STEPS; s++)
        if (TH_OK(t, c, gan_gan_step(c, m, &real, &stats[s]))) return -1;
    gan_tensor_free(c, &real);
    return 0;
}

static void compare_params(th *t, const char *model, gan_params *pd, gan_params *pr)
{
    for (int i = 0; i < pd->n && i < pr->n; i++) {
        float *d = th_read(t, t->dev, &pd->p[i]->w), *r = th_read(t, t->ref, &pr->p[i]->w);
        char what[96];
        snprintf(what, sizeof what, "%s %s after %d steps", model, pr->p[i]->name, STEPS);
        th_compare_host(t, what, d, r, pr->p[i]->w.numel, 2e-5, 1e-3);
        free(d);
        free(r);
    }
}

void test_dcgan_steps(th *t)
{
    float *real_h = th_rand_host(t, 3 * 784, -1, 1);
    gan_gan mr, md;
    gan_gan_stats sr[STEPS], sd[STEPS];
    int ok = run_gan(t, t->ref, &mr, real_h, sr) == 0;
    for (int s = 0; ok && s < STEPS; s++)
        if (!isfinite(sr[s].loss_d) || !isfinite(sr[s].loss_g)) th_fail(t, "reference step %d: non-finite loss", s);
    /* the generator must actually learn something: G's loss moves */
    if (ok && sr[0].loss_g == sr[STEPS - 1].loss_g) th_fail(t, "reference: loss_g did not change over %d steps", STEPS);
    if (ok && t->dev && run_gan(t, t->dev, &md, real_h, sd) == 0) {
        for (int s = 0; s < STEPS; s++) {
            float got[4] = {sd[s].loss_d, sd[s].loss_g, sd[s].d_real, sd[s].d_fake};
            float want[4] = {sr[s].loss_d, sr[s].loss_g, sr[s].d_real, sr[s].d_fake};
            char what[64];
            snprintf(what, sizeof what, "step %d (loss_d, loss_g, D(x), D(G(z)))", s);
            th_compare_host(t, what, got, want, 4, 1e-5, 1e-4);
        }
        compare_params(t, "G", &md.g.params, &mr.g.params);
        compare_params(t, "D", &md.d.params, &mr.d.params);
        gan_gan_free(t->dev, &md);
    }
    gan_gan_free(t->ref, &mr);
    free(real_h);
}

/* Every parameter, Adam moment and buffer of G and D, read to the host. */
static float *snapshot(th *t, gan_ctx *c, gan_gan *m, size_t *n)
{
    gan_params *regs[2] = {&m->g.params, &m->d.params};
    return th_state_snapshot(t, c, regs, 2, n);
}

/* N steps, save, resume into a fresh model, M steps: bit-identical to N+M
 * uninterrupted steps on the same backend; and a checkpoint of another
 * architecture is refused, naming the field. */
static void resume_on(th *t, gan_ctx *c, const char *dir)
{
    enum { N = 3, M = 2 };
    char path[256];
    snprintf(path, sizeof path, "%s/gan.safetensors", dir);
    gan_gan_config cfg = tiny_gan();
    float *real_h = th_rand_host(t, 3 * 784, -1, 1);
    gan_tensor real;
    gan_gan a, b, wrong;
    gan_gan_stats sa, sb;
    TH_OK(t, c, gan_tensor_alloc4(c, &real, GAN_F32, 4, 3, 1, 28, 28));
    TH_OK(t, c, gan_tensor_write(c, &real, real_h));
    TH_OK(t, c, gan_gan_init(c, &a, &cfg));
    for (int s = 0; s < N; s++) TH_OK(t, c, gan_gan_step(c, &a, &real, NULL));
    gan_ckpt_kv extra[1] = {{"epoch", "7"}};
    TH_OK(t, c, gan_gan_save(c, &a, path, extra, 1));
    for (int s = 0; s < M; s++) TH_OK(t, c, gan_gan_step(c, &a, &real, &sa));

    cfg.seed = 999; /* the checkpoint's RNG position must win over the config's */
    TH_OK(t, c, gan_gan_init(c, &b, &cfg));
    gan_ckpt *k = NULL;
    TH_OK(t, c, gan_gan_load(c, &b, path, &k));
    if (k && (!gan_ckpt_meta(k, "epoch") || strcmp(gan_ckpt_meta(k, "epoch"), "7")))
        th_fail(t, "extra metadata 'epoch' did not survive the checkpoint");
    gan_ckpt_free(k);
    if (b.step != N) th_fail(t, "resumed at step %d, want %d", b.step, N);
    for (int s = 0; s < M; s++) TH_OK(t, c, gan_gan_step(c, &b, &real, &sb));
    size_t na, nb;
    float *pa = snapshot(t, c, &a, &na), *pb = snapshot(t, c, &b, &nb);
    if (na != nb) th_fail(t, "state sizes differ");
    else th_compare_bits(t, "state after resume vs uninterrupted", pb, pa, na);
    th_compare_bits(t, "losses after resume vs uninterrupted", &sb, &sa, sizeof sa / 4);

    gan_gan_config other = tiny_gan();
    other.model.ngf = 6;
    TH_OK(t, c, gan_gan_init(c, &wrong, &other));
    gan_status st = gan_gan_load(c, &wrong, path, NULL);
    if (st != GAN_ERR_MISMATCH || !strstr(gan_ctx_error(c), "ngf"))
        th_fail(t, "resume with another ngf: got %s: %s", gan_status_name(st), gan_ctx_error(c));
    gan_ctx_clear_error(c);
    free(pa);
    free(pb);
    free(real_h);
    gan_gan_free(c, &a);
    gan_gan_free(c, &b);
    gan_gan_free(c, &wrong);
    gan_tensor_free(c, &real);
    unlink(path);
}

void test_gan_resume(th *t)
{
    char dir[] = "/tmp/gancl-resume-XXXXXX";
    if (!mkdtemp(dir)) {
        th_fail(t, "mkdtemp failed");
        return;
    }
    resume_on(t, t->ref, dir);
    if (t->dev) resume_on(t, t->dev, dir);
    rmdir(dir);
}
