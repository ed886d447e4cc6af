/* gancl train under mpirun (tools/dist_mpi.c): MPI_COMM_WORLD as the
 * library's communicator (include/gancl/dist.h). */
#ifndef GANCL_TOOLS_DIST_MPI_H
#define GANCL_TOOLS_DIST_MPI_H

#include "gancl/gancl.h"

/* MPI_Init when the process was started by mpirun (Open MPI, MPICH or PMIx
 * environment) and gancl was built with MPI; else nothing. Rank > 0 sends
 * stdout to /dev/null (rank 0 prints progress and results). */
void tool_dist_start(void);
/* MPI_Finalize after a command; returns rc. Under more than one rank a
 * failure (rc other than 0 and 130) ends every rank (MPI_Abort). */
int tool_dist_end(int rc);
int tool_dist_rank(void);
int tool_dist_size(void);
/* The rank's context on selector (--device, else $GANCL_DEVICE_<local
 * rank>, else $GANCL_DEVICE, else the node's GPU number local rank % GPUs
 * when it has GPUs (local rank: MPI_Comm_split_type shared memory), else
 * gancl's default device), attached to MPI_COMM_WORLD; every rank fails
 * together when any rank cannot open its device, with that rank's message.
 * NULL on failure (printed). */
gan_ctx *tool_dist_ctx(const char *selector);

#endif
