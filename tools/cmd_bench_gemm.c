/* `gancl bench gemm`: every GEMM shape of the DCGAN and classifier training
 * steps at each --batch-sizes entry (default 64,256) and of the
 * semi-supervised step at its batch (100 per part), recorded from real
 * steps (gan_gemm_record), each timed as gancl runs it: the path and own
 * kernel the context picks (device defaults, tune file, GANCL_GEMM,
 * GANCL_GEMM_TILE). Without --quick also every own kernel that computes
 * the shape's layout and CLBlast, side by side: the evidence for the
 * per-device defaults. Wall time gives GFLOP/s; the process CPU time over
 * the same runs gives GFLOP per CPU second (GFLOP/cpu), which a busy
 * machine disturbs less. tools/bench_gemm_vs_torch.sh puts torch.mm next
 * to the --quick table. Every timed GEMM's first run is checked at sampled
 * elements against double sums (gan_gemm_time). */
#include "tool.h"
#include "gancl/tune.h"
#include "gemm_shapes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct bshape {
    gan_gemm_shape s;
    char model[24]; /* where it first appears: "gan64", "classifier256", "semi100" */
} bshape;

#define MAX_SHAPES 512

/* Record each model's step at each batch size; shapes seen before keep
 * their first label. */
static int record_all(gan_ctx *c, const char *sizes, int semi_batch, uint64_t seed, bshape *out, int *n)
{
    char list[256];
    snprintf(list, sizeof list, "%s", sizes);
    int batches[16], nbatch = 0;
    for (char *save = NULL, *tok = strtok_r(list, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        char *end;
        long b = strtol(tok, &end, 10);
        if (*end || b < 1 || b > 65536 || nbatch == 16) {
            fprintf(stderr, "gancl bench gemm: --batch-sizes wants up to 16 numbers in 1..65536 separated by commas, "
                    "got '%s'\n", sizes);
            return 2;
        }
        batches[nbatch++] = (int)b;
    }
    *n = 0;
    for (int m = 0; m < 3; m++) {
        const char *model = tool_gemm_models[m];
        int semi = !strcmp(model, "semi");
        for (int b = 0; b < (semi ? 1 : nbatch); b++) {
            int batch = semi ? semi_batch : batches[b];
            const gan_gemm_shape *rec;
            gan_status st = gan_gemm_record(c, 1);
            if (!st) st = tool_gemm_step(c, model, batch, seed);
            if (!st) st = gan_gemm_record(c, 0);
            if (st) {
                fprintf(stderr, "gancl bench gemm: recording the %s step at batch %d: %s\n", model, batch,
                        gan_ctx_error(c));
                return 1;
            }
            int nr = gan_gemm_recorded(c, &rec);
            for (int i = 0; i < nr && *n < MAX_SHAPES; i++) {
                int seen = 0;
                for (int j = 0; j < *n && !seen; j++) seen = !memcmp(&out[j].s, &rec[i], sizeof rec[i]);
                if (seen) continue;
                out[*n].s = rec[i];
                snprintf(out[*n].model, sizeof out[*n].model, "%s%d", model, batch);
                (*n)++;
            }
        }
    }
    return 0;
}

static double gflops(const gan_gemm_shape *s, double ms)
{
    return 2.0 * s->M * s->N * s->K * s->batch / (ms * 1e-3) * 1e-9;
}

int cmd_bench_gemm(const tool_opts *o)
{
    const char *sizes = o->batch_sizes ? o->batch_sizes : "64,256";
    const int semi_batch = 100;
    gan_ctx *c = tool_ctx(o->device);
    bshape *sh = calloc(MAX_SHAPES, sizeof *sh);
    int rc = 1, n = 0;
    if (!c || !sh) goto done;
    if (gan_ctx_backend(c) != GAN_BACKEND_OCL) {
        fprintf(stderr, "gancl bench gemm: needs an OpenCL device (--device), not the cpu reference\n");
        rc = 2;
        goto done;
    }
    if ((rc = record_all(c, sizes, semi_batch, o->seed, sh, &n))) goto done;
    rc = 1;
    const char *names[GAN_GEMM_KERNELS_MAX];
    int nk = gan_gemm_kernel_names(names, GAN_GEMM_KERNELS_MAX);
    if (nk > GAN_GEMM_KERNELS_MAX) nk = GAN_GEMM_KERNELS_MAX;
    char desc[1024];
    printf("%s\nGEMMs: %s\n", gan_ctx_device_name(c), gan_gemm_describe(c, desc, sizeof desc));
    printf("%d GEMM shapes of the DCGAN and classifier steps at batch %s and the semi-supervised step at batch %d, "
           "each where it first appears; median of %d after 1 warm-up%s\n",
           n, sizes, semi_batch, o->reps, o->quick ? "" : "; then every own kernel of the layout and CLBlast (GFLOP/s)");
    printf("%-14s %2s %2s %6s %6s %6s %5s %10s %8s %10s  %-14s%s\n", "model", "ta", "tb", "M", "N", "K", "batch",
           "gancl ms", "GFLOP/s", "GFLOP/cpu", "ran", o->quick ? "" : "  others (GFLOP/s)");
    double t_all = 0, c_all = 0, fl_all = 0;
    for (int i = 0; i < n; i++) {
        const gan_gemm_shape *s = &sh[i].s;
        double ms = 0, cpu = 0;
        char ran[64];
        if (gan_gemm_time(c, s, NULL, o->reps, &ms, &cpu, ran, sizeof ran)) {
            fprintf(stderr, "gancl bench gemm: %s\n", gan_ctx_error(c));
            goto done;
        }
        printf("%-14s %2d %2d %6d %6d %6d %5d %10.3f %8.1f %10.1f  %-14s", sh[i].model, s->ta, s->tb, s->M, s->N, s->K,
               s->batch, ms, gflops(s, ms), cpu > 0 ? gflops(s, cpu) : 0.0, ran);
        t_all += ms;
        c_all += cpu;
        fl_all += 2.0 * s->M * s->N * s->K * s->batch;
        for (int k = 0; !o->quick && k <= nk; k++) {
            const char *how = k < nk ? names[k] : "clblast";
            int dot = !strncmp(how, "dot", 3);
            if (k < nk && dot && !(s->ta == 0 && s->tb == 1)) continue;
            double mk = 0;
            /* a path 3x slower than gancl's on the first run is timed once */
            gan_status st = gan_gemm_time(c, s, how, 1, &mk, NULL, NULL, 0);
            if (!st && mk < 3 * ms) st = gan_gemm_time(c, s, how, o->reps, &mk, NULL, NULL, 0);
            if (st) {
                fprintf(stderr, "\ngancl bench gemm: %s\n", gan_ctx_error(c));
                goto done;
            }
            printf("  %s %.1f", how, gflops(s, mk));
        }
        printf("\n");
        fflush(stdout);
    }
    printf("%-14s %2s %2s %6s %6s %6s %5s %10.3f %8.1f %10.1f\n", "all", "", "", "", "", "", "", t_all,
           fl_all / (t_all * 1e-3) * 1e-9, c_all > 0 ? fl_all / (c_all * 1e-3) * 1e-9 : 0.0);
    rc = 0;
done:
    free(sh);
    gan_ctx_free(c);
    return rc;
}
