/* Weight normalization and batch mean (the semi-supervised GAN's ops).
 * weightnorm: one work-group per row of v[O, C] (local size a power of
 * two); each work-item sums a strided slice of the row and a local-memory
 * tree adds the slices, then every work-item writes its slice of the
 * result. The row guard zeroes the work instead of returning early: every
 * work-item must reach every barrier (see cl/norm.cl on PoCL). */

/* w[o,:] = g[o] * v[o,:] / ||v[o,:]|| */
__kernel void wn_forward(__global const float *v, __global const float *g, __global float *w, int O, int C,
                         __local float *part)
{
    int o = get_group_id(0), lid = get_local_id(0), L = get_local_size(0);
    int n = o < O ? C : 0;
    __global const float *row = v + (size_t)o * C;
    float ss = 0.0f;
    for (int k = lid; k < n; k += L) ss += row[k] * row[k];
    ss = group_sum(part, ss);
    if (o < O) {
        float scale = g[o] / sqrt(ss);
        for (int k = lid; k < n; k += L) w[(size_t)o * C + k] = scale * row[k];
    }
}

/* n = ||v_row||, s = sum(dw_row * v_row): dg = s / n,
 * dv = (g / n) dw - (g s / n^3) v; dv or dg may be absent (has_* = 0). */
__kernel void wn_backward(__global const float *v, __global const float *g, __global const float *dw,
                          __global float *dv, __global float *dg, int has_dv, int has_dg, int O, int C,
                          __local float *part)
{
    int o = get_group_id(0), lid = get_local_id(0), L = get_local_size(0);
    int n = o < O ? C : 0;
    __global const float *row = v + (size_t)o * C, *drow = dw + (size_t)o * C;
    float ss = 0.0f, s = 0.0f;
    for (int k = lid; k < n; k += L) {
        ss += row[k] * row[k];
        s += drow[k] * row[k];
    }
    ss = group_sum(part, ss);
    s = group_sum(part, s);
    if (o < O) {
        float nrm = sqrt(ss);
        if (has_dg && lid == 0) dg[o] = s / nrm;
        if (has_dv) {
            float a = g[o] / nrm, b = g[o] * s / (nrm * ss);
            for (int k = lid; k < n; k += L) dv[(size_t)o * C + k] = a * drow[k] - b * row[k];
        }
    }
}

/* One work-item per column: y[c] = mean over n of x[n, c] (adjacent
 * work-items read adjacent columns). */
__kernel void wn_batch_mean_forward(__global const float *x, __global float *y, int N, int C)
{
    int k = get_global_id(0);
    if (k >= C) return;
    float acc = 0.0f;
    for (int n = 0; n < N; n++) acc += x[(size_t)n * C + k];
    y[k] = acc / (float)N;
}

__kernel void wn_batch_mean_backward(__global const float *dy, __global float *dx, int N, int C, int total)
{
    int i = get_global_id(0);
    if (i >= total) return;
    dx[i] = dy[i % C] / (float)N;
}
