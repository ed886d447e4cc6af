/* What the safetensors reader (safetensors.c) and writer
 * (safetensors_write.c) share; internal to src/io. */
#ifndef GANCL_IO_SAFETENSORS_H
#define GANCL_IO_SAFETENSORS_H

#include "gancl/ckpt.h"

#include <stddef.h>
#include <stdint.h>

#define FORMAT_NAME "gancl-ckpt"
#define FORMAT_VERSION "1"

/* The dtype named s ("F32", ...): 1 and *out, or 0. */
int st_dtype_from_name(const char *s, gan_st_dtype *out);
/* numel and bytes of a shape, 0 on uint64 overflow. */
int st_shape_bytes(const int64_t *shape, int ndim, size_t esize, uint64_t *numel, uint64_t *bytes);
/* CRC32 of n bytes (zlib's, fed in pieces that fit its uInt length). */
uint32_t st_crc(const void *data, size_t n);
/* "[3, 5]" into buf. */
void st_shape_str(const int64_t *shape, int ndim, char *buf, size_t cap);

#endif
