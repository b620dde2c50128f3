#pragma once
// SQLite's own page cache, spared a scan of its whole hash table at the end of most transactions.
//
// When a b-tree page splits, SQLite renumbers the new pages into ascending order and parks one
// under the lock-byte page's number (1 GiB / page size + 1; btree.c, balance_nonroot). Its page
// cache (pcache1) keeps that number as the highest key it has seen, so at the end of the
// transaction, when the pager drops the pages beyond the database's size (pager.c,
// pager_end_transaction), it takes the whole table to hold pages beyond it and walks every
// bucket: ~16,000 pages at our 64 MiB cache, a cache miss each. `perf` of markerwatchd at 32
// connections put 8% of its samples there (the writer's 7-11% less CPU without it), in nearly
// every group commit.
//
// This cache hands every call to SQLite's own, but keeps, per cache, the highest number a page
// was created under and the numbers pages were moved to above it (the parked page, until it
// is moved back). A truncation that no page can be affected by is answered here.
#include <cstdint>
#include <vector>

namespace markerwatch::store {

// The page numbers a cache may hold, as far as a truncation needs to know.
class PageNumbers {
 public:
  void created(unsigned number);
  void moved(unsigned from, unsigned to);
  // False only when no page numbered `limit` or higher can be in the cache.
  bool any_from(unsigned limit) const;
  void truncated(unsigned limit);

 private:
  // No page was created under a higher number since the last truncation below it...
  unsigned highest_created_ = 0;
  // ...except the pages moved above it (one that SQLite dropped while there may stay listed,
  // which only costs a truncation handed on).
  std::vector<unsigned> moved_above_;
};

// Installs the page cache; to be called before SQLite initialises (false if it already has:
// SQLite's own cache is then used unchanged). Calling it again changes nothing.
bool install_page_cache();

struct PageCacheCounts {
  bool installed = false;                 // install_page_cache() took effect
  std::uint64_t truncations_passed = 0;   // handed to SQLite's cache
  std::uint64_t truncations_skipped = 0;  // no page could be at or beyond the limit
};
// Over the whole process, every connection.
PageCacheCounts page_cache_counts();

}  // namespace markerwatch::store
