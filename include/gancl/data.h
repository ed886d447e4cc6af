/* gancl data in and out: the MNIST IDX reader, the host-side dataset (shuffles,
 * labeled subsets, class imbalance, validation split, batches), PNG sample
 * grids, the JSONL metrics log and its reader, and loss/accuracy curves.
 *
 * None of this needs an OpenCL device: a reference context
 * (gan_ctx_create(&c, "cpu")) is enough to receive error messages. Every
 * function returns gan_status; on failure gan_ctx_error(c) names the file and
 * what was wrong in it.
 */
#ifndef GANCL_DATA_H
#define GANCL_DATA_H

#include "gancl/gancl.h"

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- MNIST IDX ----------------------------------------------------------
 * IDX files: big-endian header, magic 0x00000803 (2051: unsigned bytes, 3
 * dimensions) for images [N, 28, 28], 0x00000801 (2049: 1 dimension) for
 * labels [N]; then exactly the bytes the header announces. Files may be
 * gzip-compressed or raw (zlib reads both). */

#define GAN_MNIST_H 28
#define GAN_MNIST_W 28
#define GAN_MNIST_CLASSES 10
/* Upper bound on the item count in a header, checked before anything is
 * allocated (MNIST has 60000; EMNIST-like sets stay far below). */
#define GAN_IDX_MAX_ITEMS 10000000u

typedef enum gan_idx_kind {
    GAN_IDX_IMAGES = 2051, /* [N, 28, 28] bytes 0..255 */
    GAN_IDX_LABELS = 2049  /* [N] bytes 0..9 */
} gan_idx_kind;

/* Parse one IDX file held in memory (raw, not gzip). `name` only labels
 * error messages. On success *data is malloc'd (count*784 bytes for images,
 * count for labels; free() it) and *count is the item count. Errors:
 * GAN_ERR_FORMAT (magic, dimensions, sizes, labels > 9, truncated or
 * over-long data), GAN_ERR_NOMEM, GAN_ERR_ARG. */
gan_status gan_idx_parse(gan_ctx *c, const char *name, const void *buf, size_t len, gan_idx_kind kind,
                         uint8_t **data, size_t *count);
/* The same from a file, gzip or raw. Adds GAN_ERR_IO (missing, unreadable,
 * a directory) and GAN_ERR_FORMAT for corrupt or truncated gzip streams. */
gan_status gan_idx_load(gan_ctx *c, const char *path, gan_idx_kind kind, uint8_t **data, size_t *count);

/* ---- datasets ----------------------------------------------------------- */

/* N grey images of H x W bytes (row-major, item after item) and N labels. */
typedef struct gan_dataset {
    size_t n;
    int h, w;
    uint8_t *images; /* n * h * w, 0..255 */
    uint8_t *labels; /* n, 0..GAN_MNIST_CLASSES-1 */
} gan_dataset;

void gan_dataset_free(gan_dataset *d);

/* Images + labels from two IDX files (gzip or raw); the item counts must
 * match (GAN_ERR_FORMAT naming both files otherwise). */
gan_status gan_dataset_load_idx(gan_ctx *c, const char *images_path, const char *labels_path,
                                gan_dataset *out);
/* The same from two raw IDX files in memory; the names label messages. */
gan_status gan_dataset_parse_idx(gan_ctx *c, const char *images_name, const void *images, size_t images_len,
                                 const char *labels_name, const void *labels, size_t labels_len,
                                 gan_dataset *out);

typedef enum gan_mnist_split { GAN_MNIST_TRAIN = 0, GAN_MNIST_TEST = 1 } gan_mnist_split;

/* Find the directory holding the split's two MNIST files
 * ({train,t10k}-{images-idx3,labels-idx1}-ubyte, each with ".gz" or raw).
 * Looks, relative to the current directory for relative paths, at:
 *   `dir` alone when it is non-NULL and non-empty (the --data option);
 *   otherwise $GANCL_DATA (if set), then data/mnist, then ../shared/data/mnist.
 * Copies the first that holds both files into out (cap bytes). When none
 * does: GAN_ERR_IO with every place looked and how to get the files
 * (tools/download_mnist.sh). */
gan_status gan_mnist_find(gan_ctx *c, const char *dir, gan_mnist_split split, char *out, size_t cap);
/* gan_mnist_find, then gan_dataset_load_idx on the two files. */
gan_status gan_mnist_load(gan_ctx *c, const char *dir, gan_mnist_split split, gan_dataset *out);

/* A set of item indices into a dataset (a training set, a subset, ...). */
typedef struct gan_indices {
    size_t n;
    size_t *idx;
} gan_indices;

void gan_indices_free(gan_indices *s);
/* Every item: 0, 1, ..., d->n - 1. */
gan_status gan_indices_all(gan_ctx *c, const gan_dataset *d, gan_indices *out);

/* Random streams below are Philox4x32-10 keyed by the seed with counter
 * {block, epoch low, epoch high, purpose}; integers in [0, k) are drawn by
 * rejection (unbiased), so results are the same on every machine.
 *
 * The order of `base` for one epoch: out[0..base->n) is base->idx permuted by
 * Fisher-Yates. Depends only on (seed, epoch, base), never on earlier calls. */
gan_status gan_epoch_order(gan_ctx *c, const gan_indices *base, uint64_t seed, uint64_t epoch, size_t *out);

/* Hold out `n_val` items of `base` for validation: the first n_val of a
 * seeded permutation of base. Both outputs are sorted ascending and disjoint;
 * together they are base. n_val may be 0; n_val > base->n is GAN_ERR_ARG. */
gan_status gan_split_validation(gan_ctx *c, const gan_dataset *d, const gan_indices *base, size_t n_val,
                                uint64_t seed, gan_indices *train, gan_indices *val);

/* Semi-supervised split: exactly `per_class` labeled items of every class
 * (the first of each class in a seeded permutation of base), the rest of
 * base unlabeled. Both sorted ascending. A class with fewer than per_class
 * items in base is GAN_ERR_ARG naming the class and its count. */
gan_status gan_split_labeled(gan_ctx *c, const gan_dataset *d, const gan_indices *base, size_t per_class,
                             uint64_t seed, gan_indices *labeled, gan_indices *unlabeled);

/* Class imbalance: keep[k] in [0, 1] is the fraction of class k kept
 * (1 = all). Of the m items of class k in base, floor(keep[k] * m + 0.5) are
 * kept, the first of that class in a seeded permutation. Output sorted. */
gan_status gan_imbalance(gan_ctx *c, const gan_dataset *d, const gan_indices *base,
                         const double keep[GAN_MNIST_CLASSES], uint64_t seed, gan_indices *out);
/* Parse an --imbalance spec into keep[]: groups "CLASSES:FRACTION" separated
 * by ';', CLASSES a comma list of 0..9, e.g. "3,5:0.1" or "3,5:0.1;7:0.5".
 * Classes not named keep 1. A class named twice is an error. */
gan_status gan_imbalance_parse(gan_ctx *c, const char *spec, double keep[GAN_MNIST_CLASSES]);

/* Pixel value ranges for float images. */
typedef enum gan_pixel_range {
    GAN_RANGE_TANH = 0, /* [-1, 1]: p / 127.5 - 1 (GAN generators end in tanh) */
    GAN_RANGE_UNIT = 1  /* [0, 1]: p / 255 */
} gan_pixel_range;

/* Convert n bytes to floats in `range`. */
void gan_pixels_to_float(const uint8_t *px, size_t n, gan_pixel_range range, float *out);

/* Gather a batch into host buffers for upload: x[count, 1, h, w] floats in
 * `range` (count*h*w floats), and labels[count] (may be NULL) as int32 for
 * I32 tensors. Indices out of range are GAN_ERR_ARG. */
gan_status gan_dataset_batch(gan_ctx *c, const gan_dataset *d, const size_t *idx, size_t count,
                             gan_pixel_range range, float *x, int32_t *labels);

/* ---- PNG ---------------------------------------------------------------- */

/* Write 8-bit pixels (w x h, comp 1 grey / 3 RGB / 4 RGBA, rows packed) to a
 * PNG through stb_image_write. Atomic: written to "<path>.XXXXXX" in the same
 * directory and renamed, so a reader never sees half a file. GAN_ERR_IO names
 * the path. */
gan_status gan_png_write(gan_ctx *c, const char *path, const uint8_t *pixels, int w, int h, int comp);

/* Grid layout, torchvision.utils.make_grid/save_image style. */
typedef struct gan_grid_opts {
    int nrow;        /* images per row (torchvision's nrow): 8 */
    int padding;     /* pixels around and between images: 2 */
    float pad_value; /* padding colour in the output's [0, 1]: 0 (black) */
    float lo, hi;    /* value range mapped to [0, 255], clamped: -1, 1 */
} gan_grid_opts;

/* The defaults above. */
gan_grid_opts gan_grid_defaults(void);

/* Write n images (NCHW floats, channels 1 or 3, h x w) as one grid PNG.
 * opts NULL means gan_grid_defaults(). Grid size: cols = min(nrow, n),
 * rows = ceil(n / cols), width = cols*(w+padding)+padding, height likewise.
 * A value v becomes round(255 * clamp((v - lo) / (hi - lo), 0, 1)). */
gan_status gan_png_write_grid(gan_ctx *c, const char *path, const float *images, int n, int channels,
                              int h, int w, const gan_grid_opts *opts);

/* ---- JSONL metrics log -----------------------------------------------------
 * One JSON object per line, flushed after every line:
 *   {"step":1200,"epoch":3,"loss_d":0.61,"loss_g":1.4,"d_x":0.7,...}
 * "step" and "epoch" are integers, other fields numbers in the order given.
 * JSON has no NaN or Inf: a non-finite value is written as null (read back
 * as NaN). */

typedef struct gan_metric {
    const char *name;
    double value;
} gan_metric;

typedef struct gan_jsonl gan_jsonl;

/* Open (append = 0: truncate; 1: append to an existing log). */
gan_status gan_jsonl_open(gan_ctx *c, const char *path, int append, gan_jsonl **out);
/* Write one line. Field names must not be "step" or "epoch". */
gan_status gan_jsonl_write(gan_ctx *c, gan_jsonl *log, int64_t step, int64_t epoch, const gan_metric *fields,
                           size_t nfields);
/* Close (checks that everything reached the file); log may be NULL. */
gan_status gan_jsonl_close(gan_ctx *c, gan_jsonl *log);

/* One named series of (step, value) points, in file order. */
typedef struct gan_series {
    char *name;
    size_t n;
    double *step;
    double *value; /* NaN where the log had null */
} gan_series;

typedef struct gan_metrics {
    size_t nseries;
    gan_series *series;
} gan_metrics;

/* Load a JSONL log: every numeric (or null) field other than "step" becomes
 * a point (step, value) of the series of that name; "epoch" is a series too.
 * Other field types are ignored, blank lines skipped. A last line without a
 * newline that does not parse (a writer caught mid-line) is ignored; any
 * other bad line, or one without an integer "step", is GAN_ERR_FORMAT
 * naming path:line. */
gan_status gan_metrics_load(gan_ctx *c, const char *path, gan_metrics *out);
void gan_metrics_free(gan_metrics *m);
/* The series called name, or NULL. */
const gan_series *gan_metrics_find(const gan_metrics *m, const char *name);

/* ---- curves -------------------------------------------------------------- */

typedef struct gan_plot_opts {
    int width, height; /* pixels; at least 160 x 120 */
    const char *title; /* NULL: none */
    const char *xlabel; /* NULL: "step" */
} gan_plot_opts;

/* Plot series (value against step) as lines on one set of axes, with ticks,
 * tick labels and a legend, into an RGB PNG of exactly width x height.
 * Non-finite values break the line. opts NULL: 800 x 500, no title. */
gan_status gan_plot_png(gan_ctx *c, const char *path, const gan_series *const *series, size_t nseries,
                        const gan_plot_opts *opts);
/* The named series of a loaded log (a name not in the log is GAN_ERR_ARG
 * listing the names it has). */
gan_status gan_plot_metrics(gan_ctx *c, const char *path, const gan_metrics *m, const char *const *names,
                            size_t nnames, const gan_plot_opts *opts);

/* ---- confusion matrix heatmap ---------------------------------------------
 * counts[t * K + p]: items of true class t predicted as p (K classes,
 * 1 <= K <= 100). Each cell is shaded white to dark blue by its row-
 * normalised rate counts[t][p] / (items of class t) (a row without items is
 * white), with the count written in it where it fits; class numbers label
 * the axes (true: rows, predicted: columns), the title goes on top. Cells
 * are 44 pixels square for K <= 20, 20 above. RGB PNG, written atomically
 * like gan_png_write. */
gan_status gan_plot_confusion(gan_ctx *c, const char *path, const size_t *counts, int K, const char *title);

#ifdef __cplusplus
}
#endif
#endif
