/* The OpenCL backend's table: its context (src/ocl/runtime.c), its memory
 * (src/ocl/memory.c), and its ops in src/ocl/<family>.c, their kernels in
 * cl/<family>.cl. */
#include "ocl.h"

const struct gan_backend_ops gan_backend_ocl = {
    .name = "ocl",
    .kind = GAN_BACKEND_OCL,
    .init = ocl_ctx_init,
    .free = ocl_ctx_free,
    .buf_alloc = ocl_buf_alloc,
    .buf_free = ocl_buf_free,
    .buf_write = ocl_buf_write,
    .buf_read = ocl_buf_read,
    .buf_read_start = ocl_buf_read_start,
    .event_wait = ocl_event_wait,
    .event_release = ocl_event_release,
    .host_alloc = ocl_host_alloc,
    .host_free = ocl_host_free,
    .buf_fill = ocl_buf_fill,
    .finish = ocl_finish,
    .build_log = ocl_build_log,
#define GAN_X_(name, params, args) .name = ocl_##name,
    GAN_OP_LIST(GAN_X_)
#undef GAN_X_
};
