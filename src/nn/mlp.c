/* The MLP generator (include/gancl/models.h) and the view that lets the
 * trainers run either generator architecture through one interface. */
#include "gancl/models.h"
#include "internal.h"

#include <string.h>

const char *gan_arch_name(gan_arch a) { return a == GAN_ARCH_MLP ? "mlp" : "dcgan"; }

int gan_arch_parse(const char *s, gan_arch *out)
{
    if (s && !strcmp(s, "dcgan")) *out = GAN_ARCH_DCGAN;
    else if (s && !strcmp(s, "mlp")) *out = GAN_ARCH_MLP;
    else return -1;
    return 0;
}

gan_status gan_mlp_g_init(gan_ctx *c, gan_mlp_g *g, const gan_dcgan_config *cfg, int N, gan_rng *rng)
{
    gan_status st = GAN_OK;
    memset(g, 0, sizeof *g);
    g->cfg = *cfg;
    int nin = cfg->nz + cfg->ncond, H = cfg->hidden;
    if (H < 1) return GAN_FAIL(c, GAN_ERR_ARG, "MLP generator width %d: expected >= 1", H);
    int h[2] = {N, H}, o[2] = {N, 784};
    gan_params *r = &g->params;
    TRY(gan_nn_dense_init(c, &g->fc1, r, "gen.fc1", N, nin, H, 1));
    TRY(gan_nn_act_init(c, &g->a1, GAN_ACT_LEAKY_RELU, cfg->slope, 2, h));
    TRY(gan_nn_dense_init(c, &g->fc2, r, "gen.fc2", N, H, H, 1));
    TRY(gan_nn_act_init(c, &g->a2, GAN_ACT_LEAKY_RELU, cfg->slope, 2, h));
    TRY(gan_nn_dense_init(c, &g->fc3, r, "gen.fc3", N, H, 784, 1));
    TRY(gan_nn_act_init(c, &g->out, GAN_ACT_TANH, 0.f, 2, o));
    /* PyTorch's Linear default: the bias bound is also 1/sqrt(fan_in) */
    gan_nn_dense *fc[3] = {&g->fc1, &g->fc2, &g->fc3};
    for (int i = 0; i < 3; i++) {
        TRY(gan_param_uniform_fan_in(c, &fc[i]->w, rng, fc[i]->C));
        TRY(gan_param_uniform_fan_in(c, &fc[i]->b, rng, fc[i]->C));
    }
cleanup:
    return st;
}

gan_status gan_mlp_g_forward(gan_ctx *c, gan_mlp_g *g, const gan_tensor *z)
{
    gan_status st = GAN_OK;
    int img[4] = {z->dim[0], 1, 28, 28};
    TRY(gan_nn_dense_forward(c, &g->fc1, z));
    TRY(gan_nn_act_forward(c, &g->a1, &g->fc1.y));
    TRY(gan_nn_dense_forward(c, &g->fc2, &g->a1.y));
    TRY(gan_nn_act_forward(c, &g->a2, &g->fc2.y));
    TRY(gan_nn_dense_forward(c, &g->fc3, &g->a2.y));
    TRY(gan_nn_act_forward(c, &g->out, &g->fc3.y));
    TRY(gan_tensor_view(c, &g->out.y, 4, img, &g->img));
cleanup:
    return st;
}

gan_status gan_mlp_g_backward(gan_ctx *c, gan_mlp_g *g, const gan_tensor *z, const gan_tensor *dimg)
{
    gan_status st = GAN_OK;
    TRY(gan_tensor_view(c, dimg, 2, g->out.y.dim, &g->dflat));
    TRY(gan_nn_act_backward(c, &g->out, &g->fc3.y, &g->dflat));
    TRY(gan_nn_dense_backward(c, &g->fc3, &g->a2.y, &g->out.dx, 1, 1));
    TRY(gan_nn_act_backward(c, &g->a2, &g->fc2.y, &g->fc3.dx));
    TRY(gan_nn_dense_backward(c, &g->fc2, &g->a1.y, &g->a2.dx, 1, 1));
    TRY(gan_nn_act_backward(c, &g->a1, &g->fc1.y, &g->fc2.dx));
    TRY(gan_nn_dense_backward(c, &g->fc1, z, &g->a1.dx, 0, 1));
cleanup:
    return st;
}

void gan_mlp_g_free(gan_ctx *c, gan_mlp_g *g)
{
    gan_nn_dense_free(c, &g->fc1);
    gan_nn_dense_free(c, &g->fc2);
    gan_nn_dense_free(c, &g->fc3);
    gan_nn_act_free(c, &g->a1);
    gan_nn_act_free(c, &g->a2);
    gan_nn_act_free(c, &g->out);
    memset(g, 0, sizeof *g);
}

gan_status gan_gen_init(gan_ctx *c, gan_gen *g, gan_dcgan_g *dc, gan_mlp_g *mlp, const gan_dcgan_config *cfg, int N,
                        gan_rng *rng)
{
    *g = (gan_gen){.arch = cfg->arch, .dc = dc, .mlp = mlp};
    switch (cfg->arch) {
    case GAN_ARCH_DCGAN: return gan_dcgan_g_init(c, dc, cfg, N, rng);
    case GAN_ARCH_MLP: return gan_mlp_g_init(c, mlp, cfg, N, rng);
    }
    return GAN_FAIL(c, GAN_ERR_ARG, "generator architecture %d: expected dcgan or mlp", (int)cfg->arch);
}

gan_status gan_gen_forward(gan_ctx *c, const gan_gen *g, const gan_tensor *z, int training)
{
    return g->arch == GAN_ARCH_MLP ? gan_mlp_g_forward(c, g->mlp, z) : gan_dcgan_g_forward(c, g->dc, z, training);
}

gan_status gan_gen_backward(gan_ctx *c, const gan_gen *g, const gan_tensor *z, const gan_tensor *dimg)
{
    return g->arch == GAN_ARCH_MLP ? gan_mlp_g_backward(c, g->mlp, z, dimg) : gan_dcgan_g_backward(c, g->dc, z, dimg);
}

const gan_tensor *gan_gen_out(const gan_gen *g) { return g->arch == GAN_ARCH_MLP ? &g->mlp->img : &g->dc->out.y; }

gan_params *gan_gen_params(const gan_gen *g) { return g->arch == GAN_ARCH_MLP ? &g->mlp->params : &g->dc->params; }

void gan_gen_free(gan_ctx *c, gan_gen *g)
{
    if (g->dc) gan_dcgan_g_free(c, g->dc);
    if (g->mlp) gan_mlp_g_free(c, g->mlp);
}
