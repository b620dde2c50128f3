#include "store/backup.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string_view>

#include "core/timestamp.hpp"

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
  Database copy(target, read_only_options());
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

constexpr std::string_view kBackupPrefix = "markerwatch-", kBackupSuffix = "Z.db";

std::string backup_name(std::chrono::system_clock::time_point now) {
  using namespace std::chrono;
  const auto millis = duration_cast<milliseconds>(now.time_since_epoch()).count();
  std::string stamp;  // YYYYMMDDThhmmss from YYYY-MM-DDThh:mm:ssZ
  for (const char c : format_utc(millis / 1000))
    if (c != '-' && c != ':' && c != 'Z') stamp.push_back(c);
  char fraction[8];
  std::snprintf(fraction, sizeof fraction, ".%03d", static_cast<int>(millis % 1000));
  return std::string(kBackupPrefix) + stamp + fraction + std::string(kBackupSuffix);
}

bool is_backup_name(std::string_view name) {
  constexpr std::string_view shape = "ddddddddTdddddd.ddd";  // YYYYMMDDThhmmss.mmm
  if (name.size() != kBackupPrefix.size() + shape.size() + kBackupSuffix.size() ||
      !name.starts_with(kBackupPrefix) || !name.ends_with(kBackupSuffix))
    return false;
  const auto stamp = name.substr(kBackupPrefix.size(), shape.size());
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const bool digit = stamp[i] >= '0' && stamp[i] <= '9';
    if (shape[i] == 'd' ? !digit : stamp[i] != shape[i]) return false;
  }
  return true;
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

namespace markerwatch::store {

FolderBackup backup_into_folder(Database& source, const std::string& folder,
                                std::chrono::system_clock::time_point now, int keep) {
  FolderBackup out;
  out.path = (std::filesystem::path(folder) / backup_name(now)).string();
  out.report = backup_database(source, out.path);
  if (keep <= 0) return out;
  std::vector<std::string> backups;
  std::error_code ec;
  for (const auto& file : std::filesystem::directory_iterator(folder, ec))
    if (is_backup_name(file.path().filename().string())) backups.push_back(file.path().string());
  if (ec)
    throw StoreError("backup written to " + out.path + ", but " + folder +
                     " cannot be listed to remove old backups: " + ec.message());
  std::sort(backups.begin(), backups.end());
  for (std::size_t i = 0; i + static_cast<std::size_t>(keep) < backups.size(); ++i) {
    if (!std::filesystem::remove(backups[i], ec) && ec)
      throw StoreError("backup written to " + out.path + ", but the old backup " + backups[i] +
                       " cannot be removed: " + ec.message());
    out.removed.push_back(backups[i]);
  }
  return out;
}

}  // namespace markerwatch::store
