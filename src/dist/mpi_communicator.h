// The MPI backend (Open MPI here; any MPI-3 library). Only world.cpp constructs it.
#pragma once
#include <memory>

#include "dist/communicator.h"

namespace hyb {

// MPI_Init_thread (FUNNELED: only the main thread calls MPI; OpenMP threads never do) on first call.
std::unique_ptr<Communicator> make_mpi_communicator();
void mpi_finalize();
void mpi_abort(int code);

}  // namespace hyb
