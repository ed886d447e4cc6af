/* Per-channel bias for dense and conv layers; y and dy are [N, O, S] with
 * S = H*W (1 for dense). */

__kernel void bias_add(__global float *y, __global const float *b, int O, int S, int n)
{
    int i = (int)get_global_id(0);
    if (i >= n) return;
    y[i] += b[(i / S) % O];
}

/* The same for long rows (conv outputs): work-item (n, o) adds b[o] to one
 * contiguous row of S, with no division per element. */
__kernel void bias_add_rows(__global float *y, __global const float *b, int O, int S, int rows)
{
    int r = (int)get_global_id(0);
    if (r >= rows) return;
    float v = b[r % O];
    __global float *p = y + (size_t)r * S;
    for (int s = 0; s < S; s++) p[s] += v;
}

/* One work-item per channel o: db[o] = sum over n, s of dy[n, o, s], the
 * rows summed 16 lanes at a time (a scalar chain of N*S additions was the
 * classifier's slowest small kernel) and the lanes added at the end. */
__kernel void bias_grad(__global const float *dy, __global float *db, int N, int O, int S)
{
    int o = (int)get_global_id(0);
    if (o >= O) return;
    float16 acc16 = 0.f;
    float acc = 0.f;
    for (int n = 0; n < N; n++) {
        __global const float *p = dy + ((size_t)n * O + o) * S;
        int s = 0;
        for (; s + 16 <= S; s += 16) acc16 += vload16(0, p + s);
        for (; s < S; s++) acc += p[s];
    }
    float8 h8 = acc16.lo + acc16.hi;
    float4 h4 = h8.lo + h8.hi;
    float2 h2 = h4.lo + h4.hi;
    db[o] = acc + (h2.x + h2.y);
}
