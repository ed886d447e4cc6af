/* The GEMM shapes gancl's training steps run, recorded from real steps
 * (gan_gemm_record), for `gancl tune` and `gancl bench gemm`; defined in
 * tools/cmd_tune.c. */
#ifndef GANCL_TOOL_GEMM_SHAPES_H
#define GANCL_TOOL_GEMM_SHAPES_H

#include "gancl/tune.h"

/* The models whose steps are recorded: the DCGAN ("gan"), the MNIST CNN
 * ("classifier") and the semi-supervised GAN ("semi", whose batch is per
 * part: N labeled, N unlabeled and N generated images). */
extern const char *const tool_gemm_models[3];

/* One training step of `model` at batch n on c (an OpenCL context), with
 * random inputs, while c records its GEMM shapes (the caller starts and
 * stops the recording). */
gan_status tool_gemm_step(gan_ctx *c, const char *model, int n, uint64_t seed);

#endif
