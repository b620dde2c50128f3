#pragma once
// The result rows of a patient created in the current transaction. They are all the rows that
// patient has, so a batch that keeps them here answers E3's version lookup and the engine's
// history from memory instead of querying back what it has just written. Valid only inside that
// transaction: whoever keeps one drops it before the transaction commits or rolls back.
#include <cstdint>
#include <deque>
#include <map>
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

class NewPatientRows {
 public:
  NewPatientRows() = default;
  NewPatientRows(const NewPatientRows&) = delete;  // its index points into its own rows
  NewPatientRows& operator=(const NewPatientRows&) = delete;
  // The versions of r's series (marker, method) on r's collection date, in arrival order.
  std::vector<StoredResultVersion> versions_of(const ResultRecord& r) const;
  // A row just inserted; its id is above every row held.
  void add(std::int64_t row_id, const ResultRecord& r, bool effective);
  void set_effective(std::int64_t row_id, bool effective);
  // The effective values that count, as AlertStore::history reads them from the database: in
  // the order of its index (collection date, then row id).
  std::vector<engine::Value> values() const;

 private:
  struct Row {
    StoredResultVersion version;
    std::string marker, method, collected_date, unit;
    std::optional<double> value, uln;
    Comparator comparator = Comparator::none;
  };
  std::deque<Row> rows_;  // in row id order; a deque, so the keys below can view its strings
  // The rows of each series on each date (collection date, marker, method): a patient with a
  // long history finds a row's versions without scanning all of it.
  // (A multimap keeps rows with the same key in insertion order.)
  std::multimap<std::tuple<std::string_view, std::string_view, std::string_view>, const Row*>
      by_series_date_;
};

}  // namespace markerwatch::store
