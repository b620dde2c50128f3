// Test-only, preloaded into markerwatchd and markerwatch by tests/e2e/storage_e2e.py: while the
// file that MW_TEST_FAIL_LOG_SYNC names exists, fdatasync of an SQLite write-ahead log ("...-wal")
// fails with EIO, as on a disk that reports lost writes. SQLite's unix VFS syncs through
// fdatasync. A file, not the variable alone: a test turns the failure on and off under a running
// process.
#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>

extern "C" int fdatasync(int fd) {
  using Sync = int (*)(int);
  static const auto real = reinterpret_cast<Sync>(dlsym(RTLD_NEXT, "fdatasync"));
  if (const char* flag = std::getenv("MW_TEST_FAIL_LOG_SYNC"); flag && access(flag, F_OK) == 0) {
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
