// `markerwatch backup`: a consistent copy of the database, also while markerwatchd runs.
#include <filesystem>
#include <iostream>

#include "cli/commands.hpp"
#include "core/clock.hpp"
#include "store/backup.hpp"

namespace markerwatch::cli {

int cmd_backup(const Common& c, const BackupArgs& args) {
  if (args.file.empty() == args.folder.empty())
    throw InputError("give either the new file or --into FOLDER");
  const auto s = load_settings(c);
  if (!std::filesystem::exists(s.storage.path))
    throw InputError("no database at " + s.storage.path + " (use --db or [storage] path)");
  // Read only and not upgraded: a backup taken before an upgrade is the one that can undo it.
  store::Database source(s.storage.path, store::read_only_options());
  std::string target = args.file;
  store::BackupReport report;
  std::vector<std::string> removed;
  if (args.folder.empty()) {
    report = store::backup_database(source, target);
  } else {
    auto made = store::backup_into_folder(source, args.folder, SystemClock().now(), args.keep);
    target = std::move(made.path);
    report = made.report;
    removed = std::move(made.removed);
  }
  std::cout << "backup written: " << target << " (" << report.bytes << " bytes, schema version "
            << report.schema_version << ", " << report.messages << " messages, " << report.results
            << " results, " << report.alerts << " alerts; quick_check ok)\n";
  for (const auto& old : removed) std::cout << "old backup removed: " << old << "\n";
  return 0;
}

}  // namespace markerwatch::cli
