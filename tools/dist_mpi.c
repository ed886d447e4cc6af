/* MPI_COMM_WORLD behind the library's communicator table (include/gancl/
 * dist.h); built with MPI when meson finds it (GANCL_HAVE_MPI), else every
 * command runs as one process (size 1). */
#include "dist_mpi.h"
#include "gancl/dist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifdef GANCL_HAVE_MPI
#include <mpi.h>

static int rank_, size_ = 1, local_rank_, started_;

static int ar_f32(void *u, float *b, size_t n)
{
    (void)u;
    return MPI_Allreduce(MPI_IN_PLACE, b, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS;
}
static int ar_f64(void *u, double *b, size_t n)
{
    (void)u;
    return MPI_Allreduce(MPI_IN_PLACE, b, (int)n, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD) != MPI_SUCCESS;
}
static int ar_max(void *u, unsigned long long *b, size_t n)
{
    (void)u;
    return MPI_Allreduce(MPI_IN_PLACE, b, (int)n, MPI_UNSIGNED_LONG_LONG, MPI_MAX, MPI_COMM_WORLD) != MPI_SUCCESS;
}
static int bcast(void *u, void *b, size_t bytes, int root)
{
    (void)u;
    return MPI_Bcast(b, (int)bytes, MPI_BYTE, root, MPI_COMM_WORLD) != MPI_SUCCESS;
}
static void abort_all(void *u, const char *msg)
{
    (void)u;
    fprintf(stderr, "gancl train: %s; stopping every rank\n", msg);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, 1);
}

void tool_dist_start(void)
{
    if (!getenv("OMPI_COMM_WORLD_SIZE") && !getenv("PMI_SIZE") && !getenv("PMIX_RANK")) return;
    if (MPI_Init(NULL, NULL) != MPI_SUCCESS) return;
    started_ = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm node;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node);
    MPI_Comm_rank(node, &local_rank_);
    MPI_Comm_free(&node);
    if (rank_ > 0 && size_ > 1 && !freopen("/dev/null", "w", stdout)) fprintf(stderr, "rank %d: stdout\n", rank_);
}

int tool_dist_end(int rc)
{
    /* A failure not every rank shares (a file one rank cannot read, outside
     * the loop's agreement) leaves the others in a collective: end them all.
     * Success and Ctrl-C (130) are agreed by the loop. */
    if (started_ && size_ > 1 && rc != 0 && rc != 130) {
        fflush(stdout);
        fflush(stderr);
        MPI_Abort(MPI_COMM_WORLD, rc);
    }
    if (started_) MPI_Finalize();
    started_ = 0;
    return rc;
}

int tool_dist_rank(void) { return rank_; }
int tool_dist_size(void) { return size_; }

/* The local rank's GPU when the node has GPUs: the (local rank % GPUs)-th
 * GPU of gan_list_devices' table ("P:D  platform  device  GPU ..."), as
 * "P:D" in sel; 0 when there is none. */
static int gpu_of_local_rank(char *sel, size_t cap)
{
    static char buf[1 << 16];
    char err[256], *save = NULL;
    int n = 0, want = -1;
    if (gan_list_devices(buf, sizeof buf, err, sizeof err) != GAN_OK) return 0;
    char *copy = strdup(buf);
    if (!copy) return 0;
    for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) /* count */
        if (l[0] >= '0' && l[0] <= '9' && strstr(l, " GPU ")) n++;
    free(copy);
    if (n == 0) return 0;
    want = local_rank_ % n;
    n = 0;
    save = NULL;
    for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
        if (l[0] >= '0' && l[0] <= '9' && strstr(l, " GPU ") && n++ == want) {
            size_t k = strcspn(l, " \t");
            snprintf(sel, cap, "%.*s", (int)k, l);
            return 1;
        }
    return 0;
}

gan_ctx *tool_dist_ctx(const char *selector)
{
    char var[64], gpu[64];
    snprintf(var, sizeof var, "GANCL_DEVICE_%d", local_rank_);
    if (!selector) selector = getenv(var);
    /* one rank per GPU: by local rank among the node's GPUs */
    if (!selector && !getenv("GANCL_DEVICE") && gpu_of_local_rank(gpu, sizeof gpu)) selector = gpu;
    gan_ctx *c = NULL;
    gan_status st = gan_ctx_create(&c, selector);
    if (!st) {
        gan_dist_comm comm = {.rank = rank_, .size = size_, .allreduce_f32 = ar_f32, .allreduce_f64 = ar_f64,
                              .allreduce_u64_max = ar_max, .bcast = bcast, .abort = abort_all};
        st = gan_dist_attach(c, &comm);
        /* GANCL_DIST_OVERLAP=0: sum the gradients after the backward */
        const char *ov = getenv("GANCL_DIST_OVERLAP");
        if (!st && ov) gan_dist_set_overlap(c, strcmp(ov, "0") != 0);
    }
    /* agree without the context: it may not exist */
    int bad = st ? rank_ : size_, first;
    MPI_Allreduce(&bad, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
    if (first == size_) return c;
    char msg[4096] = "";
    if (rank_ == first) snprintf(msg, sizeof msg, "%s", c ? gan_ctx_error(c) : "out of memory");
    MPI_Bcast(msg, sizeof msg, MPI_CHAR, first, MPI_COMM_WORLD);
    if (rank_ == first || rank_ == 0)
        fprintf(stderr, "gancl: rank %d of %d cannot open device %s: %s\n", first, size_,
                rank_ == first && selector ? selector : "(its selector)", msg);
    gan_ctx_free(c);
    return NULL;
}

#else

void tool_dist_start(void) {}
int tool_dist_end(int rc) { return rc; }
int tool_dist_rank(void) { return 0; }
int tool_dist_size(void) { return 1; }
gan_ctx *tool_dist_ctx(const char *selector)
{
    (void)selector;
    fprintf(stderr, "gancl: built without MPI (meson found no 'mpi' dependency)\n");
    return NULL;
}

#endif
