#pragma once
// A SQLite VFS that hands the write-ahead log a transaction's frames in few writes.
//
// SQLite writes each WAL frame as two pwrite calls (its 24-byte header, then the page): a commit of
// 16 MLLP messages made ~84 of them, about a fifth of the writer thread's time on this virtual
// machine, and an import of 1,000,000 rows ~200,000. Under this VFS the log file gathers the
// frames SQLite appends and writes them at once (up to 124 KiB per write), at the latest when a
// frame that ends a transaction has been written: before SQLite publishes that transaction to
// other connections, so they and a restarted process find every committed frame in the file,
// at synchronous = FULL and NORMAL alike. Syncs, reads, truncation and size queries write what is
// gathered first.
namespace markerwatch::store {

// Registers the VFS on first use (not as the default) and returns its name for sqlite3_open_v2.
const char* batched_log_vfs();

}  // namespace markerwatch::store
