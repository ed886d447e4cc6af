/* Every test: one per op (generated from GAN_OP_LIST, so an op without a
 * test does not link) plus the tests that are not about a single op. */
#ifndef GANCL_TEST_REGISTRY_H
#define GANCL_TEST_REGISTRY_H

#include "harness.h"

#define TH_EXTRA_TESTS(X) \
    X(tensor_view)        \
    X(backend_memory)     \
    X(async_copy)         \
    X(philox_kat)         \
    X(device_selection)   \
    X(kernel_build_error) \
    X(bad_arguments)      \
    X(gemm_paths)         \
    X(gemm_loop_cap)      \
    X(gemm_kernels)       \
    X(dcgan_steps)        \
    X(gan_resume)         \
    X(classifier_steps)   \
    X(classifier_eval)    \
    X(semi_steps)         \
    X(acgan_steps)        \
    X(acgan_mlp_steps)    \
    X(mlp_gan_steps)      \
    X(acgan_ckpt)         \
    X(features_extract)   \
    X(features_steps)     \
    X(features_checkpoints) \
    X(augment_plan)       \
    X(program_cache)      \
    X(launch_limits)      \
    X(device_limits)      \
    X(alloc_limits)       \
    X(cpu_kernels)        \
    X(build_quiet)        \
    X(gemm_tune)

#define GAN_X_(name, params, args) void test_##name(th *t);
GAN_OP_LIST(GAN_X_)
#undef GAN_X_
#define TH_X_(name) void test_##name(th *t);
TH_EXTRA_TESTS(TH_X_)
#undef TH_X_

#endif
