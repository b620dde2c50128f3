#pragma once
// The values of the series (patient, marker) the writer evaluated lately, kept between its
// batches. Every result the daemon stores is evaluated with the rest of its series, and reading
// that series back from the database (an index range and a table row per value) was a fifth of the
// writer's time under load; the series is kept here instead and the stored row added to it.
//
// What is kept is exactly what AlertStore::history reads from the database, or nothing: the cache
// answers only inside a Transaction on its connection, and forgets everything whenever the results
// table changed in a way it was not told of (Database::watched_changes: a write by other code on
// this connection, a rollback, another connection's commit). Bounded by the room for values its
// series hold.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "core/records.hpp"
#include "engine/history.hpp"
#include "store/database.hpp"

namespace markerwatch::store {

class SeriesCache {
 public:
  // `max_values`: room for values (the series' capacity), at most. A value takes ~170 bytes, its
  // observation id (~40 characters from HL7) ~48 more; measured with the allocator's overhead,
  // ~350 bytes of resident memory (`[storage] series_cache_values`, bench/README.md).
  SeriesCache(Database& db, std::size_t max_values);
  SeriesCache(const SeriesCache&) = delete;
  SeriesCache& operator=(const SeriesCache&) = delete;

  // Whether the cache answers for the database now (see above); forgets what is out of date.
  // take, keep and note_stored are for after a `true` from here, with no change to the results
  // table in between but the one note_stored describes.
  bool current();
  // The series' effective values that count, in the index's order (collection date, then
  // arrival), handed over and no longer kept (they are kept again once evaluated, without a
  // copy); nullopt when it is not kept.
  std::optional<std::vector<engine::Value>> take(std::int64_t patient_id, std::string_view marker);
  // A series as read from the database, or as taken, since the last change to the results table.
  void keep(std::int64_t patient_id, std::string_view marker, std::vector<engine::Value> values);
  // The caller has stored `r` with flag `effective`. `flags_changed`: it changed the flags of
  // earlier rows of the series (E3), which is then read again when next needed.
  void note_stored(std::int64_t patient_id, const ResultRecord& r, bool effective,
                   bool flags_changed);

  // The caller has written rows of the patient some other way (ResultStore::write_new_rows): its
  // series are read again when next needed.
  void note_written(std::int64_t patient_id);

  std::size_t values_kept() const;
  // What the limit counts: the room the kept series hold (at least values_kept()).
  std::size_t room_kept() const { return slots_; }

 private:
  struct Series {
    std::string marker;
    std::vector<engine::Value> values;
  };
  Series* series_of(std::int64_t patient_id, std::string_view marker);
  // The patient's series `only`, or all of them (nullptr).
  void forget(std::int64_t patient_id, const Series* only);
  void clear();

  Database& db_;
  std::size_t max_values_;
  std::uint64_t seen_changes_ = 0;
  std::unordered_map<std::int64_t, std::vector<Series>> patients_;  // a patient has few markers
  std::size_t slots_ = 0;                                           // the series' capacity
};

}  // namespace markerwatch::store
