// `markerwatch backup`: a consistent copy of the database, also while markerwatchd runs.
#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "store/backup.hpp"

namespace markerwatch::cli {

int cmd_backup(const Common& c, const std::string& target) {
  const auto s = load_settings(c);
  if (!std::filesystem::exists(s.storage.path))
    throw InputError("no database at " + s.storage.path + " (use --db or [storage] path)");
  // Read only and not upgraded: a backup taken before an upgrade is the one that can undo it.
  store::OpenOptions read_only;
  read_only.read_only = true;
  read_only.wal_autocheckpoint = 0;
  store::Database source(s.storage.path, read_only);
  const auto report = store::backup_database(source, target);
  std::cout << "backup written: " << target << " (" << report.bytes << " bytes, schema version "
            << report.schema_version << ", " << report.messages << " messages, " << report.results
            << " results, " << report.alerts << " alerts; quick_check ok)\n";
  return 0;
}

}  // namespace markerwatch::cli
