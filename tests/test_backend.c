/* The backend table's memory entries on each backend: allocation, the
 * blocking and the asynchronous copies, host memory for the latter. */
#include "registry.h"
#include "internal.h"

#include <string.h>

/* The backend table's memory entries on each backend: every entry set,
 * state only where the backend keeps some, and buffers of an awkward size
 * filled (whole and in part), written and read back; a fresh tensor reads
 * zeros even where the memory it gets held other values. */
void test_backend_memory(th *t)
{
    gan_ctx *cs[2] = {t->ref, t->dev};
    for (int k = 0; k < 2 && cs[k]; k++) {
        gan_ctx *c = cs[k];
        const struct gan_backend_ops *b = c->ops;
        if (!b->init || !b->free || !b->buf_alloc || !b->buf_free || !b->buf_write || !b->buf_read || !b->buf_fill ||
            !b->finish || !b->build_log)
            th_fail(t, "backend %s: a table entry is missing", b->name);
        if ((c->be != NULL) != (b->kind == GAN_BACKEND_OCL))
            th_fail(t, "backend %s: state %p (only OpenCL keeps some)", b->name, c->be);
        enum { N = 7 };
        float pat[N], back[N];
        void *buf = NULL;
        if (TH_OK(t, c, b->buf_alloc(c, sizeof pat, "a test buffer", &buf))) continue;
        TH_OK(t, c, b->buf_fill(c, buf, 2.5f, sizeof pat));
        TH_OK(t, c, b->buf_read(c, buf, back, sizeof back));
        for (int i = 0; i < N; i++)
            if (back[i] != 2.5f) th_fail(t, "backend %s: filled [%d] = %g, expected 2.5", b->name, i, back[i]);
        for (int i = 0; i < N; i++) pat[i] = (float)i - 3.25f;
        TH_OK(t, c, b->buf_write(c, buf, pat, sizeof pat));
        TH_OK(t, c, b->buf_fill(c, buf, -1.f, 3 * sizeof(float)));
        TH_OK(t, c, b->finish(c));
        TH_OK(t, c, b->buf_read(c, buf, back, sizeof back));
        for (int i = 0; i < N; i++)
            if (back[i] != (i < 3 ? -1.f : pat[i]))
                th_fail(t, "backend %s: [%d] = %g after a write and a fill of 3", b->name, i, back[i]);
        b->buf_free(c, buf);
        size_t now0, now1, peak;
        gan_ctx_memory(c, &now0, &peak);
        gan_tensor x;
        float ones[64];
        for (int i = 0; i < 64; i++) ones[i] = 1.f;
        for (int round = 0; round < 2; round++) {
            if (TH_OK(t, c, gan_tensor_alloc4(c, &x, GAN_F32, 2, 8, 8, 0, 0))) break;
            TH_OK(t, c, gan_tensor_read(c, &x, ones));
            for (int i = 0; i < 64; i++)
                if (ones[i] != 0.f) {
                    th_fail(t, "backend %s: a fresh tensor reads %g at %d", b->name, ones[i], i);
                    break;
                }
            for (int i = 0; i < 64; i++) ones[i] = 1.f;
            TH_OK(t, c, gan_tensor_write(c, &x, ones));
            gan_tensor_free(c, &x);
        }
        gan_ctx_memory(c, &now1, &peak);
        if (now1 != now0) th_fail(t, "backend %s: %zu bytes held before a tensor, %zu after it", b->name, now0, now1);
    }
}

/* The asynchronous copy data-parallel training overlaps with the backward
 * (src/train/dist.c): into host memory from host_alloc, ordered after the
 * commands queued before it (a fill queued just before is what it reads),
 * complete once event_wait returns; a copy dropped with event_release
 * leaves the queue sound; only the reference, which computes on the
 * calling thread, has none. */
void test_async_copy(th *t)
{
    gan_ctx *cs[2] = {t->ref, t->dev};
    for (int k = 0; k < 2 && cs[k]; k++) {
        gan_ctx *c = cs[k];
        const struct gan_backend_ops *b = c->ops;
        if (!b->host_alloc || !b->host_free) th_fail(t, "backend %s: no host_alloc", b->name);
        int async = b->buf_read_start && b->event_wait && b->event_release;
        if (async != (b->kind == GAN_BACKEND_OCL))
            th_fail(t, "backend %s: asynchronous copies %s", b->name, async ? "present" : "missing");
        if (!async || !b->host_alloc) continue;
        enum { N = 100003 }; /* not a multiple of any vector width */
        void *buf = NULL, *h = NULL, *ev = NULL, *ev2 = NULL;
        float *host = NULL;
        if (TH_OK(t, c, b->buf_alloc(c, N * sizeof(float), "a test buffer", &buf))) continue;
        if (!TH_OK(t, c, b->host_alloc(c, N * sizeof(float), (void **)&host, &h))) {
            for (int round = 0; round < 3; round++) {
                float v = 1.5f + (float)round;
                memset(host, 0, N * sizeof(float));
                TH_OK(t, c, b->buf_fill(c, buf, v, N * sizeof(float)));
                if (TH_OK(t, c, b->buf_read_start(c, buf, host, N * sizeof(float), &ev))) break;
                /* a second copy of the same, dropped: the first still completes */
                if (!TH_OK(t, c, b->buf_read_start(c, buf, host, N * sizeof(float), &ev2))) b->event_release(c, ev2);
                TH_OK(t, c, b->event_wait(c, ev));
                int bad = -1;
                for (int i = 0; i < N && bad < 0; i++)
                    if (host[i] != v) bad = i;
                if (bad >= 0) th_fail(t, "backend %s: round %d: [%d] = %g after the copy, expected %g", b->name,
                                      round, bad, host[bad], v);
            }
            TH_OK(t, c, b->finish(c));
            b->host_free(c, host, h);
        }
        b->buf_free(c, buf);
    }
}
