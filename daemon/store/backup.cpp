#include "store/backup.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

namespace markerwatch::store {
namespace {

// SQLite does not sync what VACUUM INTO writes: a copy that the page cache still holds would be
// lost with the machine's power.
void sync_to_disk(const std::string& path, int flags) {
  const int fd = ::open(path.c_str(), flags | O_CLOEXEC);
  if (fd < 0 || ::fsync(fd) != 0) {
    const int error = errno;
    if (fd >= 0) ::close(fd);
    throw StoreError("cannot sync " + path + " to disk: " + std::strerror(error));
  }
  ::close(fd);
}

std::int64_t count(Database& db, const char* table) {
  auto q = db.prepare(std::string("SELECT count(*) FROM ") + table);
  q.step();
  return q.int64(0);
}

BackupReport check_copy(const std::string& target) {
  OpenOptions read_only;
  read_only.read_only = true;
  read_only.wal_autocheckpoint = 0;
  Database copy(target, read_only);
  auto check = copy.prepare("PRAGMA quick_check");
  if (!check.step() || check.text(0) != "ok")
    throw StoreError("the copy fails SQLite's quick_check: " + check.text(0));
  BackupReport report;
  try {
    auto version = copy.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    version.step();
    report.schema_version = static_cast<int>(version.int64(0));
    report.messages = count(copy, "messages");
    report.results = count(copy, "results");
    report.alerts = count(copy, "alerts");
  } catch (const StoreError&) {
    throw StoreError("the database is not a markerwatch database");
  }
  report.bytes = std::filesystem::file_size(target);
  return report;
}

}  // namespace

BackupReport backup_database(Database& source, const std::string& target) {
  const int fd = ::open(target.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd < 0 && errno == EEXIST) throw StoreError(target + " exists: a backup goes to a new file");
  if (fd < 0) throw StoreError("cannot create " + target + ": " + std::strerror(errno));
  ::close(fd);
  try {
    try {
      source.prepare("VACUUM INTO ?").bind(1, target).run();
    } catch (const StoreError& e) {
      throw StoreError("cannot copy " + source.path() + ": " + e.what());
    }
    sync_to_disk(target, O_RDONLY);
    const auto folder = std::filesystem::path(target).parent_path();
    sync_to_disk(folder.empty() ? std::string(".") : folder.string(), O_RDONLY | O_DIRECTORY);
    return check_copy(target);
  } catch (...) {
    std::error_code ignored;  // the error that got here is the one to report
    std::filesystem::remove(target, ignored);
    throw;
  }
}

}  // namespace markerwatch::store
