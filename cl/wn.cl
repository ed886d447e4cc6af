/* Weight normalization, the fused weight-normalized dense layer (below)
 * and batch mean (the semi-supervised GAN's ops).
 * weightnorm: one work-group per row of v[O, C] (local size a power of
 * two); each work-item sums a strided slice of the row and a local-memory
 * tree adds the slices, then every work-item writes its slice of the
 * result. The row guard zeroes the work instead of returning early: every
 * work-item must reach every barrier (see cl/norm.cl on PoCL). */

/* w[o,:] = g[o] * v[o,:] / ||v[o,:]|| */
__kernel void wn_forward(__global const float *v, __global const float *g, __global float *w, int O, int C,
                         __local float *part)
{
    int o = (int)get_group_id(0), lid = (int)get_local_id(0), L = (int)get_local_size(0);
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
    int o = (int)get_group_id(0), lid = (int)get_local_id(0), L = (int)get_local_size(0);
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
    int k = (int)get_global_id(0);
    if (k >= C) return;
    float acc = 0.0f;
    for (int n = 0; n < N; n++) acc += x[(size_t)n * C + k];
    y[k] = acc / (float)N;
}

__kernel void wn_batch_mean_backward(__global const float *dy, __global float *dx, int N, int C, int total)
{
    int i = (int)get_global_id(0);
    if (i >= total) return;
    dx[i] = dy[i % C] / (float)N;
}

/* ---- wn_dense: the weight-normalized dense layer, its activation and the
 * next layer's Gaussian noise (the semi-supervised discriminator's hot
 * path). The GEMM t = x v^T runs through the GEMM wrapper; the weight
 * normalization is a per-column scale g/norm of t, applied with the bias,
 * the activation and the noise in one pass over [N, O]. ---- */

float wn_hsum16(float16 a)
{
    float8 b = a.lo + a.hi;
    float4 c = b.lo + b.hi;
    float2 d = c.lo + c.hi;
    return d.x + d.y;
}

/* act numbering as gan_act (0 relu, 1 leaky relu, 2 tanh, 3 sigmoid), any
 * other value linear. */
float16 wn_act16(float16 z, int act, float slope)
{
    switch (act) {
    case 0: return select((float16)0.0f, z, z > 0.0f);
    case 1: return select(slope * z, z, z > 0.0f);
    case 2: return tanh(z);
    case 3: {
        float16 e = exp(-fabs(z));
        return select(e / (1.0f + e), 1.0f / (1.0f + e), z >= 0.0f);
    }
    default: return z;
    }
}

/* d act / dz from the output y (leaky relu's slope >= 0 keeps y > 0
 * exactly where z > 0). */
float16 wn_dact16(float16 y, int act, float slope)
{
    switch (act) {
    case 0: return select((float16)0.0f, (float16)1.0f, y > 0.0f);
    case 1: return select((float16)slope, (float16)1.0f, y > 0.0f);
    case 2: return 1.0f - y * y;
    case 3: return y * (1.0f - y);
    default: return (float16)1.0f;
    }
}

/* norm[o] = ||v[o, :]||: one work-item per row, 16 lanes at a time. */
__kernel void wn_row_norm(__global const float *v, __global float *norm, int O, int C)
{
    int o = (int)get_global_id(0);
    if (o >= O) return;
    __global const float *row = v + (size_t)o * C;
    float16 acc = 0.0f;
    int k = 0;
    for (; k + 16 <= C; k += 16) {
        float16 r = vload16(0, row + k);
        acc += r * r;
    }
    float ss = wn_hsum16(acc);
    for (; k < C; k++) ss += row[k] * row[k];
    norm[o] = sqrt(ss);
}

/* y = act(t * g/norm + b), h = y + std * N(0,1) (has_h; std 0: h = y) over
 * t, y, h [N, O] flat (n = N*O elements): one work-item per 32 elements,
 * which are 16 Philox blocks of the noise (philox_normal32_ordered); the
 * per-column scale and bias gathered into lanes, wrapping at row ends. */
__kernel void wn_dense_act(__global const float *t, __global const float *g, __global const float *norm,
                           __global const float *b, __global float *y, __global float *h, int act, float slope,
                           float std, ulong seed, ulong counter, int has_b, int has_h, int O, int n)
{
    int gi = (int)get_global_id(0), i = 32 * gi;
    if (i >= n) return;
    int m = min(32, n - i);
    float gv[32], nv[32], bv[32];
    int o = i % O;
    if (o + 32 <= O) {
        /* within one row (most runs of a wide layer): contiguous columns */
        vstore16(vload16(0, g + o), 0, gv);
        vstore16(vload16(0, g + o + 16), 0, gv + 16);
        vstore16(vload16(0, norm + o), 0, nv);
        vstore16(vload16(0, norm + o + 16), 0, nv + 16);
        vstore16(has_b ? vload16(0, b + o) : (float16)0.0f, 0, bv);
        vstore16(has_b ? vload16(0, b + o + 16) : (float16)0.0f, 0, bv + 16);
    } else {
        for (int k = 0; k < 32; k++) {
            gv[k] = g[o];
            nv[k] = norm[o];
            bv[k] = has_b ? b[o] : 0.0f;
            if (++o == O) o = 0;
        }
    }
    float16 t0, t1;
    if (m == 32) {
        t0 = vload16(0, t + i);
        t1 = vload16(0, t + i + 16);
    } else {
        float tv[32];
        for (int k = 0; k < 32; k++) tv[k] = k < m ? t[i + k] : 0.0f;
        t0 = vload16(0, tv);
        t1 = vload16(1, tv);
    }
    float16 y0 = wn_act16(vload16(0, gv) / vload16(0, nv) * t0 + vload16(0, bv), act, slope);
    float16 y1 = wn_act16(vload16(1, gv) / vload16(1, nv) * t1 + vload16(1, bv), act, slope);
    float16 h0 = y0, h1 = y1;
    if (has_h && std > 0.0f) {
        float16 z0, z1;
        philox_normal32_ordered(seed, counter, 16 * (ulong)gi, &z0, &z1);
        h0 = y0 + std * z0;
        h1 = y1 + std * z1;
    }
    if (m == 32) {
        vstore16(y0, 0, y + i);
        vstore16(y1, 0, y + i + 16);
        if (has_h) {
            vstore16(h0, 0, h + i);
            vstore16(h1, 0, h + i + 16);
        }
        return;
    }
    float yv[32], hv[32];
    vstore16(y0, 0, yv);
    vstore16(y1, 0, yv + 16);
    vstore16(h0, 0, hv);
    vstore16(h1, 0, hv + 16);
    for (int k = 0; k < m; k++) {
        y[i + k] = yv[k];
        if (has_h) h[i + k] = hv[k];
    }
}

/* Backward of wn_dense_act over columns o0 .. o0+15 (one work-item; the
 * last may be narrower), down all N rows: dz = dh * act'(y), dt = dz *
 * g/norm, db = sum_n dz, dg = sum_n dz * t / norm. */
__kernel void wn_dense_grad_cols(__global const float *dh, __global const float *y, __global const float *t,
                                 __global const float *g, __global const float *norm, __global float *dt,
                                 __global float *dg, __global float *db, int act, float slope, int has_dg,
                                 int has_db, int N, int O)
{
    int j = (int)get_global_id(0), o0 = 16 * j;
    if (o0 >= O) return;
    int w = min(16, O - o0);
    float gv[16], nv[16];
    for (int k = 0; k < 16; k++) {
        int o = o0 + min(k, w - 1);
        gv[k] = g[o];
        nv[k] = norm[o];
    }
    float16 nrm = vload16(0, nv), s = vload16(0, gv) / nrm;
    float16 accb = 0.0f, accg = 0.0f;
    for (int n = 0; n < N; n++) {
        size_t at = (size_t)n * O + o0;
        float16 vdh, vy, vt;
        if (w == 16) {
            vdh = vload16(0, dh + at);
            vy = vload16(0, y + at);
            vt = vload16(0, t + at);
        } else {
            float a[16], c[16], e[16];
            for (int k = 0; k < 16; k++) {
                a[k] = k < w ? dh[at + k] : 0.0f;
                c[k] = k < w ? y[at + k] : 0.0f;
                e[k] = k < w ? t[at + k] : 0.0f;
            }
            vdh = vload16(0, a);
            vy = vload16(0, c);
            vt = vload16(0, e);
        }
        float16 d = vdh * wn_dact16(vy, act, slope);
        accb += d;
        accg += d * vt;
        float16 vdt = d * s;
        if (w == 16) {
            vstore16(vdt, 0, dt + at);
        } else {
            float a[16];
            vstore16(vdt, 0, a);
            for (int k = 0; k < w; k++) dt[at + k] = a[k];
        }
    }
    float rb[16], rg[16];
    vstore16(accb, 0, rb);
    vstore16(accg / nrm, 0, rg);
    for (int k = 0; k < w; k++) {
        if (has_db) db[o0 + k] = rb[k];
        if (has_dg) dg[o0 + k] = rg[k];
    }
}

/* dv[o, :] -= (dv[o, :] . v[o, :]) / norm[o]^2 * v[o, :]: the gradient of
 * the direction, from dv = dt^T x (one work-item per row). */
__kernel void wn_project_rows(__global const float *v, __global const float *norm, __global float *dv, int O, int C)
{
    int o = (int)get_global_id(0);
    if (o >= O) return;
    __global const float *row = v + (size_t)o * C;
    __global float *drow = dv + (size_t)o * C;
    float16 acc = 0.0f;
    int k = 0;
    for (; k + 16 <= C; k += 16) acc += vload16(0, drow + k) * vload16(0, row + k);
    float dot = wn_hsum16(acc);
    for (; k < C; k++) dot += drow[k] * row[k];
    float nrm = norm[o], f = dot / (nrm * nrm);
    for (k = 0; k + 16 <= C; k += 16) vstore16(vload16(0, drow + k) - f * vload16(0, row + k), 0, drow + k);
    for (; k < C; k++) drow[k] -= f * row[k];
}
