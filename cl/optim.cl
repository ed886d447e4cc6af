/* Optimiser steps, one work-item per parameter; p, g and the state
 * tensors are flat arrays of n floats updated in place. */

/* One Adam step of element i: updates m[i] and v[i], returns the new p[i]
 * (the one formula optim_adam and optim_adam_ema share). */
float adam_update(int i, __global const float *p, __global const float *g, __global float *m, __global float *v,
                  float lr, float beta1, float beta2, float eps, float bc1, float bc2)
{
    float gi = g[i];
    float mi = beta1 * m[i] + (1.0f - beta1) * gi;
    float vi = beta2 * v[i] + (1.0f - beta2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    return p[i] - lr * (mi / bc1) / (sqrt(vi / bc2) + eps);
}

/* PyTorch Adam. bc1 = 1 - beta1^t and bc2 = 1 - beta2^t come from the host
 * (computed there in double) so device and reference share them. */
__kernel void optim_adam(__global float *p, __global const float *g, __global float *m, __global float *v, float lr,
                         float beta1, float beta2, float eps, float bc1, float bc2, int n)
{
    int i = (int)get_global_id(0);
    if (i >= n) return;
    p[i] = adam_update(i, p, g, m, v, lr, beta1, beta2, eps, bc1, bc2);
}

/* SGD with momentum (PyTorch, no dampening): vel = momentum*vel + g;
 * p -= lr*vel. */
__kernel void optim_sgd(__global float *p, __global const float *g, __global float *vel, float lr, float momentum,
                        int n)
{
    int i = (int)get_global_id(0);
    if (i >= n) return;
    float vi = momentum * vel[i] + g[i];
    vel[i] = vi;
    p[i] -= lr * vi;
}

/* optim_adam, then the parameter average a += rate * (p - a) with the
 * updated p, in the same pass (p's update is optim_adam's, bit for bit). */
__kernel void optim_adam_ema(__global float *p, __global const float *g, __global float *m, __global float *v,
                             __global float *a, float lr, float beta1, float beta2, float eps, float bc1, float bc2,
                             float rate, int n)
{
    int i = (int)get_global_id(0);
    if (i >= n) return;
    float pi = adam_update(i, p, g, m, v, lr, beta1, beta2, eps, bc1, bc2);
    p[i] = pi;
    a[i] += rate * (pi - a[i]);
}
