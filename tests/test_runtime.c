/* Tests of the runtime rather than of one op: views, device selection,
 * kernel build failures, and bad arguments on both backends. */
#include "registry.h"
#include "internal.h"

#include <ctype.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

void test_tensor_view(th *t)
{
    gan_ctx *cs[2] = {t->ref, t->dev};
    for (int k = 0; k < 2 && cs[k]; k++) {
        gan_ctx *c = cs[k];
        gan_tensor a, v;
        TH_OK(t, c, gan_tensor_alloc4(c, &a, GAN_F32, 4, 2, 3, 4, 5));
        float h[120];
        for (int i = 0; i < 120; i++) h[i] = (float)i;
        TH_OK(t, c, gan_tensor_write(c, &a, h));
        int flat[2] = {2, 60};
        TH_OK(t, c, gan_tensor_view(c, &a, 2, flat, &v));
        if (v.ndim != 2 || v.dim[1] != 60 || v.numel != 120 || v.owner) th_fail(t, "view has the wrong shape");
        float back[120];
        TH_OK(t, c, gan_tensor_read(c, &v, back));
        if (memcmp(back, h, sizeof h)) th_fail(t, "a view reads other data than its source");
        int bad[2] = {7, 7};
        th_expect_error(t, c, gan_tensor_view(c, &a, 2, bad, &v), GAN_ERR_SHAPE, "view with another numel");
        gan_tensor nar;
        TH_OK(t, c, gan_tensor_narrow(c, &a, 1, &nar));
        float first[60];
        TH_OK(t, c, gan_tensor_read(c, &nar, first));
        if (nar.numel != 60 || nar.dim[0] != 1 || nar.dim[3] != 5 || memcmp(first, h, sizeof first))
            th_fail(t, "narrow to 1 entry is wrong");
        th_expect_error(t, c, gan_tensor_narrow(c, &a, 3, &nar), GAN_ERR_ARG, "narrow past the end");
        gan_tensor_free(c, &nar);
        gan_tensor_free(c, &v); /* a view frees nothing */
        TH_OK(t, c, gan_tensor_read(c, &a, back));
        gan_tensor_free(c, &a);
    }
}

void test_device_selection(th *t)
{
    gan_ctx *c = NULL;
    gan_status st = gan_ctx_create(&c, "cpu");
    if (st != GAN_OK || gan_ctx_backend(c) != GAN_BACKEND_REF) th_fail(t, "'cpu' does not select the reference");
    gan_ctx_free(c);
    if (!t->dev) return;
    st = gan_ctx_create(&c, "no-such-device-anywhere");
    if (st != GAN_ERR_NO_DEVICE || !strstr(gan_ctx_error(c), "0:0"))
        th_fail(t, "unknown name: got %s, message without the device list: %s", gan_status_name(st), gan_ctx_error(c));
    gan_ctx_free(c);
    st = gan_ctx_create(&c, "99:99");
    if (st != GAN_ERR_NO_DEVICE || !strstr(gan_ctx_error(c), "99:99"))
        th_fail(t, "99:99: got %s: %s", gan_status_name(st), gan_ctx_error(c));
    gan_ctx_free(c);
    /* the device we run on, by P:D and by an upper-cased name substring */
    const char *name = gan_ctx_device_name(t->dev);
    char pd[16] = "";
    sscanf(name, "%15s", pd);
    st = gan_ctx_create(&c, pd);
    if (st != GAN_OK || strcmp(gan_ctx_device_name(c), name)) th_fail(t, "selector %s: %s", pd, gan_ctx_error(c));
    gan_ctx_free(c);
    const char *dev = strstr(name, ": ");
    if (dev) {
        char up[64] = "";
        snprintf(up, sizeof up, "%s", dev + 2);
        for (char *p = up; *p; p++) *p = (char)toupper((unsigned char)*p);
        st = gan_ctx_create(&c, up);
        /* several identical devices would make this ambiguous, which is also a clear error */
        if (st != GAN_OK && !(st == GAN_ERR_NO_DEVICE && strstr(gan_ctx_error(c), "matches")))
            th_fail(t, "selector '%s': %s", up, gan_ctx_error(c));
        gan_ctx_free(c);
    }
}

static int write_text(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(text, 1, len, f);
    return fclose(f) == 0 && w == len ? 0 : -1;
}

void test_kernel_build_error(th *t)
{
    if (!t->dev) return;
    char dir[] = "/tmp/gancl-kdir-XXXXXX";
    if (!mkdtemp(dir)) {
        th_fail(t, "mkdtemp failed");
        return;
    }
    const char *victim = gan_cl_sources[1].name;
    for (int i = 0; i < gan_cl_nsources; i++) {
        char path[512];
        snprintf(path, sizeof path, "%s/%s", dir, gan_cl_sources[i].name);
        if (i == 1) {
            const char *bad = "__kernel void broken(__global float *x) { x[0] = ; }\n";
            write_text(path, bad, strlen(bad));
        } else {
            write_text(path, gan_cl_sources[i].text, gan_cl_sources[i].len);
        }
    }
    char sel[16] = "";
    sscanf(gan_ctx_device_name(t->dev), "%15s", sel);
    setenv("GANCL_KERNEL_DIR", dir, 1);
    gan_ctx *c = NULL;
    gan_status st = gan_ctx_create(&c, sel);
    const char *msg = gan_ctx_error(c);
    if (st != GAN_ERR_BUILD || !strstr(msg, victim) || !strstr(msg, "-cl-std") || !strstr(msg, "build log"))
        th_fail(t, "syntax error: got %s, want GAN_ERR_BUILD naming %s, the options and the log: %s",
                gan_status_name(st), victim, msg);
    else
        th_diag("  syntax error -> %s: %.300s...", gan_status_name(st), msg);
    gan_ctx_free(c);
    /* a missing file is an error too, never an empty source */
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, victim);
    unlink(path);
    st = gan_ctx_create(&c, sel);
    if (st != GAN_ERR_IO || !strstr(gan_ctx_error(c), victim))
        th_fail(t, "missing %s: got %s: %s", victim, gan_status_name(st), gan_ctx_error(c));
    gan_ctx_free(c);
    for (int i = 0; i < gan_cl_nsources; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, gan_cl_sources[i].name);
        unlink(path);
    }
    rmdir(dir);
    unsetenv("GANCL_KERNEL_DIR");
}

void test_bad_arguments(th *t)
{
    gan_ctx *cs[2] = {t->ref, t->dev};
    for (int k = 0; k < 2 && cs[k]; k++) {
        gan_ctx *c = cs[k];
        gan_tensor z;
        th_expect_error(t, c, gan_tensor_alloc4(c, &z, GAN_F32, 2, 3, 0, 0, 0), GAN_ERR_ARG, "zero-size tensor");
        th_expect_error(t, c, gan_tensor_alloc4(c, &z, GAN_F32, 2, -3, 4, 0, 0), GAN_ERR_ARG, "negative-size tensor");
        th_expect_error(t, c, gan_tensor_alloc4(c, &z, GAN_F32, 5, 1, 1, 1, 1), GAN_ERR_ARG, "rank 5");

        gan_tensor x, w, b, y, x4, w4, y4, lab;
        TH_OK(t, c, gan_tensor_alloc4(c, &x, GAN_F32, 2, 4, 3, 0, 0));
        TH_OK(t, c, gan_tensor_alloc4(c, &w, GAN_F32, 2, 5, 7, 0, 0));
        TH_OK(t, c, gan_tensor_alloc4(c, &b, GAN_F32, 1, 5, 0, 0, 0));
        TH_OK(t, c, gan_tensor_alloc4(c, &y, GAN_F32, 2, 4, 5, 0, 0));
        th_expect_error(t, c, gan_dense_forward(c, &x, &w, &b, &y), GAN_ERR_SHAPE, "dense with mismatched w");
        th_expect_error(t, c, gan_gemm(c, 0, 0, 1.f, &x, &w, 0.f, &y), GAN_ERR_SHAPE, "gemm with mismatched inner dims");
        th_expect_error(t, c, gan_dense_forward(c, &x, &w, &b, NULL), GAN_ERR_ARG, "dense without y");

        TH_OK(t, c, gan_tensor_alloc4(c, &x4, GAN_F32, 4, 2, 3, 5, 5));
        TH_OK(t, c, gan_tensor_alloc4(c, &w4, GAN_F32, 4, 4, 3, 3, 3));
        TH_OK(t, c, gan_tensor_alloc4(c, &y4, GAN_F32, 4, 2, 4, 3, 3));
        gan_conv2d_params p0 = {.stride = 0, .pad = 0}, pneg = {.stride = 1, .pad = -1}, pok = {.stride = 1};
        th_expect_error(t, c, gan_conv2d_forward(c, &x4, &w4, NULL, &y4, &p0), GAN_ERR_ARG, "conv stride 0");
        th_expect_error(t, c, gan_conv2d_forward(c, &x4, &w4, NULL, &y4, &pneg), GAN_ERR_ARG, "conv padding -1");
        gan_tensor wbig;
        TH_OK(t, c, gan_tensor_alloc4(c, &wbig, GAN_F32, 4, 4, 3, 7, 7));
        th_expect_error(t, c, gan_conv2d_forward(c, &x4, &wbig, NULL, &y4, &pok), GAN_ERR_SHAPE,
                        "kernel larger than the padded input");
        gan_conv2d_params pop = {.stride = 2, .pad = 0, .out_pad = 2};
        th_expect_error(t, c, gan_deconv2d_forward(c, &x4, &w4, NULL, &y4, &pop), GAN_ERR_ARG,
                        "output padding >= stride");
        th_expect_error(t, c, gan_conv2d_forward(c, &x4, &w4, &b, &y4, &pok), GAN_ERR_SHAPE,
                        "conv bias of the wrong length");
        TH_OK(t, c, gan_tensor_alloc4(c, &lab, GAN_I32, 1, 4, 0, 0, 0));
        th_expect_error(t, c, gan_softmax_xent(c, &x, &x, &b, &x), GAN_ERR_ARG, "float labels");
        gan_adam_params hp = {.lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .step = 0};
        th_expect_error(t, c, gan_adam_step(c, &x, &x, &x, &x, &hp), GAN_ERR_ARG, "adam step 0");
        th_expect_error(t, c, gan_dropout_forward(c, 1.0f, (gan_rng){1, 0}, &x, &x, &x), GAN_ERR_ARG, "dropout p = 1");
        gan_tensor *all[] = {&x, &w, &b, &y, &x4, &w4, &y4, &wbig, &lab};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) gan_tensor_free(c, all[i]);
    }
}
