/* Device losses: each is one single-work-group launch of a kernel in
 * cl/loss.cl that writes the gradients and reduces the loss terms to the
 * batch mean in loss[0] on the device (no host round trip).
 * softmax_xent cannot reject a bad label without reading the labels back,
 * so its kernel never indexes with one and yields a NaN loss (and NaN
 * gradients for that row) instead; the reference returns GAN_ERR_ARG. */
#include "ocl.h"

gan_status ocl_bce_logits(gan_ctx *c, const gan_tensor *logits, const gan_tensor *targets, gan_tensor *loss,
                          gan_tensor *grad)
{
    size_t wg;
    gan_status st = ocl_reduce_wg(c, "loss_bce_logits", SIZE_MAX, &wg);
    if (st) return st;
    return ocl_run_nd(c, "loss_bce_logits", 1, &wg, &wg, "TTTTiL", logits, targets, loss, grad, (int)logits->numel,
                      wg * sizeof(cl_float));
}

gan_status ocl_mse(gan_ctx *c, const gan_tensor *pred, const gan_tensor *target, gan_tensor *loss, gan_tensor *grad)
{
    size_t wg;
    gan_status st = ocl_reduce_wg(c, "loss_mse", SIZE_MAX, &wg);
    if (st) return st;
    return ocl_run_nd(c, "loss_mse", 1, &wg, &wg, "TTTTiL", pred, target, loss, grad, (int)pred->numel,
                      wg * sizeof(cl_float));
}

gan_status ocl_softmax_xent(gan_ctx *c, const gan_tensor *logits, const gan_tensor *labels, gan_tensor *loss,
                            gan_tensor *grad)
{
    size_t wg;
    gan_status st = ocl_reduce_wg(c, "loss_softmax_xent", SIZE_MAX, &wg);
    if (st) return st;
    return ocl_run_nd(c, "loss_softmax_xent", 1, &wg, &wg, "TTTTiiL", logits, labels, loss, grad, logits->dim[0],
                      logits->dim[1], wg * sizeof(cl_float));
}

gan_status ocl_lse_loss(gan_ctx *c, const gan_tensor *logits, int real, gan_tensor *loss, gan_tensor *grad)
{
    size_t wg;
    gan_status st = ocl_reduce_wg(c, "loss_lse", SIZE_MAX, &wg);
    if (st) return st;
    return ocl_run_nd(c, "loss_lse", 1, &wg, &wg, "TTTiiiL", logits, loss, grad, logits->dim[0], logits->dim[1], real,
                      wg * sizeof(cl_float));
}

gan_status ocl_consistency(gan_ctx *c, const gan_tensor *a, const gan_tensor *b, gan_tensor *loss, gan_tensor *da,
                           gan_tensor *db)
{
    size_t wg;
    gan_status st = ocl_reduce_wg(c, "loss_consistency", SIZE_MAX, &wg);
    if (st) return st;
    return ocl_run_nd(c, "loss_consistency", 1, &wg, &wg, "TTTTTiiL", a, b, loss, da, db, a->dim[0], a->dim[1],
                      wg * sizeof(cl_float));
}
