#include "ingest/pipeline.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <thread>

#include "core/text.hpp"
#include "hl7/file_split.hpp"
#include "ingest/csv_patient_rows.hpp"
#include "ingest/hand_off.hpp"
#include "store/sha256.hpp"

namespace markerwatch::ingest {

namespace {

std::string summarize(const std::vector<hl7::Issue>& issues) {
  if (issues.empty()) return {};
  std::string s =
      issues.front().segment +
      (issues.front().sequence > 0 ? "[" + std::to_string(issues.front().sequence) + "]" : "") +
      ": " + issues.front().text;
  if (issues.size() > 1) s += " (+" + std::to_string(issues.size() - 1) + " more)";
  return s;
}

// An accepted or ignored message's outcome from what storing it found: AE as soon as one
// observation failed.
store::MessageOutcome kept_outcome(hl7::Disposition disposition,
                                   const std::vector<hl7::Issue>& issues, int results_stored,
                                   int observations_ignored, bool ambiguous_patient) {
  store::MessageOutcome o;
  o.outcome = ambiguous_patient                          ? "rejected"
              : disposition == hl7::Disposition::ignored ? "ignored"
              : issues.empty()                           ? "accepted"
                                                         : "partial";
  o.ack_code = issues.empty() ? "AA" : "AE";
  o.error = summarize(issues);
  o.results_stored = results_stored;
  o.observations_ignored = observations_ignored;
  return o;
}

// Written with a message whose contents are still to be stored; settle_outcome replaces it. A
// failure before then leaves the message rejected.
const store::MessageOutcome kUndecided = [] {
  store::MessageOutcome o;
  o.outcome = "rejected";
  return o;
}();

// A CSV file in the message log while its import runs: the row becomes visible with the first
// chunk's commit, and stays as written here when the import stops before the end of the file (a
// full disk, a crash); a finished import settles it.
const store::MessageOutcome kImportUnfinished = [] {
  store::MessageOutcome o;
  o.outcome = "partial";
  o.error =
      "the import stopped before the end of the file: the rows committed until then are stored; "
      "importing the file again stores the rest";
  return o;
}();

}  // namespace

hl7::MappingOptions hl7_mapping(const settings::Settings& settings) {
  hl7::MappingOptions o;
  o.markers = &settings.markers;
  o.default_zone = settings.zone.get();
  o.accepted_processing_ids = settings.ingest.accept_processing_ids;
  o.patient_id_type = settings.ingest.patient_id_type;
  o.patient_id_authority = settings.ingest.patient_id_authority;
  return o;
}

fhir::MapperOptions fhir_mapping(const settings::Settings& settings) {
  fhir::MapperOptions o;
  o.markers = &settings.markers;
  o.kinds = &settings.milestone_kinds;
  o.zone = settings.zone.get();
  o.patient_identifier_system = settings.fhir.patient_identifier_system;
  o.reference_identifier_system = settings.fhir.reference_identifier_system;
  o.authorities = settings.fhir.authorities;
  o.procedures = settings.fhir.procedures;
  o.medications = settings.fhir.medications;
  return o;
}

RecordContext record_context(const settings::Settings& settings) {
  return {&settings.markers, &settings.milestone_kinds, settings.zone.get()};
}

Pipeline::Pipeline(store::Database& db, const settings::Settings& settings, const Clock& clock)
    : db_(db),
      settings_(settings),
      clock_(clock),
      series_(settings.storage.series_cache_values > 0
                  ? std::make_unique<store::SeriesCache>(
                        db, static_cast<std::size_t>(settings.storage.series_cache_values))
                  : nullptr),
      store_(db, series_.get()),
      alerts_(db, settings, clock, series_.get()) {
  mapping_ = hl7_mapping(settings_);
  fhir_mapping_ = fhir_mapping(settings_);
  records_ = record_context(settings_);
}

std::string Pipeline::now_utc() const {
  using namespace std::chrono;
  return format_utc(unix_seconds(clock_));
}

std::string Pipeline::hl7_now() const {
  auto iso = now_utc();  // YYYY-MM-DDThh:mm:ssZ
  std::string ts;
  for (char c : iso)
    if (c >= '0' && c <= '9') ts.push_back(c);
  return ts + "+0000";
}

std::string Pipeline::next_ack_id(std::int64_t message_id) const {
  return "MW" + std::to_string(message_id);
}

PreparedHl7 Pipeline::prepare_hl7(std::string raw) const {
  PreparedHl7 p;
  p.received_at = now_utc();
  p.ack_timestamp = hl7_now();
  p.sha256 = store::sha256_hex(raw);
  hl7::Limits limits;
  limits.max_bytes = static_cast<std::size_t>(settings_.mllp.max_message_bytes);
  try {
    auto msg = hl7::Message::parse(raw, limits);
    p.mapped = hl7::map_oru(msg, mapping_);
  } catch (const hl7::ParseError& e) {
    p.parse_error = e.what();
  }
  p.raw = std::move(raw);
  return p;
}

Hl7Outcome Pipeline::store_hl7(const PreparedHl7& prepared, const std::string& transport,
                               const std::string& peer, PendingEvaluations* deferred) {
  Hl7Outcome out;
  const auto& received_at = prepared.received_at;
  const std::string_view raw = prepared.raw;
  store::MessageEntry entry{transport, peer, "", "", prepared.sha256, received_at, prepared.raw};
  hl7::AckRequest ack;
  ack.timestamp = prepared.ack_timestamp;
  store::MessageOutcome outcome;
  store::MessageOutcome expected;  // written with the message before its results

  if (prepared.mapped) {
    const auto& mapped = *prepared.mapped;
    ack.header = mapped.header;
    entry.sender = mapped.header.sender();
    entry.control_id = mapped.header.control_id;
    out.ignored = mapped.ignored_observations;
    outcome.observations_ignored = mapped.ignored_observations;
    switch (mapped.disposition) {
      case hl7::Disposition::not_acknowledged:
        out.acknowledge = false;
        outcome.outcome = "ignored";
        outcome.error = "an inbound ACK is not a result and is never answered";
        break;
      case hl7::Disposition::rejected_reject:
      case hl7::Disposition::rejected_error:
        ack.code = mapped.disposition == hl7::Disposition::rejected_reject ? hl7::AckCode::AR
                                                                           : hl7::AckCode::AE;
        ack.issues = mapped.issues;
        outcome.outcome = "rejected";
        outcome.error = summarize(mapped.issues);
        break;
      case hl7::Disposition::ignored:
      case hl7::Disposition::accepted: {
        if (auto original =
                store_.find_accepted(entry.sender, entry.control_id, entry.content_sha256)) {
          outcome.outcome = "duplicate";
          outcome.duplicate_of = original;
          outcome.observations_ignored = 0;
          break;
        }
        ack.issues = mapped.issues;
        // Usually every result is stored: the row is then written once.
        expected =
            kept_outcome(mapped.disposition, ack.issues, static_cast<int>(mapped.results.size()),
                         mapped.ignored_observations, false);
        const auto message_id = store_.insert_message(entry, expected);
        out.message_id = message_id;
        // One PID per message: every result has the same patient.
        std::optional<std::int64_t> patient_id;
        bool ambiguous_patient = false;
        try {
          if (!mapped.results.empty())
            patient_id = store_.patient(mapped.results.front().patient, received_at);
        } catch (const InputError& e) {  // PID-3 names no one stored patient
          ack.issues.push_back({"PID", 1, 3, 204, e.what()});
          ambiguous_patient = true;
        }
        std::vector<std::string> changed_markers;
        int results_stored = 0;
        for (const auto& r : mapped.results) {
          if (ambiguous_patient) break;
          try {
            if (store_.store_result(r, *patient_id, message_id, received_at) ==
                store::StoreResult::stored) {
              ++results_stored;
              if (std::find(changed_markers.begin(), changed_markers.end(), r.marker) ==
                  changed_markers.end())
                changed_markers.push_back(r.marker);
            }
          } catch (const InputError& e) {
            ack.issues.push_back({"OBX", 0, 5, 205, e.what()});
          }
        }
        // The alerts these results imply commit with them: an ACKed message never lacks them.
        if (!changed_markers.empty() && deferred)
          deferred->add(*patient_id, changed_markers);
        else if (!changed_markers.empty())
          out.alert_events = alerts_.evaluate(*patient_id, changed_markers,
                                              "message:" + std::to_string(message_id), received_at);
        const bool any_issue = !ack.issues.empty();
        outcome = kept_outcome(mapped.disposition, ack.issues, results_stored,
                               mapped.ignored_observations, ambiguous_patient);
        ack.code = any_issue ? hl7::AckCode::AE : hl7::AckCode::AA;
        if (ambiguous_patient)
          ack.text = "nothing stored: PID-3 does not name one patient";
        else if (any_issue)
          ack.text = "stored " + std::to_string(outcome.results_stored) + " result(s), " +
                     std::to_string(ack.issues.size()) + " observation error(s)";
        break;
      }
    }
  } else {
    ack.header = hl7::salvage_header(raw);
    entry.sender = ack.header.sender();
    entry.control_id = ack.header.control_id;
    ack.code = hl7::AckCode::AE;
    ack.issues.push_back({"MSH", 1, 0, 102, prepared.parse_error});
    outcome.outcome = "rejected";
    outcome.error = prepared.parse_error;
  }
  outcome.ack_code = out.acknowledge ? std::string(hl7::to_string(ack.code)) : "";
  if (out.message_id == 0)
    out.message_id = store_.insert_message(entry, outcome);
  else
    store_.settle_outcome(out.message_id, expected, outcome);

  out.control_id = entry.control_id;
  out.sender = entry.sender;
  out.outcome = outcome.outcome;
  out.ack_code = ack.code;
  out.error = outcome.error;
  out.stored = outcome.results_stored;
  if (out.acknowledge) {
    ack.control_id = next_ack_id(out.message_id);
    out.ack = hl7::build_ack(ack);
  }
  return out;
}

Hl7Outcome Pipeline::reject_oversized(std::string_view head, std::size_t limit,
                                      const std::string& transport, const std::string& peer) {
  hl7::AckRequest ack;
  ack.header = hl7::salvage_header(head);
  ack.code = hl7::AckCode::AR;
  ack.timestamp = hl7_now();
  const auto reason = "frame exceeds max_message_bytes (" + std::to_string(limit) + " bytes)";
  ack.issues.push_back({"MSH", 1, 0, 207, reason});
  store::MessageEntry entry{transport,
                            peer,
                            ack.header.sender(),
                            ack.header.control_id,
                            store::sha256_hex(head),
                            now_utc(),
                            std::string(head)};
  Hl7Outcome out;
  store::MessageOutcome outcome;
  outcome.outcome = "rejected";
  outcome.ack_code = "AR";
  outcome.error = reason + "; only the first " + std::to_string(head.size()) + " bytes are kept";
  out.message_id = store_.insert_message(entry, outcome);
  out.control_id = entry.control_id;
  out.sender = entry.sender;
  out.outcome = outcome.outcome;
  out.ack_code = hl7::AckCode::AR;
  out.error = reason;
  ack.control_id = next_ack_id(out.message_id);
  out.ack = hl7::build_ack(ack);
  return out;
}

FileReport Pipeline::ingest_file(std::string_view content, const std::string& path,
                                 const std::function<void()>& commit_point) {
  const auto kind = detect_file_kind(content);
  switch (kind) {
    case FileKind::hl7:
      return ingest_hl7_file(content, path, commit_point);
    case FileKind::results_csv:
    case FileKind::milestones_csv:
      return ingest_csv_file(content, path, kind, commit_point);
    case FileKind::unknown:
      break;
  }
  throw InputError(
      "not an HL7 file (no MSH, FHS or BHS segment first) and not a results or milestones CSV "
      "(header patient_id,marker,collected_at,value,unit or patient_id,kind,date)");
}

FileReport Pipeline::ingest_hl7_file(std::string_view content, const std::string& path,
                                     const std::function<void()>& commit_point) {
  FileReport report;
  report.kind = "hl7";
  // A helper thread parses and maps the next messages (the pure part, as the daemon's event loop
  // does it for the writer) while this one stores. They are handed over in batches: one hand-over
  // per message cost more in waking the other thread than the parsing saved.
  struct Prepared {
    std::size_t line = 0;
    PreparedHl7 message;
  };
  constexpr std::size_t kBatchBytes = 64 << 10;
  // Only scans for line starts: the helper's parsing is what takes time.
  const auto split = hl7::split_file(content);
  HandOff<std::vector<Prepared>> prepared(kHl7BytesPreparedAhead);
  std::jthread helper([&](std::stop_token stop) {
    try {
      std::vector<Prepared> batch;
      std::size_t bytes = 0;
      for (const auto& [line, text] : split.messages) {
        if (stop.stop_requested()) break;
        batch.push_back({line, prepare_hl7(std::string(text))});
        bytes += text.size();
        if (bytes >= kBatchBytes) {
          prepared.push(std::exchange(batch, {}), std::exchange(bytes, 0), stop);
        }
      }
      if (!batch.empty()) prepared.push(std::move(batch), bytes, stop);
      prepared.finish();
    } catch (...) {
      prepared.finish(std::current_exception());
    }
  });
  // As for a CSV file, each patient's alerts are evaluated once per step (before its commit), not
  // once per message: a backfill neither re-reads a patient's history for every message nor logs
  // (and notifies) a trail of UPDATEs; the alerts are the same, as the engine depends only on the
  // data.
  PendingEvaluations pending(store_);
  const auto cause = "file:" + path;
  int since_commit = 0;
  while (auto batch = prepared.take())
    for (const auto& next : *batch) {
      if (commit_point && ++since_commit == kCommitEvery) {
        pending.flush(alerts_, cause, now_utc(), report.alert_events);
        commit_point();
        since_commit = 0;
      }
      auto outcome =
          store_hl7(next.message, "file", path + ":" + std::to_string(next.line), &pending);
      report.observations_ignored += outcome.ignored;
      report.results_stored += outcome.stored;
      if (outcome.outcome == "duplicate") {
        ++report.unchanged;
      } else if (outcome.ack_code == hl7::AckCode::AA) {
        ++report.accepted;
      } else {
        ++report.rejected;
        report.rejections.push_back(
            {next.line, std::string(hl7::to_string(outcome.ack_code)) + " " +
                            (outcome.control_id.empty() ? "" : outcome.control_id + ": ") +
                            outcome.error});
      }
    }
  pending.flush(alerts_, cause, now_utc(), report.alert_events);
  // What the batch envelope says against what the file holds: the messages are stored, and the
  // file is reported as incomplete (a cut transfer shows as a missing trailer or a short count).
  for (const auto& problem : split.problems) {
    ++report.file_problems;
    report.rejections.push_back({problem.line, problem.reason});
  }
  std::stable_sort(report.rejections.begin(), report.rejections.end(),
                   [](const auto& a, const auto& b) { return a.line < b.line; });
  // The file began with an MSH, FHS or BHS segment (detect_file_kind): it holds a message, or it
  // is a batch, and an empty batch (BTS-1 0) is how a lab says it had nothing to send.
  return report;
}

FileReport Pipeline::ingest_csv_file(std::string_view content, const std::string& path,
                                     FileKind kind, const std::function<void()>& commit_point) {
  FileReport report;
  report.kind = kind == FileKind::results_csv ? "results" : "milestones";
  const auto received_at = now_utc();
  // The helper thread starts grouping the rows while this one hashes and archives the file; what
  // it finds is only used once the file is known to be new and valid.
  std::optional<CsvHeader> header;
  std::optional<std::string> header_problem;
  try {
    CsvReader reader(content);
    auto header_row = reader.next();
    if (!header_row) throw InputError("empty file");
    header = kind == FileKind::results_csv ? results_header(*header_row)
                                           : milestones_header(*header_row);
  } catch (const InputError& e) {
    header_problem = e.what();
  }
  // Rows are stored patient by patient (file order within a patient, patients in order of first
  // appearance) so each patient's alerts are evaluated once per file, before the commit that
  // holds all of that patient's rows: the outcome depends only on the data, and a large backfill
  // neither re-reads a patient's history once per commit nor logs a trail of UPDATEs.
  std::optional<CsvPatientRows> rows;
  if (header) rows.emplace(content, kind, *header, records_, settings::engine_config(settings_));

  const auto sender = "file:" + std::filesystem::path(path).filename().string();
  const auto sha = store::sha256_hex(content);
  store::MessageEntry entry{
      "file", path, sender, sha.substr(0, 16), sha, received_at, std::string(content)};
  store::MessageOutcome outcome;
  if (auto original = store_.find_accepted(sender, entry.control_id, sha)) {
    // The very same file was imported before: nothing to do, but the attempt is logged.
    outcome.outcome = "duplicate";
    outcome.duplicate_of = original;
    store_.insert_message(entry, outcome);
    report.unchanged = 1;
    return report;
  }
  if (!text::is_valid_utf8(content)) throw InputError("file is not valid UTF-8");
  const auto message_id = store_.insert_message(entry, kImportUnfinished);

  if (header_problem) throw InputError(*header_problem);

  PendingEvaluations pending(store_);
  const auto cause = "file:" + path;
  std::size_t since_commit = 0;
  while (auto group = rows->next()) {
    if (commit_point && since_commit >= static_cast<std::size_t>(kCommitEvery)) {
      commit_point();
      since_commit = 0;
    }
    since_commit += group->rows.size();
    store_csv_group(*group, message_id, received_at, pending, report);
    // The group holds all of the patient's rows in this file: evaluated once, now, so this
    // thread's work keeps pace with the reading instead of piling up before each commit.
    pending.flush(alerts_, cause, received_at, report.alert_events);
  }
  if (rows->malformed()) {
    // Malformed quoting ended the readable part of the file; what came before is kept.
    ++report.rejected;
    report.rejections.push_back({0, *rows->malformed()});
  }
  // Reported in file order; a malformed quote (line 0, its reason names the line) ended the
  // readable part of the file, so it comes last.
  std::stable_sort(report.rejections.begin(), report.rejections.end(),
                   [](const auto& a, const auto& b) {
                     return (a.line == 0 ? SIZE_MAX : a.line) < (b.line == 0 ? SIZE_MAX : b.line);
                   });
  outcome.outcome = report.rejected == 0                       ? "accepted"
                    : (report.accepted + report.unchanged) > 0 ? "partial"
                                                               : "rejected";
  outcome.results_stored = report.accepted;
  if (!report.rejections.empty())
    outcome.error = std::to_string(report.rejected) + " row(s) rejected; first: line " +
                    std::to_string(report.rejections.front().line) + ": " +
                    report.rejections.front().reason;
  store_.settle_outcome(message_id, kImportUnfinished, outcome);
  return report;
}

PreparedFhir Pipeline::prepare_fhir(std::string body, std::string_view endpoint) const {
  PreparedFhir p;
  p.received_at = now_utc();
  p.sha256 = store::sha256_hex(body);
  p.raw = std::move(body);
  if (text::trim(p.raw).empty()) {
    // An empty rest-hook "ping" (INTEROP.md §3.5) reaches this only without [fhir.upstream]
    // (app/http_api.cpp): with no server to query, say so rather than answer 2xx for data never
    // received.
    p.refusal = fhir::refusal(
        400, "invalid",
        "the request has no body; an empty subscription notification cannot be followed up "
        "without [fhir.upstream] (or set the Subscription's channel.payload to "
        "application/fhir+json)");
    return p;
  }
  try {
    p.plan = fhir::plan_request(fhir::parse_body(p.raw), endpoint, fhir_mapping_);
  } catch (const InputError& e) {
    p.refusal = fhir::refusal(400, "invalid", e.what());
  }
  return p;
}

FhirOutcome Pipeline::store_fhir(const PreparedFhir& prepared, const std::string& sender,
                                 const std::string& peer) {
  FhirOutcome out;
  store::MessageEntry entry{"http",          peer,
                            sender,          prepared.plan ? prepared.plan->control_id : "",
                            prepared.sha256, prepared.received_at,
                            prepared.raw};
  store::MessageOutcome outcome;
  if (!prepared.plan) {
    out.reply = *prepared.refusal;
    outcome.outcome = "rejected";
    outcome.error = out.reply.body["issue"][0]["diagnostics"].get<std::string>();
    out.message_id = store_.insert_message(entry, outcome);
    out.outcome = outcome.outcome;
    return out;
  }
  const auto& plan = *prepared.plan;
  std::vector<fhir::EntryOutcome> results(plan.entries.size());
  int ignored = 0;
  for (const auto& e : plan.entries) ignored += e.mapped.ignored;

  if (!entry.control_id.empty()) {
    if (auto original = store_.find_accepted(sender, entry.control_id, entry.content_sha256)) {
      // The same request again: nothing changes, and the reply says so.
      for (std::size_t i = 0; i < plan.entries.size(); ++i) {
        const auto& m = plan.entries[i].mapped;
        results[i].unchanged = static_cast<int>(m.results.size() + m.milestones.size());
      }
      outcome.outcome = "duplicate";
      outcome.duplicate_of = original;
      out.message_id = store_.insert_message(entry, outcome);
      out.reply = fhir::render_reply(plan, results);
      out.outcome = outcome.outcome;
      return out;
    }
  }
  out.message_id = store_.insert_message(entry, kUndecided);
  const auto& now = prepared.received_at;
  PendingEvaluations pending(store_);
  auto store_entry = [&](const fhir::EntryPlan& e, fhir::EntryOutcome& result) {
    auto count = [&](store::StoreResult r) {
      (r == store::StoreResult::stored ? result.stored : result.unchanged)++;
    };
    for (const auto& r : e.mapped.results) {
      const auto patient = store_.patient(r.patient, now);
      const auto stored = store_.store_result(r, patient, out.message_id, now);
      count(stored);
      if (stored == store::StoreResult::stored) pending.add(patient, {r.marker});
    }
    for (const auto& m : e.mapped.milestones) {
      std::optional<std::int64_t> patient;
      count(store_row(m, patient, {"fhir", out.message_id, ""}, now, pending));
    }
  };

  if (!plan.refused()) {
    if (plan.kind == fhir::RequestKind::transaction) {
      // All or nothing: the first entry the store refuses undoes the others.
      store::Savepoint all(db_);
      bool failed = false;
      for (std::size_t i = 0; i < plan.entries.size() && !failed; ++i) {
        try {
          store_entry(plan.entries[i], results[i]);
        } catch (const InputError& e) {
          results[i].error = "Bundle.entry[" + std::to_string(i) + "]: " + e.what();
          failed = true;
        }
      }
      if (failed) {
        for (auto& r : results) r.stored = r.unchanged = 0;
        pending.discard();
      } else {
        all.release();
      }
    } else {
      for (std::size_t i = 0; i < plan.entries.size(); ++i) {
        if (plan.entries[i].error || plan.entries[i].deferred) continue;
        store::Savepoint one(db_);
        try {
          store_entry(plan.entries[i], results[i]);
          one.release();
        } catch (const InputError& e) {
          results[i] = {};
          results[i].error = (plan.kind == fhir::RequestKind::resource
                                  ? plan.entries[i].resource_type
                                  : "Bundle.entry[" + std::to_string(i) + "]") +
                             ": " + e.what();
        }
      }
    }
  }
  out.alert_events = pending.flush(alerts_, "message:" + std::to_string(out.message_id), now);
  out.reply = fhir::render_reply(plan, results);

  int stored = 0, errors = 0;
  std::string first_error;
  for (std::size_t i = 0; i < plan.entries.size(); ++i) {
    stored += results[i].stored;
    const auto& error = plan.entries[i].error ? plan.entries[i].error : results[i].error;
    if (error) {
      if (first_error.empty()) first_error = *error;
      ++errors;
    }
  }
  const bool nothing_kept =
      plan.refused() || (errors > 0 && static_cast<std::size_t>(errors) == plan.entries.size()) ||
      out.reply.status >= 400;
  outcome.outcome = nothing_kept                 ? "rejected"
                    : errors > 0                 ? "partial"
                    : stored == 0 && ignored > 0 ? "ignored"
                                                 : "accepted";
  outcome.results_stored = out.stored = stored;
  outcome.observations_ignored = ignored;
  if (errors > 0)
    outcome.error = std::to_string(errors) + " entr" + (errors == 1 ? "y" : "ies") +
                    " refused; first: " + first_error;
  store_.settle_outcome(out.message_id, kUndecided, outcome);
  out.outcome = outcome.outcome;
  return out;
}

void Pipeline::store_csv_group(CsvPatientGroup& group, std::int64_t message_id,
                               const std::string& now, PendingEvaluations& pending,
                               FileReport& report) {
  const auto reject = [&report](std::size_t line, const std::string& reason) {
    ++report.rejected;
    report.rejections.push_back({line, reason});
  };
  std::optional<std::int64_t> patient;  // stored with the patient's first valid row
  if (const auto& kept = group.new_rows->rows(); !kept.empty()) {
    // A results group's first valid row is always kept (nothing came before it).
    store::ResultStore::PatientLookup found;
    try {
      found = store_.find_or_add_patient(kept.front().record.patient, now);
    } catch (const InputError& e) {  // an identifier that names no one patient: every row
      for (const auto& row : group.rows) {
        if (const auto* reason = std::get_if<std::string>(&row.record))
          reject(row.line, *reason);
        else
          reject(row.line, e.what());
      }
      return;
    }
    patient = found.id;
    if (found.created) {
      // All the patient's rows are in this file: what the reading thread made of them stands.
      const auto identifier = kept.front().record.patient.id;
      group.new_rows->assign_message(message_id);
      pending.adopt_new_patient(found.id, identifier, std::move(group.new_rows),
                                std::move(group.events_as_new));
      for (const auto& row : group.rows) {
        if (const auto* reason = std::get_if<std::string>(&row.record))
          reject(row.line, *reason);
        else if (row.as_new == AsNewPatient::refused)
          reject(row.line, row.refused_as_new);
        else
          (row.as_new == AsNewPatient::kept ? report.accepted : report.unchanged)++;
      }
      return;
    }
  }
  for (const auto& row : group.rows) {
    if (const auto* reason = std::get_if<std::string>(&row.record)) {
      reject(row.line, *reason);
      continue;
    }
    try {
      const auto* milestone = std::get_if<MilestoneRecord>(&row.record);
      const auto stored =
          milestone ? store_row(*milestone, patient, {"csv", message_id, ""}, now, pending)
                    : store_row(group.result_of(row), patient, message_id, now, pending);
      (stored == store::StoreResult::stored ? report.accepted : report.unchanged)++;
    } catch (const InputError& e) {
      reject(row.line, e.what());
    }
  }
}

store::StoreResult Pipeline::store_row(const ResultRecord& r, std::optional<std::int64_t>& patient,
                                       std::int64_t message_id, const std::string& now,
                                       PendingEvaluations& pending) {
  if (!patient) {
    const auto found = store_.find_or_add_patient(r.patient, now);
    patient = found.id;
    if (found.created) pending.add_new_patient(found.id);
  }
  const auto stored =
      store_.store_result(r, *patient, message_id, now, pending.new_patient_rows(*patient));
  if (stored == store::StoreResult::stored) pending.add(*patient, {r.marker});
  return stored;
}

store::StoreResult Pipeline::store_row(const MilestoneRecord& m,
                                       std::optional<std::int64_t>& patient,
                                       const store::MilestoneOrigin& origin, const std::string& now,
                                       PendingEvaluations& pending) {
  if (m.entered_in_error) {
    // A removal adds no patient: there is nothing to remove from one never stored.
    if (!patient) patient = store_.find_patient(m.patient);
    if (!patient) return store::StoreResult::unchanged;
    const auto removed = store_.remove_milestone(*patient, m, origin, now);
    if (removed == store::StoreResult::stored) pending.add(*patient, m.markers);
    return removed;
  }
  const auto stored = store_.store_milestone(m, origin, now);
  if (!patient) patient = store_.patient(m.patient, now);
  if (stored == store::StoreResult::stored) pending.add(*patient, m.markers);
  return stored;
}

PreparedRows Pipeline::prepare_rows(std::string body, FileKind kind) const {
  PreparedRows p;
  p.received_at = now_utc();
  p.sha256 = store::sha256_hex(body);
  p.kind = kind;
  p.raw = std::move(body);
  try {
    p.rows = records_from_json(fhir::parse_body(p.raw), kind, records_);
  } catch (const InputError& e) {
    p.refusal = e.what();
  }
  return p;
}

RowsOutcome Pipeline::store_rows(const PreparedRows& prepared, const std::string& sender,
                                 const std::string& peer) {
  RowsOutcome out;
  store::MessageEntry entry{"http",          peer,
                            sender,          prepared.sha256.substr(0, 16),
                            prepared.sha256, prepared.received_at,
                            prepared.raw};
  store::MessageOutcome outcome;
  out.message_id = store_.insert_message(entry, kUndecided);
  auto refuse = [&]() {
    outcome.outcome = out.outcome = "rejected";
    outcome.error = out.refusal
                        ? *out.refusal
                        : std::to_string(out.rejected.size()) + " row(s) refused; first: [" +
                              std::to_string(out.rejected.front().index) + "] " +
                              out.rejected.front().reason;
    store_.settle_outcome(out.message_id, kUndecided, outcome);
    return out;
  };
  // All or nothing: a caller fixes the rows and sends the array again.
  if (prepared.refusal || !prepared.rows->rejections.empty()) {
    out.refusal = prepared.refusal;
    if (prepared.rows) out.rejected = prepared.rows->rejections;
    return refuse();
  }
  PendingEvaluations pending(store_);
  const auto& now = prepared.received_at;
  const auto& records = prepared.rows->records;
  {
    // A row the store refuses (an ambiguous correction) undoes the rows before it; the message
    // itself stays in the log with the reason.
    store::Savepoint rows(db_);
    for (std::size_t i = 0; i < records.size(); ++i) {
      std::optional<std::int64_t> patient;
      try {
        const auto stored = std::holds_alternative<ResultRecord>(records[i])
                                ? store_row(std::get<ResultRecord>(records[i]), patient,
                                            out.message_id, now, pending)
                                : store_row(std::get<MilestoneRecord>(records[i]), patient,
                                            {"api", out.message_id, ""}, now, pending);
        (stored == store::StoreResult::stored ? out.stored : out.unchanged)++;
      } catch (const InputError& e) {
        out.stored = out.unchanged = 0;
        out.rejected.push_back({i, e.what()});
        break;
      }
    }
    if (out.rejected.empty()) rows.release();
  }  // a refusal has rolled the rows back here, before the message's outcome is written
  if (!out.rejected.empty()) return refuse();
  out.alert_events = pending.flush(alerts_, "message:" + std::to_string(out.message_id), now);
  for (const auto& e : out.alert_events) ++out.alert_counts[std::string(engine::to_string(e.type))];
  outcome.outcome = out.outcome = "accepted";
  outcome.results_stored = out.stored;
  store_.settle_outcome(out.message_id, kUndecided, outcome);
  return out;
}

}  // namespace markerwatch::ingest
