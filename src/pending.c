/* TEMPORARY while op families are written in parallel: weak definitions
 * that the real ones override. Deleted before the foundation lands. */
#include "internal.h"
#define GAN_X_(name, params, args)                                               \
    __attribute__((weak)) gan_status ref_##name params { return GAN_FAIL(c, GAN_ERR_UNSUPPORTED, "ref_" #name " not written yet"); } \
    __attribute__((weak)) gan_status ocl_##name params { return GAN_FAIL(c, GAN_ERR_UNSUPPORTED, "ocl_" #name " not written yet"); }
GAN_OP_LIST(GAN_X_)
#undef GAN_X_
