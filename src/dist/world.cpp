#include <cstdlib>
#include <mutex>

#include "core/error.h"
#include "dist/communicator.h"
#ifdef HYBRID_WITH_MPI
#include "dist/mpi_communicator.h"
#endif

namespace hyb {

namespace {

// Processes an MPI launcher started: Open MPI's mpirun, PMIx / PMI (srun, MPICH's hydra).
int launched_world_size() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_SIZE", "PMI_SIZE", "SLURM_NTASKS"})
    if (const char* s = std::getenv(v)) {
      if (v[0] == 'S' && !std::getenv("PMIX_RANK") && !std::getenv("PMI_RANK")) continue;  // sbatch without srun
      const int n = std::atoi(s);
      if (n > 0) return n;
    }
  if (std::getenv("PMIX_RANK") || std::getenv("PMI_RANK")) return 2;  // size unknown, but launched
  return 0;
}

std::unique_ptr<Communicator> g_world;
std::once_flag g_once;

}  // namespace

bool have_mpi() {
#ifdef HYBRID_WITH_MPI
  return true;
#else
  return false;
#endif
}

Communicator& world() {
  std::call_once(g_once, [] {
    const int launched = launched_world_size();
#ifdef HYBRID_WITH_MPI
    if (launched > 0) {
      g_world = make_mpi_communicator();
      std::atexit(mpi_finalize);
      return;
    }
#else
    if (launched > 1)
      fail("started by an MPI launcher as one of ", launched,
           " processes, but this build has no MPI support (install libopenmpi-dev — scripts/setup.sh does — and "
           "rebuild); without it every process would train alone into the same directory");
#endif
    g_world = make_single_process_communicator();
  });
  if (!g_world) fail("the communicator failed to initialise earlier");
  return *g_world;
}

const Communicator* world_if_started() { return g_world.get(); }

void abort_world_if_parallel(int code) {
#ifdef HYBRID_WITH_MPI
  if (g_world && g_world->size() > 1) mpi_abort(code);
#else
  (void)code;
#endif
}

}  // namespace hyb
