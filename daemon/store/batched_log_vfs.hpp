#pragma once
// A SQLite VFS that hands the write-ahead log its frames in one write per commit.
//
// SQLite writes each WAL frame as two pwrite calls (its 24-byte header, then the page): a commit of
// 16 MLLP messages made ~84 of them, about a fifth of the writer thread's time on this virtual
// machine. Under this VFS the log file gathers consecutive writes in memory and writes them at
// once when SQLite syncs, reads, truncates or closes it, or asks its size.
//
// Only for connections at synchronous = FULL: there SQLite syncs the log at every commit before
// it publishes the commit to other connections (wal.c), so they never read frames still held
// here. At NORMAL it publishes without a sync, and another connection could read stale frames.
namespace markerwatch::store {

// Registers the VFS on first use (not as the default) and returns its name for sqlite3_open_v2.
const char* batched_log_vfs();

}  // namespace markerwatch::store
