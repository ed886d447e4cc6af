/* Helpers every kernel file may use (this file is loaded first). */

/* Vector types and loads of a width given as a macro argument:
 * CL_FLOATN(8) is float8, CL_VLOADN(8) vload8. */
#define CL_CAT(a, b) a##b
#define CL_FLOATN(VW) CL_CAT(float, VW)
#define CL_VLOADN(VW) CL_CAT(vload, VW)
#define CL_VSTOREN(VW) CL_CAT(vstore, VW)

/* Sum of v over the work-group (local size a power of two). Every
 * work-item must call it: PoCL 3.1 loops forever when a work-item skips a
 * barrier, even when the whole group does, so guard work, not calls.
 * part holds get_local_size(0) floats and is free for reuse on return. */
float group_sum(__local float *part, float v)
{
    int lid = (int)get_local_id(0);
    part[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int h = (int)get_local_size(0) / 2; h > 0; h >>= 1) {
        if (lid < h) part[lid] += part[lid + h];
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = part[0];
    barrier(CLK_LOCAL_MEM_FENCE);
    return r;
}
