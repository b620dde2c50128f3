#include "store/page_cache.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <atomic>
#include <new>

namespace markerwatch::store {

namespace {

sqlite3_pcache_methods2 sqlite_cache{};  // SQLite's own (pcache1), set once before SQLite starts
std::atomic<bool> installed{false};
std::atomic<std::uint64_t> truncations_passed{0};
std::atomic<std::uint64_t> truncations_skipped{0};

// A cache belongs to one pager, whose connection calls it from one thread at a time.
struct Cache {
  sqlite3_pcache* real = nullptr;
  PageNumbers numbers;
};

Cache& cache_of(sqlite3_pcache* p) {
  return *reinterpret_cast<Cache*>(p);
}

int cache_init(void*) {
  return sqlite_cache.xInit != nullptr ? sqlite_cache.xInit(sqlite_cache.pArg) : SQLITE_OK;
}

void cache_shutdown(void*) {
  if (sqlite_cache.xShutdown != nullptr) sqlite_cache.xShutdown(sqlite_cache.pArg);
}

sqlite3_pcache* cache_create(int page_size, int extra_size, int purgeable) {
  sqlite3_pcache* real = sqlite_cache.xCreate(page_size, extra_size, purgeable);
  if (real == nullptr) return nullptr;
  auto* cache = new (std::nothrow) Cache{};
  if (cache == nullptr) {
    sqlite_cache.xDestroy(real);
    return nullptr;
  }
  cache->real = real;
  return reinterpret_cast<sqlite3_pcache*>(cache);
}

void cache_set_size(sqlite3_pcache* p, int pages) {
  sqlite_cache.xCachesize(cache_of(p).real, pages);
}

int cache_page_count(sqlite3_pcache* p) {
  return sqlite_cache.xPagecount(cache_of(p).real);
}

sqlite3_pcache_page* cache_fetch(sqlite3_pcache* p, unsigned key, int create) {
  auto& cache = cache_of(p);
  // Noted before the call: a page that could not be created only makes truncations careful.
  if (create != 0) cache.numbers.created(key);
  return sqlite_cache.xFetch(cache.real, key, create);
}

void cache_unpin(sqlite3_pcache* p, sqlite3_pcache_page* page, int discard) {
  sqlite_cache.xUnpin(cache_of(p).real, page, discard);
}

void cache_rekey(sqlite3_pcache* p, sqlite3_pcache_page* page, unsigned old_key, unsigned new_key) {
  auto& cache = cache_of(p);
  sqlite_cache.xRekey(cache.real, page, old_key, new_key);
  cache.numbers.moved(old_key, new_key);
}

// Drops every page numbered `limit` or higher.
void cache_truncate(sqlite3_pcache* p, unsigned limit) {
  auto& cache = cache_of(p);
  if (!cache.numbers.any_from(limit)) {
    truncations_skipped.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  truncations_passed.fetch_add(1, std::memory_order_relaxed);
  sqlite_cache.xTruncate(cache.real, limit);
  cache.numbers.truncated(limit);
}

void cache_destroy(sqlite3_pcache* p) {
  auto* cache = &cache_of(p);
  sqlite_cache.xDestroy(cache->real);
  delete cache;
}

void cache_shrink(sqlite3_pcache* p) {
  if (sqlite_cache.iVersion >= 2 && sqlite_cache.xShrink != nullptr)
    sqlite_cache.xShrink(cache_of(p).real);
}

}  // namespace

void PageNumbers::created(unsigned number) {
  highest_created_ = std::max(highest_created_, number);
}

void PageNumbers::moved(unsigned from, unsigned to) {
  if (const auto it = std::find(moved_above_.begin(), moved_above_.end(), from);
      it != moved_above_.end())
    moved_above_.erase(it);
  if (to <= highest_created_) return;
  try {
    moved_above_.push_back(to);
  } catch (const std::bad_alloc&) {
    highest_created_ = to;  // careful until the next truncation below it; no exception into SQLite
  }
}

bool PageNumbers::any_from(unsigned limit) const {
  // Pages are numbered from 1: 0 is no page created.
  return (highest_created_ != 0 && limit <= highest_created_) ||
         std::any_of(moved_above_.begin(), moved_above_.end(),
                     [limit](unsigned number) { return number >= limit; });
}

void PageNumbers::truncated(unsigned limit) {
  highest_created_ = std::min(highest_created_, limit == 0 ? 0 : limit - 1);
  std::erase_if(moved_above_, [limit](unsigned number) { return number >= limit; });
}

bool install_page_cache() {
  // Once only: before SQLite starts, a second call would find this cache as SQLite's own and
  // forward every call to itself.
  if (installed) return true;
  sqlite3_pcache_methods2 own{};
  if (sqlite3_config(SQLITE_CONFIG_GETPCACHE2, &own) != SQLITE_OK || own.xCreate == nullptr)
    return false;
  sqlite_cache = own;
  static sqlite3_pcache_methods2 wrapper = {
      2,
      nullptr,
      cache_init,
      cache_shutdown,
      cache_create,
      cache_set_size,
      cache_page_count,
      cache_fetch,
      cache_unpin,
      cache_rekey,
      cache_truncate,
      cache_destroy,
      cache_shrink,
  };
  if (sqlite3_config(SQLITE_CONFIG_PCACHE2, &wrapper) != SQLITE_OK) return false;
  installed = true;
  return true;
}

PageCacheCounts page_cache_counts() {
  return {installed.load(), truncations_passed.load(std::memory_order_relaxed),
          truncations_skipped.load(std::memory_order_relaxed)};
}

}  // namespace markerwatch::store
