/* The reference backend's op table: plain-C loops, the oracle every device
 * op is tested against. The ops live in src/ref/<family>.c. */
#include "../internal.h"

const struct gan_backend_ops gan_backend_ref = {
    .name = "ref",
#define GAN_X_(name, params, args) .name = ref_##name,
    GAN_OP_LIST(GAN_X_)
#undef GAN_X_
};
