// The collectives data-parallel training needs, behind one small interface. The trainer talks to a Communicator;
// kernels and model code never see one. Two backends: SingleProcess (always built: every collective is the
// identity) and MPI (built when Open MPI is found; selected when the process was started by mpirun / srun).
// A GPU backend (NCCL, bootstrapped through MPI as llm.c does) would be a third implementation of the same calls.
//
// Buffers are host float/double arrays. reduce_scatter_sum and allgather work on `size() * block` elements where
// rank r owns block r (the ZeRO-1 layout); element counts may exceed 2^31 (the MPI backend splits them).
#pragma once
#include <cstddef>
#include <memory>
#include <string>

namespace hyb {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  virtual int local_size() const = 0;      // ranks on this host (to divide its cores among them)
  virtual std::string backend() const = 0; // "single-process", "mpi (Open MPI v4.1.4)", ...

  virtual void allreduce_sum(float* x, size_t n) = 0;
  virtual void allreduce_sum(double* x, size_t n) = 0;
  // buf[size()·block]: afterwards block rank() holds the sum over ranks of that block (other blocks: undefined).
  virtual void reduce_scatter_sum(float* buf, size_t block) = 0;
  // buf[size()·block]: afterwards every block r holds rank r's block r.
  virtual void allgather(float* buf, size_t block) = 0;
  virtual void allgather(double* buf, size_t block) = 0;
  virtual void broadcast(void* bytes, size_t n, int root) = 0;
  virtual void barrier() = 0;

  // Seconds spent inside collectives since construction (the per-step communication report).
  double comm_seconds() const { return comm_seconds_; }
  // Elements per message of the large collectives (gradient buckets); a knob for tests and tuning.
  void set_bucket_elems(size_t n) { bucket_elems_ = n ? n : 1; }
  size_t bucket_elems() const { return bucket_elems_; }

 protected:
  double comm_seconds_ = 0;
  size_t bucket_elems_ = size_t(1) << 22;  // 16 MiB of floats per message
};

std::unique_ptr<Communicator> make_single_process_communicator();

// The process-wide communicator: MPI when this build has it and the process was launched by an MPI launcher,
// else single-process. Initialised on first use; MPI is finalised at exit. fail()s when launched by mpirun with
// several processes in a build without MPI (each would otherwise train alone into the same directory).
Communicator& world();
// The process-wide communicator if world() has created it, else null (error reporting uses it).
const Communicator* world_if_started();
// Whether this binary was built with the MPI backend.
bool have_mpi();
// After an error on one rank: with several ranks, end the whole job now (MPI_Abort) so no rank waits forever in a
// collective; with one, returns and the caller exits normally.
void abort_world_if_parallel(int code);

}  // namespace hyb
