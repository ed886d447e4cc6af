/* The op test runner: every op on the reference (with finite-difference
 * checks) and, unless --ref, on an OpenCL device compared against the
 * reference. TAP output, one line per test.
 *
 *   test_ops [--ref] [--device SEL] [--seed N] [FILTER...]
 *
 * Each test's inputs are seeded from its name (plus --seed, default 0), so
 * adding a test or an op does not change any other test's inputs, and
 * --seed runs the suite on other inputs.
 * FILTERs are substrings of test names. Without an OpenCL platform the
 * device run exits 77 (skip); with one it must pass. */
#include "registry.h"

#include <stdlib.h>
#include <string.h>

typedef struct test_entry {
    const char *name;
    void (*fn)(th *t);
} test_entry;

static const test_entry tests[] = {
#define GAN_X_(name, params, args) {#name, test_##name},
    GAN_OP_LIST(GAN_X_)
#undef GAN_X_
#define TH_X_(name) {#name, test_##name},
    TH_EXTRA_TESTS(TH_X_)
#undef TH_X_
};

static int selected(const char *name, char **filters, int nf)
{
    if (nf == 0) return 1;
    for (int i = 0; i < nf; i++)
        if (strstr(name, filters[i])) return 1;
    return 0;
}

int main(int argc, char **argv)
{
    int ref_only = 0;
    const char *sel = NULL;
    unsigned long long seed = 0;
    char *filters[64];
    int nf = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--ref"))
            ref_only = 1;
        else if (!strcmp(argv[i], "--device") && i + 1 < argc)
            sel = argv[++i];
        else if (!strcmp(argv[i], "--seed") && i + 1 < argc)
            seed = strtoull(argv[++i], NULL, 10);
        else if (nf < 64)
            filters[nf++] = argv[i];
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    th t;
    memset(&t, 0, sizeof t);
    if (gan_ctx_create(&t.ref, "cpu") != GAN_OK) {
        printf("Bail out! reference context: %s\n", gan_ctx_error(t.ref));
        return 1;
    }
    if (!ref_only) {
        gan_status st = gan_ctx_create(&t.dev, sel ? sel : "");
        if (st != GAN_OK) {
            int none = st == GAN_ERR_NO_DEVICE && strstr(gan_ctx_error(t.dev), "no OpenCL platform");
            printf("%s device: %s\n", none ? "1..0 # SKIP" : "Bail out!", gan_ctx_error(t.dev));
            gan_ctx_free(t.dev);
            gan_ctx_free(t.ref);
            return none ? 77 : 1;
        }
        printf("# device: %s\n", gan_ctx_device_name(t.dev));
    }
    int n = 0, failed = 0;
    for (size_t i = 0; i < sizeof tests / sizeof tests[0]; i++) {
        if (!selected(tests[i].name, filters, nf)) continue;
        t.failures = 0;
        uint64_t h = 1469598103934665603ull; /* FNV-1a of the name */
        for (const char *p = tests[i].name; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
        th_seed(&t, h + seed);
        tests[i].fn(&t);
        n++;
        if (t.failures) failed++;
        printf("%s %d - %s\n", t.failures ? "not ok" : "ok", n, tests[i].name);
    }
    printf("1..%d\n", n);
    gan_ctx_free(t.dev);
    gan_ctx_free(t.ref);
    return failed ? 1 : 0;
}
