// Write-to-temp then rename: a reader (or a crash) never sees a half-written file.
#pragma once
#include <cstdio>
#include <string>

namespace hyb {

class AtomicFile {
 public:
  explicit AtomicFile(const std::string& path);
  ~AtomicFile();  // without commit(): the temp file is removed, the target untouched
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  void write(const void* data, size_t n);
  void commit();  // flush, fsync, rename over the target
  const std::string& temp_path() const { return tmp_; }

 private:
  std::string path_, tmp_;
  std::FILE* f_ = nullptr;
};

// fsync a directory so a rename inside it is durable.
void fsync_dir(const std::string& dir);

}  // namespace hyb
