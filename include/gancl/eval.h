/* gancl generator evaluation: Frechet distance (FID) and Inception Score
 * (IS) of generators (include/gancl/generator.h), measured with gancl's
 * own MNIST classifier instead of Inception v3.
 *
 * The evaluator is the CNN of classifier.h trained by a fixed recipe
 * (gan_eval_recipe). FID uses its penultimate layer (the 128-wide
 * dense + ReLU, dropout off), IS its softmax. Scores from two evaluators
 * are not comparable, so every evaluator is identified by a hash of its
 * parameter bytes, which tools print beside every score.
 *
 * Statistics are accumulated on the host in double; the matrix square
 * root of FID comes from LAPACK's symmetric eigensolver (LAPACKE_dsyevd).
 * Nothing here prints; failures return gan_status with a message. */
#ifndef GANCL_EVAL_H
#define GANCL_EVAL_H

#include "gancl/classifier.h"
#include "gancl/data.h"
#include "gancl/generator.h"
#include "gancl/models.h"
#include "gancl/semi.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- feature statistics ------------------------------------------------- */

/* Running mean and co-moment of d-dimensional rows (Chan et al.'s pairwise
 * update, so a batch far from the running mean loses no precision). */
typedef struct gan_moments {
    int d;
    size_t n;
    double *mean; /* [d] */
    double *m2;   /* [d, d]: sum over rows of (x - mean)(x - mean)^T */
} gan_moments;

gan_status gan_moments_init(gan_ctx *c, gan_moments *m, int d);
/* Add n rows x[n, d]. */
gan_status gan_moments_add(gan_ctx *c, gan_moments *m, const float *x, size_t n);
void gan_moments_free(gan_moments *m);

/* Mean and covariance of a feature set (what FID compares). */
typedef struct gan_fid_stats {
    int d;
    size_t n;
    double *mean; /* [d] */
    double *cov;  /* [d, d], unbiased (n - 1), as numpy.cov and pytorch-fid */
} gan_fid_stats;

/* From accumulated moments (n >= 2); allocates out. */
gan_status gan_fid_stats_from(gan_ctx *c, const gan_moments *m, gan_fid_stats *out);
void gan_fid_stats_free(gan_fid_stats *s);
/* A safetensors file with "mean" [d] and "cov" [d,d] (F64) and metadata
 * "kind" = "fid-stats", "n", "evaluator" = hash (crash-safe write). */
gan_status gan_fid_stats_save(gan_ctx *c, const gan_fid_stats *s, const char *hash, const char *path);
/* Load; a file made with another evaluator than expect_hash (when not
 * NULL) is GAN_ERR_MISMATCH naming both hashes. */
gan_status gan_fid_stats_load(gan_ctx *c, const char *path, const char *expect_hash, gan_fid_stats *out);

/* FID = |mu1 - mu2|^2 + tr(S1) + tr(S2) - 2 tr sqrtm(S1 S2) for d x d
 * symmetric positive semi-definite S1, S2 (row-major; only symmetry is
 * assumed, tiny negative eigenvalues from rounding are clipped to 0). */
gan_status gan_fid(gan_ctx *c, int d, const double *mu1, const double *s1, const double *mu2, const double *s2,
                   double *fid);
gan_status gan_fid_of(gan_ctx *c, const gan_fid_stats *a, const gan_fid_stats *b, double *fid);

/* Inception Score of class probabilities p[n, k] (rows sum to 1) over
 * `splits` consecutive parts (sizes differ by at most one; n >= splits):
 * per part exp(mean_i KL(p_i || mean_part p)); *mean and *std (population,
 * like numpy.std) over the parts. */
gan_status gan_inception_score(gan_ctx *c, const double *p, size_t n, int k, int splits, double *mean,
                               double *std);

/* ---- the evaluator -------------------------------------------------------- */

/* How an evaluator is trained: Adam on the whole MNIST training set in
 * Philox-shuffled epochs, `steps` steps of `batch` images. */
typedef struct gan_eval_recipe {
    uint64_t seed; /* 1 */
    int steps;     /* 1875: two epochs of 64 */
    int batch;     /* 64 */
    float lr;      /* 1e-3 (beta1 0.9: the classifier's defaults) */
} gan_eval_recipe;

gan_eval_recipe gan_eval_recipe_default(void);
/* "mnist-cnn-s1-n1875-b64-lr0.001": names the cache file. */
void gan_eval_recipe_name(const gan_eval_recipe *r, char *buf, size_t cap);

/* Where evaluators and cached test statistics live: "evaluator" in
 * gancl's cache directory ($GANCL_CACHE_DIR, else $XDG_CACHE_HOME/gancl,
 * else ~/.cache/gancl), created (mkdir -p) when mkdirs. */
gan_status gan_eval_cache_dir(gan_ctx *c, int mkdirs, char *out, size_t cap);

/* Train an evaluator by the recipe, measure its test accuracy and save it
 * (a classifier checkpoint with "evaluator_recipe" and "test_accuracy" in
 * its metadata) to path, crash-safely. test may be NULL (accuracy unknown).
 * *accuracy (may be NULL) receives the test accuracy. */
gan_status gan_evaluator_train(gan_ctx *c, const gan_eval_recipe *r, const gan_dataset *train,
                               const gan_dataset *test, const char *path, double *accuracy);

#define GAN_EVAL_HASH_LEN 16

typedef struct gan_evaluator {
    gan_cls cls;                      /* inference only */
    int nfeat;                        /* penultimate width (128) */
    char hash[GAN_EVAL_HASH_LEN + 1]; /* hex digest of the parameter bytes */
    char recipe[96];                  /* from the metadata; "" when not made by a recipe */
    double test_accuracy;             /* from the metadata; NaN when unknown */
    float *h_feat;                    /* [batch, nfeat] host staging */
} gan_evaluator;

/* Load a classifier checkpoint as an evaluator serving batches of up to
 * `batch` images. A checkpoint of any other model is GAN_ERR_MISMATCH
 * saying what was found and what an evaluator is. */
gan_status gan_evaluator_load(gan_ctx *c, gan_evaluator *e, const char *path, int batch);
void gan_evaluator_free(gan_ctx *c, gan_evaluator *e);
/* The hash of a classifier checkpoint: FNV-1a 64 over every "cls.*"
 * parameter's name, shape and little-endian bytes in file order (Adam
 * moments and metadata excluded), as 16 hex digits. */
gan_status gan_evaluator_hash(gan_ctx *c, const gan_ckpt *k, char out[GAN_EVAL_HASH_LEN + 1]);

/* Run n images x[n, 784] (host floats in `range`) through the evaluator
 * in batches on its device: features go into mom (may be NULL), softmax
 * probabilities into probs[n, 10] (may be NULL). */
gan_status gan_evaluator_run(gan_ctx *c, gan_evaluator *e, const float *x, size_t n, gan_pixel_range range,
                             gan_moments *mom, double *probs);

#ifdef __cplusplus
}
#endif
#endif
