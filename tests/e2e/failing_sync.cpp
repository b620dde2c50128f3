// Test-only, preloaded into markerwatchd and markerwatch by tests/e2e/storage_e2e.py: a disk
// that reports lost writes (EIO) when a file is synced. While the file that MW_TEST_FAIL_LOG_SYNC
// names exists, syncs of an SQLite write-ahead log ("...-wal") fail; while the file that
// MW_TEST_FAIL_DATABASE_SYNC names exists, syncs of a database file ("....db", what a checkpoint
// syncs after copying the log back) fail. SQLite's unix VFS syncs through fdatasync. Files, not
// the variables alone: a test turns the failures on and off under a running process.
#include <dlfcn.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

namespace {

bool failing(const char* flag_variable, int fd, std::string_view name_ends) {
  const char* flag = std::getenv(flag_variable);
  if (!flag || access(flag, F_OK) != 0) return false;
  char target[4096];
  const auto link = "/proc/self/fd/" + std::to_string(fd);
  const auto n = readlink(link.c_str(), target, sizeof target);
  return n > 0 && std::string_view(target, static_cast<std::size_t>(n)).ends_with(name_ends);
}

}  // namespace

extern "C" int fdatasync(int fd) {
  using Sync = int (*)(int);
  static const auto real = reinterpret_cast<Sync>(dlsym(RTLD_NEXT, "fdatasync"));
  if (failing("MW_TEST_FAIL_LOG_SYNC", fd, "-wal") ||
      failing("MW_TEST_FAIL_DATABASE_SYNC", fd, ".db")) {
    errno = EIO;
    return -1;
  }
  return real(fd);
}
