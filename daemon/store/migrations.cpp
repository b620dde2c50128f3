#include "store/migrations.hpp"

#include "core/timestamp.hpp"

#include <chrono>

namespace markerwatch::store {

namespace {

std::string now_utc() {
  using namespace std::chrono;
  return format_utc(duration_cast<seconds>(system_clock::now().time_since_epoch()).count());
}

}  // namespace

int schema_version(Database& db) {
  db.exec(
      "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT "
      "NULL, applied_at TEXT NOT NULL)");
  auto q = db.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
  q.step();
  return static_cast<int>(q.int64(0));
}

void check_schema_version(Database& db, const std::vector<SchemaFile>& files) {
  int version = 0;
  try {
    auto q = db.prepare("SELECT COALESCE(MAX(version), 0) FROM schema_migrations");
    q.step();
    version = static_cast<int>(q.int64(0));
  } catch (const StoreError&) {
    throw StoreError(db.path() + " is not a markerwatch database");
  }
  const int known = files.empty() ? 0 : files.back().version;
  if (version > known)
    throw StoreError("database " + db.path() + " has schema version " + std::to_string(version) +
                     ", newer than this markerwatch knows (" + std::to_string(known) + ")");
}

MigrationReport migrate(Database& db, const std::vector<SchemaFile>& files,
                        const MigrationProgress& progress) {
  // Removed however the upgrade ends: nothing of it is called after.
  class Ticking {
   public:
    Ticking(Database& db, const MigrationProgress& progress)
        : db_(db), installed_(static_cast<bool>(progress.still_working)) {
      if (installed_) db_.on_progress(progress.still_working, progress.every);
    }
    ~Ticking() {
      if (installed_) db_.on_progress({}, {});
    }
    Ticking(const Ticking&) = delete;
    Ticking& operator=(const Ticking&) = delete;

   private:
    Database& db_;
    bool installed_;
  } ticking(db, progress);
  Transaction txn(db);
  MigrationReport report;
  report.from_version = schema_version(db);
  const int known = files.empty() ? 0 : files.back().version;
  if (report.from_version > known)
    throw StoreError("database " + db.path() + " has schema version " +
                     std::to_string(report.from_version) + ", newer than this markerwatch knows (" +
                     std::to_string(known) + "); upgrade markerwatch or use a matching database");
  auto record =
      db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)");
  report.to_version = report.from_version;
  for (const auto& f : files) {
    if (f.version <= report.from_version) continue;
    try {
      db.exec(f.sql);
    } catch (const StoreError& e) {
      throw StoreError("schema file " + f.name + " failed: " + e.what());
    }
    record.bind(1, f.version).bind(2, f.name).bind(3, now_utc()).run();
    report.to_version = f.version;
  }
  txn.commit();
  return report;
}

}  // namespace markerwatch::store
