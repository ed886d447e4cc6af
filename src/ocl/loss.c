/* Device losses: each is one single-work-group launch of a kernel in
 * cl/loss.cl that writes the gradients and reduces the loss terms to the
 * batch mean in loss[0] on the device (no host round trip).
 * softmax_xent cannot reject a bad label without reading the labels back,
 * so its kernel never indexes with one and yields a NaN loss (and NaN
 * gradients for that row) instead; the reference returns GAN_ERR_ARG. */
#include "../internal.h"

/* The reduction work-group: up to 256 work-items, a power of two that both
 * the device and this kernel's compiled form accept. */
static gan_status loss_wg(gan_ctx *c, const char *name, size_t *wg)
{
    gan_status st = GAN_OK;
    cl_kernel k;
    size_t kmax = 0, w = 256;
    TRY(ocl_kernel(c, name, &k));
    CL_CHECK(c, clGetKernelWorkGroupInfo, (k, c->ocl.device, CL_KERNEL_WORK_GROUP_SIZE, sizeof kmax, &kmax, NULL));
    while (w > 1 && (w > c->ocl.max_wg || w > kmax)) w >>= 1;
    *wg = w;
cleanup:
    return st;
}

gan_status ocl_bce_logits(gan_ctx *c, const gan_tensor *logits, const gan_tensor *targets, gan_tensor *loss,
                          gan_tensor *grad)
{
    size_t wg;
    gan_status st = loss_wg(c, "loss_bce_logits", &wg);
    if (st) return st;
    return ocl_run_nd(c, "loss_bce_logits", 1, &wg, &wg, "TTTTiL", logits, targets, loss, grad, (int)logits->numel,
                      wg * sizeof(cl_float));
}

gan_status ocl_mse(gan_ctx *c, const gan_tensor *pred, const gan_tensor *target, gan_tensor *loss, gan_tensor *grad)
{
    size_t wg;
    gan_status st = loss_wg(c, "loss_mse", &wg);
    if (st) return st;
    return ocl_run_nd(c, "loss_mse", 1, &wg, &wg, "TTTTiL", pred, target, loss, grad, (int)pred->numel,
                      wg * sizeof(cl_float));
}

gan_status ocl_softmax_xent(gan_ctx *c, const gan_tensor *logits, const gan_tensor *labels, gan_tensor *loss,
                            gan_tensor *grad)
{
    size_t wg;
    gan_status st = loss_wg(c, "loss_softmax_xent", &wg);
    if (st) return st;
    return ocl_run_nd(c, "loss_softmax_xent", 1, &wg, &wg, "TTTTiiL", logits, labels, loss, grad, logits->dim[0],
                      logits->dim[1], wg * sizeof(cl_float));
}

gan_status ocl_lse_loss(gan_ctx *c, const gan_tensor *logits, int real, gan_tensor *loss, gan_tensor *grad)
{
    size_t wg;
    gan_status st = loss_wg(c, "loss_lse", &wg);
    if (st) return st;
    return ocl_run_nd(c, "loss_lse", 1, &wg, &wg, "TTTiiiL", logits, loss, grad, logits->dim[0], logits->dim[1], real,
                      wg * sizeof(cl_float));
}
