/* Whole-network tests of the conditional GAN (AC-GAN) and the MLP
 * generator: 20 training steps on the device and on the reference from the
 * same seed give the same losses and parameters; a resumed run is
 * bit-identical to an uninterrupted one; labeled generation is
 * deterministic and follows its labels; checkpoints of another kind or
 * architecture are refused by name.
 *
 * Tolerances: the runs differ only by float rounding (the Philox streams
 * give identical dropout masks and labels, and noise equal to within an
 * ulp), which Adam can amplify where gradients are near zero, and batch
 * norm over a small batch amplifies further (with batches of 4 the
 * trajectories drift apart by whole Adam steps within 20 steps; with 8
 * they stay close). Measured over 31 input draws, the largest parameter
 * difference after 20 steps is below 1e-6 in most, but in about one draw
 * in fifteen a LeakyReLU input within rounding of 0 takes the other slope
 * on one backend, and afterwards up to 2% of a layer's elements differ by
 * up to 0.85 of an Adam step (1.7e-4). A wrong gradient instead moves most
 * elements by whole steps. So, after 20 steps: every parameter element
 * within atol 2e-4 (one Adam step at lr 2e-4), rtol 1e-3, and at most 5%
 * (or one) of each parameter's elements beyond atol 2e-5, rtol 1e-3 (a
 * tenth of a step); losses and the statistics from them within atol 1e-4, rtol 1e-3
 * at each of the 20 steps. The inputs come from a fixed seed, not from the
 * test's place in the registry.
 * One exception: the DCGAN generator's gen.deconv2.bias feeds a batch norm,
 * so its exact gradient is zero and each backend's rounding noise becomes
 * an Adam step of random sign at every step; it is held only to the bound
 * of those steps, atol 2 * steps * lr. */
#include "registry.h"
#include "gancl/generator.h"
#include "gancl/train.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define STEPS 20
#define NB 8 /* batch */

static gan_cgan_config tiny_cgan(gan_arch arch)
{
    gan_cgan_config cfg = gan_cgan_default();
    cfg.batch = NB;
    cfg.model.ngf = 4;
    cfg.model.ndf = 5;
    cfg.model.hidden = 16;
    cfg.model.nz = 7;
    cfg.model.arch = arch;
    cfg.seed = 42;
    return cfg;
}

/* A fixed labeled batch: labels 0..K-1 cycling, images in [-1,1]. */
static void batch(th *t, float **x, int32_t *labels)
{
    *x = th_rand_host(t, NB * 784, -1, 1);
    for (int i = 0; i < NB; i++) labels[i] = (i * 3 + 1) % 10;
}

/* Every parameter value of the registries, read to the host in order. */
typedef struct snap {
    int n;
    const char *name[2 * GAN_MAX_PARAMS];
    float *w[2 * GAN_MAX_PARAMS];
    size_t numel[2 * GAN_MAX_PARAMS];
} snap;

static void take_snap(th *t, gan_ctx *c, gan_params *const *regs, int nregs, snap *s)
{
    s->n = 0;
    for (int r = 0; r < nregs; r++)
        for (int i = 0; i < regs[r]->n; i++, s->n++) {
            s->name[s->n] = regs[r]->p[i]->name;
            s->w[s->n] = th_read(t, c, &regs[r]->p[i]->w);
            s->numel[s->n] = regs[r]->p[i]->w.numel;
        }
}

static void free_snap(snap *s)
{
    for (int i = 0; i < s->n; i++) free(s->w[i]);
    s->n = 0;
}

static void compare_snaps(th *t, const snap *d, const snap *r, int steps)
{
    if (d->n != r->n) th_fail(t, "%d parameters on the device, %d on the reference", d->n, r->n);
    for (int i = 0; i < d->n && i < r->n; i++) {
        char what[96];
        snprintf(what, sizeof what, "%s after %d steps", r->name[i], steps);
        if (!strcmp(r->name[i], "gen.deconv2.bias")) {
            th_compare_host(t, what, d->w[i], r->w[i], r->numel[i], 2 * steps * 2e-4, 1e-3);
            continue;
        }
        th_compare_adam(t, what, d->w[i], r->w[i], r->numel[i], 2e-4);
    }
}

static void compare_stats(th *t, int s, const float *got, const float *want, int n, const char *names)
{
    char what[128];
    snprintf(what, sizeof what, "step %d (%s)", s, names);
    th_compare_host(t, what, got, want, (size_t)n, 1e-4, 1e-3);
}

static int run_cgan(th *t, gan_ctx *c, gan_cgan *m, gan_arch arch, const float *real_h, const int32_t *labels,
                    gan_cgan_stats *stats, snap *late)
{
    gan_cgan_config cfg = tiny_cgan(arch);
    gan_tensor real;
    if (TH_OK(t, c, gan_cgan_init(c, m, &cfg))) return -1;
    if (TH_OK(t, c, gan_tensor_alloc4(c, &real, GAN_F32, 4, NB, 1, 28, 28))) return -1;
    if (TH_OK(t, c, gan_tensor_write(c, &real, real_h))) return -1;
    gan_params *regs[2] = {gan_gen_params(&m->gen), &m->d.params};
    int rc = 0;
    for (int s = 0; s < STEPS && !rc; s++)
        if (TH_OK(t, c, gan_cgan_step(c, m, &real, labels, &stats[s]))) rc = -1;
    if (!rc) take_snap(t, c, regs, 2, late);
    gan_tensor_free(c, &real);
    return rc;
}

static void cgan_steps(th *t, gan_arch arch)
{
    th_seed(t, 1);
    float *real_h;
    int32_t labels[NB];
    batch(t, &real_h, labels);
    gan_cgan mr, md;
    gan_cgan_stats sr[STEPS], sd[STEPS];
    snap lr = {0}, ld = {0};
    int ok = run_cgan(t, t->ref, &mr, arch, real_h, labels, sr, &lr) == 0;
    for (int s = 0; ok && s < STEPS; s++)
        if (!isfinite(sr[s].loss_d) || !isfinite(sr[s].loss_g) || !isfinite(sr[s].loss_cls))
            th_fail(t, "reference step %d: non-finite loss", s);
    /* at the start D's logits are near 0 (weights N(0, 0.02)): each BCE is
     * about ln 2 and each cross entropy about ln 10, so loss_d (two of each)
     * and loss_g (one of each) check how the terms are weighted */
    double l2 = log(2.0), l10 = log(10.0);
    if (ok && (fabs(sr[0].loss_d - 2 * (l2 + l10)) > 0.05 || fabs(sr[0].loss_g - (l2 + l10)) > 0.05 ||
               fabs(sr[0].loss_cls - 2 * l10) > 0.05))
        th_fail(t, "reference step 0: loss_d %g, loss_g %g, loss_cls %g; want about %g, %g, %g", sr[0].loss_d,
                sr[0].loss_g, sr[0].loss_cls, 2 * (l2 + l10), l2 + l10, 2 * l10);
    /* both networks learn: G's loss moves, and D's class head fits the one
     * real batch it sees (its class loss falls) */
    if (ok && sr[0].loss_g == sr[STEPS - 1].loss_g) th_fail(t, "reference: loss_g did not change over %d steps", STEPS);
    if (ok && !(sr[STEPS - 1].loss_cls < sr[0].loss_cls))
        th_fail(t, "reference: the class loss did not fall (%g -> %g)", sr[0].loss_cls, sr[STEPS - 1].loss_cls);
    if (ok && t->dev && run_cgan(t, t->dev, &md, arch, real_h, labels, sd, &ld) == 0) {
        for (int s = 0; s < STEPS; s++) {
            float got[7] = {sd[s].loss_d, sd[s].loss_g, sd[s].loss_cls, sd[s].d_real, sd[s].d_fake, sd[s].acc_real,
                            sd[s].acc_fake};
            float want[7] = {sr[s].loss_d, sr[s].loss_g, sr[s].loss_cls, sr[s].d_real, sr[s].d_fake, sr[s].acc_real,
                             sr[s].acc_fake};
            compare_stats(t, s, got, want, 7, "loss_d, loss_g, loss_cls, D(x), D(G(z)), acc real, fake");
        }
        compare_snaps(t, &ld, &lr, STEPS);
        gan_cgan_free(t->dev, &md);
    }
    free_snap(&lr);
    free_snap(&ld);
    gan_cgan_free(t->ref, &mr);
    free(real_h);
}

void test_acgan_steps(th *t) { cgan_steps(t, GAN_ARCH_DCGAN); }
void test_acgan_mlp_steps(th *t) { cgan_steps(t, GAN_ARCH_MLP); }

/* The unconditional GAN with the MLP generator: the same comparison. */
static int run_gan_mlp(th *t, gan_ctx *c, gan_gan *m, const float *real_h, gan_gan_stats *stats, snap *late)
{
    gan_gan_config cfg = gan_gan_default();
    cfg.batch = NB;
    cfg.model.ndf = 5;
    cfg.model.hidden = 16;
    cfg.model.arch = GAN_ARCH_MLP;
    cfg.seed = 7;
    gan_tensor real;
    if (TH_OK(t, c, gan_gan_init(c, m, &cfg))) return -1;
    if (TH_OK(t, c, gan_tensor_alloc4(c, &real, GAN_F32, 4, NB, 1, 28, 28))) return -1;
    if (TH_OK(t, c, gan_tensor_write(c, &real, real_h))) return -1;
    gan_params *regs[2] = {gan_gen_params(&m->gen), &m->d.params};
    int rc = 0;
    for (int s = 0; s < STEPS && !rc; s++)
        if (TH_OK(t, c, gan_gan_step(c, m, &real, &stats[s]))) rc = -1;
    if (!rc) take_snap(t, c, regs, 2, late);
    gan_tensor_free(c, &real);
    return rc;
}

void test_mlp_gan_steps(th *t)
{
    th_seed(t, 1);
    float *real_h = th_rand_host(t, NB * 784, -1, 1);
    gan_gan mr, md;
    gan_gan_stats sr[STEPS], sd[STEPS];
    snap lr = {0}, ld = {0};
    int ok = run_gan_mlp(t, t->ref, &mr, real_h, sr, &lr) == 0;
    if (ok && mr.mlp.fc1.C != 100) th_fail(t, "MLP generator input %d, want nz = 100", mr.mlp.fc1.C);
    if (ok && (mr.mlp.fc1.O != 16 || mr.mlp.fc2.O != 16 || mr.mlp.fc3.O != 784))
        th_fail(t, "MLP generator widths %d, %d, %d; want 16, 16, 784", mr.mlp.fc1.O, mr.mlp.fc2.O, mr.mlp.fc3.O);
    if (ok && sr[0].loss_g == sr[STEPS - 1].loss_g) th_fail(t, "reference: loss_g did not change over %d steps", STEPS);
    if (ok && t->dev && run_gan_mlp(t, t->dev, &md, real_h, sd, &ld) == 0) {
        for (int s = 0; s < STEPS; s++) {
            float got[4] = {sd[s].loss_d, sd[s].loss_g, sd[s].d_real, sd[s].d_fake};
            float want[4] = {sr[s].loss_d, sr[s].loss_g, sr[s].d_real, sr[s].d_fake};
            compare_stats(t, s, got, want, 4, "loss_d, loss_g, D(x), D(G(z))");
        }
        compare_snaps(t, &ld, &lr, STEPS);
        gan_gan_free(t->dev, &md);
    }
    free_snap(&lr);
    free_snap(&ld);
    gan_gan_free(t->ref, &mr);
    free(real_h);
}

static float *snapshot(th *t, gan_ctx *c, gan_cgan *m, size_t *n)
{
    gan_params *regs[2] = {gan_gen_params(&m->gen), &m->d.params};
    return th_state_snapshot(t, c, regs, 2, n);
}

/* N steps, save, resume into a fresh model, M steps: bit-identical to N+M
 * uninterrupted steps; labeled generation is a function of the state and
 * the noise stream; other kinds and architectures are refused by name. */
static void resume_on(th *t, gan_ctx *c, const char *dir, gan_arch arch)
{
    enum { N = 3, M = 2, NG = 7 };
    char path[256], gpath[256];
    snprintf(path, sizeof path, "%s/cgan.safetensors", dir);
    snprintf(gpath, sizeof gpath, "%s/gan.safetensors", dir);
    gan_cgan_config cfg = tiny_cgan(arch);
    float *real_h;
    int32_t labels[NB];
    batch(t, &real_h, labels);
    gan_tensor real;
    gan_cgan a, b, wrong;
    gan_cgan_stats sa, sb;
    TH_OK(t, c, gan_tensor_alloc4(c, &real, GAN_F32, 4, NB, 1, 28, 28));
    TH_OK(t, c, gan_tensor_write(c, &real, real_h));
    TH_OK(t, c, gan_cgan_init(c, &a, &cfg));
    for (int s = 0; s < N; s++) TH_OK(t, c, gan_cgan_step(c, &a, &real, labels, NULL));
    gan_ckpt_kv extra[1] = {{"mode", "cgan"}};
    TH_OK(t, c, gan_cgan_save(c, &a, path, extra, 1));
    for (int s = 0; s < M; s++) TH_OK(t, c, gan_cgan_step(c, &a, &real, labels, &sa));

    cfg.seed = 999; /* the checkpoint's RNG position must win over the config's */
    TH_OK(t, c, gan_cgan_init(c, &b, &cfg));
    TH_OK(t, c, gan_cgan_load(c, &b, path, NULL));
    if (b.step != N) th_fail(t, "resumed at step %d, want %d", b.step, N);
    for (int s = 0; s < M; s++) TH_OK(t, c, gan_cgan_step(c, &b, &real, labels, &sb));
    size_t na, nb;
    float *pa = snapshot(t, c, &a, &na), *pb = snapshot(t, c, &b, &nb);
    if (na != nb) th_fail(t, "state sizes differ");
    else th_compare_bits(t, "state after resume vs uninterrupted", pb, pa, na);
    th_compare_bits(t, "stats after resume vs uninterrupted", &sb, &sa, sizeof sa / 4);

    /* generation through generator handles over the models' G: NG > batch
     * images (two chunks), from the fixed noise and from a noise stream;
     * equal models give equal images, and the label matters (the one-hot
     * input reaches the output) */
    int32_t gl[NG], gl2[NG];
    for (int i = 0; i < NG; i++) gl[i] = i % 10, gl2[i] = (i + 5) % 10;
    float *ia = malloc(NG * 784 * sizeof *ia), *ib = malloc(NG * 784 * sizeof *ib), *ic = malloc(NG * 784 * sizeof *ic);
    gan_generator ha, hb;
    gan_generator_info gi = gan_generator_info_gan(&a.cfg.model, a.cfg.nclass);
    TH_OK(t, c, gan_generator_wrap(c, &ha, &gi, &a.gen, NULL, a.cfg.batch));
    TH_OK(t, c, gan_generator_wrap(c, &hb, &gi, &b.gen, NULL, b.cfg.batch));
    if (!ha.info.conditional || ha.info.nclass != 10 || ha.info.nz != 7 || !ha.info.tanh)
        th_fail(t, "handle info: conditional %d nclass %d nz %d tanh %d", ha.info.conditional, ha.info.nclass,
                ha.info.nz, ha.info.tanh);
    gan_rng ra = {.seed = 5, .counter = 0}, rb = ra;
    TH_OK(t, c, gan_generator_generate(c, &ha, NG, gl, &ra, 0, ia));
    TH_OK(t, c, gan_generator_generate(c, &hb, NG, gl, &rb, 0, ib));
    th_compare_bits(t, "generated images of two equal models", ib, ia, NG * 784);
    if (ra.counter != rb.counter || ra.counter == 0) th_fail(t, "generation did not advance the noise stream");
    /* image i of the fixed noise uses row i % GAN_CGAN_GRID */
    int nz = a.cfg.model.nz;
    float *zr = malloc(GAN_CGAN_GRID * (size_t)nz * sizeof *zr), *zf = malloc(NG * (size_t)nz * sizeof *zf);
    TH_OK(t, c, gan_tensor_read(c, &a.sample_z, zr));
    for (int i = 0; i < NG; i++) memcpy(zf + i * nz, zr + (i % GAN_CGAN_GRID) * nz, (size_t)nz * sizeof *zf);
    TH_OK(t, c, gan_generator_generate_z(c, &ha, NG, gl, zf, 0, ia));
    TH_OK(t, c, gan_generator_generate_z(c, &ha, NG, gl2, zf, 0, ic));
    int differ = 0, in_range = 1;
    for (int i = 0; i < NG * 784; i++) {
        differ += ia[i] != ic[i];
        in_range &= ia[i] >= -1.f && ia[i] <= 1.f;
    }
    if (!differ) th_fail(t, "images of other labels from the same noise are identical");
    if (!in_range) th_fail(t, "generated values outside [-1, 1]");
    /* the same noise row and label give the same image in another position
     * and chunk; unit range is (x + 1) / 2 of it */
    TH_OK(t, c, gan_generator_generate_z(c, &ha, 1, gl + 3, zf + 3 * nz, 0, ib));
    th_compare_bits(t, "image 3 alone vs in the batch", ib, ia + 3 * 784, 784);
    TH_OK(t, c, gan_generator_generate_z(c, &ha, 1, gl + 3, zf + 3 * nz, 1, ic));
    for (int i = 0; i < 784; i++) ib[i] = 0.5f * (ib[i] + 1.f);
    th_compare_bits(t, "unit range image vs (x + 1) / 2", ic, ib, 784);
    int32_t bad[1] = {10};
    th_expect_error(t, c, gan_generator_generate_z(c, &ha, 1, bad, zf, 0, ib), GAN_ERR_ARG, "generate label 10");
    th_expect_error(t, c, gan_generator_generate_z(c, &ha, 1, NULL, zf, 0, ib), GAN_ERR_ARG, "generate no labels");
    gan_generator_free(c, &ha);
    gan_generator_free(c, &hb);
    free(zr);
    free(zf);

    /* another architecture or width is refused, naming the field */
    gan_cgan_config other = tiny_cgan(arch == GAN_ARCH_MLP ? GAN_ARCH_DCGAN : GAN_ARCH_MLP);
    TH_OK(t, c, gan_cgan_init(c, &wrong, &other));
    gan_status st = gan_cgan_load(c, &wrong, path, NULL);
    if (st != GAN_ERR_MISMATCH || !strstr(gan_ctx_error(c), "arch: checkpoint"))
        th_fail(t, "cgan resume with another arch: got %s: %s", gan_status_name(st), gan_ctx_error(c));
    gan_ctx_clear_error(c);
    gan_cgan_free(c, &wrong);

    /* a cgan checkpoint is no gan one and the other way round; the probe
     * tells them apart */
    gan_generator_info info;
    TH_OK(t, c, gan_generator_probe(c, path, &info));
    if (!info.conditional || info.nclass != 10 || info.model.arch != arch || info.model.nz != 7 ||
        info.model.ndf != 5 || (arch == GAN_ARCH_MLP ? info.model.hidden != 16 : info.model.ngf != 4) ||
        info.model.ncond != 10 || info.model.nout != 11)
        th_fail(t, "probe of the cgan checkpoint: conditional %d nclass %d arch %d nz %d ndf %d hidden %d ngf %d",
                info.conditional, info.nclass, (int)info.model.arch, info.model.nz, info.model.ndf, info.model.hidden,
                info.model.ngf);
    gan_gan_config gc = gan_gan_default();
    gc.batch = NB;
    gc.model = other.model;
    gc.model.arch = arch;
    gc.model.nout = 1;
    gc.model.ncond = 0;
    gan_gan g;
    TH_OK(t, c, gan_gan_init(c, &g, &gc));
    st = gan_gan_load(c, &g, path, NULL);
    if (st != GAN_ERR_MISMATCH || !strstr(gan_ctx_error(c), "cgan checkpoint"))
        th_fail(t, "gan resume from a cgan checkpoint: got %s: %s", gan_status_name(st), gan_ctx_error(c));
    gan_ctx_clear_error(c);
    TH_OK(t, c, gan_gan_save(c, &g, gpath, NULL, 0));
    TH_OK(t, c, gan_generator_probe(c, gpath, &info));
    if (info.conditional || info.model.arch != arch) th_fail(t, "probe of a gan checkpoint: conditional %d arch %d",
                                                            info.conditional, (int)info.model.arch);
    st = gan_cgan_load(c, &b, gpath, NULL);
    if (st != GAN_ERR_MISMATCH || !strstr(gan_ctx_error(c), "model: checkpoint dcgan, run acgan"))
        th_fail(t, "cgan resume from a gan checkpoint: got %s: %s", gan_status_name(st), gan_ctx_error(c));
    gan_ctx_clear_error(c);
    gan_gan_free(c, &g);

    free(ia);
    free(ib);
    free(ic);
    free(pa);
    free(pb);
    free(real_h);
    gan_cgan_free(c, &a);
    gan_cgan_free(c, &b);
    gan_tensor_free(c, &real);
    unlink(path);
    unlink(gpath);
}

void test_acgan_ckpt(th *t)
{
    char dir[] = "/tmp/gancl-cgan-XXXXXX";
    if (!mkdtemp(dir)) {
        th_fail(t, "mkdtemp failed");
        return;
    }
    for (int arch = 0; arch < 2; arch++) {
        resume_on(t, t->ref, dir, (gan_arch)arch);
        if (t->dev) resume_on(t, t->dev, dir, (gan_arch)arch);
    }
    rmdir(dir);
}
