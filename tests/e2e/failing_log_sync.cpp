// Test-only, preloaded into `markerwatch` by tests/e2e/storage_e2e.py: while the environment holds
// MW_TEST_FAIL_LOG_SYNC, fdatasync of an SQLite write-ahead log ("...-wal") fails with EIO, as on
// a disk that reports lost writes. SQLite's unix VFS syncs its files through fdatasync.
#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

extern "C" int fdatasync(int fd) {
  using Sync = int (*)(int);
  static const auto real = reinterpret_cast<Sync>(dlsym(RTLD_NEXT, "fdatasync"));
  if (std::getenv("MW_TEST_FAIL_LOG_SYNC") != nullptr) {
    char target[4096];
    const auto link = "/proc/self/fd/" + std::to_string(fd);
    const auto n = readlink(link.c_str(), target, sizeof target);
    if (n > 4 && std::memcmp(target + n - 4, "-wal", 4) == 0) {
      errno = EIO;
      return -1;
    }
  }
  return real(fd);
}
