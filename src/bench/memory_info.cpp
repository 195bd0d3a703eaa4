#include "bench/memory_info.h"

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <filesystem>

namespace hyb {

double peak_rss_bytes() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return double(u.ru_maxrss) * 1024.0;  // Linux reports kilobytes
}

double available_ram_bytes() {
  if (std::FILE* f = std::fopen("/proc/meminfo", "r")) {
    char line[256];
    long long kb = -1;
    while (std::fgets(line, sizeof line, f))
      if (std::sscanf(line, "MemAvailable: %lld kB", &kb) == 1) break;
    std::fclose(f);
    if (kb > 0) return double(kb) * 1024.0;
  }
  return double(sysconf(_SC_PHYS_PAGES)) * double(sysconf(_SC_PAGE_SIZE));
}

double weight_file_bytes(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  double n = 0;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec))
    if (it->path().extension() == ".safetensors") {
      const auto sz = fs::file_size(it->path(), ec);
      if (!ec) n += double(sz);
      ec.clear();
    }
  return n;  // a missing directory counts 0: the loader reports it properly
}

}  // namespace hyb
