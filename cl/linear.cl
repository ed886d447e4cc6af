/* Per-channel bias for dense and conv layers; y and dy are [N, O, S] with
 * S = H*W (1 for dense). */

__kernel void bias_add(__global float *y, __global const float *b, int O, int S, int n)
{
    int i = get_global_id(0);
    if (i >= n) return;
    y[i] += b[(i / S) % O];
}

/* One work-item per channel o: db[o] = sum over n, s of dy[n, o, s]. */
__kernel void bias_grad(__global const float *dy, __global float *db, int N, int O, int S)
{
    int o = get_global_id(0);
    if (o >= O) return;
    float acc = 0.f;
    for (int n = 0; n < N; n++) {
        __global const float *p = dy + ((size_t)n * O + o) * S;
        for (int s = 0; s < S; s++) acc += p[s];
    }
    db[o] = acc;
}
