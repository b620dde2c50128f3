#pragma once
// The milestone log: every milestone added or removed, where it came from and who made the change.
// A removal deletes the milestone itself (episodes and alerts must not see it), so this log is
// where a reviewer finds what once anchored an alert that was later retracted, and who took it
// back. Appended in the transaction that changes the milestone.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/records.hpp"
#include "engine/alert_json.hpp"
#include "store/database.hpp"

namespace markerwatch::store {

// Where a milestone change came from.
struct MilestoneOrigin {
  std::string source;                      // cli | csv | api | fhir
  std::optional<std::int64_t> message_id;  // the file or request that carried it, if any
  std::string changed_by;                  // the person at the CLI; "" for a feed
};

enum class MilestoneChange { added, removed };
const char* to_string(MilestoneChange change);

struct MilestoneChangeRow {
  std::int64_t id = 0;
  std::string at, patient_id, authority, change, kind, date, end_date, note, markers, source;
  std::optional<std::int64_t> message_id;
  std::string changed_by;
};

// The machine form of a change (CLI --format json and the HTTP API).
engine::Json to_json(const MilestoneChangeRow& row);

class MilestoneLog {
 public:
  explicit MilestoneLog(Database& db);

  // `m` as it was stored (for a removal: with the end date and note it had); its patient key is
  // not read, `patient_id` is. Returns the change's id.
  std::int64_t append(std::int64_t patient_id, MilestoneChange change, const MilestoneRecord& m,
                      const MilestoneOrigin& origin, const std::string& at);
  // The changes of the patients `patient` names ("id" or "id^authority"; "" = every patient), in
  // the order they were made.
  std::vector<MilestoneChangeRow> changes(const std::string& patient);

 private:
  Statement insert_, select_;
};

}  // namespace markerwatch::store
