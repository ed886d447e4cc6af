/* The OpenCL backend's op table. The ops live in src/ocl/<family>.c, their
 * kernels in cl/<family>.cl. */
#include "../internal.h"

const struct gan_backend_ops gan_backend_ocl = {
    .name = "ocl",
#define GAN_X_(name, params, args) .name = ocl_##name,
    GAN_OP_LIST(GAN_X_)
#undef GAN_X_
};
