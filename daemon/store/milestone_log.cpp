#include "store/milestone_log.hpp"

#include "core/text.hpp"

namespace markerwatch::store {

const char* to_string(MilestoneChange change) {
  return change == MilestoneChange::added ? "added" : "removed";
}

engine::Json to_json(const MilestoneChangeRow& row) {
  return {{"id", row.id},
          {"at", row.at},
          {"patient_id", row.patient_id},
          {"authority", row.authority},
          {"change", row.change},
          {"kind", row.kind},
          {"date", row.date},
          {"end_date", row.end_date},
          {"note", row.note},
          {"markers", row.markers},
          {"source", row.source},
          {"message_id", row.message_id ? engine::Json(*row.message_id) : engine::Json(nullptr)},
          {"by", row.changed_by}};
}

MilestoneLog::MilestoneLog(Database& db)
    : insert_(db.prepare(
          "INSERT INTO milestone_changes (at, patient_id, change, kind, date, end_date, note, "
          "markers, source, message_id, changed_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
          "RETURNING id")),
      select_(db.prepare(
          "SELECT c.id, c.at, p.identifier, p.authority, c.change, c.kind, c.date, c.end_date, "
          "c.note, c.markers, c.source, c.message_id, c.changed_by FROM milestone_changes c "
          "JOIN patients p ON p.id = c.patient_id WHERE (?1 = '' OR p.identifier = ?1) AND "
          "(?2 = '' OR p.authority = ?2) ORDER BY c.id")) {}

std::int64_t MilestoneLog::append(std::int64_t patient_id, MilestoneChange change,
                                  const MilestoneRecord& m, const MilestoneOrigin& origin,
                                  const std::string& at) {
  const auto markers = text::join(m.markers, ";");  // bound without a copy: outlives the step
  insert_.bind(1, at)
      .bind(2, patient_id)
      .bind(3, to_string(change))
      .bind(4, m.kind)
      .bind(5, m.date)
      .bind(6, m.end_date)
      .bind(7, m.note)
      .bind(8, markers)
      .bind(9, origin.source)
      .bind(11, origin.changed_by);
  if (origin.message_id)
    insert_.bind(10, *origin.message_id);
  else
    insert_.bind_null(10);
  insert_.step();
  const auto id = insert_.int64(0);
  insert_.reset();
  return id;
}

std::vector<MilestoneChangeRow> MilestoneLog::changes(const std::string& patient) {
  std::vector<MilestoneChangeRow> rows;
  const auto key = split_patient_key(patient);
  select_.bind(1, key.id).bind(2, key.authority);
  while (select_.step()) {
    MilestoneChangeRow row;
    row.id = select_.int64(0);
    row.at = select_.text(1);
    row.patient_id = select_.text(2);
    row.authority = select_.text(3);
    row.change = select_.text(4);
    row.kind = select_.text(5);
    row.date = select_.text(6);
    row.end_date = select_.text(7);
    row.note = select_.text(8);
    row.markers = select_.text(9);
    row.source = select_.text(10);
    if (!select_.is_null(11)) row.message_id = select_.int64(11);
    row.changed_by = select_.text(12);
    rows.push_back(std::move(row));
  }
  select_.reset();
  return rows;
}

}  // namespace markerwatch::store
