#include "ingest/replay.hpp"

#include <exception>
#include <functional>
#include <optional>
#include <thread>

#include "ingest/csv_records.hpp"

namespace markerwatch::ingest {

namespace {
// Rows read, evaluated and printed together. Each chunk ends with a wait for the slowest thread,
// and with 8,192 rows those waits left the cores idle 20% of a run; four chunks are in flight,
// ~130 MB at this size.
constexpr std::size_t kChunkRows = 32768;

const PatientKey& patient_of(const std::variant<ResultRecord, MilestoneRecord>& record) {
  return std::visit([](const auto& r) -> const PatientKey& { return r.patient; }, record);
}
}  // namespace

Replayer::Replayer(const settings::Settings& settings, Sink sink, unsigned threads, Render render)
    : settings_(settings),
      config_(settings::engine_config(settings)),
      sink_(std::move(sink)),
      render_(std::move(render)),
      shards_(std::max(1u, threads)) {}

std::size_t Replayer::slot_of(const std::string& patient_key) {
  return slots_.try_emplace(patient_key, slots_.size()).first->second;
}

std::size_t Replayer::slot_of_number(std::size_t number) {
  if (slot_of_number_.size() <= number) slot_of_number_.resize(number + 1, 0);
  auto& slot = slot_of_number_[number];
  if (slot == 0) slot = slot_of(patient_text(patients_.key(number))) + 1;
  return slot - 1;
}

Replayer::Outcome Replayer::process(std::size_t slot, const Record& record) {
  auto& shard = shards_[shard_of(slot)];
  const auto local = slot / shards_.size();
  if (shard.patients.size() <= local) shard.patients.resize(local + 1);
  auto& patient = shard.patients[local];
  Outcome out;
  const std::vector<std::string>* scope = nullptr;
  std::vector<std::string> single;
  if (const auto* r = std::get_if<ResultRecord>(&record)) {
    out.changed = patient.history.add_result(*r);
    single = {r->marker};
    scope = &single;
  } else {
    const auto& m = std::get<MilestoneRecord>(record);
    out.changed = patient.history.add_milestone(m);
    scope = &m.markers;
  }
  if (!out.changed) return out;
  const auto& history = patient.history.history();
  const engine::NoteLogged logged = [&](const std::string& key) {
    return patient.alerts.note_logged(key);
  };
  const auto evaluation = engine::evaluate(history, config_, *scope, logged);
  out.events = engine::reconcile(patient.alerts.live(*scope), evaluation, logged);
  patient.alerts.apply(out.events, shard.next_alert_id);
  out.patient = history.patient;
  return out;
}

void Replayer::number(std::size_t index, Outcome& outcome) {
  auto& ids = shards_[index].global_ids;
  for (auto& e : outcome.events) {
    if (e.alert_id == 0) continue;  // notes
    const auto local = static_cast<std::size_t>(e.alert_id);
    if (ids.size() < local) ids.resize(local, 0);
    if (ids[local - 1] == 0) ids[local - 1] = next_id_++;  // first seen: its NEW
    e.alert_id = ids[local - 1];
  }
}

void Replayer::render(Outcome& outcome) const {
  if (!render_) return;
  outcome.rendered.reserve(outcome.events.size());
  for (const auto& e : outcome.events)
    outcome.rendered.push_back(render_({outcome.patient, e, {}}));
}

void Replayer::deliver(Outcome& outcome) {
  for (std::size_t i = 0; i < outcome.events.size(); ++i)
    sink_({outcome.patient, std::move(outcome.events[i]),
           i < outcome.rendered.size() ? std::move(outcome.rendered[i]) : std::string()});
}

bool Replayer::add(const Record& record) {
  const auto slot = slot_of(patient_text(patient_of(record)));
  auto outcome = process(slot, record);
  number(shard_of(slot), outcome);
  render(outcome);
  deliver(outcome);
  return outcome.changed;
}

bool Replayer::add_result(const ResultRecord& r) {
  return add(r);
}

bool Replayer::add_milestone(const MilestoneRecord& m) {
  return add(m);
}

std::vector<engine::TrackedAlert> Replayer::alerts_of(const std::string& patient_key) const {
  const auto it = slots_.find(patient_key);
  if (it == slots_.end()) return {};
  const auto& shard = shards_[shard_of(it->second)];
  const auto local = it->second / shards_.size();
  if (local >= shard.patients.size()) return {};  // its rows were all rejected
  auto alerts = shard.patients[local].alerts.all();
  for (auto& a : alerts) a.id = shard.global_ids.at(static_cast<std::size_t>(a.id) - 1);
  return alerts;
}

void Replayer::feed_csv(std::string_view content, const std::string& path) {
  const auto kind = detect_file_kind(content);
  if (kind != FileKind::results_csv && kind != FileKind::milestones_csv)
    throw InputError(path +
                     ": not a results or milestones CSV (header patient_id,marker,collected_at,"
                     "value,unit or patient_id,kind,date)");
  const RecordContext context{&settings_.markers, &settings_.milestone_kinds, settings_.zone.get()};
  patients_.next_file();
  CsvReader reader(content);
  std::optional<CsvHeader> header;
  try {
    auto header_row = reader.next();
    if (!header_row) throw InputError("empty file");
    header = kind == FileKind::results_csv ? results_header(*header_row)
                                           : milestones_header(*header_row);
  } catch (const InputError& e) {
    throw InputError(path + ":1: " + e.what());
  }

  struct Row {
    std::size_t line = 0;
    std::optional<Record> record;     // nullopt: rejected, see error
    std::size_t slot = 0, shard = 0;  // its patient's slot, and that slot's shard (once per row)
    std::optional<Outcome> outcome;
    std::string error;
  };
  // Reads up to kChunkRows rows; false once the file is done (or its quoting broke, `malformed`).
  std::optional<std::string> malformed;
  auto read_chunk = [&](std::vector<Row>& rows) {
    while (rows.size() < kChunkRows) {
      std::optional<CsvRow> csv_row;
      try {
        csv_row = reader.next();
      } catch (const InputError& e) {
        malformed = path + ": " + e.what();
        return false;
      }
      if (!csv_row) return false;
      auto& row = rows.emplace_back();
      row.line = csv_row->line;
      try {
        if (kind == FileKind::results_csv)
          row.record.emplace(parse_result_row(*header, *csv_row, context));
        else
          row.record.emplace(parse_milestone_row(*header, *csv_row, context));
        std::visit(
            [&](auto& r) {
              const auto number = patients_.resolve(r.patient);
              const auto& patient = patients_.key(number);
              if (!(patient == r.patient)) r.patient = patient;
              row.slot = slot_of_number(number);
            },
            *row.record);
        row.shard = shard_of(row.slot);
      } catch (const InputError& e) {
        row.record.reset();
        row.error = e.what();
      }
    }
    return true;
  };
  // `work` for every shard on threads of its own while this thread does `meanwhile`.
  auto on_shards = [&](const std::function<void(std::size_t)>& work,
                       const std::function<void()>& meanwhile) {
    std::vector<std::exception_ptr> failures(shards_.size());
    auto guarded = [&](std::size_t shard) {
      try {
        work(shard);
      } catch (...) {
        failures[shard] = std::current_exception();
      }
    };
    {
      std::vector<std::jthread> helpers;
      for (std::size_t s = 0; s < shards_.size(); ++s) helpers.emplace_back(guarded, s);
      meanwhile();
    }
    for (auto& f : failures)
      if (f) std::rethrow_exception(f);
  };

  // Chunks move through three stages at once. While each shard renders its rows' events of
  // `numbered` and then evaluates its patients' rows of `chunk` in file order, this thread
  // delivers `rendered` in file order and reads the next chunk. Then, on this thread, the alerts
  // of `chunk` are numbered in file order. One wait per chunk, and the output is written while
  // the shards work.
  // Reserved once: a Row holds a whole record, and growing the vector moved every one of them.
  std::vector<Row> chunk, next, numbered, rendered;
  for (auto* rows : {&chunk, &next, &numbered, &rendered}) rows->reserve(kChunkRows);
  bool more = read_chunk(chunk);
  while (!chunk.empty() || !numbered.empty() || !rendered.empty()) {
    on_shards(
        [&](std::size_t shard) {
          if (render_)
            for (auto& row : numbered)
              if (row.outcome && row.shard == shard) render(*row.outcome);
          for (auto& row : chunk) {
            if (!row.record || row.shard != shard) continue;
            try {
              row.outcome = process(row.slot, *row.record);
            } catch (const InputError& e) {
              row.error = e.what();
            }
          }
        },
        [&] {
          for (auto& row : rendered) {
            if (!row.error.empty())
              rejections_.push_back(path + ":" + std::to_string(row.line) + ": " + row.error);
            else if (row.outcome)
              deliver(*row.outcome);
          }
          rendered.clear();
          more = more && read_chunk(next);
        });
    for (auto& row : chunk)
      if (row.outcome) number(row.shard, *row.outcome);
    rendered.swap(numbered);  // empty, and numbered becomes rendered
    numbered.swap(chunk);
    chunk.swap(next);
  }
  if (malformed) rejections_.push_back(*malformed);
}

}  // namespace markerwatch::ingest
