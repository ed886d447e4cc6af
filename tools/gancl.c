/* gancl: the command-line tool. Parses the subcommand and its flags and
 * hands over to tools/cmd_*.c; the only place besides tests that exits. */
#include "gancl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char usage[] =
    "usage: gancl COMMAND [options]\n"
    "\n"
    "commands:\n"
    "  devices              list OpenCL platforms and devices (P:D, memory, limits)\n"
    "  check                run the DCGAN layers forward and backward on the device and\n"
    "                       compare every output with the cpu reference\n"
    "  bench ops            time the DCGAN layers (forward, backward, GFLOP/s) on the\n"
    "                       device and on the cpu reference\n"
    "  bench gan            time the DCGAN training step (ms/step, images/s)\n"
    "  bench gemm           time the GEMMs of the DCGAN layers through both device GEMM\n"
    "                       paths (CLBlast and the cl/gemm.cl kernels)\n"
    "\n"
    "options:\n"
    "  --device SEL         P:D, a case-insensitive name substring, or cpu (the reference);\n"
    "                       default $GANCL_DEVICE, else the first GPU, else the first device\n"
    "  --batch-size N       batch size (bench: 64, check: 8)\n"
    "  --reps N             timed repetitions per pass, median reported (bench: 5)\n"
    "  --skip-ref           bench: do not time the cpu reference\n"
    "  --seed N             input seed (default 1)\n"
    "\n"
    "environment:\n"
    "  GANCL_DEVICE         default device selector\n"
    "  GANCL_KERNEL_DIR     load cl/*.cl from this directory instead of the embedded copies\n"
    "  GANCL_FAST_MATH=1    build kernels with -cl-fast-relaxed-math\n"
    "  GANCL_GEMM=own|clblast  device GEMM path (default: own kernels on CPU devices,\n"
    "                       CLBlast elsewhere)\n";

gan_ctx *tool_ctx(const char *selector)
{
    gan_ctx *c = NULL;
    gan_status st = gan_ctx_create(&c, selector);
    if (st != GAN_OK) {
        fprintf(stderr, "gancl: cannot open device: %s\n", gan_ctx_error(c));
        gan_ctx_free(c);
        return NULL;
    }
    return c;
}

static int parse_int(const char *flag, const char *v, int lo, int hi, int *out)
{
    char *end;
    long x = v ? strtol(v, &end, 10) : 0;
    if (!v || !*v || *end || x < lo || x > hi) {
        fprintf(stderr, "gancl: %s needs an integer in %d..%d, got '%s'\n", flag, lo, hi, v ? v : "");
        return -1;
    }
    *out = (int)x;
    return 0;
}

static int cmd_devices(void)
{
    static char buf[1 << 16];
    char err[1024];
    if (gan_list_devices(buf, sizeof buf, err, sizeof err) != GAN_OK) {
        fprintf(stderr, "gancl devices: %s\n", err);
        return 1;
    }
    fputs(buf, stdout);
    printf("cpu   the plain-C reference backend (--device cpu)\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help")) {
        fputs(usage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    const char *cmd = argv[1];
    const char *sub = NULL;
    int i = 2;
    if (!strcmp(cmd, "bench")) {
        if (argc < 3 || (strcmp(argv[2], "ops") && strcmp(argv[2], "gan") && strcmp(argv[2], "gemm"))) {
            fprintf(stderr, "gancl bench: expected 'bench ops', 'bench gan' or 'bench gemm'\n%s", usage);
            return 2;
        }
        sub = argv[2];
        i = 3;
    }
    tool_opts o = {.batch = 0, .reps = 5, .seed = 1};
    for (; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int n;
        if (!strcmp(a, "--device") && v) {
            o.device = v;
            i++;
        } else if (!strcmp(a, "--batch-size")) {
            if (parse_int(a, v, 1, 65536, &o.batch)) return 2;
            i++;
        } else if (!strcmp(a, "--reps")) {
            if (parse_int(a, v, 1, 64, &o.reps)) return 2;
            i++;
        } else if (!strcmp(a, "--seed")) {
            if (parse_int(a, v, 0, 2147483647, &n)) return 2;
            o.seed = (uint64_t)n;
            i++;
        } else if (!strcmp(a, "--skip-ref")) {
            o.skip_ref = 1;
        } else {
            fprintf(stderr, "gancl %s: unknown option '%s'%s\n%s", cmd, a,
                    !strcmp(a, "--device") ? " (it needs a value)" : "", usage);
            return 2;
        }
    }
    if (!strcmp(cmd, "devices")) return cmd_devices();
    if (!strcmp(cmd, "check")) {
        if (!o.batch) o.batch = 8;
        return cmd_check(&o);
    }
    if (sub) {
        if (!o.batch) o.batch = 64;
        if (!strcmp(sub, "gemm")) return cmd_bench_gemm(&o);
        return !strcmp(sub, "ops") ? cmd_bench_ops(&o) : cmd_bench_gan(&o);
    }
    fprintf(stderr, "gancl: unknown command '%s'\n%s", cmd, usage);
    return 2;
}
