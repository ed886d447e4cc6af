/* OpenCL runtime: device listing and selection, the backend state (made and
 * freed with the context; its program is built by src/ocl/program.c),
 * kernel lookup and launch. */
#include "ocl.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define MAX_PLATFORMS 16
#define MAX_DEVICES 64

typedef struct dev_entry {
    int p, d;
    cl_platform_id platform;
    cl_device_id device;
    char pname[128], dname[128];
    cl_device_type type;
} dev_entry;

/* Enumerate all platforms and devices. No platform at all is not an error
 * here (count 0); the caller decides. */
static gan_status enum_devices(gan_ctx *c, dev_entry *out, int cap, int *count)
{
    gan_status st = GAN_OK;
    cl_platform_id plats[MAX_PLATFORMS];
    cl_uint np = 0;
    *count = 0;
    cl_int err = clGetPlatformIDs(MAX_PLATFORMS, plats, &np);
    if (err == -1001 /* CL_PLATFORM_NOT_FOUND_KHR */ || np == 0) return GAN_OK;
    CL_CHECK(c, clGetPlatformIDs, (MAX_PLATFORMS, plats, &np));
    if (np > MAX_PLATFORMS) np = MAX_PLATFORMS;
    for (cl_uint p = 0; p < np; p++) {
        cl_device_id devs[MAX_DEVICES];
        cl_uint nd = 0;
        err = clGetDeviceIDs(plats[p], CL_DEVICE_TYPE_ALL, MAX_DEVICES, devs, &nd);
        if (err == CL_DEVICE_NOT_FOUND) continue;
        CL_CHECK(c, clGetDeviceIDs, (plats[p], CL_DEVICE_TYPE_ALL, MAX_DEVICES, devs, &nd));
        if (nd > MAX_DEVICES) nd = MAX_DEVICES;
        for (cl_uint d = 0; d < nd && *count < cap; d++) {
            dev_entry *e = &out[(*count)++];
            memset(e, 0, sizeof *e);
            e->p = (int)p;
            e->d = (int)d;
            e->platform = plats[p];
            e->device = devs[d];
            CL_CHECK(c, clGetPlatformInfo, (plats[p], CL_PLATFORM_NAME, sizeof e->pname - 1, e->pname, NULL));
            CL_CHECK(c, clGetDeviceInfo, (devs[d], CL_DEVICE_NAME, sizeof e->dname - 1, e->dname, NULL));
            CL_CHECK(c, clGetDeviceInfo, (devs[d], CL_DEVICE_TYPE, sizeof e->type, &e->type, NULL));
        }
    }
cleanup:
    return st;
}

static const char *type_name(cl_device_type t)
{
    if (t & CL_DEVICE_TYPE_GPU) return "GPU";
    if (t & CL_DEVICE_TYPE_CPU) return "CPU";
    if (t & CL_DEVICE_TYPE_ACCELERATOR) return "accelerator";
    return "other";
}

static size_t list_into(char *buf, size_t cap, size_t len, const dev_entry *e, int n)
{
    for (int i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "  %d:%d  %s: %s (%s)\n", e[i].p, e[i].d, e[i].pname,
                                e[i].dname, type_name(e[i].type));
    return len;
}

gan_status gan_list_devices(char *buf, size_t cap, char *errbuf, size_t errcap)
{
    gan_ctx tmp;
    memset(&tmp, 0, sizeof tmp);
    dev_entry devs[MAX_DEVICES];
    int n = 0;
    gan_status st = enum_devices(&tmp, devs, MAX_DEVICES, &n);
    if (st) {
        snprintf(errbuf, errcap, "%s", tmp.err);
        return st;
    }
    size_t len = (size_t)snprintf(buf, cap, "%-5s %-28s %-40s %-5s %4s %10s %9s %6s  %-8s %s\n", "P:D", "platform",
                                  "device", "type", "CUs", "global MiB", "local KiB", "max WG", "GEMM", "OpenCL C");
    /* the GEMM path a context on the device takes by default (src/ocl/gemm.c:
     * own kernels on CPU devices), or as GANCL_GEMM forces it; a tune file
     * may move single shapes (gancl check tells) */
    const char *genv = getenv("GANCL_GEMM");
    int gforced = genv && (!strcmp(genv, "own") || !strcmp(genv, "clblast"));
    for (int i = 0; i < n && len < cap; i++) {
        cl_uint cus = 0;
        cl_ulong gmem = 0, lmem = 0;
        size_t wg = 0;
        char clc[64] = "";
        dev_entry *e = &devs[i];
        if (clGetDeviceInfo(e->device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cus, &cus, NULL) ||
            clGetDeviceInfo(e->device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof gmem, &gmem, NULL) ||
            clGetDeviceInfo(e->device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof lmem, &lmem, NULL) ||
            clGetDeviceInfo(e->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof wg, &wg, NULL) ||
            clGetDeviceInfo(e->device, CL_DEVICE_OPENCL_C_VERSION, sizeof clc - 1, clc, NULL)) {
            snprintf(errbuf, errcap, "clGetDeviceInfo failed for device %d:%d (%s)", e->p, e->d, e->dname);
            return GAN_ERR_OPENCL;
        }
        char pd[16];
        snprintf(pd, sizeof pd, "%d:%d", e->p, e->d);
        const char *gemm = gforced ? (!strcmp(genv, "own") ? "own" : "CLBlast")
                                   : (e->type & CL_DEVICE_TYPE_CPU) ? "own" : "CLBlast";
        len += (size_t)snprintf(buf + len, cap - len, "%-5s %-28.28s %-40.40s %-5s %4u %10llu %9llu %6zu  %-8s %s\n",
                                pd, e->pname, e->dname, type_name(e->type), cus, (unsigned long long)(gmem >> 20),
                                (unsigned long long)(lmem >> 10), wg, gemm, clc);
    }
    if (n == 0) snprintf(buf + len, cap - len, "(no OpenCL platform or device found; `--device cpu` runs the reference)\n");
    return GAN_OK;
}

static int icontains(const char *hay, const char *needle)
{
    size_t n = strlen(needle);
    for (const char *h = hay; *h; h++) {
        size_t i = 0;
        while (i < n && h[i] && tolower((unsigned char)h[i]) == tolower((unsigned char)needle[i])) i++;
        if (i == n) return 1;
    }
    return n == 0;
}

static gan_status select_device(gan_ctx *c, const char *sel, dev_entry *devs, int n, int *pick)
{
    char list[4096] = "";
    list_into(list, sizeof list, 0, devs, n);
    if (n == 0)
        return GAN_FAIL(c, GAN_ERR_NO_DEVICE,
                        "no OpenCL platform or device found (install an ICD such as pocl-opencl-icd, or use "
                        "--device cpu for the reference backend)");
    if (!sel || !*sel) {
        *pick = 0;
        for (int i = 0; i < n; i++)
            if (devs[i].type & CL_DEVICE_TYPE_GPU) {
                *pick = i;
                break;
            }
        return GAN_OK;
    }
    int p, d, used = 0;
    if (sscanf(sel, "%d:%d%n", &p, &d, &used) == 2 && sel[used] == 0) {
        for (int i = 0; i < n; i++)
            if (devs[i].p == p && devs[i].d == d) {
                *pick = i;
                return GAN_OK;
            }
        return GAN_FAIL(c, GAN_ERR_NO_DEVICE, "no OpenCL device %d:%d; devices are:\n%s(or cpu for the reference)", p,
                        d, list);
    }
    int found = -1, matches = 0;
    for (int i = 0; i < n; i++) {
        char full[300];
        snprintf(full, sizeof full, "%s %s", devs[i].pname, devs[i].dname);
        if (icontains(full, sel)) {
            matches++;
            if (found < 0) found = i;
        }
    }
    if (matches == 1) {
        *pick = found;
        return GAN_OK;
    }
    if (matches == 0)
        return GAN_FAIL(c, GAN_ERR_NO_DEVICE, "device selector '%s' matches no device; devices are:\n%s(or cpu for the reference)",
                        sel, list);
    return GAN_FAIL(c, GAN_ERR_NO_DEVICE, "device selector '%s' matches %d devices; pick one by P:D:\n%s", sel, matches,
                    list);
}

gan_status ocl_ctx_init(gan_ctx *c, const char *selector)
{
    gan_status st = GAN_OK;
    dev_entry devs[MAX_DEVICES];
    int n = 0, pick = 0;
    cl_int err;
    ocl_state *o = calloc(1, sizeof *o);
    if (!o) return GAN_FAIL(c, GAN_ERR_NOMEM, "OpenCL backend state");
    c->be = o;
    TRY(enum_devices(c, devs, MAX_DEVICES, &n));
    TRY(select_device(c, selector, devs, n, &pick));
    dev_entry *e = &devs[pick];
    o->platform = e->platform;
    o->device = e->device;
    snprintf(c->device_name, sizeof c->device_name, "%d:%d %s: %s", e->p, e->d, e->pname, e->dname);
    o->dev_type = e->type;
    size_t items[16] = {0};
    CL_CHECK(c, clGetDeviceInfo, (e->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof o->max_wg, &o->max_wg, NULL));
    CL_CHECK(c, clGetDeviceInfo, (e->device, CL_DEVICE_MAX_WORK_ITEM_SIZES, sizeof items, items, NULL));
    memcpy(o->max_item, items, sizeof o->max_item); /* OpenCL devices have at least 3 dimensions */
    CL_CHECK(c, clGetDeviceInfo, (e->device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof o->local_mem, &o->local_mem, NULL));
    CL_CHECK(c, clGetDeviceInfo, (e->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof o->max_alloc, &o->max_alloc, NULL));
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)e->platform, 0};
    o->context = clCreateContext(props, 1, &e->device, NULL, NULL, &err);
    if (err != CL_SUCCESS) {
        st = GAN_FAIL(c, GAN_ERR_OPENCL, "clCreateContext: %s (%d)", ocl_error_name(err), (int)err);
        goto cleanup;
    }
    const char *prof = getenv("GANCL_PROFILE");
    o->profile = prof && !strcmp(prof, "1");
    o->queue = clCreateCommandQueue(o->context, e->device, o->profile ? CL_QUEUE_PROFILING_ENABLE : 0, &err);
    if (err != CL_SUCCESS) {
        st = GAN_FAIL(c, GAN_ERR_OPENCL, "clCreateCommandQueue: %s (%d)", ocl_error_name(err), (int)err);
        goto cleanup;
    }
    TRY(ocl_build_program(c));
    TRY(ocl_gemm_init(c));
cleanup:
    return st;
}

void ocl_ctx_free(gan_ctx *c)
{
    ocl_state *o = ocl_st(c);
    if (!o) return;
    if (o->queue) clFinish(o->queue);
    ocl_tune_free(c);
    for (int i = 0; i < o->nkernels; i++) clReleaseKernel(o->kernels[i].k);
    free(o->kernels);
    free(o->build_log);
    if (o->scratch) clReleaseMemObject(o->scratch);
    if (o->gemm_ws) clReleaseMemObject(o->gemm_ws);
    if (o->program) clReleaseProgram(o->program);
    if (o->queue) clReleaseCommandQueue(o->queue);
    if (o->context) clReleaseContext(o->context);
    free(o);
    c->be = NULL;
}

/* ---- launching ----------------------------------------------------------
 * Every launch stays within what the device and the compiled kernel allow,
 * read once (the device's limits at context creation, a kernel's at its
 * first launch): work-group sizes within CL_KERNEL_WORK_GROUP_SIZE,
 * CL_DEVICE_MAX_WORK_GROUP_SIZE and CL_DEVICE_MAX_WORK_ITEM_SIZES, global
 * sizes rounded up to whole work-groups (every kernel guards its index),
 * local memory within CL_DEVICE_LOCAL_MEM_SIZE, and the kernels shaped for
 * CPUs (reqd_work_group_size(1, 1, 1): one work-item per work-group, each
 * doing a whole register tile) only on CPU devices, where a GPU would run
 * one thread of each of its warps or wavefronts. A launch beyond a limit
 * is a named error rather than the driver's CL_INVALID_WORK_GROUP_SIZE or
 * CL_OUT_OF_RESOURCES. */

static gan_status kernel_entry(gan_ctx *c, const char *name, ocl_kernel_entry **out)
{
    ocl_state *o = ocl_st(c);
    gan_status st = GAN_OK;
    ocl_kernel_entry *e = NULL;
    for (int i = 0; i < o->nkernels && !e; i++)
        if (strcmp(o->kernels[i].name, name) == 0) e = &o->kernels[i];
    if (!e) return GAN_FAIL(c, GAN_ERR_BUILD, "kernel %s is not in the cl/ program", name);
    if (!e->queried) {
        cl_device_id d = o->device;
        /* before any argument is set: the local memory the kernel declares */
        CL_CHECK(c, clGetKernelWorkGroupInfo,
                 (e->k, d, CL_KERNEL_LOCAL_MEM_SIZE, sizeof e->local_static, &e->local_static, NULL));
        CL_CHECK(c, clGetKernelWorkGroupInfo, (e->k, d, CL_KERNEL_WORK_GROUP_SIZE, sizeof e->wg_max, &e->wg_max, NULL));
        CL_CHECK(c, clGetKernelWorkGroupInfo, (e->k, d, CL_KERNEL_COMPILE_WORK_GROUP_SIZE, sizeof e->reqd, e->reqd, NULL));
        e->queried = 1;
    }
    *out = e;
cleanup:
    return st;
}

gan_status ocl_kernel(gan_ctx *c, const char *name, cl_kernel *out)
{
    ocl_kernel_entry *e;
    gan_status st = kernel_entry(c, name, &e);
    if (!st) *out = e->k;
    return st;
}

int ocl_cpu_kernels_ok(const gan_ctx *c) { return (ocl_st(c)->dev_type & CL_DEVICE_TYPE_CPU) != 0; }

/* The most work-items of kernel e in one work-group on this device. */
static size_t wg_limit(const gan_ctx *c, const ocl_kernel_entry *e)
{
    return e->wg_max < ocl_st(c)->max_wg ? e->wg_max : ocl_st(c)->max_wg;
}

static int requires_one(const ocl_kernel_entry *e) { return e->reqd[0] == 1 && e->reqd[1] == 1 && e->reqd[2] == 1; }

static gan_status set_args(gan_ctx *c, cl_kernel k, const char *name, const char *fmt, va_list ap,
                           size_t *local_bytes)
{
    *local_bytes = 0;
    for (cl_uint i = 0; fmt[i]; i++) {
        cl_int err;
        switch (fmt[i]) {
        case 'T': {
            const gan_tensor *t = va_arg(ap, const gan_tensor *);
            cl_mem m = t ? ocl_mem(t) : NULL;
            err = clSetKernelArg(k, i, sizeof m, &m);
            break;
        }
        case 'M': {
            cl_mem m = va_arg(ap, cl_mem);
            err = clSetKernelArg(k, i, sizeof m, &m);
            break;
        }
        case 'i': {
            cl_int v = va_arg(ap, int);
            err = clSetKernelArg(k, i, sizeof v, &v);
            break;
        }
        case 'u': {
            cl_uint v = va_arg(ap, uint32_t);
            err = clSetKernelArg(k, i, sizeof v, &v);
            break;
        }
        case 'l': {
            cl_ulong v = va_arg(ap, uint64_t);
            err = clSetKernelArg(k, i, sizeof v, &v);
            break;
        }
        case 'f': {
            cl_float v = (cl_float)va_arg(ap, double);
            err = clSetKernelArg(k, i, sizeof v, &v);
            break;
        }
        case 'L': {
            size_t bytes = va_arg(ap, size_t);
            *local_bytes += bytes;
            err = clSetKernelArg(k, i, bytes, NULL);
            break;
        }
        default:
            return GAN_FAIL(c, GAN_ERR_ARG, "kernel %s: bad argument code '%c'", name, fmt[i]);
        }
        if (err != CL_SUCCESS)
            return GAN_FAIL(c, GAN_ERR_OPENCL, "clSetKernelArg: %s (%d) for argument %u of kernel %s",
                            ocl_error_name(err), (int)err, i, name);
    }
    return GAN_OK;
}

/* "64 x 1 x 1" */
static const char *dims_str(const size_t *v, cl_uint dims, char *buf, size_t cap)
{
    size_t len = 0;
    buf[0] = 0;
    for (cl_uint d = 0; d < dims && len < cap; d++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%zu", d ? " x " : "", v[d]);
    return buf;
}

static gan_status launch(gan_ctx *c, const char *name, cl_uint dims, const size_t *global, const size_t *local,
                         const char *fmt, va_list ap)
{
    ocl_state *o = ocl_st(c);
    ocl_kernel_entry *e;
    gan_status st = kernel_entry(c, name, &e);
    if (st) return st;
    char b1[64], b2[64];
    if (dims < 1 || dims > 3) return GAN_FAIL(c, GAN_ERR_ARG, "kernel %s: %u dimensions (1..3)", name, dims);
    if (requires_one(e) && !ocl_cpu_kernels_ok(c))
        return GAN_FAIL(c, GAN_ERR_UNSUPPORTED,
                        "kernel %s is shaped for CPU devices (reqd_work_group_size(1, 1, 1): one work-item per "
                        "work-group) and does not run on %s, which is not a CPU device",
                        name, c->device_name);
    if (!local && e->reqd[0]) local = e->reqd;
    size_t g[3], items = 1;
    for (cl_uint d = 0; d < dims; d++) {
        if (global[d] == 0) return GAN_OK; /* nothing to do (and not a valid NDRange) */
        g[d] = global[d];
        if (!local) continue;
        if (local[d] == 0) return GAN_FAIL(c, GAN_ERR_ARG, "kernel %s: local size 0 in dimension %u", name, d);
        if (local[d] > o->max_item[d])
            return GAN_FAIL(c, GAN_ERR_DEVICE_LIMIT,
                            "kernel %s: work-group %s exceeds the device's CL_DEVICE_MAX_WORK_ITEM_SIZES %s on %s",
                            name, dims_str(local, dims, b1, sizeof b1), dims_str(o->max_item, dims, b2, sizeof b2),
                            c->device_name);
        items *= local[d];
        g[d] = (global[d] + local[d] - 1) / local[d] * local[d];
    }
    if (local && e->reqd[0] && memcmp(local, e->reqd, dims * sizeof *local))
        return GAN_FAIL(c, GAN_ERR_ARG, "kernel %s: work-group %s, but the kernel requires %s", name,
                        dims_str(local, dims, b1, sizeof b1), dims_str(e->reqd, 3, b2, sizeof b2));
    if (local && items > wg_limit(c, e))
        return GAN_FAIL(c, GAN_ERR_DEVICE_LIMIT,
                        "kernel %s: a work-group of %zu work-items exceeds the %zu this device allows for it "
                        "(CL_KERNEL_WORK_GROUP_SIZE %zu, CL_DEVICE_MAX_WORK_GROUP_SIZE %zu on %s)",
                        name, items, wg_limit(c, e), e->wg_max, o->max_wg, c->device_name);
    size_t local_bytes;
    st = set_args(c, e->k, name, fmt, ap, &local_bytes);
    if (st) return st;
    if (e->local_static + local_bytes > o->local_mem)
        return GAN_FAIL(c, GAN_ERR_DEVICE_LIMIT,
                        "kernel %s needs %llu bytes of local memory (%zu in arguments, %llu declared), more than "
                        "CL_DEVICE_LOCAL_MEM_SIZE %llu on %s",
                        name, (unsigned long long)(e->local_static + local_bytes), local_bytes,
                        (unsigned long long)e->local_static, (unsigned long long)o->local_mem, c->device_name);
    cl_event ev = NULL;
    cl_int err = clEnqueueNDRangeKernel(o->queue, e->k, dims, NULL, g, local, 0, NULL, o->profile ? &ev : NULL);
    if (err != CL_SUCCESS)
        return GAN_FAIL(c, GAN_ERR_OPENCL, "clEnqueueNDRangeKernel: %s (%d) for kernel %s (global %s, local %s)",
                        ocl_error_name(err), (int)err, name, dims_str(g, dims, b1, sizeof b1),
                        local ? dims_str(local, dims, b2, sizeof b2) : "driver's");
    if (ev) ocl_prof_event(c, name, ev);
    return GAN_OK;
}

void ocl_prof_event(gan_ctx *c, const char *name, cl_event ev)
{
    ocl_state *o = ocl_st(c);
    cl_ulong t0 = 0, t1 = 0;
    if (clWaitForEvents(1, &ev) == CL_SUCCESS &&
        clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL) == CL_SUCCESS &&
        clGetEventProfilingInfo(ev, CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL) == CL_SUCCESS) {
        int i = 0;
        while (i < o->nprof && strcmp(o->prof[i].name, name)) i++;
        if (i < (int)(sizeof o->prof / sizeof o->prof[0])) {
            if (i == o->nprof) {
                o->nprof++;
                snprintf(o->prof[i].name, sizeof o->prof[i].name, "%s", name);
                o->prof[i].ms = 0;
                o->prof[i].calls = 0;
            }
            o->prof[i].ms += (double)(t1 - t0) * 1e-6;
            o->prof[i].calls++;
        }
    }
    clReleaseEvent(ev);
}

size_t gan_ctx_profile(gan_ctx *c, char *buf, size_t cap, int reset)
{
    ocl_state *o = ocl_st(c);
    size_t len = 0;
    if (cap) buf[0] = 0;
    if (gan_ctx_backend(c) != GAN_BACKEND_OCL) return 0;
    if (!o->profile) return (size_t)snprintf(buf, cap, "(set GANCL_PROFILE=1 to time kernels)\n");
    double total = 0;
    for (int i = 0; i < o->nprof; i++) total += o->prof[i].ms;
    int order[128];
    for (int i = 0; i < o->nprof; i++) {
        int j = i;
        for (; j > 0 && o->prof[order[j - 1]].ms < o->prof[i].ms; j--) order[j] = order[j - 1];
        order[j] = i;
    }
    for (int k = 0; k < o->nprof && len < cap; k++) {
        const struct ocl_prof *p = &o->prof[order[k]];
        len += (size_t)snprintf(buf + len, cap - len, "%-28s %10.2f ms %5.1f%% %7ld calls\n", p->name, p->ms,
                                total > 0 ? 100 * p->ms / total : 0, p->calls);
    }
    if (len < cap) len += (size_t)snprintf(buf + len, cap - len, "%-28s %10.2f ms\n", "all", total);
    if (reset) o->nprof = 0;
    return len;
}

gan_status ocl_local_size(gan_ctx *c, const char *name, size_t *out)
{
    ocl_kernel_entry *e;
    gan_status st = kernel_entry(c, name, &e);
    if (st) return st;
    size_t local = e->reqd[0] ? e->reqd[0] : 64, lim = wg_limit(c, e);
    if (local > lim) local = lim;
    if (local > ocl_st(c)->max_item[0]) local = ocl_st(c)->max_item[0];
    *out = local ? local : 1;
    return GAN_OK;
}

gan_status ocl_run(gan_ctx *c, const char *name, size_t n, const char *fmt, ...)
{
    if (n == 0) return GAN_OK;
    size_t local;
    gan_status st = ocl_local_size(c, name, &local);
    if (st) return st;
    va_list ap;
    va_start(ap, fmt);
    st = launch(c, name, 1, &n, &local, fmt, ap);
    va_end(ap);
    return st;
}

gan_status ocl_run_nd(gan_ctx *c, const char *name, cl_uint dims, const size_t *global, const size_t *local,
                      const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    gan_status st = launch(c, name, dims, global, local, fmt, ap);
    va_end(ap);
    return st;
}

gan_status ocl_reduce_wg(gan_ctx *c, const char *name, size_t n, size_t *out)
{
    ocl_state *o = ocl_st(c);
    ocl_kernel_entry *e;
    gan_status st = kernel_entry(c, name, &e);
    if (st) return st;
    size_t L = 1, lim = wg_limit(c, e);
    if (lim > o->max_item[0]) lim = o->max_item[0];
    while (L * 2 <= 256 && L * 2 <= lim && L < n && e->local_static + L * 2 * sizeof(float) <= o->local_mem)
        L *= 2;
    if (e->local_static + L * sizeof(float) > o->local_mem)
        return GAN_FAIL(c, GAN_ERR_DEVICE_LIMIT,
                        "kernel %s: no room for its reduction in CL_DEVICE_LOCAL_MEM_SIZE %llu on %s", name,
                        (unsigned long long)o->local_mem, c->device_name);
    *out = L;
    return GAN_OK;
}
