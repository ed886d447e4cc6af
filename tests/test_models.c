/* Whole-network tests: training steps of each model on the device and on
 * the reference from the same seed give the same losses and parameters.
 * The shared Philox streams make dropout masks identical and noise equal
 * to within an ulp, so the runs differ only by float rounding, which Adam
 * can amplify for parameters whose gradients are near zero: parameters are
 * compared with atol 2e-5 (a tenth of one Adam step at lr 2e-4). */
#include "registry.h"
#include "gancl/train.h"

#include <math.h>
#include <string.h>

#define STEPS 5

static int run_gan(th *t, gan_ctx *c, gan_gan *m, const float *real_h, gan_gan_stats *stats)
{
    gan_gan_config cfg = gan_gan_default();
    cfg.batch = 3;
    cfg.model.ngf = 4;
    cfg.model.ndf = 5;
    cfg.seed = 42;
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
