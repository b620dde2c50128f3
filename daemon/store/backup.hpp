#pragma once
// A copy of the database that can be taken while markerwatchd writes it: one read transaction
// (SQLite's VACUUM INTO), so the copy is the state of one moment, with every commit before it and
// none after; the daemon's writer goes on meanwhile (WAL).
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "store/database.hpp"

namespace markerwatch::store {

struct BackupReport {
  std::uintmax_t bytes = 0;
  int schema_version = 0;
  std::int64_t messages = 0;
  std::int64_t results = 0;
  std::int64_t alerts = 0;
};

// Writes the database `source` is connected to into `target`, a file that must not exist yet (its
// folder must): created with mode 0600 (health data), synced to disk with its folder entry, then
// opened again and checked (PRAGMA quick_check) before the counts are read from it. On any error
// the target is removed and StoreError says what failed; the source is only read.
BackupReport backup_database(Database& source, const std::string& target);

struct FolderBackup {
  std::string path;
  BackupReport report;
  std::vector<std::string> removed;  // older backups removed to keep `keep`
};

// A backup into `folder` (which must exist) named after `now`, markerwatch-YYYYMMDDThhmmss.mmmZ.db
// (UTC: names sort as times do); then, when `keep` > 0, the oldest files of that name pattern
// beyond the newest `keep` are removed. Other files in the folder are never touched.
FolderBackup backup_into_folder(Database& source, const std::string& folder,
                                std::chrono::system_clock::time_point now, int keep);

}  // namespace markerwatch::store
