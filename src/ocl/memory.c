/* The OpenCL backend's memory: buffers (cl_mem) for tensors and the device
 * workspace, blocking transfers, fills and the queue's finish; the entries
 * of the backend table that src/core.c calls. */
#include "ocl.h"

gan_status ocl_check_alloc(gan_ctx *c, size_t bytes, const char *what)
{
    if (bytes <= ocl_st(c)->max_alloc) return GAN_OK;
    return GAN_FAIL(c, GAN_ERR_DEVICE_LIMIT,
                    "%s of %zu bytes is larger than one buffer may be on %s: CL_DEVICE_MAX_MEM_ALLOC_SIZE %llu bytes",
                    what, bytes, c->device_name, (unsigned long long)ocl_st(c)->max_alloc);
}

gan_status ocl_buf_alloc(gan_ctx *c, size_t bytes, const char *what, void **out)
{
    *out = NULL;
    gan_status st = ocl_check_alloc(c, bytes, what);
    if (st) return st;
    cl_int err;
    cl_mem m = clCreateBuffer(ocl_st(c)->context, CL_MEM_READ_WRITE, bytes, NULL, &err);
    if (err != CL_SUCCESS)
        return GAN_FAIL(c, GAN_ERR_OPENCL, "clCreateBuffer: %s (%d) for %s of %zu bytes", ocl_error_name(err),
                        (int)err, what, bytes);
    *out = m;
    return GAN_OK;
}

void ocl_buf_free(gan_ctx *c, void *buf)
{
    (void)c;
    if (buf) clReleaseMemObject((cl_mem)buf);
}

gan_status ocl_buf_write(gan_ctx *c, void *buf, const void *src, size_t bytes)
{
    gan_status st = GAN_OK;
    CL_CHECK(c, clEnqueueWriteBuffer, (ocl_st(c)->queue, (cl_mem)buf, CL_TRUE, 0, bytes, src, 0, NULL, NULL));
cleanup:
    return st;
}

gan_status ocl_buf_read(gan_ctx *c, const void *buf, void *dst, size_t bytes)
{
    gan_status st = GAN_OK;
    CL_CHECK(c, clEnqueueReadBuffer, (ocl_st(c)->queue, (cl_mem)buf, CL_TRUE, 0, bytes, dst, 0, NULL, NULL));
cleanup:
    return st;
}

/* Non-blocking, and flushed so that a GPU starts on the queue now rather
 * than when the host first waits. */
gan_status ocl_buf_read_start(gan_ctx *c, const void *buf, void *dst, size_t bytes, void **ev)
{
    gan_status st = GAN_OK;
    cl_event e = NULL;
    *ev = NULL;
    CL_CHECK(c, clEnqueueReadBuffer, (ocl_st(c)->queue, (cl_mem)buf, CL_FALSE, 0, bytes, dst, 0, NULL, &e));
    *ev = e;
    CL_CHECK(c, clFlush, (ocl_st(c)->queue));
cleanup:
    return st;
}

gan_status ocl_event_wait(gan_ctx *c, void *ev)
{
    gan_status st = GAN_OK;
    cl_event e = ev;
    if (!e) return GAN_OK;
    CL_CHECK(c, clWaitForEvents, (1, &e));
cleanup:
    if (e) clReleaseEvent(e);
    return st;
}

void ocl_event_release(gan_ctx *c, void *ev)
{
    (void)c;
    if (ev) clReleaseEvent((cl_event)ev);
}

gan_status ocl_host_alloc(gan_ctx *c, size_t bytes, void **ptr, void **handle)
{
    gan_status st = GAN_OK;
    cl_int err;
    *ptr = *handle = NULL;
    if (bytes == 0) bytes = 4;
    cl_mem m = clCreateBuffer(ocl_st(c)->context, CL_MEM_READ_WRITE | CL_MEM_ALLOC_HOST_PTR, bytes, NULL, &err);
    if (err != CL_SUCCESS)
        return GAN_FAIL(c, GAN_ERR_OPENCL, "clCreateBuffer: %s (%d) for %zu bytes of host memory",
                        ocl_error_name(err), (int)err, bytes);
    void *p = clEnqueueMapBuffer(ocl_st(c)->queue, m, CL_TRUE, CL_MAP_READ | CL_MAP_WRITE, 0, bytes, 0, NULL, NULL,
                                 &err);
    if (err != CL_SUCCESS || !p) {
        clReleaseMemObject(m);
        return GAN_FAIL(c, GAN_ERR_OPENCL, "clEnqueueMapBuffer: %s (%d) for %zu bytes of host memory",
                        ocl_error_name(err), (int)err, bytes);
    }
    *ptr = p;
    *handle = m;
    return st;
}

void ocl_host_free(gan_ctx *c, void *ptr, void *handle)
{
    cl_mem m = handle;
    if (!m) return;
    if (ptr && ocl_st(c) && ocl_st(c)->queue) {
        clEnqueueUnmapMemObject(ocl_st(c)->queue, m, ptr, 0, NULL, NULL);
        clFinish(ocl_st(c)->queue);
    }
    clReleaseMemObject(m);
}

gan_status ocl_buf_fill(gan_ctx *c, void *buf, float value, size_t bytes)
{
    gan_status st = GAN_OK;
    CL_CHECK(c, clEnqueueFillBuffer, (ocl_st(c)->queue, (cl_mem)buf, &value, sizeof value, 0, bytes, 0, NULL, NULL));
cleanup:
    return st;
}

gan_status ocl_finish(gan_ctx *c)
{
    gan_status st = GAN_OK;
    if (!ocl_st(c) || !ocl_st(c)->queue) return GAN_OK; /* a context whose init failed */
    CL_CHECK(c, clFinish, (ocl_st(c)->queue));
cleanup:
    return st;
}

const char *ocl_build_log(const gan_ctx *c)
{
    return ocl_st(c) && ocl_st(c)->build_log ? ocl_st(c)->build_log : "";
}

gan_status ocl_workspace(gan_ctx *c, cl_mem *buf, size_t *have, size_t bytes, const char *what)
{
    if (bytes == 0) bytes = 4;
    if (bytes > *have) {
        gan_status st = ocl_check_alloc(c, bytes, what);
        if (st) return st;
        ocl_buf_free(c, *buf);
        gan_mem_track(c, -(long long)*have);
        *buf = NULL;
        *have = 0;
        void *m;
        st = ocl_buf_alloc(c, bytes, what, &m);
        if (st) return st;
        *buf = m;
        *have = bytes;
        gan_mem_track(c, (long long)bytes);
    }
    return GAN_OK;
}

gan_status ocl_scratch(gan_ctx *c, size_t bytes, cl_mem *out)
{
    ocl_state *o = ocl_st(c);
    gan_status st = ocl_workspace(c, &o->scratch, &o->scratch_bytes, bytes, "the workspace");
    *out = o->scratch;
    return st;
}
