/* gancl: the command-line tool. Parses the subcommand and its flags and
 * hands over to tools/cmd_*.c; the only place besides tests that exits. */
#include "tool.h"
#include "dist_mpi.h"
#include "train_common.h"

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
    "  bench classifier     time the MNIST CNN classifier's training step\n"
    "  bench semi           time the semi-supervised GAN's training step (batch 100:\n"
    "                       D on labeled + unlabeled + generated, G by feature matching)\n"
    "  bench dist           time the data-parallel step of gan, cgan, classifier and\n"
    "                       semi at the global --batch-size, alone or under mpirun -np\n"
    "                       P: ms/step, images/s, bytes all-reduced per step (--mode\n"
    "                       picks one)\n"
    "  train --mode gan     train the DCGAN on MNIST: progress, metrics.jsonl, a sample\n"
    "                       grid and a checkpoint each epoch, curves.png at the end\n"
    "  train --mode classifier  train the MNIST CNN classifier: test accuracy each\n"
    "                       epoch, per-class accuracy and confusion matrix at the end\n"
    "  train --mode semi    semi-supervised GAN (Salimans et al. 2016) with --labels\n"
    "                       labels: test accuracy, sample grid and checkpoint each epoch\n"
    "  train --mode cgan    class-conditional GAN (AC-GAN): the generator gets the label,\n"
    "                       D has a 10-class head; class grid (one row per class) each epoch\n"
    "  train --mode augment the classifier on a labeled subset (--labels-per-class and/or\n"
    "                       --imbalance) with and without --generator's cgan samples\n"
    "  train --mode features  a gan checkpoint's discriminator (--discriminator) frozen as a\n"
    "                       feature extractor, a softmax classifier on its features with\n"
    "                       --labels-per-class labels (default 100); also on a random D\n"
    "  sample --checkpoint FILE --out grid.png  a grid of a generator's images\n"
    "  eval --fid --is --checkpoint FILE  FID and Inception Score of a generator\n"
    "  eval --checkpoint FILE  test accuracy, per-class accuracy and confusion matrix\n"
    "                       (printed and as a PNG heatmap) of a classifier, semi or\n"
    "                       features checkpoint\n"
    "  bench gemm           time every GEMM of the DCGAN and classifier steps at\n"
    "                       --batch-sizes and of the semi step as gancl runs it\n"
    "                       (--quick), else also every own kernel and CLBlast\n"
    "  tune                 tune the device's GEMM (CLBlast parameters, own kernels or\n"
    "                       CLBlast per shape, and which own kernel) for the DCGAN and\n"
    "                       classifier steps and the semi step at\n"
    "                       --batch-sizes (default 64,256; --quick: 8, a short search);\n"
    "                       every candidate checked against the reference, the result\n"
    "                       stored per device for later runs\n"
    "\n"
    "options:\n"
    "  --device SEL         P:D, a case-insensitive name substring, or cpu (the reference);\n"
    "                       default $GANCL_DEVICE, else the first GPU, else the first device\n"
    "  --batch-size N       batch size (bench: 64, bench semi: 100, check: 8)\n"
    "  --reps N             timed repetitions per pass, median reported (bench: 5)\n"
    "  --skip-ref           bench: do not time the cpu reference\n"
    "  --seed N             seed of weights, noise, dropout and shuffles (default 1)\n"
    "\n"
    "train options:\n"
    "  --mode gan|classifier|semi|cgan|augment  what to train\n"
    "  --epochs N           epochs (default 1); --steps-per-epoch N caps an epoch's steps\n"
    "  --lr X --beta1 X     Adam (default gan: 2e-4, 0.5; classifier: 1e-3, 0.9)\n"
    "  --loss bce|lsgan     non-saturating BCE (default) or least squares\n"
    "  --ngf N --ndf N      generator / discriminator width (default 64: 256/128/64)\n"
    "  --data DIR           MNIST directory (default $GANCL_DATA, data/mnist, ../shared/data/mnist)\n"
    "  --outdir DIR         where samples, checkpoint and metrics go (default runs/MODE)\n"
    "  --resume FILE        continue from a checkpoint (exactly: same steps, noise, order)\n"
    "  --init FILE          gan, cgan, classifier: start from the networks in FILE (a gancl\n"
    "                       checkpoint or a PyTorch state_dict); Adam starts afresh\n"
    "  --log-every N        progress line and metrics record every N steps (default 50)\n"
    "  --labels-per-class N classifier: train on N labeled images per class (default all)\n"
    "  --arch dcgan|mlp     gan, cgan: generator architecture (default dcgan; mlp:\n"
    "                       100-128-128-784, LeakyReLU, tanh)\n"
    "  --generator FILE     augment: a cgan checkpoint (train --mode cgan)\n"
    "  --ratio R            augment: generated images per real one in each batch (default 1)\n"
    "  --imbalance SPEC     augment: keep FRACTION of CLASSES, e.g. \"0,1,2:0.05\"; the\n"
    "                       generator fills the reduced classes up to the others' count\n"
    "  --discriminator FILE features: the gan checkpoint whose discriminator gives the\n"
    "                       features; features' defaults: 100 epochs, lr 1e-3, 100 labels\n"
    "                       per class\n"
    "  --weight-decay X     features: L2 on the softmax layer's weight (default 0)\n"
    "  --standardize        features: standardise each feature with the labeled images'\n"
    "                       mean and standard deviation (default: raw features, which\n"
    "                       measured better)\n"
    "  --no-baseline        features: skip the same classifier on a random, untrained D\n"
    "  --overwrite          train: start afresh in an --outdir that already holds a run\n"
    "  --labels N           semi: N labeled images, N/10 per class (default 100); semi's\n"
    "                       defaults: batch 100, lr 0.003, beta1 0.5\n"
    "  --beta2 X            semi: D's Adam beta2 (default 0.999)\n"
    "  --g-lr X --g-beta1 X --g-beta2 X  semi: G's Adam (default: D's --lr, --beta1, --beta2)\n"
    "  --ema R              semi: rate of D's parameter average used for testing (default\n"
    "                       1e-4, Salimans'; 0: none)\n"
    "  --unl-weight U       semi: weight of the unlabeled/fake loss (default 1, Salimans')\n"
    "  --consistency W      semi: CT-GAN consistency term on the unlabeled batch (default 0)\n"
    "  --lr-decay-from E    semi: lr flat to epoch E, then linearly down to 0 at --epochs\n"
    "                       (per epoch); --lr-schedule const: no decay (the default)\n"
    "\n"
    "eval options:\n"
    "  --checkpoint FILE    the checkpoint to evaluate on the MNIST test set (--data)\n"
    "  --out FILE           the confusion-matrix heatmap (default: confusion.png next to\n"
    "                       the checkpoint)\n"
    "  --json               also print one JSON line with the results\n"
    "  --fid --is           score a generator (--checkpoint: gan, cgan or semi) or IDX\n"
    "                       images (--images FILE) with gancl's MNIST evaluator: FID of\n"
    "                       --n images (default 10000) against the test set's (or\n"
    "                       --reference FILE's), IS over 10 splits; the evaluator's hash\n"
    "                       is printed with every score; --out FILE writes them as JSON\n"
    "                       (into a run directory: its report.md shows them)\n"
    "  --evaluator FILE     a classifier checkpoint as evaluator (default: trained once by\n"
    "                       a fixed recipe into the cache; --evaluator-steps N changes it)\n"
    "  --expect-evaluator HASH  fail unless the evaluator has this hash\n"
    "\n"
    "sample options:\n"
    "  --checkpoint FILE --out FILE.png  a grid of --n images (default 64, at most 10000; conditional\n"
    "                       generators: one row per class) from noise of --seed\n"
    "  --interpolate STEPS  instead, rows of STEPS images between two noise vectors\n"
    "                       (spherical; --lerp: linear)\n"
    "  --fixed              instead, the training grid: the checkpoint's fixed noise\n"
    "                       (state.sample_noise; cgan: a row per class)\n"
    "  --raw FILE           also write the images as float32 [n,784] in [0,1]\n"
    "\n"
    "environment:\n"
    "  GANCL_DEVICE         default device selector\n"
    "  GANCL_KERNEL_DIR     load cl/*.cl from this directory instead of the embedded copies\n"
    "  GANCL_FAST_MATH=1    build kernels with -cl-fast-relaxed-math\n"
    "  GANCL_VERBOSE=1      build kernels without -w and print the driver's build log\n"
    "  GANCL_GEMM=own|clblast  device GEMM path (default: own kernels on CPU devices,\n"
    "                       CLBlast elsewhere, or per shape as `gancl tune` measured)\n"
    "  GANCL_TUNE=0         ignore the stored `gancl tune` result\n"
    "  GANCL_GEMM_TILE=NAME[,NAME]  force the own GEMM kernels (a kernel name, or\n"
    "                       f16/f8/f4 for a vector class's pair; `gancl check` names them)\n"
    "  GANCL_CACHE_DIR      where tune results and compiled kernels are kept (default\n"
    "                       $XDG_CACHE_HOME/gancl, else ~/.cache/gancl)\n";

gan_ctx *tool_ctx(const char *selector)
{
    if (tool_dist_size() > 1) return tool_dist_ctx(selector); /* under mpirun: tools/dist_mpi.c */
    gan_ctx *c = NULL;
    gan_status st = gan_ctx_create(&c, selector);
    if (st != GAN_OK) {
        fprintf(stderr, "gancl: cannot open device: %s\n", gan_ctx_error(c));
        gan_ctx_free(c);
        return NULL;
    }
    const char *verbose = getenv("GANCL_VERBOSE");
    if (verbose && !strcmp(verbose, "1") && gan_ctx_backend(c) == GAN_BACKEND_OCL) {
        const char *log = gan_ctx_build_log(c);
        fprintf(stderr, "gancl: kernel build log (%s):%s%s\n", gan_ctx_device_name(c), log[0] ? "\n" : " empty",
                log);
    }
    return c;
}

/* A number in [lo, hi] (lo excluded when lo_open); *set = 1. */
static int parse_float(const char *flag, const char *v, double lo, int lo_open, double hi, float *out, int *set)
{
    char *end;
    double x = v ? strtod(v, &end) : -1;
    if (!v || !*v || *end || !(lo_open ? x > lo : x >= lo) || !(x <= hi)) {
        fprintf(stderr, "gancl: %s needs a number in %c%g, %g], got '%s'\n", flag, lo_open ? '(' : '[', lo, hi,
                v ? v : "");
        return -1;
    }
    *out = (float)x;
    *set = 1;
    return 0;
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

/* The flags each command takes (a mode of train, a kind of bench, eval as
 * accuracy or as generator scores); any other is refused, naming the
 * command and the flag, rather than ignored. */
#define TRAIN_COMMON " --device --mode --epochs --batch-size --lr --beta1 --seed --data --outdir --steps-per-epoch --log-every "
#define TRAIN_RUN TRAIN_COMMON "--resume --overwrite "
static const struct {
    const char *cmd, *flags;
} takes[] = {
    {"devices", " "},
    {"check", " --device --batch-size --seed "},
    {"tune", " --device --batch-sizes --quick --reps --seed "},
    {"sample", " --device --checkpoint --out --n --seed --interpolate --lerp --fixed --raw "},
    {"eval", " --device --checkpoint --out --json --data "},
    {"eval --fid/--is", " --device --fid --is --checkpoint --images --reference --evaluator --evaluator-steps "
                        "--expect-evaluator --n --out --json --data --batch-size --seed "},
    {"bench ops", " --device --batch-size --reps --seed --skip-ref "},
    {"bench gan", " --device --batch-size --reps --seed "},
    {"bench classifier", " --device --batch-size --reps --seed "},
    {"bench semi", " --device --batch-size --reps --seed "},
    {"bench dist", " --device --batch-size --reps --seed --mode --ngf --ndf "},
    {"bench gemm", " --device --batch-sizes --quick --reps --seed "},
    {"train --mode gan", TRAIN_RUN "--ngf --ndf --loss --arch --init "},
    {"train --mode cgan", TRAIN_RUN "--ngf --ndf --loss --arch --init "},
    {"train --mode classifier", TRAIN_RUN "--labels-per-class --init "},
    {"train --mode semi", TRAIN_RUN "--labels --beta2 --g-lr --g-beta1 --g-beta2 --ema --consistency --unl-weight "
                          "--lr-decay-from --lr-schedule "},
    {"train --mode augment", TRAIN_RUN "--generator --imbalance --ratio --labels-per-class "},
    {"train --mode features", TRAIN_RUN "--discriminator --labels-per-class --no-baseline --standardize "
                              "--weight-decay "},
};

static int check_flags(const char *cmd, const char *sub, const tool_opts *o, const char **given, int ngiven)
{
    char key[64];
    if (sub)
        snprintf(key, sizeof key, "%s %s", cmd, sub);
    else if (!strcmp(cmd, "train") && o->mode)
        snprintf(key, sizeof key, "train --mode %s", o->mode);
    else if (!strcmp(cmd, "eval") && (o->fid || o->is || o->images))
        snprintf(key, sizeof key, "eval --fid/--is");
    else
        snprintf(key, sizeof key, "%s", cmd);
    for (size_t t = 0; t < sizeof takes / sizeof takes[0]; t++) {
        if (strcmp(takes[t].cmd, key)) continue;
        for (int g = 0; g < ngiven; g++) {
            char f[64];
            snprintf(f, sizeof f, " %s ", given[g]);
            if (!strstr(takes[t].flags, f)) {
                fprintf(stderr, "gancl %s: %s is not an option of this command; it takes %s\n", key, given[g],
                        strcmp(takes[t].flags, " ") ? takes[t].flags + 1 : "none");
                return 1;
            }
        }
        return 0;
    }
    return 0; /* an unknown command or mode gets its own message below */
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
        if (argc < 3 || (strcmp(argv[2], "ops") && strcmp(argv[2], "gan") && strcmp(argv[2], "gemm") &&
                         strcmp(argv[2], "classifier") && strcmp(argv[2], "semi") &&
                         strcmp(argv[2], "dist"))) {
            fprintf(stderr,
                    "gancl bench: expected 'bench ops', 'bench gan', 'bench classifier', 'bench semi', 'bench dist' or 'bench gemm'\n%s",
                    usage);
            return 2;
        }
        sub = argv[2];
        i = 3;
    }
    tool_opts o = {.batch = 0, .reps = 5, .seed = 1, .lr = 2e-4f, .beta1 = 0.5f, .argc = argc, .argv = argv};
    const char *given[128];
    int ngiven = 0;
    for (; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int n;
        if (!strncmp(a, "--", 2) && ngiven < (int)(sizeof given / sizeof given[0])) given[ngiven++] = a;
        if (!strcmp(a, "--device") && v) {
            o.device = v;
            i++;
        } else if (!strcmp(a, "--batch-size")) {
            if (parse_int(a, v, 1, 65536, &o.batch)) return 2;
            o.batch_set = 1;
            i++;
        } else if (!strcmp(a, "--reps")) {
            if (parse_int(a, v, 1, 64, &o.reps)) return 2;
            i++;
        } else if (!strcmp(a, "--seed")) {
            if (parse_int(a, v, 0, 2147483647, &n)) return 2;
            o.seed = (uint64_t)n;
            o.seed_set = 1;
            i++;
        } else if (!strcmp(a, "--epochs")) {
            if (parse_int(a, v, 1, 100000, &o.epochs)) return 2;
            o.epochs_set = 1;
            i++;
        } else if (!strcmp(a, "--lr") || !strcmp(a, "--beta1")) {
            int is_lr = a[2] == 'l';
            char *end;
            double x = v ? strtod(v, &end) : -1;
            if (!v || !*v || *end || (is_lr ? !(x > 0 && x <= 1) : !(x >= 0 && x < 1))) {
                fprintf(stderr, "gancl: %s needs a number in %s, got '%s'\n", a, is_lr ? "(0, 1]" : "[0, 1)",
                        v ? v : "");
                return 2;
            }
            *(is_lr ? &o.lr : &o.beta1) = (float)x;
            *(is_lr ? &o.lr_set : &o.beta1_set) = 1;
            i++;
        } else if (!strcmp(a, "--ngf") || !strcmp(a, "--ndf")) {
            if (parse_int(a, v, 1, 4096, a[3] == 'g' ? &o.ngf : &o.ndf)) return 2;
            i++;
        } else if (!strcmp(a, "--steps-per-epoch")) {
            if (parse_int(a, v, 1, 1 << 30, &o.steps_per_epoch)) return 2;
            i++;
        } else if (!strcmp(a, "--labels")) {
            if (parse_int(a, v, 10, 1 << 30, &o.labels)) return 2;
            i++;
        } else if (!strcmp(a, "--beta2") || !strcmp(a, "--g-beta1") || !strcmp(a, "--g-beta2")) {
            int d = !strcmp(a, "--beta2"), g1 = !strcmp(a, "--g-beta1");
            if (parse_float(a, v, 0, 0, 0.999999, d ? &o.beta2 : g1 ? &o.g_beta1 : &o.g_beta2,
                            d ? &o.beta2_set : g1 ? &o.g_beta1_set : &o.g_beta2_set))
                return 2;
            i++;
        } else if (!strcmp(a, "--g-lr")) {
            if (parse_float(a, v, 0, 1, 1, &o.g_lr, &o.g_lr_set)) return 2;
            i++;
        } else if (!strcmp(a, "--ema")) {
            if (parse_float(a, v, 0, 0, 1, &o.ema, &o.ema_set)) return 2;
            i++;
        } else if (!strcmp(a, "--consistency") || !strcmp(a, "--unl-weight")) {
            int ct = a[2] == 'c';
            if (parse_float(a, v, 0, 0, 1e6, ct ? &o.consistency : &o.unl_weight,
                            ct ? &o.consistency_set : &o.unl_weight_set))
                return 2;
            i++;
        } else if (!strcmp(a, "--lr-decay-from") || !strcmp(a, "--lr-schedule")) {
            int from = a[5] == 'd', e = -1;
            if (from ? parse_int(a, v, 0, 100000, &e) : 0) return 2;
            if (!from && (!v || strcmp(v, "const"))) {
                fprintf(stderr, "gancl: --lr-schedule is const (a linear decay is --lr-decay-from E), got '%s'\n",
                        v ? v : "");
                return 2;
            }
            if (o.lr_decay_set && o.lr_decay_from != e) {
                fprintf(stderr, "gancl: --lr-schedule const and --lr-decay-from contradict each other\n");
                return 2;
            }
            o.lr_decay_from = e;
            o.lr_decay_set = 1;
            i++;
        } else if (!strcmp(a, "--labels-per-class")) {
            if (parse_int(a, v, 1, 1 << 30, &o.labels_per_class)) return 2;
            i++;
        } else if (!strcmp(a, "--log-every")) {
            if (parse_int(a, v, 1, 1 << 30, &o.log_every)) return 2;
            i++;
        } else if (!strcmp(a, "--loss") && v) {
            if (strcmp(v, "bce") && strcmp(v, "lsgan")) {
                fprintf(stderr, "gancl: --loss is bce or lsgan, got '%s'\n", v);
                return 2;
            }
            o.lsgan = !strcmp(v, "lsgan");
            o.loss_set = 1;
            i++;
        } else if ((!strcmp(a, "--mode") || !strcmp(a, "--data") || !strcmp(a, "--outdir") ||
                    !strcmp(a, "--resume")) && v) {
            const char **dst = a[2] == 'm' ? &o.mode : a[2] == 'd' ? &o.data : a[2] == 'o' ? &o.outdir : &o.resume;
            *dst = v;
            i++;
        } else if (!strcmp(a, "--arch") && v) {
            if (strcmp(v, "dcgan") && strcmp(v, "mlp")) {
                fprintf(stderr, "gancl: --arch is dcgan or mlp, got '%s'\n", v);
                return 2;
            }
            o.arch = v;
            i++;
        } else if ((!strcmp(a, "--generator") || !strcmp(a, "--imbalance")) && v) {
            *(a[2] == 'g' ? &o.generator : &o.imbalance) = v;
            i++;
        } else if (!strcmp(a, "--ratio")) {
            char *end;
            double x = v ? strtod(v, &end) : -1;
            if (!v || !*v || *end || !(x > 0 && x <= 64)) {
                fprintf(stderr, "gancl: --ratio needs a number in (0, 64], got '%s'\n", v ? v : "");
                return 2;
            }
            o.ratio = (float)x;
            i++;
        } else if ((!strcmp(a, "--discriminator") || !strcmp(a, "--checkpoint") || !strcmp(a, "--out")) && v) {
            *(a[2] == 'd' ? &o.discriminator : a[2] == 'c' ? &o.checkpoint : &o.out) = v;
            i++;
        } else if (!strcmp(a, "--weight-decay")) {
            char *end;
            double x = v ? strtod(v, &end) : -1;
            if (!v || !*v || *end || !(x >= 0 && x <= 1)) {
                fprintf(stderr, "gancl: --weight-decay needs a number in [0, 1], got '%s'\n", v ? v : "");
                return 2;
            }
            o.weight_decay = (float)x;
            o.weight_decay_set = 1;
            i++;
        } else if (!strcmp(a, "--overwrite")) {
            o.overwrite = 1;
        } else if (!strcmp(a, "--no-baseline") || !strcmp(a, "--standardize") || !strcmp(a, "--json")) {
            *(a[2] == 'n' ? &o.no_baseline : a[2] == 's' ? &o.standardize : &o.json) = 1;
        } else if (!strcmp(a, "--skip-ref")) {
            o.skip_ref = 1;
        } else if (!strcmp(a, "--quick")) {
            o.quick = 1;
        } else if (!strcmp(a, "--batch-sizes") && v) {
            o.batch_sizes = v;
            i++;
        } else if (!strcmp(a, "--init") && v) {
            o.init = v;
            i++;
        } else if (!strcmp(a, "--fixed")) {
            o.fixed = 1;
        } else if (!strcmp(a, "--raw") && v) {
            o.raw = v;
            i++;
        } else if (!strcmp(a, "--fid") || !strcmp(a, "--is") || !strcmp(a, "--lerp")) {
            *(a[2] == 'f' ? &o.fid : a[2] == 'i' ? &o.is : &o.lerp) = 1;
        } else if ((!strcmp(a, "--images") || !strcmp(a, "--reference") || !strcmp(a, "--evaluator") ||
                    !strcmp(a, "--expect-evaluator")) && v) {
            *(a[2] == 'i' ? &o.images : a[2] == 'r' ? &o.reference : a[3] == 'v' ? &o.evaluator
                                                                                 : &o.expect_evaluator) = v;
            i++;
        } else if (!strcmp(a, "--n") || !strcmp(a, "--evaluator-steps") || !strcmp(a, "--interpolate")) {
            if (parse_int(a, v, a[2] == 'i' ? 2 : 1, 1 << 24,
                          a[2] == 'n' ? &o.n : a[2] == 'e' ? &o.evaluator_steps : &o.interpolate))
                return 2;
            i++;
        } else {
            fprintf(stderr, "gancl %s: unknown option '%s'%s\n%s", cmd, a,
                    !strcmp(a, "--device") ? " (it needs a value)" : "", usage);
            return 2;
        }
    }
    if (strcmp(cmd, "train") && check_flags(cmd, sub, &o, given, ngiven)) return 2;
    if (!strcmp(cmd, "devices")) return cmd_devices();
    if (!strcmp(cmd, "train")) {
        /* semi's recipe flags mean nothing to the other modes: refuse them there rather than ignore them */
        if (o.mode && strcmp(o.mode, "semi") &&
            (o.beta2_set || o.g_lr_set || o.g_beta1_set || o.g_beta2_set || o.ema_set || o.consistency_set ||
             o.unl_weight_set || o.lr_decay_set)) {
            fprintf(stderr, "gancl train: --beta2, --g-lr, --g-beta1, --g-beta2, --ema, --consistency, --unl-weight, "
                            "--lr-decay-from and --lr-schedule are semi's (--mode semi), not %s's\n", o.mode);
            return 2;
        }
        if (o.init && o.mode && strcmp(o.mode, "gan") && strcmp(o.mode, "cgan") && strcmp(o.mode, "classifier")) {
            fprintf(stderr, "gancl train: --init starts gan, cgan and classifier runs, not %s's (augment: --generator, "
                            "features: --discriminator take a network file)\n", o.mode);
            return 2;
        }
        if (check_flags(cmd, sub, &o, given, ngiven)) return 2;
        /* one entry per mode; each lives in tools/cmd_train_<mode>.c (gan: cmd_train.c) */
        static const struct {
            const char *name;
            int (*run)(const tool_opts *o);
            int batch; /* the mode's default batch size (0: 64) */
        } modes[] = {
            {"gan", cmd_train_gan, 0},
            {"classifier", cmd_train_classifier, 0},
            {"semi", cmd_train_semi, 100},
            {"features", cmd_train_features, 0},
            {"cgan", cmd_train_cgan, 0},
            {"augment", cmd_train_augment, 0},
        };
        char names[256] = "";
        for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
            snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s", m ? ", " : "", modes[m].name);
            if (o.mode && !strcmp(o.mode, modes[m].name)) {
                static char outdir[300];
                snprintf(outdir, sizeof outdir, "runs/%s", o.mode);
                if (!o.batch) o.batch = modes[m].batch ? modes[m].batch : 64;
                if (!o.epochs) o.epochs = 1;
                if (!o.outdir) o.outdir = outdir;
                if (!o.log_every) o.log_every = 50;
                tool_dist_start(); /* MPI when started by mpirun */
                if (tool_dist_size() > 1 && strcmp(o.mode, "gan") && strcmp(o.mode, "cgan") &&
                    strcmp(o.mode, "classifier") && strcmp(o.mode, "semi")) {
                    if (tool_dist_rank() == 0)
                        fprintf(stderr, "gancl train: --mode %s does not train data-parallel (%d ranks): run it in "
                                "one process; gan, cgan, classifier and semi do\n", o.mode, tool_dist_size());
                    return tool_dist_end(2);
                }
                int rc = modes[m].run(&o);
                if (rc == 0 && train_interrupted()) {
                    /* Ctrl-C after the loop's last step (the final evaluation,
                     * curves, report): the checkpoints are complete, the
                     * exit status says the run was stopped, as everywhere */
                    printf("interrupted after the last step: the checkpoints in %s are complete; the final "
                           "report may not be\n", o.outdir);
                    rc = 130;
                }
                return tool_dist_end(rc);
            }
        }
        fprintf(stderr, "gancl train: --mode %s is not available; modes: %s\n", o.mode ? o.mode : "(missing)", names);
        return 2;
    }
    if (!strcmp(cmd, "eval")) return cmd_eval(&o);
    if (!strcmp(cmd, "tune")) return cmd_tune(&o);
    if (!strcmp(cmd, "sample")) return cmd_sample(&o);
    if (!strcmp(cmd, "check")) {
        if (!o.batch) o.batch = 8;
        return cmd_check(&o);
    }
    if (sub) {
        if (!o.batch) o.batch = !strcmp(sub, "semi") ? 100 : 64;
        if (!strcmp(sub, "semi")) return cmd_bench_semi(&o);
        if (!strcmp(sub, "dist")) {
            tool_dist_start(); /* MPI when started by mpirun */
            return tool_dist_end(cmd_bench_dist(&o));
        }
        if (!strcmp(sub, "gemm")) return cmd_bench_gemm(&o);
        if (!strcmp(sub, "classifier")) return cmd_bench_classifier(&o);
        return !strcmp(sub, "ops") ? cmd_bench_ops(&o) : cmd_bench_gan(&o);
    }
    fprintf(stderr, "gancl: unknown command '%s'\n%s", cmd, usage);
    return 2;
}
