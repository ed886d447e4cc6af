/* Two DCGAN training steps on the reference backend: the example in the
 * README's "Using the library" section, built by test_install.sh against
 * an installed gancl with `pkg-config --cflags --libs gancl`. */
#include <gancl/data.h>
#include <gancl/train.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    gan_ctx *c = NULL;
    gan_dataset d = {0};
    gan_gan m = {0};
    gan_tensor x = {0};
    gan_gan_stats s;
    gan_gan_config cfg = gan_gan_default();
    cfg.batch = 8, cfg.model.ngf = cfg.model.ndf = 4;
    size_t idx[8] = {0, 1, 2, 3, 4, 5, 6, 7};
    static float h[8 * 784];
    int bad = argc < 2 || gan_ctx_create(&c, "cpu") || gan_mnist_load(c, argv[1], GAN_MNIST_TRAIN, &d) ||
              gan_gan_init(c, &m, &cfg) || gan_tensor_alloc4(c, &x, GAN_F32, 4, 8, 1, 28, 28) ||
              gan_dataset_batch(c, &d, idx, 8, GAN_RANGE_TANH, h, NULL) || gan_tensor_write(c, &x, h);
    for (int i = 0; i < 2 && !bad; i++) {
        bad = gan_gan_step(c, &m, &x, &s);
        if (!bad) printf("step %d: loss_d %.4f loss_g %.4f\n", m.step, s.loss_d, s.loss_g);
    }
    if (bad) fprintf(stderr, "two_steps: %s\n", c ? gan_ctx_error(c) : "usage: two_steps MNIST_DIR");
    gan_tensor_free(c, &x);
    gan_gan_free(c, &m);
    gan_dataset_free(&d);
    gan_ctx_free(c);
    return bad ? 1 : 0;
}
