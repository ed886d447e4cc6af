/* gancl public API: status codes, tensors, the context, and every op.
 *
 * Dimension letters, used everywhere in gancl:
 *   N batch, C input channels (or features), O output channels,
 *   H, W height and width, K kernel size (KH x KW), S stride, P padding,
 *   OP output padding (transposed conv only).
 * Tensors are dense, row-major, NCHW (dense activations are [N, C]).
 *
 * Every function that can fail returns gan_status (0 ok, negative error);
 * gan_ctx_error() then holds a message naming the call, the error and the
 * site. The library never exits, aborts or prints.
 */
#ifndef GANCL_GANCL_H
#define GANCL_GANCL_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- status ------------------------------------------------------------ */

#define GAN_STATUS_LIST(X)                                              \
    X(OK, 0, "ok")                                                      \
    X(ERR_ARG, -1, "invalid argument")                                  \
    X(ERR_SHAPE, -2, "shape mismatch")                                  \
    X(ERR_NOMEM, -3, "out of memory")                                   \
    X(ERR_OPENCL, -4, "OpenCL error")                                   \
    X(ERR_CLBLAST, -5, "CLBlast error")                                 \
    X(ERR_BUILD, -6, "kernel build failed")                             \
    X(ERR_NO_DEVICE, -7, "no matching device")                          \
    X(ERR_IO, -8, "I/O error")                                          \
    X(ERR_FORMAT, -9, "bad file format")                                \
    X(ERR_UNSUPPORTED, -10, "unsupported")                              \
    X(ERR_NUMERIC, -11, "non-finite value")                             \
    X(ERR_MISMATCH, -12, "configuration mismatch")                      \
    X(ERR_INTERRUPTED, -13, "interrupted")                              \
    X(ERR_DEVICE_LIMIT, -14, "beyond a device limit")

typedef enum gan_status {
#define GAN_X_(name, value, text) GAN_##name = value,
    GAN_STATUS_LIST(GAN_X_)
#undef GAN_X_
} gan_status;

/* "GAN_ERR_SHAPE" */
const char *gan_status_name(gan_status st);
/* "shape mismatch" */
const char *gan_status_str(gan_status st);

/* ---- context ----------------------------------------------------------- */

typedef struct gan_ctx gan_ctx;

typedef enum gan_backend_kind { GAN_BACKEND_REF = 0, GAN_BACKEND_OCL = 1 } gan_backend_kind;

/* Create a context on the device named by `selector`:
 *   "cpu"          the plain-C reference backend;
 *   "P:D"          OpenCL platform P, device D (as `gancl devices` lists);
 *   any other text a case-insensitive substring of "platform device" names;
 *   NULL or ""     $GANCL_DEVICE if set, else the first OpenCL GPU, else the
 *                  first OpenCL device.
 * A selector matching nothing or several devices is GAN_ERR_NO_DEVICE with a
 * message listing what exists. *out is set whenever memory allows, also on
 * failure, so the caller can read gan_ctx_error() and must gan_ctx_free() it. */
gan_status gan_ctx_create(gan_ctx **out, const char *selector);
void gan_ctx_free(gan_ctx *ctx);
const char *gan_ctx_error(const gan_ctx *ctx);
void gan_ctx_clear_error(gan_ctx *ctx);
gan_backend_kind gan_ctx_backend(const gan_ctx *ctx);
/* "cpu reference" or "Portable Computing Language: pthread-..." */
const char *gan_ctx_device_name(const gan_ctx *ctx);
/* The OpenCL driver's log of the kernel program's build ("" when it wrote
 * none, and on the reference). Kernels are built with -w, so a successful
 * build is quiet (PoCL prints "N warnings generated." to stderr itself);
 * with GANCL_VERBOSE=1 they are built without it and the log has the
 * driver's warnings. */
const char *gan_ctx_build_log(const gan_ctx *ctx);
/* Bytes the context holds in tensors and workspace now, and at most so
 * far (device memory on OpenCL, host memory on the reference). */
void gan_ctx_memory(const gan_ctx *ctx, size_t *now, size_t *peak);
/* Wait for all queued device work (no-op on the reference). */
gan_status gan_ctx_finish(gan_ctx *ctx);

/* Print every OpenCL platform/device into buf (the `gancl devices` table). */
gan_status gan_list_devices(char *buf, size_t cap, char *err, size_t errcap);

/* ---- tensors ----------------------------------------------------------- */

typedef enum gan_dtype { GAN_F32 = 0, GAN_I32 = 1 } gan_dtype;

#define GAN_MAX_DIMS 4

typedef struct gan_tensor {
    gan_dtype dtype;
    int ndim;
    int dim[GAN_MAX_DIMS];
    size_t numel;
    void *data;  /* reference: host memory; OpenCL: cl_mem */
    int owner;   /* 0 for views: gan_tensor_free leaves the data alone */
} gan_tensor;

gan_status gan_tensor_alloc(gan_ctx *ctx, gan_tensor *t, gan_dtype dtype, int ndim, const int *dim);
/* Shorthand: gan_tensor_alloc4(ctx, &t, GAN_F32, 2, N, C, 0, 0). */
gan_status gan_tensor_alloc4(gan_ctx *ctx, gan_tensor *t, gan_dtype dtype, int ndim, int d0, int d1, int d2, int d3);
void gan_tensor_free(gan_ctx *ctx, gan_tensor *t);
/* Reshape/flatten: a view of src's data with other dims and the same numel. */
gan_status gan_tensor_view(gan_ctx *ctx, const gan_tensor *src, int ndim, const int *dim, gan_tensor *out);
/* The first n entries along dim 0 (a view): one buffer allocated for the
 * largest batch serves smaller ones. */
gan_status gan_tensor_narrow(gan_ctx *ctx, const gan_tensor *src, int n, gan_tensor *out);
/* Host <-> tensor copies of all numel elements (4 bytes each). Blocking. */
gan_status gan_tensor_write(gan_ctx *ctx, gan_tensor *t, const void *src);
gan_status gan_tensor_read(gan_ctx *ctx, const gan_tensor *t, void *dst);
/* "[64, 1, 28, 28]" */
const char *gan_tensor_shape_str(const gan_tensor *t, char *buf, size_t cap);

/* ---- op parameters ------------------------------------------------------ */

typedef struct gan_conv2d_params {
    int stride;   /* S >= 1, both directions */
    int pad;      /* P >= 0, both directions */
    int out_pad;  /* OP, transposed conv only: 0 <= OP < S */
} gan_conv2d_params;

typedef struct gan_bn_params {
    float momentum; /* running = (1 - momentum) * running + momentum * batch (PyTorch) */
    float eps;
    int training;   /* 1: batch statistics (+ running update); 0: running statistics */
} gan_bn_params;

typedef enum gan_act {
    GAN_ACT_RELU = 0,
    GAN_ACT_LEAKY_RELU = 1, /* slope = negative-side slope */
    GAN_ACT_TANH = 2,
    GAN_ACT_SIGMOID = 3,
    GAN_ACT_SOFTPLUS = 4,
    GAN_ACT_COUNT
} gan_act;

typedef struct gan_adam_params {
    float lr, beta1, beta2, eps;
    int step; /* t >= 1, the step being taken (for bias correction) */
} gan_adam_params;

/* wn_dense's act for a layer without one (y = t * g/norm + b). */
#define GAN_WN_LINEAR (-1)

/* Philox4x32-10 stream position. Element i of a uniform fill (and of a
 * dropout mask) uses word i%4 of block counter + i/4; element i of a normal
 * fill (and of Gaussian noise) uses words 2*(i%2), 2*(i%2)+1 of block
 * counter + i/2 (Box-Muller). Key = seed. */
typedef struct gan_rng {
    uint64_t seed;
    uint64_t counter;
} gan_rng;

/* ---- the op list -------------------------------------------------------
 * X(name, params, args): one line per op. It generates the backend op table
 * (struct gan_backend_ops), the ref_/ocl_ prototypes, the public gan_<name>
 * entry points (argument checks, then dispatch), the op names, and the test
 * registry. Shapes:
 *
 * gemm            C[M,N] = alpha * op(A) op(B) + beta * C; A is [M,K] (ta=0) or
 *                 [K,M] (ta=1), B is [K,N] (tb=0) or [N,K] (tb=1); row-major.
 * dense_*         x[N,C], w[O,C] (PyTorch Linear), b[O] or NULL, y[N,O].
 * conv2d_*        x[N,C,H,W], w[O,C,KH,KW], b[O] or NULL, y[N,O,OH,OW],
 *                 OH = (H + 2P - KH)/S + 1.
 * conv2d_relu_forward  conv2d_forward, then y = relu(y) in the same pass.
 * conv2d_relu_backward  conv2d_backward for an x that came out of a ReLU,
 *                 x = relu(u): dx is dL/du, the conv's dL/dx where x > 0
 *                 and 0 elsewhere (act_backward's relu with x, folded into
 *                 the data gradient); dw, db as conv2d_backward's.
 * deconv2d_*      x[N,C,H,W], w[C,O,KH,KW] (PyTorch ConvTranspose2d), b[O] or
 *                 NULL, y[N,O,OH,OW], OH = (H-1)*S - 2P + KH + OP.
 * *_backward      gradients overwrite dx/dw/db; any of them may be NULL.
 * batchnorm_*     x, y [N,C] or [N,C,H,W]; gamma, beta, running mean/var,
 *                 save_mean, save_invstd [C]. Backward is for training mode.
 *   batchnorm_sums  a rank's share of the training statistics (data-parallel
 *                 batch norm, include/gancl/dist.h): sums[C] = the sum over
 *                 N and H*W of x (mean NULL), or of (x - mean[c])^2.
 *   batchnorm_dx  the training backward's dx from given per-channel means
 *                 over the (global) batch, mean_dy[C] of dy and mean_dyx[C]
 *                 of dy * xhat: dx = gamma * invstd * (dy - mean_dy - xhat *
 *                 mean_dyx), xhat = (x - save_mean) * save_invstd.
 * act_*           any shape; y may alias x. Backward reads x (relu, leaky,
 *                 softplus) or y (tanh, sigmoid).
 * dropout_*       p = drop probability; mask holds 0 or 1/(1-p).
 * noise_forward   y = x + std * N(0,1); its backward is the identity (copy).
 * maxpool2_*      2x2 window, stride 2, x[N,C,H,W] -> y[N,C,H/2,W/2]
 *                 (floor); idx (I32) is the flat argmax within x.
 * maxpool2_relu_forward  maxpool2_forward, then y = relu(y) (idx unchanged).
 * maxpool2_relu_backward(idx, y, dy, dx)  maxpool2_backward of dy where the
 *                 forward's y > 0 and of 0 elsewhere (relu's backward).
 * concat_*        along dim 1: a[N,Ca,...], b[N,Cb,...] -> y[N,Ca+Cb,...].
 * fill/copy/axpy  any shape: t = value; dst = src; y += alpha * x.
 * losses          mean over the batch into loss[1]; grad is d(loss)/d(input):
 *   bce_logits    logits[N] (or [N,1]), targets same shape, in [0,1].
 *   mse           pred, target any shape; mean over all elements.
 *   softmax_xent  logits[N,K], labels[N] I32 in 0..K-1.
 *   lse_loss      logits[N,K] of a K+1-class discriminator whose fake logit
 *                 is fixed at 0 (Salimans et al. 2016), L = logsumexp(l):
 *                 real=1: mean(softplus(L) - L)  (= -log D(x));
 *                 real=0: mean(softplus(L))      (= -log(1 - D(G(z)))).
 *   consistency   a, b [N,K] logits of two passes over one batch (CT-GAN,
 *                 Wei et al. 2018): L = mean_n sum_k (p_nk - q_nk)^2 with
 *                 p = softmax(a_n), q = softmax(b_n) over the K classes;
 *                 gradients da (wrt a) and db (wrt b), both [N,K].
 * adam_step       p -= lr * mhat / (sqrt(vhat) + eps), m, v updated in place.
 * adam_ema_step   adam_step, then the parameter average a += rate * (p - a)
 *                 with the updated p (a has p's shape), in the same pass.
 * sgd_step        v = momentum * v + g; p -= lr * v (PyTorch SGD).
 * rng_*           fill t from Philox (see gan_rng); rng_bits stores raw
 *                 32-bit words into an I32 tensor.
 * weightnorm_*    v[O,C], g[O], w[O,C]: w = g * v / ||v_row|| (PyTorch
 *                 weight_norm, dim 0, of a Linear weight); backward takes dw
 *                 and writes dv, dg (either may be NULL). A zero row of v has
 *                 no direction: its w and gradients are non-finite.
 * wn_dense_*      a weight-normalized dense layer, its activation and the
 *                 Gaussian noise on its output (the next layer's input) as one
 *                 op: x[N,C], v[O,C], g[O], b[O] or NULL; norm[O] = ||v_row||,
 *                 t[N,O] = x v^T, y = act(t * g/norm + b), h = y + std *
 *                 N(0,1) (element i of the stream as noise_forward; h may be
 *                 NULL, std 0 gives h = y). act is GAN_ACT_RELU, _LEAKY_RELU
 *                 (slope >= 0), _TANH, _SIGMOID (the derivative is taken from
 *                 y), or GAN_WN_LINEAR. Backward from dh = dL/dh (= dL/dy: the
 *                 noise adds a constant), with norm, t and y of the forward:
 *                 dt[N,O] = dL/dt (written always), and any of dx[N,C],
 *                 dv[O,C], dg[O], db[O] (NULL: not computed).
 * batch_mean_*    x[N,C] -> y[C], the mean over the batch; backward
 *                 dx[n,c] = dy[c] / N.
 * Row ops: a row is everything after dim 0, moved as 32-bit words (F32 or
 * I32, src and dst of one dtype and one row size). No backward: they move
 * data that needs no gradient (stored features, labels, indices).
 * gather_rows     src[M,...], idx I32 [>= n], dst[n,...]: dst row r = src
 *                 row idx[r], r < n. idx[r] in 0..M-1 is the caller's
 *                 contract: the reference fails with GAN_ERR_ARG naming the
 *                 index; the device, which cannot look without a round trip,
 *                 writes zeros for that row and never reads outside src.
 * copy_rows       dst rows dst_row .. dst_row+n-1 = src rows src_row ..
 *                 src_row+n-1 (the view at an offset that narrow is not);
 *                 ranges within the tensors, not overlapping unless equal.
 * standardize     x, y [N,C], mean, invstd [C]: y = (x - mean[c]) *
 *                 invstd[c]; y may alias x.
 */
#define GAN_OP_LIST(X)                                                                              \
    X(gemm, (gan_ctx * c, int ta, int tb, float alpha, const gan_tensor *A, const gan_tensor *B,    \
             float beta, gan_tensor *C),                                                            \
      (c, ta, tb, alpha, A, B, beta, C))                                                            \
    X(dense_forward, (gan_ctx * c, const gan_tensor *x, const gan_tensor *w, const gan_tensor *b,   \
                      gan_tensor *y),                                                               \
      (c, x, w, b, y))                                                                              \
    X(dense_backward, (gan_ctx * c, const gan_tensor *x, const gan_tensor *w, const gan_tensor *dy, \
                       gan_tensor *dx, gan_tensor *dw, gan_tensor *db),                             \
      (c, x, w, dy, dx, dw, db))                                                                    \
    X(conv2d_forward, (gan_ctx * c, const gan_tensor *x, const gan_tensor *w, const gan_tensor *b,  \
                       gan_tensor *y, const gan_conv2d_params *p),                                  \
      (c, x, w, b, y, p))                                                                           \
    X(conv2d_backward, (gan_ctx * c, const gan_tensor *x, const gan_tensor *w,                      \
                        const gan_tensor *dy, gan_tensor *dx, gan_tensor *dw, gan_tensor *db,       \
                        const gan_conv2d_params *p),                                                \
      (c, x, w, dy, dx, dw, db, p))                                                                 \
    X(conv2d_relu_forward, (gan_ctx * c, const gan_tensor *x, const gan_tensor *w,                  \
                            const gan_tensor *b, gan_tensor *y, const gan_conv2d_params *p),        \
      (c, x, w, b, y, p))                                                                           \
    X(conv2d_relu_backward, (gan_ctx * c, const gan_tensor *x, const gan_tensor *w,                 \
                             const gan_tensor *dy, gan_tensor *dx, gan_tensor *dw, gan_tensor *db,  \
                             const gan_conv2d_params *p),                                           \
      (c, x, w, dy, dx, dw, db, p))                                                                 \
    X(deconv2d_forward, (gan_ctx * c, const gan_tensor *x, const gan_tensor *w,                     \
                         const gan_tensor *b, gan_tensor *y, const gan_conv2d_params *p),           \
      (c, x, w, b, y, p))                                                                           \
    X(deconv2d_backward, (gan_ctx * c, const gan_tensor *x, const gan_tensor *w,                    \
                          const gan_tensor *dy, gan_tensor *dx, gan_tensor *dw, gan_tensor *db,     \
                          const gan_conv2d_params *p),                                              \
      (c, x, w, dy, dx, dw, db, p))                                                                 \
    X(batchnorm_forward, (gan_ctx * c, const gan_tensor *x, const gan_tensor *gamma,                \
                          const gan_tensor *beta, gan_tensor *run_mean, gan_tensor *run_var,        \
                          gan_tensor *save_mean, gan_tensor *save_invstd, gan_tensor *y,            \
                          const gan_bn_params *p),                                                  \
      (c, x, gamma, beta, run_mean, run_var, save_mean, save_invstd, y, p))                         \
    X(batchnorm_backward, (gan_ctx * c, const gan_tensor *x, const gan_tensor *gamma,               \
                           const gan_tensor *save_mean, const gan_tensor *save_invstd,              \
                           const gan_tensor *dy, gan_tensor *dx, gan_tensor *dgamma,                \
                           gan_tensor *dbeta),                                                      \
      (c, x, gamma, save_mean, save_invstd, dy, dx, dgamma, dbeta))                                 \
    X(batchnorm_sums, (gan_ctx * c, const gan_tensor *x, const gan_tensor *mean,                    \
                       gan_tensor *sums),                                                           \
      (c, x, mean, sums))                                                                           \
    X(batchnorm_dx, (gan_ctx * c, const gan_tensor *x, const gan_tensor *gamma,                     \
                     const gan_tensor *save_mean, const gan_tensor *save_invstd,                    \
                     const gan_tensor *dy, const gan_tensor *mean_dy,                               \
                     const gan_tensor *mean_dyx,                                                    \
                     gan_tensor *dx),                                                               \
      (c, x, gamma, save_mean, save_invstd, dy, mean_dy, mean_dyx, dx))                             \
    X(act_forward, (gan_ctx * c, gan_act kind, float slope, const gan_tensor *x, gan_tensor *y),    \
      (c, kind, slope, x, y))                                                                       \
    X(act_backward, (gan_ctx * c, gan_act kind, float slope, const gan_tensor *x,                   \
                     const gan_tensor *y, const gan_tensor *dy, gan_tensor *dx),                    \
      (c, kind, slope, x, y, dy, dx))                                                               \
    X(dropout_forward, (gan_ctx * c, float p, gan_rng rng, const gan_tensor *x, gan_tensor *mask,   \
                        gan_tensor *y),                                                             \
      (c, p, rng, x, mask, y))                                                                      \
    X(dropout_backward, (gan_ctx * c, const gan_tensor *mask, const gan_tensor *dy, gan_tensor *dx), \
      (c, mask, dy, dx))                                                                            \
    X(noise_forward, (gan_ctx * c, float std, gan_rng rng, const gan_tensor *x, gan_tensor *y),     \
      (c, std, rng, x, y))                                                                          \
    X(maxpool2_forward, (gan_ctx * c, const gan_tensor *x, gan_tensor *y, gan_tensor *idx),         \
      (c, x, y, idx))                                                                               \
    X(maxpool2_backward, (gan_ctx * c, const gan_tensor *idx, const gan_tensor *dy, gan_tensor *dx), \
      (c, idx, dy, dx))                                                                             \
    X(maxpool2_relu_forward, (gan_ctx * c, const gan_tensor *x, gan_tensor *y, gan_tensor *idx),    \
      (c, x, y, idx))                                                                               \
    X(maxpool2_relu_backward, (gan_ctx * c, const gan_tensor *idx, const gan_tensor *y,             \
                               const gan_tensor *dy, gan_tensor *dx),                               \
      (c, idx, y, dy, dx))                                                                          \
    X(concat_forward, (gan_ctx * c, const gan_tensor *a, const gan_tensor *b, gan_tensor *y),       \
      (c, a, b, y))                                                                                 \
    X(concat_backward, (gan_ctx * c, const gan_tensor *dy, gan_tensor *da, gan_tensor *db),         \
      (c, dy, da, db))                                                                              \
    X(fill, (gan_ctx * c, gan_tensor *t, float value), (c, t, value))                               \
    X(copy, (gan_ctx * c, const gan_tensor *src, gan_tensor *dst), (c, src, dst))                   \
    X(axpy, (gan_ctx * c, float alpha, const gan_tensor *x, gan_tensor *y), (c, alpha, x, y))       \
    X(bce_logits, (gan_ctx * c, const gan_tensor *logits, const gan_tensor *targets,               \
                   gan_tensor *loss, gan_tensor *grad),                                             \
      (c, logits, targets, loss, grad))                                                             \
    X(mse, (gan_ctx * c, const gan_tensor *pred, const gan_tensor *target, gan_tensor *loss,       \
            gan_tensor *grad),                                                                      \
      (c, pred, target, loss, grad))                                                                \
    X(softmax_xent, (gan_ctx * c, const gan_tensor *logits, const gan_tensor *labels,              \
                     gan_tensor *loss, gan_tensor *grad),                                           \
      (c, logits, labels, loss, grad))                                                              \
    X(lse_loss, (gan_ctx * c, const gan_tensor *logits, int real, gan_tensor *loss,                \
                 gan_tensor *grad),                                                                 \
      (c, logits, real, loss, grad))                                                                \
    X(consistency, (gan_ctx * c, const gan_tensor *a, const gan_tensor *b, gan_tensor *loss,       \
                    gan_tensor *da, gan_tensor *db),                                                \
      (c, a, b, loss, da, db))                                                                      \
    X(adam_step, (gan_ctx * c, gan_tensor *p, const gan_tensor *g, gan_tensor *m, gan_tensor *v,   \
                  const gan_adam_params *hp),                                                       \
      (c, p, g, m, v, hp))                                                                          \
    X(adam_ema_step, (gan_ctx * c, gan_tensor *p, const gan_tensor *g, gan_tensor *m, gan_tensor *v, \
                      const gan_adam_params *hp, float rate, gan_tensor *a),                        \
      (c, p, g, m, v, hp, rate, a))                                                                 \
    X(sgd_step, (gan_ctx * c, gan_tensor *p, const gan_tensor *g, gan_tensor *vel, float lr,       \
                 float momentum),                                                                   \
      (c, p, g, vel, lr, momentum))                                                                 \
    X(rng_uniform, (gan_ctx * c, gan_rng rng, gan_tensor *t), (c, rng, t))                          \
    X(rng_normal, (gan_ctx * c, gan_rng rng, float mean, float std, gan_tensor *t),                 \
      (c, rng, mean, std, t))                                                                       \
    X(rng_bits, (gan_ctx * c, gan_rng rng, gan_tensor *t), (c, rng, t))                             \
    X(weightnorm_forward, (gan_ctx * c, const gan_tensor *v, const gan_tensor *g, gan_tensor *w),    \
      (c, v, g, w))                                                                                 \
    X(weightnorm_backward, (gan_ctx * c, const gan_tensor *v, const gan_tensor *g,                   \
                            const gan_tensor *dw, gan_tensor *dv, gan_tensor *dg),                  \
      (c, v, g, dw, dv, dg))                                                                        \
    X(wn_dense_forward, (gan_ctx * c, const gan_tensor *x, const gan_tensor *v, const gan_tensor *g, \
                         const gan_tensor *b, int act, float slope, float std, gan_rng rng,         \
                         gan_tensor *norm, gan_tensor *t, gan_tensor *y, gan_tensor *h),            \
      (c, x, v, g, b, act, slope, std, rng, norm, t, y, h))                                         \
    X(wn_dense_backward, (gan_ctx * c, const gan_tensor *x, const gan_tensor *v, const gan_tensor *g, \
                          const gan_tensor *norm, const gan_tensor *t, const gan_tensor *y, int act, \
                          float slope, const gan_tensor *dh, gan_tensor *dt, gan_tensor *dx,        \
                          gan_tensor *dv, gan_tensor *dg, gan_tensor *db),                          \
      (c, x, v, g, norm, t, y, act, slope, dh, dt, dx, dv, dg, db))                                 \
    X(batch_mean_forward, (gan_ctx * c, const gan_tensor *x, gan_tensor *y), (c, x, y))              \
    X(batch_mean_backward, (gan_ctx * c, const gan_tensor *dy, gan_tensor *dx), (c, dy, dx))       \
    X(gather_rows, (gan_ctx * c, const gan_tensor *src, const gan_tensor *idx, gan_tensor *dst),    \
      (c, src, idx, dst))                                                                           \
    X(copy_rows, (gan_ctx * c, const gan_tensor *src, int src_row, gan_tensor *dst, int dst_row,    \
                  int n),                                                                           \
      (c, src, src_row, dst, dst_row, n))                                                           \
    X(standardize, (gan_ctx * c, const gan_tensor *x, const gan_tensor *mean,                       \
                    const gan_tensor *invstd, gan_tensor *y),                                       \
      (c, x, mean, invstd, y))

typedef enum gan_op {
#define GAN_X_(name, params, args) GAN_OP_##name,
    GAN_OP_LIST(GAN_X_)
#undef GAN_X_
    GAN_OP_COUNT
} gan_op;

/* "conv2d_forward" */
const char *gan_op_name(gan_op op);

/* The public entry points: gan_gemm(...), gan_conv2d_forward(...), ... */
#define GAN_X_(name, params, args) gan_status gan_##name params;
GAN_OP_LIST(GAN_X_)
#undef GAN_X_

/* Philox4x32-10 on the host (the same function the kernels use). */
void gan_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

#ifdef __cplusplus
}
#endif
#endif
