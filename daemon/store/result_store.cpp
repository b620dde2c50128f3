#include "store/result_store.hpp"

#include <algorithm>
#include <climits>

#include "core/patient_choice.hpp"
#include "core/text.hpp"
#include "core/version_resolution.hpp"

namespace markerwatch::store {

namespace {

std::string join_markers(const std::vector<std::string>& markers) {
  return text::join(markers, ";");
}

constexpr const char* kResultColumns =
    "r.id, p.identifier, p.authority, r.marker, r.method, r.collected_at, r.collected_date, "
    "r.collected_raw, r.value, r.comparator, r.value_raw, r.unit, r.unit_raw, r.reference_range, "
    "r.uln, r.status, r.obs_id, r.version_time, r.source, r.effective";

// INSERT of `rows` result rows, each with ResultStore::kResultColumnCount parameters.
std::string insert_results_sql(std::size_t rows) {
  std::string sql =
      "INSERT INTO results (patient_id, marker, method, collected_at, collected_date, "
      "collected_raw, collected_offset_assumed, value, comparator, value_raw, unit, unit_raw, "
      "reference_range, uln, status, obs_id, version_time, source, message_id, effective, "
      "stored_at) VALUES ";
  for (std::size_t i = 0; i < rows; ++i)
    sql += i == 0 ? "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
                  : ", (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
  return sql;
}

}  // namespace

engine::Json to_json(const ResultRow& r) {
  return {{"patient_id", r.patient_id},
          {"authority", r.authority},
          {"marker", r.marker},
          {"method", r.method},
          {"collected_at", r.collected_at},
          {"collected_date", r.collected_date},
          {"comparator", r.comparator},
          {"value_raw", r.value_raw},
          {"unit", r.unit},
          {"unit_raw", r.unit_raw},
          {"reference_range", r.reference_range},
          {"status", r.status},
          {"obs_id", r.obs_id},
          {"source", r.source},
          {"effective", r.effective},
          {"value", r.value ? engine::Json(*r.value) : engine::Json(nullptr)},
          {"uln", r.uln ? engine::Json(*r.uln) : engine::Json(nullptr)}};
}

engine::Json to_json(const MilestoneRow& row) {
  return {{"patient_id", row.patient_id},
          {"authority", row.authority},
          {"kind", row.kind},
          {"date", row.date},
          {"end_date", row.end_date},
          {"note", row.note},
          {"markers", row.markers},
          {"source", row.source}};
}

ResultStore::ResultStore(Database& db, SeriesCache* series)
    : db_(db),
      series_(series),
      // What choose_patient needs, in the unique index's order, which SQLite reads without
      // sorting (ordered by id it built a sorter for every lookup: a quarter of the cost of
      // importing a new patient's few rows).
      find_patient_candidates_(db.prepare(
          "SELECT id, authority FROM patients WHERE identifier = ?1 AND "
          "(?2 = '' OR authority = ?2 OR authority = '') ORDER BY identifier, authority LIMIT 3")),
      claim_patient_(db.prepare("UPDATE patients SET authority = ?2 WHERE id = ?1")),
      insert_patient_(
          db.prepare("INSERT INTO patients (identifier, authority, created_at) VALUES (?, ?, ?)")),
      insert_message_(db.prepare(
          "INSERT INTO messages (transport, peer, sender, control_id, content_sha256, received_at, "
          "raw, outcome, ack_code, error, results_stored, observations_ignored, duplicate_of) "
          "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")),
      update_message_(db.prepare(
          "UPDATE messages SET outcome = ?, ack_code = ?, error = ?, results_stored = ?, "
          "observations_ignored = ? WHERE id = ?")),
      find_accepted_(db.prepare(
          "SELECT id FROM messages WHERE sender = ? AND control_id = ? AND content_sha256 = ? "
          "AND (outcome = 'accepted' OR outcome = 'ignored') ORDER BY id LIMIT 1")),
      insert_result_(db.prepare(insert_results_sql(1))),
      series_versions_(db.prepare(
          "SELECT id, obs_id, status, version_time, effective, collected_at, value_raw, unit_raw, "
          "reference_range FROM results WHERE patient_id = ?1 AND collected_date = ?4 AND marker = "
          "?2 "
          "AND method = ?3 ORDER BY id")),
      set_effective_(db.prepare("UPDATE results SET effective = ? WHERE id = ?")),
      insert_milestone_(db.prepare(
          "INSERT OR IGNORE INTO milestones (patient_id, kind, date, end_date, note, markers, "
          "source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)")),
      delete_milestone_(
          db.prepare("DELETE FROM milestones WHERE patient_id = ? AND kind = ? AND date = ? AND "
                     "markers = ? RETURNING end_date, note")),
      select_results_(db.prepare(std::string("SELECT ") + kResultColumns +
                                 " FROM results r JOIN patients p ON p.id = r.patient_id "
                                 "WHERE p.identifier = ?1 AND (?4 = '' OR p.authority = ?4) "
                                 "AND (?2 = '' OR r.marker = ?2) AND "
                                 "(?3 = 0 OR r.effective = 1) ORDER BY r.collected_at, r.id")),
      select_milestones_(db.prepare(
          "SELECT m.id, p.identifier, p.authority, m.kind, m.date, m.end_date, m.note, m.markers, "
          "m.source FROM milestones m JOIN patients p ON p.id = m.patient_id WHERE (?1 = '' OR "
          "p.identifier = ?1) AND (?2 = '' OR p.authority = ?2) ORDER BY p.identifier, m.date, "
          "m.id")),
      select_messages_(db.prepare(
          "SELECT id, transport, peer, sender, control_id, received_at, outcome, ack_code, error, "
          "results_stored, observations_ignored, duplicate_of FROM messages WHERE (?1 = '' OR "
          "outcome = ?1) ORDER BY id DESC LIMIT ?2")),
      select_message_(db.prepare(
          "SELECT id, transport, peer, sender, control_id, received_at, outcome, ack_code, error, "
          "results_stored, observations_ignored, duplicate_of, raw, raw_pruned_at FROM messages "
          "WHERE id = ?1")),
      select_patients_(db.prepare(
          "SELECT id, identifier, authority FROM patients WHERE (?1 = '' OR identifier = ?1) "
          "AND (?2 = '' OR authority = ?2) ORDER BY id")),
      select_versions_(db.prepare(
          "SELECT marker, method, collected_at, collected_date, collected_raw, value, comparator, "
          "value_raw, unit, unit_raw, reference_range, uln, status, obs_id, version_time, source "
          "FROM results WHERE patient_id = ?1 ORDER BY id")),
      select_patient_milestones_(
          db.prepare("SELECT kind, date, end_date, note, markers FROM milestones WHERE "
                     "patient_id = ?1 ORDER BY id")),
      milestone_log_(db) {}

PatientChoice ResultStore::choose_stored_patient(const PatientKey& key) {
  std::vector<PatientCandidate> candidates;
  auto& q = find_patient_candidates_;
  q.bind(1, key.id).bind(2, key.authority);
  while (q.step()) candidates.push_back({q.int64(0), q.text(1)});
  q.reset();
  return choose_patient(key, candidates);
}

std::optional<std::int64_t> ResultStore::find_patient(const PatientKey& key) {
  const auto choice = choose_stored_patient(key);
  if (choice.kind == PatientChoice::Kind::create) return std::nullopt;
  return choice.id;
}

ResultStore::PatientLookup ResultStore::find_or_add_patient(const PatientKey& key,
                                                            const std::string& now) {
  const auto choice = choose_stored_patient(key);
  switch (choice.kind) {
    case PatientChoice::Kind::existing:
      return {choice.id, false};
    case PatientChoice::Kind::claim:
      claim_patient_.bind(1, choice.id).bind(2, key.authority).run();
      return {choice.id, false};
    case PatientChoice::Kind::create:
      break;
  }
  insert_patient_.bind(1, key.id).bind(2, key.authority).bind(3, now).run();
  return {db_.last_insert_id(), true};
}

std::int64_t ResultStore::patient(const PatientKey& key, const std::string& now) {
  return find_or_add_patient(key, now).id;
}

std::int64_t ResultStore::insert_message(const MessageEntry& m, const MessageOutcome& o) {
  insert_message_.bind(1, m.transport)
      .bind(2, m.peer)
      .bind(3, m.sender)
      .bind(4, m.control_id)
      .bind(5, m.content_sha256)
      .bind(6, m.received_at)
      .bind(8, o.outcome)
      .bind(9, o.ack_code)
      .bind(10, o.error)
      .bind(11, o.results_stored)
      .bind(12, o.observations_ignored);
  if (o.duplicate_of)
    insert_message_.bind_null(7).bind(13, *o.duplicate_of);
  else
    insert_message_.bind_blob(7, m.raw).bind_null(13);
  insert_message_.run();
  return db_.last_insert_id();
}

void ResultStore::settle_outcome(std::int64_t message_id, const MessageOutcome& written,
                                 const MessageOutcome& final) {
  if (final == written) return;
  update_message_.bind(1, final.outcome)
      .bind(2, final.ack_code)
      .bind(3, final.error)
      .bind(4, final.results_stored)
      .bind(5, final.observations_ignored)
      .bind(6, message_id)
      .run();
}

std::optional<std::int64_t> ResultStore::find_accepted(const std::string& sender,
                                                       const std::string& control_id,
                                                       const std::string& sha256) {
  find_accepted_.bind(1, sender).bind(2, control_id).bind(3, sha256);
  std::optional<std::int64_t> out;
  if (find_accepted_.step()) out = find_accepted_.int64(0);
  find_accepted_.reset();
  return out;
}

std::vector<StoredResultVersion> ResultStore::versions_on_date(std::int64_t patient_id,
                                                               const ResultRecord& r) {
  std::vector<StoredResultVersion> versions;
  auto& q = series_versions_;
  q.bind(1, patient_id).bind(2, r.marker).bind(3, r.method).bind(4, r.collected_date);
  while (q.step()) {
    StoredResultVersion v;
    v.content.stored = {q.int64(0), q.text(1),
                        status_from_string(q.text(2)).value_or(ResultStatus::final_result),
                        q.text(3)};
    v.effective = q.int64(4) != 0;
    v.content.collected_at = q.text(5);
    v.content.value_raw = q.text(6);
    v.content.unit_raw = q.text(7);
    v.content.reference_range = q.text(8);
    versions.push_back(std::move(v));
  }
  q.reset();
  return versions;
}

StoreResult ResultStore::store_result(const ResultRecord& r, std::int64_t patient_id,
                                      std::optional<std::int64_t> message_id,
                                      const std::string& now, NewPatientRows* new_rows) {
  if (new_rows)
    return new_rows->admit(ResultRecord(r), message_id) ? StoreResult::stored
                                                        : StoreResult::unchanged;
  const bool series_current = series_ && series_->current();
  // Every version of this series on this date: usually none, rarely more than a few. The new row
  // arrives last: resolve it, store it with its flag, then update only the rows whose flag
  // changed.
  const auto versions = versions_on_date(patient_id, r);
  const auto resolution = admit_arrival(versions, r);
  if (!resolution) return StoreResult::unchanged;  // identical to a version already received
  const bool effective = is_effective(*resolution, kArrivingRow);
  bind_result(insert_result_, 0, patient_id, r, message_id, effective, now);
  insert_result_.run();
  bool flags_changed = false;
  for (const auto& v : versions) {
    const auto row_id = v.content.stored.row_id;
    const auto now_effective = is_effective(*resolution, row_id);
    if (now_effective == v.effective) continue;
    set_effective_.bind(1, now_effective ? 1 : 0).bind(2, row_id).run();
    flags_changed = true;
  }
  if (series_current) series_->note_stored(patient_id, r, effective, flags_changed);
  return StoreResult::stored;
}

void ResultStore::bind_result(Statement& insert, int offset, std::int64_t patient_id,
                              const ResultRecord& r, std::optional<std::int64_t> message_id,
                              bool effective, const std::string& now) {
  insert.bind(offset + 1, patient_id)
      .bind(offset + 2, r.marker)
      .bind(offset + 3, r.method)
      .bind(offset + 4, r.collected_at)
      .bind(offset + 5, r.collected_date)
      .bind(offset + 6, r.collected_raw)
      .bind(offset + 7, r.collected_offset_assumed ? 1 : 0)
      .bind(offset + 8, r.value)
      .bind(offset + 9, to_string(r.comparator))
      .bind(offset + 10, r.value_raw)
      .bind(offset + 11, r.unit)
      .bind(offset + 12, r.unit_raw)
      .bind(offset + 13, r.reference_range)
      .bind(offset + 14, r.uln)
      .bind(offset + 15, to_string(r.status))
      .bind(offset + 16, r.obs_id)
      .bind(offset + 17, r.received_at)
      .bind(offset + 18, r.source);
  if (message_id)
    insert.bind(offset + 19, *message_id);
  else
    insert.bind_null(offset + 19);
  insert.bind(offset + 20, effective ? 1 : 0).bind(offset + 21, now);
}

Statement& ResultStore::insert_of(std::size_t rows) {
  if (rows == 1) return insert_result_;
  auto& insert = insert_rows_[rows - 2];
  if (!insert) insert.emplace(db_.prepare(insert_results_sql(rows)));
  return *insert;
}

void ResultStore::write_new_rows(std::int64_t patient_id, const NewPatientRows& rows,
                                 const std::string& now) {
  const bool series_current = series_ && series_->current();
  const auto& all = rows.rows();
  // Many rows per statement, the last few too: SQLite's cost per statement (start, cursors,
  // constraint checks at its end) is then shared, which matters most for the many patients with
  // only a handful of rows. The database numbers them in arrival order, as single inserts would.
  for (std::size_t i = 0; i < all.size();) {
    const auto n = std::min(kRowsPerInsert, all.size() - i);
    auto& insert = insert_of(n);
    for (std::size_t k = 0; k < n; ++k) {
      const auto& row = all[i + k];
      bind_result(insert, static_cast<int>(k) * kResultColumnCount, patient_id, row.record,
                  row.message_id, row.effective, now);
    }
    insert.run();
    i += n;
  }
  if (series_current) series_->note_written(patient_id);
}

StoreResult ResultStore::store_milestone(const MilestoneRecord& m, const MilestoneOrigin& origin,
                                         const std::string& now) {
  const auto patient_id = patient(m.patient, now);
  insert_milestone_.bind(1, patient_id)
      .bind(2, m.kind)
      .bind(3, m.date)
      .bind(4, m.end_date)
      .bind(5, m.note)
      .bind(6, join_markers(m.markers))
      .bind(7, origin.source)
      .bind(8, now)
      .run();
  if (db_.changes() == 0) return StoreResult::unchanged;
  last_milestone_change_ =
      milestone_log_.append(patient_id, MilestoneChange::added, m, origin, now);
  return StoreResult::stored;
}

StoreResult ResultStore::remove_milestone(std::int64_t patient_id, const MilestoneRecord& m,
                                          const MilestoneOrigin& origin, const std::string& now) {
  const auto markers = join_markers(m.markers);
  auto& q = delete_milestone_;
  q.bind(1, patient_id).bind(2, m.kind).bind(3, m.date).bind(4, markers);
  std::optional<MilestoneRecord> removed;
  if (q.step()) {  // the unique key: one row at most
    removed = m;
    removed->end_date = q.text(0);
    removed->note = q.text(1);
  }
  q.reset();
  if (!removed) return StoreResult::unchanged;
  last_milestone_change_ =
      milestone_log_.append(patient_id, MilestoneChange::removed, *removed, origin, now);
  return StoreResult::stored;
}

std::vector<ResultRow> ResultStore::results(const std::string& patient_id,
                                            const std::string& marker, bool effective_only) {
  std::vector<ResultRow> rows;
  auto& q = select_results_;
  const auto patient = split_patient_key(patient_id);
  q.bind(1, patient.id).bind(2, marker).bind(3, effective_only ? 1 : 0).bind(4, patient.authority);
  while (q.step()) {
    ResultRow row;
    row.id = q.int64(0);
    row.patient_id = q.text(1);
    row.authority = q.text(2);
    row.marker = q.text(3);
    row.method = q.text(4);
    row.collected_at = q.text(5);
    row.collected_date = q.text(6);
    row.collected_raw = q.text(7);
    row.value = q.optional_real(8);
    row.comparator = q.text(9);
    row.value_raw = q.text(10);
    row.unit = q.text(11);
    row.unit_raw = q.text(12);
    row.reference_range = q.text(13);
    row.uln = q.optional_real(14);
    row.status = q.text(15);
    row.obs_id = q.text(16);
    row.version_time = q.text(17);
    row.source = q.text(18);
    row.effective = q.int64(19) != 0;
    rows.push_back(std::move(row));
  }
  q.reset();
  return rows;
}

namespace {
MessageRow message_row(const Statement& q) {
  MessageRow m;
  m.id = q.int64(0);
  m.transport = q.text(1);
  m.peer = q.text(2);
  m.sender = q.text(3);
  m.control_id = q.text(4);
  m.received_at = q.text(5);
  m.outcome = q.text(6);
  m.ack_code = q.text(7);
  m.error = q.text(8);
  m.results_stored = static_cast<int>(q.int64(9));
  m.observations_ignored = static_cast<int>(q.int64(10));
  if (!q.is_null(11)) m.duplicate_of = q.int64(11);
  return m;
}
}  // namespace

std::vector<MessageRow> ResultStore::messages(const std::string& outcome, int limit) {
  std::vector<MessageRow> rows;
  select_messages_.bind(1, outcome).bind(2, limit);
  while (select_messages_.step()) rows.push_back(message_row(select_messages_));
  select_messages_.reset();
  return rows;
}

std::optional<MessageRow> ResultStore::message(std::int64_t id) {
  std::optional<MessageRow> out;
  select_message_.bind(1, id);
  if (select_message_.step()) {
    out = message_row(select_message_);
    if (!select_message_.is_null(12)) out->raw = select_message_.text(12);
    out->raw_pruned_at = select_message_.text(13);
  }
  select_message_.reset();
  return out;
}

std::vector<MilestoneRow> ResultStore::milestones(const std::string& patient_id) {
  std::vector<MilestoneRow> rows;
  auto& q = select_milestones_;
  const auto patient = split_patient_key(patient_id);
  q.bind(1, patient.id).bind(2, patient.authority);
  while (q.step())
    rows.push_back({q.int64(0), q.text(1), q.text(2), q.text(3), q.text(4), q.text(5), q.text(6),
                    q.text(7), q.text(8)});
  q.reset();
  return rows;
}

}  // namespace markerwatch::store

namespace markerwatch::store {

std::vector<std::pair<std::int64_t, PatientKey>> ResultStore::patients(
    const std::string& identifier) {
  std::vector<std::pair<std::int64_t, PatientKey>> out;
  const auto patient = split_patient_key(identifier);
  select_patients_.bind(1, patient.id).bind(2, patient.authority);
  while (select_patients_.step())
    out.emplace_back(select_patients_.int64(0),
                     PatientKey{select_patients_.text(1), select_patients_.text(2)});
  select_patients_.reset();
  return out;
}

std::vector<ResultRecord> ResultStore::result_versions(std::int64_t patient_id) {
  std::vector<ResultRecord> out;
  auto& q = select_versions_;
  q.bind(1, patient_id);
  while (q.step()) {
    ResultRecord r;
    r.marker = q.text(0);
    r.method = q.text(1);
    r.collected_at = q.text(2);
    r.collected_date = q.text(3);
    r.collected_raw = q.text(4);
    r.value = q.optional_real(5);
    r.comparator = comparator_from_string(q.text(6)).value_or(Comparator::none);
    r.value_raw = q.text(7);
    r.unit = q.text(8);
    r.unit_raw = q.text(9);
    r.reference_range = q.text(10);
    r.uln = q.optional_real(11);
    r.status = status_from_string(q.text(12)).value_or(ResultStatus::final_result);
    r.obs_id = q.text(13);
    r.received_at = q.text(14);
    r.source = q.text(15);
    out.push_back(std::move(r));
  }
  q.reset();
  return out;
}

std::vector<MilestoneRecord> ResultStore::milestone_records(std::int64_t patient_id) {
  std::vector<MilestoneRecord> out;
  auto& q = select_patient_milestones_;
  q.bind(1, patient_id);
  while (q.step()) {
    MilestoneRecord m;
    m.kind = q.text(0);
    m.date = q.text(1);
    m.end_date = q.text(2);
    m.note = q.text(3);
    const auto markers = q.text(4);
    for (auto part : text::split(markers, ';'))
      if (!part.empty()) m.markers.emplace_back(part);
    out.push_back(std::move(m));
  }
  q.reset();
  return out;
}

}  // namespace markerwatch::store
