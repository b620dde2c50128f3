#pragma once
// The result rows of a patient created in the current transaction. They are all the rows that
// patient has, so a batch that keeps them here answers E3's version lookup and the engine's
// history from memory instead of querying back what it has written, and writes them with
// statements of many rows each. Valid only inside that transaction: whoever keeps one writes and
// drops it before the transaction commits, or drops it when it rolls back. The rows can also be
// admitted before the patient exists, on any thread (the CSV import's reading thread does, for a
// patient the database may not have yet), and handed to the transaction that creates it.
#include <cstdint>
#include <deque>
#include <map>
#include <memory_resource>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "core/records.hpp"
#include "core/version_resolution.hpp"
#include "engine/history.hpp"

namespace markerwatch::store {

// A stored version of a result with its E3 flag.
struct StoredResultVersion {
  VersionContent content;
  bool effective = false;
};

// The row id an arriving result is resolved under: above every stored one.
inline constexpr std::int64_t kArrivingRow = INT64_MAX;

// E3 on the arrival of `r` after `versions` (its series on its date, in arrival order): nullopt
// when it repeats one of them, otherwise the resolution, with `r` as kArrivingRow. Throws
// InputError as admit_version does.
std::optional<VersionResolution> admit_arrival(const std::vector<StoredResultVersion>& versions,
                                               const ResultRecord& r);
// Whether `row_id` carries its observation's current value after `resolution`.
bool is_effective(const VersionResolution& resolution, std::int64_t row_id);
// What the engine reads of a row stored with flag `effective`, when it counts: effective, with a
// value, of a status that counts (E3) and on a valid date. AlertStore::history filters the same.
std::optional<engine::Value> counted_value(const ResultRecord& r, bool effective);

// The rows are written to the database in one go (ResultStore::write_new_rows), before the
// transaction commits: until then they are numbered here, in arrival order, and only here.
class NewPatientRows {
 public:
  struct Row {
    std::int64_t number = 0;  // arrival order within the batch, from 1
    ResultRecord record;
    std::optional<std::int64_t> message_id;
    bool effective = false;
  };

  NewPatientRows() = default;
  // Its index points into its own rows and both into its arena: it stays where it was made (held
  // by a unique_ptr where it has to change hands).
  NewPatientRows(const NewPatientRows&) = delete;
  NewPatientRows& operator=(const NewPatientRows&) = delete;

  // E3 on the arrival of `r` after every row held: keeps it (moved from `r`), numbered above
  // them, and updates their flags (true), or finds that it repeats one of them (false, `r` left
  // as it was). Throws InputError as admit_version does, keeping nothing.
  bool admit(ResultRecord&& r, std::optional<std::int64_t> message_id);
  // Every row came with the message `message_id` (rows admitted before the message was stored).
  void assign_message(std::int64_t message_id);
  // The effective values that count, as AlertStore::history reads them from the database: in
  // the order of its index (collection date, then arrival).
  std::vector<engine::Value> values() const;
  // Every row in arrival order.
  const std::pmr::deque<Row>& rows() const { return rows_; }

 private:
  // The versions of r's series (marker, method) on r's collection date, in arrival order; their
  // row ids are the numbers given here.
  std::vector<StoredResultVersion> versions_of(const ResultRecord& r) const;

  // The rows and their index are allocated from one arena and dropped together: allocating them
  // one by one cost more than admitting them. (Declared first: it outlives both.)
  std::pmr::monotonic_buffer_resource arena_;
  // In arrival order; a deque, so the keys below can view its strings.
  std::pmr::deque<Row> rows_{&arena_};
  // The rows of each series on each date (collection date, marker, method): a patient with a
  // long history finds a row's versions without scanning all of it.
  // (A multimap keeps rows with the same key in insertion order.)
  std::pmr::multimap<std::tuple<std::string_view, std::string_view, std::string_view>, const Row*>
      by_series_date_{&arena_};
};

}  // namespace markerwatch::store
