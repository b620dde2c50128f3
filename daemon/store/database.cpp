#include "store/database.hpp"

#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>

#include "store/batched_log_vfs.hpp"
#include "store/page_cache.hpp"

namespace markerwatch::store {

namespace {

[[noreturn]] void fail(sqlite3* db, std::string_view what) {
  throw StoreError(std::string(what) + ": " + (db ? sqlite3_errmsg(db) : "out of memory"));
}

void create_private_file(const std::string& path) {
  std::error_code ec;
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent, ec);
  if (ec) throw StoreError("cannot create folder " + parent.string() + ": " + ec.message());
  // Health data: the file (and so its -wal and -shm companions) is readable by its owner only.
  int fd = ::open(path.c_str(), O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
  if (fd >= 0) {
    ::close(fd);
  } else if (errno != EEXIST) {
    throw StoreError("cannot create database " + path + ": " + std::strerror(errno));
  }
}

}  // namespace

void Statement::Finalizer::operator()(sqlite3_stmt* s) const {
  sqlite3_finalize(s);
}

Statement::Statement(sqlite3* db, std::string_view sql) : db_(db) {
  sqlite3_stmt* raw = nullptr;
  if (sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT,
                         &raw, nullptr) != SQLITE_OK)
    fail(db, "prepare failed for \"" + std::string(sql.substr(0, 60)) + "\"");
  stmt_.reset(raw);
}

Statement& Statement::bind(int index, std::int64_t v) {
  if (sqlite3_bind_int64(stmt_.get(), index, v) != SQLITE_OK) fail(db_, "bind");
  return *this;
}
Statement& Statement::bind(int index, double v) {
  if (sqlite3_bind_double(stmt_.get(), index, v) != SQLITE_OK) fail(db_, "bind");
  return *this;
}
Statement& Statement::bind(int index, std::string_view v) {
  if (sqlite3_bind_text(stmt_.get(), index, v.data(), static_cast<int>(v.size()), SQLITE_STATIC) !=
      SQLITE_OK)
    fail(db_, "bind");
  return *this;
}
Statement& Statement::bind(int index, std::optional<double> v) {
  return v ? bind(index, *v) : bind_null(index);
}
Statement& Statement::bind_null(int index) {
  if (sqlite3_bind_null(stmt_.get(), index) != SQLITE_OK) fail(db_, "bind");
  return *this;
}
Statement& Statement::bind_blob(int index, std::string_view bytes) {
  if (sqlite3_bind_blob(stmt_.get(), index, bytes.data(), static_cast<int>(bytes.size()),
                        SQLITE_STATIC) != SQLITE_OK)
    fail(db_, "bind");
  return *this;
}

bool Statement::step() {
  int rc = sqlite3_step(stmt_.get());
  if (rc == SQLITE_ROW) return true;
  if (rc == SQLITE_DONE) return false;
  std::string msg = sqlite3_errmsg(db_);
  sqlite3_reset(stmt_.get());
  throw StoreError("statement failed: " + msg);
}

void Statement::run() {
  try {
    while (step()) {
    }
  } catch (...) {
    reset();
    throw;
  }
  reset();
}

void Statement::reset() {
  // Bindings are not cleared: every caller binds every parameter before each step.
  sqlite3_reset(stmt_.get());
}

std::int64_t Statement::int64(int col) const {
  return sqlite3_column_int64(stmt_.get(), col);
}
double Statement::real(int col) const {
  return sqlite3_column_double(stmt_.get(), col);
}
std::optional<double> Statement::optional_real(int col) const {
  if (is_null(col)) return std::nullopt;
  return real(col);
}
std::string Statement::text(int col) const {
  return std::string(text_view(col));
}
std::string_view Statement::text_view(int col) const {
  auto p = reinterpret_cast<const char*>(sqlite3_column_text(stmt_.get(), col));
  return p ? std::string_view(p, static_cast<std::size_t>(sqlite3_column_bytes(stmt_.get(), col)))
           : std::string_view();
}
bool Statement::is_null(int col) const {
  return sqlite3_column_type(stmt_.get(), col) == SQLITE_NULL;
}

void Database::Closer::operator()(sqlite3* db) const {
  sqlite3_close_v2(db);
}

Database::Database(const std::string& path, const OpenOptions& options) : path_(path) {
  // Before SQLite initialises: connections are never shared between threads, memory
  // statistics (a global mutex on every allocation) are not needed, and the page cache skips
  // needless scans (store/page_cache.hpp).
  static const bool configured = [] {
    sqlite3_config(SQLITE_CONFIG_MULTITHREAD);
    sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    install_page_cache();
    return true;
  }();
  (void)configured;
  int flags = SQLITE_OPEN_NOMUTEX;
  if (options.read_only) {
    flags |= SQLITE_OPEN_READONLY;
  } else {
    if (path != ":memory:") create_private_file(path);
    flags |= SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE;
  }
  sqlite3* raw = nullptr;
  const char* vfs = options.batched_log_writes ? batched_log_vfs() : nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &raw, flags, vfs);
  db_.reset(raw);
  if (rc != SQLITE_OK) fail(raw, "cannot open database " + path);
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, options.busy_timeout_ms);
  try {
    exec("PRAGMA foreign_keys = ON");
    if (!options.read_only) {
      if (path != ":memory:") {
        auto mode = prepare("PRAGMA journal_mode = WAL");
        if (!mode.step() || mode.text(0) != "wal")
          throw StoreError("cannot switch to WAL journal mode");
      }
      set_synchronous(options.synchronous);
      // 64 MiB of page cache keeps the hot index pages of a busy day in memory.
      exec("PRAGMA cache_size = -65536");
      exec("PRAGMA temp_store = MEMORY");
      // In place of SQLite's own (PRAGMA wal_autocheckpoint), which the hook replaces.
      if (options.wal_autocheckpoint > 0) {
        auto_checkpoint_ = std::make_unique<AutoCheckpoint>(
            AutoCheckpoint{.pages = options.wal_autocheckpoint,
                           .tries = Backoff(Backoff::Duration::zero(), kAutoCheckpointFirstBackoff,
                                            kAutoCheckpointLongestBackoff)});
        sqlite3_wal_hook(raw, &Database::committed_to_log, auto_checkpoint_.get());
      } else {
        sqlite3_wal_hook(raw, nullptr, nullptr);
      }
    }
  } catch (const StoreError& e) {
    // These are the first reads and writes of the file: a full disk, a file that is not a
    // database or one without permission to its folder (for the -wal and -shm files) shows here.
    throw StoreError("cannot open database " + path + ": " + e.what());
  }
}

int Database::committed_to_log(void* auto_checkpoint, sqlite3* db, const char* schema, int pages) {
  auto& a = *static_cast<AutoCheckpoint*>(auto_checkpoint);
  if (pages < a.pages) return SQLITE_OK;
  const auto now = std::chrono::steady_clock::now();
  if (now < a.next_try) return SQLITE_OK;
  const int rc = sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  if (rc == SQLITE_OK)
    a.tries.succeeded();
  else if ((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED) {  // else: not tried
    a.next_try = now + a.tries.failed();
    ++a.failures;
  }
  return SQLITE_OK;  // the commit stands, whatever its checkpoint did (as with SQLite's own)
}

void Database::set_synchronous(Synchronous level) {
  exec(level == Synchronous::full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL");
}

void Database::sync_log() {
  sqlite3_file* log = nullptr;
  if (sqlite3_file_control(db_.get(), "main", SQLITE_FCNTL_JOURNAL_POINTER, &log) != SQLITE_OK)
    fail(db_.get(), "cannot reach the write-ahead log of " + path_);
  // No log file (an in-memory database, or nothing written yet): nothing to make durable.
  if (log == nullptr || log->pMethods == nullptr) return;
  if (const int rc = log->pMethods->xSync(log, SQLITE_SYNC_NORMAL); rc != SQLITE_OK)
    throw StoreError("cannot sync the write-ahead log of " + path_ + ": " + sqlite3_errstr(rc));
}

void Database::on_progress(std::function<void()> tick, std::chrono::milliseconds every) {
  if (!tick) {
    sqlite3_progress_handler(db_.get(), 0, nullptr, nullptr);
    progress_.reset();
    return;
  }
  progress_ = std::make_unique<Progress>(
      Progress{std::move(tick), every, std::chrono::steady_clock::now()});
  // Every 100,000 virtual machine instructions: well under a millisecond, so the clock is read
  // often enough and rarely enough.
  sqlite3_progress_handler(
      db_.get(), 100000,
      [](void* p) {
        auto& progress = *static_cast<Progress*>(p);
        const auto now = std::chrono::steady_clock::now();
        if (now - progress.last >= progress.every) {
          progress.last = now;
          progress.tick();
        }
        return 0;  // carry on
      },
      progress_.get());
}

void Database::exec(std::string_view sql) {
  char* err = nullptr;
  std::string copy(sql);
  if (sqlite3_exec(db_.get(), copy.c_str(), nullptr, nullptr, &err) != SQLITE_OK) {
    std::string msg = err ? err : "unknown error";
    sqlite3_free(err);
    throw StoreError(msg);
  }
}

Statement& Database::cached(std::string_view sql) {
  for (auto& [text, stmt] : cached_)
    if (text == sql) return stmt;
  return cached_.emplace_back(std::string(sql), prepare(sql)).second;
}

void Database::run_cached(std::string_view sql) {
  cached(sql).run();
}

std::int64_t Database::last_insert_id() const {
  return sqlite3_last_insert_rowid(db_.get());
}
int Database::changes() const {
  return sqlite3_changes(db_.get());
}

void Database::watch_table(const std::string& table) {
  if (watch_) {
    if (watch_->table != table)
      throw std::logic_error("a connection watches one table: " + watch_->table);
    return;
  }
  watch_ = std::make_unique<Watch>();
  watch_->table = table;
  sqlite3_update_hook(
      db_.get(),
      [](void* watch, int, const char*, const char* changed_table, sqlite3_int64) {
        auto& w = *static_cast<Watch*>(watch);
        if (w.table == changed_table) ++w.changes;
      },
      watch_.get());
}

void Database::rolled_back() {
  if (watch_) ++watch_->changes;
}

void Database::began() {
  if (watch_) {
    // Another connection's commit moves data_version; this connection's own commits do not.
    auto& query = cached("PRAGMA data_version");
    query.step();
    const auto version = query.int64(0);
    query.reset();
    if (watch_->data_version != version) ++watch_->changes;
    watch_->data_version = version;
  }
  ++open_transactions_;
}

Transaction::Transaction(Database& db) : db_(db) {
  db_.run_cached("BEGIN IMMEDIATE");
  try {
    db_.began();
  } catch (...) {
    db_.exec("ROLLBACK");
    throw;
  }
}
Transaction::~Transaction() {
  if (!done_) {
    --db_.open_transactions_;
    db_.rolled_back();
    try {
      db_.exec("ROLLBACK");
    } catch (...) {
      // Rollback after a failed COMMIT may report "no transaction is active": nothing to undo.
    }
  }
}
void Transaction::commit() {
  db_.run_cached("COMMIT");
  done_ = true;
  --db_.open_transactions_;
}

// Savepoint statements run for every message: prepared once, like every other statement.
Savepoint::Savepoint(Database& db) : db_(db) {
  db_.run_cached("SAVEPOINT mw_item");
}
Savepoint::~Savepoint() {
  if (!done_) {
    db_.rolled_back();
    try {
      db_.run_cached("ROLLBACK TO mw_item");
      db_.run_cached("RELEASE mw_item");
    } catch (...) {
      // The enclosing transaction's rollback undoes the work in any case.
    }
  }
}
void Savepoint::release() {
  db_.run_cached("RELEASE mw_item");
  done_ = true;
}

}  // namespace markerwatch::store
