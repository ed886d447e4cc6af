/* What the safetensors reader (safetensors.c) and writer
 * (safetensors_write.c) share; internal to src/io. */
#ifndef GANCL_IO_SAFETENSORS_H
#define GANCL_IO_SAFETENSORS_H

#include "gancl/ckpt.h"

#include <stddef.h>
#include <stdint.h>

#define FORMAT_NAME "gancl-ckpt"
#define FORMAT_VERSION "2"

struct gan_ckpt {
    char *label;
    gan_ckpt_tensor *t; /* sorted by data offset (tensors added on reading follow) */
    int n;
    char **key, **val;
    int nmeta;
    unsigned char *data;
    size_t data_len;
    unsigned char *extra; /* data of tensors added on reading (num_batches_tracked of a version-1 file) */
    int version;          /* format_version of a gancl file: 1 or 2 */
    int foreign;          /* no gancl "format": a plain safetensors file (a PyTorch state_dict?) */
};

/* After a file is read and validated: a version-1 file is converted to
 * version 2's names and shapes, a foreign file recognised as a gancl
 * network's PyTorch state_dict (or refused); ckpt_compat.c. */
gan_status st_normalize(gan_ctx *c, gan_ckpt *k);
/* A foreign file as a gancl checkpoint of the network its tensors are, or
 * GAN_ERR_FORMAT / GAN_ERR_MISMATCH naming expected and found tensors;
 * ckpt_import.c. */
gan_status st_import(gan_ctx *c, gan_ckpt *k);

/* The dtype named s ("F32", ...): 1 and *out, or 0. */
int st_dtype_from_name(const char *s, gan_st_dtype *out);
/* numel and bytes of a shape, 0 on uint64 overflow. */
int st_shape_bytes(const int64_t *shape, int ndim, size_t esize, uint64_t *numel, uint64_t *bytes);
/* CRC32 of n bytes (zlib's, fed in pieces that fit its uInt length). */
uint32_t st_crc(const void *data, size_t n);
/* "[3, 5]" into buf. */
void st_shape_str(const int64_t *shape, int ndim, char *buf, size_t cap);

#endif
