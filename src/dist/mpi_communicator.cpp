#include "dist/mpi_communicator.h"

#include <mpi.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "core/error.h"
#include "core/timer.h"

namespace hyb {

namespace {

// MPI counts are int: every call is split into messages of at most this many elements (and of at most the
// bucket size, so a gradient reduction is a sequence of fixed-size messages).
constexpr size_t kMaxCount = size_t(1) << 30;

template <class T> MPI_Datatype mpi_type();
template <> MPI_Datatype mpi_type<float>() { return MPI_FLOAT; }
template <> MPI_Datatype mpi_type<double>() { return MPI_DOUBLE; }

class Mpi final : public Communicator {
 public:
  Mpi() {
    int inited = 0;
    MPI_Initialized(&inited);
    if (!inited) {
      int provided = 0;
      MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided);
    }
    MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
    MPI_Comm_size(MPI_COMM_WORLD, &size_);
    MPI_Comm local;
    MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &local);
    MPI_Comm_size(local, &local_size_);
    MPI_Comm_free(&local);
    char v[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    MPI_Get_library_version(v, &len);
    std::string s(v, size_t(std::max(len, 0)));
    s = s.substr(0, s.find_first_of(",\n"));
    backend_ = "mpi (" + s + ")";
  }
  int rank() const override { return rank_; }
  int size() const override { return size_; }
  int local_size() const override { return local_size_; }
  std::string backend() const override { return backend_; }

  void allreduce_sum(float* x, size_t n) override { allreduce(x, n); }
  void allreduce_sum(double* x, size_t n) override { allreduce(x, n); }

  void reduce_scatter_sum(float* buf, size_t block) override {
    Timer t;
    const size_t N = size_t(size_), c_max = chunk();
    for (size_t off = 0; off < block; off += c_max) {
      const size_t c = std::min(c_max, block - off);
      // Message k holds chunk k of every rank's block, packed rank after rank.
      pack_.resize(N * c);
      for (size_t r = 0; r < N; ++r) std::memcpy(pack_.data() + r * c, buf + r * block + off, c * sizeof(float));
      MPI_Reduce_scatter_block(pack_.data(), buf + size_t(rank_) * block + off, int(c), MPI_FLOAT, MPI_SUM,
                               MPI_COMM_WORLD);
    }
    comm_seconds_ += t.seconds();
  }
  void allgather(float* buf, size_t block) override { gather(buf, block, packf_); }
  void allgather(double* buf, size_t block) override { gather(buf, block, packd_); }

  void broadcast(void* bytes, size_t n, int root) override {
    Timer t;
    auto* p = static_cast<char*>(bytes);
    for (size_t off = 0; off < n; off += kMaxCount)
      MPI_Bcast(p + off, int(std::min(kMaxCount, n - off)), MPI_BYTE, root, MPI_COMM_WORLD);
    comm_seconds_ += t.seconds();
  }
  void barrier() override {
    Timer t;
    MPI_Barrier(MPI_COMM_WORLD);
    comm_seconds_ += t.seconds();
  }

 private:
  size_t chunk() const { return std::clamp(bucket_elems_ / size_t(size_), size_t(1), kMaxCount); }

  template <class T> void allreduce(T* x, size_t n) {
    Timer t;
    const size_t c_max = std::min(bucket_elems_, kMaxCount);
    for (size_t off = 0; off < n; off += c_max)
      MPI_Allreduce(MPI_IN_PLACE, x + off, int(std::min(c_max, n - off)), mpi_type<T>(), MPI_SUM, MPI_COMM_WORLD);
    comm_seconds_ += t.seconds();
  }

  template <class T> void gather(T* buf, size_t block, std::vector<T>& pack) {
    Timer t;
    const size_t N = size_t(size_), c_max = chunk();
    for (size_t off = 0; off < block; off += c_max) {
      const size_t c = std::min(c_max, block - off);
      pack.resize(N * c);
      MPI_Allgather(buf + size_t(rank_) * block + off, int(c), mpi_type<T>(), pack.data(), int(c), mpi_type<T>(),
                    MPI_COMM_WORLD);
      for (size_t r = 0; r < N; ++r)
        if (int(r) != rank_) std::memcpy(buf + r * block + off, pack.data() + r * c, c * sizeof(T));
    }
    comm_seconds_ += t.seconds();
  }

  int rank_ = 0, size_ = 1, local_size_ = 1;
  std::string backend_;
  std::vector<float> pack_, packf_;
  std::vector<double> packd_;
};

}  // namespace

std::unique_ptr<Communicator> make_mpi_communicator() { return std::make_unique<Mpi>(); }

void mpi_finalize() {
  int inited = 0, finalized = 0;
  MPI_Initialized(&inited);
  MPI_Finalized(&finalized);
  if (inited && !finalized) MPI_Finalize();
}

void mpi_abort(int code) { MPI_Abort(MPI_COMM_WORLD, code); }

}  // namespace hyb
