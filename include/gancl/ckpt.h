/* gancl checkpoints: safetensors files (https://github.com/huggingface/safetensors)
 * that PyTorch and NumPy can open, written crash-safely and read defensively.
 *
 * File layout: an 8-byte little-endian header length N, N bytes of UTF-8
 * JSON (padded with spaces to a multiple of 8), then the data buffer.
 *   {"__metadata__": {"format": "gancl-ckpt", "format_version": "2",
 *                     "crc32": "{\"gen.w\": \"1a2b3c4d\", ...}", <user keys>},
 *    "gen.w": {"dtype": "F32", "shape": [64, 100], "data_offsets": [0, 25600]},
 *    ...}
 * Tensors are little-endian, row-major, contiguous; offsets are relative to
 * the start of the data buffer, which they cover exactly, with no gaps or
 * overlaps. Metadata values are strings (a safetensors rule), so the per-tensor
 * CRC32s (zlib) are one JSON object serialised into the "crc32" value.
 *
 * Names (format version 2): each network's tensors under its prefix, "gen.",
 * "disc." or "cls.", are exactly the state_dict of the PyTorch module of
 * the same architecture (tools/gancl_torch.py; strict=True loads them):
 * PyTorch's names and shapes (weight norm's weight_g [O, 1]), batch norm's
 * num_batches_tracked (I64 scalar: the training forwards that updated its
 * running statistics). Training state lives under prefixes no network uses:
 * "optim.<name>.exp_avg" / ".exp_avg_sq" (Adam), "ema.<name>" (semi's
 * parameter average), "state.sample_noise" (the fixed noise of the sample
 * grids); features mode's softmax layer is under "probe.".
 *
 * Reading also takes a version-1 file (converted on reading: its
 * gen.sample_noise, weight_g [O] and missing num_batches_tracked, read as 0)
 * and a plain safetensors file without gancl's "format" key holding a
 * PyTorch state_dict of a gancl network, prefixed or not (gan_ckpt_imported:
 * the network is recognised by its names, checked tensor by tensor, and the
 * metadata gancl's readers need is filled in where the file gives none).
 *
 * Errors: GAN_ERR_IO for the file system (missing file, directory, no
 * space), GAN_ERR_FORMAT for a malformed file (the message names the file and
 * what was wrong), GAN_ERR_UNSUPPORTED for a newer format_version,
 * GAN_ERR_MISMATCH for a checkpoint that is well formed but not what the
 * caller expected (missing tensor, other shape, other architecture).
 */
#ifndef GANCL_CKPT_H
#define GANCL_CKPT_H

#include "gancl/gancl.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The safetensors dtypes with a whole number of bytes per element. */
#define GAN_ST_DTYPE_LIST(X) \
    X(BOOL, 1)               \
    X(U8, 1)                 \
    X(I8, 1)                 \
    X(F8_E4M3, 1)            \
    X(F8_E5M2, 1)            \
    X(U16, 2)                \
    X(I16, 2)                \
    X(F16, 2)                \
    X(BF16, 2)               \
    X(U32, 4)                \
    X(I32, 4)                \
    X(F32, 4)                \
    X(U64, 8)                \
    X(I64, 8)                \
    X(F64, 8)

typedef enum gan_st_dtype {
#define GAN_X_(name, size) GAN_ST_##name,
    GAN_ST_DTYPE_LIST(GAN_X_)
#undef GAN_X_
    GAN_ST_DTYPE_COUNT
} gan_st_dtype;

/* "F32"; NULL for a value outside the enum. */
const char *gan_st_dtype_name(gan_st_dtype dt);
/* Bytes per element; 0 for a value outside the enum. */
size_t gan_st_dtype_size(gan_st_dtype dt);

/* Rank limit of a checkpoint tensor (rank 0, a scalar, is allowed). */
#define GAN_CKPT_MAX_DIMS 8
/* Largest header accepted when reading (the reference implementation's limit). */
#define GAN_CKPT_MAX_HEADER (100u * 1024u * 1024u)

/* ---- writing ------------------------------------------------------------ */

typedef struct gan_ckpt_writer gan_ckpt_writer;

gan_status gan_ckpt_writer_create(gan_ctx *c, gan_ckpt_writer **out);
void gan_ckpt_writer_free(gan_ckpt_writer *w);

/* Add a tensor from HOST memory. The writer keeps the pointer, not a copy:
 * `data` (numel * dtype size bytes) must stay valid and unchanged until
 * gan_ckpt_writer_save returns. Names are non-empty UTF-8, unique, and not
 * "__metadata__". shape[i] >= 0; ndim 0..GAN_CKPT_MAX_DIMS. */
gan_status gan_ckpt_writer_add(gan_ctx *c, gan_ckpt_writer *w, const char *name, gan_st_dtype dtype,
                               int ndim, const int64_t *shape, const void *data);
/* Add a metadata string (both copied). Keys are unique; "format",
 * "format_version" and "crc32" are reserved for the writer. */
gan_status gan_ckpt_writer_meta(gan_ctx *c, gan_ckpt_writer *w, const char *key, const char *value);
/* Write everything to `path`: into "<path>.tmp.<pid>" in the same directory,
 * fsync, rename over `path`, fsync the directory. On any failure the
 * previous file at `path` is untouched and the temporary file is removed
 * (a crash can leave a stray *.tmp.* file, never a broken `path`). Two
 * threads of one process must not save to the same path at once. The
 * writer may be saved again (e.g. to another path). */
gan_status gan_ckpt_writer_save(gan_ctx *c, gan_ckpt_writer *w, const char *path);

/* ---- reading ------------------------------------------------------------ */

typedef struct gan_ckpt gan_ckpt;

typedef struct gan_ckpt_tensor {
    const char *name;
    gan_st_dtype dtype;
    int ndim;
    int64_t shape[GAN_CKPT_MAX_DIMS];
    size_t numel;
    size_t nbytes;
    /* Into the checkpoint's own buffer, valid until gan_ckpt_free. Aligned to
     * the element size for files gancl wrote; other files may not be. */
    const void *data;
} gan_ckpt_tensor;

/* Read and validate a whole checkpoint: structure, offsets, sizes and every
 * CRC32, before anything is handed out. */
gan_status gan_ckpt_load(gan_ctx *c, const char *path, gan_ckpt **out);
/* The same from memory (`label` names the source in messages). */
gan_status gan_ckpt_parse(gan_ctx *c, const void *buf, size_t len, const char *label, gan_ckpt **out);
void gan_ckpt_free(gan_ckpt *k);
/* The path (or parse label) the checkpoint came from. */
const char *gan_ckpt_label(const gan_ckpt *k);
/* 1 when the file was no gancl checkpoint but a PyTorch state_dict of a
 * gancl network, read as one (metadata "imported" says which network;
 * no Adam moments, step 0). */
int gan_ckpt_imported(const gan_ckpt *k);

/* Tensors in file order (ascending data offset). */
int gan_ckpt_count(const gan_ckpt *k);
const gan_ckpt_tensor *gan_ckpt_tensor_at(const gan_ckpt *k, int i);
/* NULL when there is no tensor `name`. */
const gan_ckpt_tensor *gan_ckpt_find(const gan_ckpt *k, const char *name);
/* The tensor `name`, which must exist with exactly this dtype and shape;
 * otherwise GAN_ERR_MISMATCH naming what differs. */
gan_status gan_ckpt_expect(gan_ctx *c, const gan_ckpt *k, const char *name, gan_st_dtype dtype,
                           int ndim, const int64_t *shape, const gan_ckpt_tensor **out);

/* Metadata value for `key`, NULL when absent. Includes the writer's keys. */
const char *gan_ckpt_meta(const gan_ckpt *k, const char *key);
int gan_ckpt_meta_count(const gan_ckpt *k);
/* The value under key as an integer in 0..2^30 / as a float: 0 and *out
 * set, or -1 and *out untouched when the key is absent or its whole value
 * is not such a number (so a caller may keep a default in *out). */
int gan_ckpt_meta_int(const gan_ckpt *k, const char *key, int *out);
int gan_ckpt_meta_float(const gan_ckpt *k, const char *key, float *out);
/* i-th entry, in file order. */
void gan_ckpt_meta_at(const gan_ckpt *k, int i, const char **key, const char **value);

/* ---- checkpoint semantics ------------------------------------------------ */

typedef struct gan_ckpt_kv {
    const char *key;
    const char *value;
} gan_ckpt_kv;

/* Compare the checkpoint's metadata with the run's configuration: every
 * expected key must be present with the same string value. All differences
 * are reported in one GAN_ERR_MISMATCH message, e.g.
 *   "checkpoint run.st was written by a different architecture:
 *    gen.width: checkpoint 64, run 128; disc.depth: checkpoint (absent), run 3" */
gan_status gan_ckpt_compare_config(gan_ctx *c, const gan_ckpt *k, const gan_ckpt_kv *expected, size_t n);

#ifdef __cplusplus
}
#endif
#endif
