#include "store/batched_log_vfs.hpp"

#include <sqlite3.h>

#include <cstddef>
#include <new>
#include <stdexcept>
#include <string>

namespace markerwatch::store {

namespace {

// At most this much is gathered: the default unix VFS writes at most 128 KiB - 1 bytes per call
// (os_unix.c, seekAndWriteFd) and reports a longer write as a full disk.
constexpr std::size_t kMaxGathered = 124 * 1024;

// The log file as SQLite sees it; the real one (the default VFS's) lives right behind it.
struct LogFile {
  sqlite3_file base;  // first: SQLite hands this pointer to every method
  sqlite3_file* real = nullptr;
  sqlite3_int64 gathered_at = 0;  // file offset of gathered[0]
  std::string gathered;
  // Where the next new frame goes: the end of the last frame this connection appended (another
  // connection may have appended since; then the offsets differ and that frame is written at once).
  sqlite3_int64 append_at = -1;
  sqlite3_int64 page_at = -1;  // offset of the page whose frame header was just gathered
  bool commit_frame = false;   // that header ends a transaction
};

constexpr std::size_t kRealOffset = (sizeof(LogFile) + 15) / 16 * 16;

LogFile& log_of(sqlite3_file* f) {
  return *reinterpret_cast<LogFile*>(f);
}
sqlite3_file* real_of(sqlite3_file* f) {
  return log_of(f).real;
}

int flush(LogFile& log) {
  if (log.gathered.empty()) return SQLITE_OK;
  const int rc = log.real->pMethods->xWrite(log.real, log.gathered.data(),
                                            static_cast<int>(log.gathered.size()), log.gathered_at);
  // On failure the frames are gone with the transaction that wrote them: SQLite rolls it back.
  log.gathered.clear();
  return rc;
}

int log_close(sqlite3_file* f) {
  auto& log = log_of(f);
  const int flushed = flush(log);
  const int closed = log.real->pMethods->xClose(log.real);
  log.~LogFile();
  return flushed != SQLITE_OK ? flushed : closed;
}

int log_read(sqlite3_file* f, void* out, int amount, sqlite3_int64 offset) {
  if (const int rc = flush(log_of(f)); rc != SQLITE_OK) return rc;
  return real_of(f)->pMethods->xRead(real_of(f), out, amount, offset);
}

// SQLite appends a frame as two writes, its 24-byte header and then its page (wal.c,
// walWriteOneFrame). Bytes 4-7 of the header hold the database size after a commit, 0 in other
// frames (https://www.sqlite.org/fileformat2.html#walformat). Only that pattern is gathered; any
// other write (the log's own header after a reset, a rewritten frame header) goes out at once.
constexpr int kFrameHeaderBytes = 24;

bool ends_transaction(const unsigned char* frame_header) {
  return (frame_header[4] | frame_header[5] | frame_header[6] | frame_header[7]) != 0;
}

int gather(LogFile& log, const void* data, std::size_t size, sqlite3_int64 offset) {
  const bool follows = offset == log.gathered_at + static_cast<sqlite3_int64>(log.gathered.size());
  if (!log.gathered.empty() && (!follows || log.gathered.size() + size > kMaxGathered))
    if (const int rc = flush(log); rc != SQLITE_OK) return rc;
  if (log.gathered.empty()) log.gathered_at = offset;
  log.gathered.append(static_cast<const char*>(data), size);
  return SQLITE_OK;
}

int log_write(sqlite3_file* f, const void* data, int amount, sqlite3_int64 offset) {
  auto& log = log_of(f);
  const auto size = static_cast<std::size_t>(amount);
  if (amount == kFrameHeaderBytes && offset == log.append_at) {
    log.page_at = offset + kFrameHeaderBytes;
    log.commit_frame = ends_transaction(static_cast<const unsigned char*>(data));
    return gather(log, data, size, offset);
  }
  if (offset == log.page_at && size <= kMaxGathered) {
    log.page_at = -1;
    log.append_at = offset + amount;
    if (const int rc = gather(log, data, size, offset); rc != SQLITE_OK) return rc;
    // A transaction's frames are in the file before SQLite publishes it to other connections
    // (after this write returns), also at synchronous = NORMAL, where no sync follows.
    return log.commit_frame ? flush(log) : SQLITE_OK;
  }
  log.page_at = -1;
  if (const int rc = flush(log); rc != SQLITE_OK) return rc;
  // After the log's header (a reset) the frames start right behind it. After anything else
  // (a frame header rewritten in place, a frame another connection's appends put elsewhere) this
  // guess may be wrong: the next frame is then written at once, and its page sets it right.
  log.append_at = offset + amount;
  return log.real->pMethods->xWrite(log.real, data, amount, offset);
}

int log_truncate(sqlite3_file* f, sqlite3_int64 size) {
  if (const int rc = flush(log_of(f)); rc != SQLITE_OK) return rc;
  return real_of(f)->pMethods->xTruncate(real_of(f), size);
}

int log_sync(sqlite3_file* f, int flags) {
  if (const int rc = flush(log_of(f)); rc != SQLITE_OK) return rc;
  return real_of(f)->pMethods->xSync(real_of(f), flags);
}

int log_file_size(sqlite3_file* f, sqlite3_int64* size) {
  if (const int rc = flush(log_of(f)); rc != SQLITE_OK) return rc;
  return real_of(f)->pMethods->xFileSize(real_of(f), size);
}

int log_lock(sqlite3_file* f, int level) {
  return real_of(f)->pMethods->xLock(real_of(f), level);
}
int log_unlock(sqlite3_file* f, int level) {
  return real_of(f)->pMethods->xUnlock(real_of(f), level);
}
int log_check_reserved_lock(sqlite3_file* f, int* out) {
  return real_of(f)->pMethods->xCheckReservedLock(real_of(f), out);
}
int log_file_control(sqlite3_file* f, int op, void* arg) {
  if (const int rc = flush(log_of(f)); rc != SQLITE_OK) return rc;
  return real_of(f)->pMethods->xFileControl(real_of(f), op, arg);
}
int log_sector_size(sqlite3_file* f) {
  return real_of(f)->pMethods->xSectorSize(real_of(f));
}
int log_device_characteristics(sqlite3_file* f) {
  return real_of(f)->pMethods->xDeviceCharacteristics(real_of(f));
}

// The log is never memory-mapped nor given shared memory by SQLite; these forward for
// completeness of the version-3 method table.
int log_shm_map(sqlite3_file* f, int page, int size, int extend, void volatile** out) {
  auto* real = real_of(f);
  if (real->pMethods->iVersion < 2) return SQLITE_IOERR_SHMMAP;
  return real->pMethods->xShmMap(real, page, size, extend, out);
}
int log_shm_lock(sqlite3_file* f, int offset, int n, int flags) {
  auto* real = real_of(f);
  if (real->pMethods->iVersion < 2) return SQLITE_IOERR_SHMLOCK;
  return real->pMethods->xShmLock(real, offset, n, flags);
}
void log_shm_barrier(sqlite3_file* f) {
  auto* real = real_of(f);
  if (real->pMethods->iVersion >= 2) real->pMethods->xShmBarrier(real);
}
int log_shm_unmap(sqlite3_file* f, int remove) {
  auto* real = real_of(f);
  if (real->pMethods->iVersion < 2) return SQLITE_OK;
  return real->pMethods->xShmUnmap(real, remove);
}
int log_fetch(sqlite3_file* f, sqlite3_int64 offset, int amount, void** out) {
  *out = nullptr;  // no mapping: SQLite then reads
  if (const int rc = flush(log_of(f)); rc != SQLITE_OK) return rc;
  auto* real = real_of(f);
  if (real->pMethods->iVersion < 3) return SQLITE_OK;
  return real->pMethods->xFetch(real, offset, amount, out);
}
int log_unfetch(sqlite3_file* f, sqlite3_int64 offset, void* page) {
  auto* real = real_of(f);
  if (real->pMethods->iVersion < 3) return SQLITE_OK;
  return real->pMethods->xUnfetch(real, offset, page);
}

const sqlite3_io_methods kLogMethods = {
    3,
    log_close,
    log_read,
    log_write,
    log_truncate,
    log_sync,
    log_file_size,
    log_lock,
    log_unlock,
    log_check_reserved_lock,
    log_file_control,
    log_sector_size,
    log_device_characteristics,
    log_shm_map,
    log_shm_lock,
    log_shm_barrier,
    log_shm_unmap,
    log_fetch,
    log_unfetch,
};

sqlite3_vfs* real_vfs(sqlite3_vfs* vfs) {
  return static_cast<sqlite3_vfs*>(vfs->pAppData);
}

int vfs_open(sqlite3_vfs* vfs, const char* name, sqlite3_file* file, int flags, int* out_flags) {
  auto* real = real_vfs(vfs);
  // Every other file is the default VFS's own, in the same memory.
  if (!(flags & SQLITE_OPEN_WAL)) return real->xOpen(real, name, file, flags, out_flags);
  auto* log = new (file) LogFile{};
  log->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + kRealOffset);
  const int rc = real->xOpen(real, name, log->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    log->~LogFile();
    file->pMethods = nullptr;  // SQLite then does not close it
    return rc;
  }
  file->pMethods = &kLogMethods;
  return SQLITE_OK;
}

// The rest is the default VFS's, called with its own object.
int vfs_delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
  return real_vfs(vfs)->xDelete(real_vfs(vfs), name, sync_dir);
}
int vfs_access(sqlite3_vfs* vfs, const char* name, int flags, int* out) {
  return real_vfs(vfs)->xAccess(real_vfs(vfs), name, flags, out);
}
int vfs_full_pathname(sqlite3_vfs* vfs, const char* name, int size, char* out) {
  return real_vfs(vfs)->xFullPathname(real_vfs(vfs), name, size, out);
}
void* vfs_dl_open(sqlite3_vfs* vfs, const char* name) {
  return real_vfs(vfs)->xDlOpen(real_vfs(vfs), name);
}
void vfs_dl_error(sqlite3_vfs* vfs, int size, char* out) {
  real_vfs(vfs)->xDlError(real_vfs(vfs), size, out);
}
void (*vfs_dl_sym(sqlite3_vfs* vfs, void* handle, const char* symbol))(void) {
  return real_vfs(vfs)->xDlSym(real_vfs(vfs), handle, symbol);
}
void vfs_dl_close(sqlite3_vfs* vfs, void* handle) {
  real_vfs(vfs)->xDlClose(real_vfs(vfs), handle);
}
int vfs_randomness(sqlite3_vfs* vfs, int size, char* out) {
  return real_vfs(vfs)->xRandomness(real_vfs(vfs), size, out);
}
int vfs_sleep(sqlite3_vfs* vfs, int microseconds) {
  return real_vfs(vfs)->xSleep(real_vfs(vfs), microseconds);
}
int vfs_current_time(sqlite3_vfs* vfs, double* out) {
  return real_vfs(vfs)->xCurrentTime(real_vfs(vfs), out);
}
int vfs_get_last_error(sqlite3_vfs* vfs, int size, char* out) {
  return real_vfs(vfs)->xGetLastError(real_vfs(vfs), size, out);
}
int vfs_current_time_int64(sqlite3_vfs* vfs, sqlite3_int64* out) {
  return real_vfs(vfs)->xCurrentTimeInt64(real_vfs(vfs), out);
}

sqlite3_vfs make_vfs(sqlite3_vfs* real) {
  sqlite3_vfs vfs{};
  vfs.iVersion = 2;  // up to xCurrentTimeInt64; the system-call overrides are not offered
  vfs.szOsFile = static_cast<int>(kRealOffset) + real->szOsFile;
  vfs.mxPathname = real->mxPathname;
  vfs.zName = "markerwatch-batched-log";
  vfs.pAppData = real;
  vfs.xOpen = vfs_open;
  vfs.xDelete = vfs_delete;
  vfs.xAccess = vfs_access;
  vfs.xFullPathname = vfs_full_pathname;
  vfs.xDlOpen = vfs_dl_open;
  vfs.xDlError = vfs_dl_error;
  vfs.xDlSym = vfs_dl_sym;
  vfs.xDlClose = vfs_dl_close;
  vfs.xRandomness = vfs_randomness;
  vfs.xSleep = vfs_sleep;
  vfs.xCurrentTime = vfs_current_time;
  vfs.xGetLastError = vfs_get_last_error;
  vfs.xCurrentTimeInt64 = real->iVersion >= 2 ? vfs_current_time_int64 : nullptr;
  return vfs;
}

}  // namespace

const char* batched_log_vfs() {
  static const sqlite3_vfs* registered = [] {
    // The unix VFS by name: a test may register a VFS of its own as the default for a while.
    auto* real = sqlite3_vfs_find("unix");
    if (real == nullptr) real = sqlite3_vfs_find(nullptr);
    if (real == nullptr) throw std::runtime_error("SQLite has no default VFS");
    static sqlite3_vfs vfs = make_vfs(real);  // SQLite keeps the pointer: it lives as long
    if (sqlite3_vfs_register(&vfs, 0) != SQLITE_OK)
      throw std::runtime_error("cannot register the batched-log VFS");
    return &vfs;
  }();
  return registered->zName;
}

}  // namespace markerwatch::store
