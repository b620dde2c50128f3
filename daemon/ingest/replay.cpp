#include "ingest/replay.hpp"

#include <algorithm>
#include <array>
#include <atomic>
#include <charconv>
#include <exception>
#include <functional>
#include <optional>
#include <stdexcept>
#include <thread>
#include <unordered_map>

#include "core/patient_choice.hpp"
#include "ingest/csv_records.hpp"
#include "ingest/pipeline.hpp"

namespace markerwatch::ingest {

namespace {

// Where `count` threads can each read a stretch of the rows after the reader's position: cut
// after a line end, and only in a file without quotes (a quoted field may hold line breaks).
struct StretchStart {
  CsvReader::Position from;
  std::size_t until_line = 0;  // the line the next stretch starts on (0: the last)
  std::size_t lines = 0;       // how many lines it spans: at most that many rows
};
std::vector<StretchStart> stretches_of(const CsvReader& reader, std::size_t count) {
  const auto text = reader.text();
  // The reader counts a line at "\n", "\r\n" and a lone "\r".
  auto lines_in = [](std::string_view part) {
    std::size_t lines = 0;
    for (std::size_t i = 0; i < part.size(); ++i)
      if (part[i] == '\n' || (part[i] == '\r' && (i + 1 == part.size() || part[i + 1] != '\n')))
        ++lines;
    return lines;
  };
  const auto start = reader.position();
  auto from = start;
  std::vector<StretchStart> out;
  if (count > 1 && text.find('"', start.offset) == std::string_view::npos) {
    for (std::size_t k = 1; k < count; ++k) {
      const auto target = start.offset + (text.size() - start.offset) / count * k;
      auto cut = text.find('\n', std::max(target, from.offset));
      if (cut == std::string_view::npos) break;
      ++cut;
      const auto lines = lines_in(text.substr(from.offset, cut - from.offset));
      out.push_back({from, from.line + lines, lines});
      from = {cut, from.line + lines};
    }
  }
  out.push_back({from, 0, lines_in(text.substr(from.offset)) + 1});
  return out;
}

const PatientKey& patient_of(const std::variant<ResultRecord, MilestoneRecord>& record) {
  return std::visit([](const auto& r) -> const PatientKey& { return r.patient; }, record);
}
}  // namespace

Replayer::Replayer(const settings::Settings& settings, Sink sink, unsigned threads, Render render)
    : settings_(settings),
      config_(settings::engine_config(settings)),
      sink_(std::move(sink)),
      render_(std::move(render)),
      threads_(std::max(1u, threads)),
      shards_(threads_ == 1 ? 1 : threads_ * kShardsPerThread) {}

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
  const auto local = local_of(slot);
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
  const auto evaluation = engine::evaluate(history, config_, *scope, logged, &patient.cache);
  out.events = engine::reconcile(patient.alerts.live(*scope), evaluation, logged);
  patient.alerts.apply(out.events, shard.next_alert_id);
  out.patient = history.patient;
  return out;
}

std::int64_t Replayer::printed_id(std::size_t shard, std::int64_t id) {
  if (id == 0) return 0;  // notes
  auto& ids = shards_[shard].global_ids;
  const auto local = static_cast<std::size_t>(id);
  if (ids.size() < local) ids.resize(local, 0);
  if (ids[local - 1] == 0) ids[local - 1] = next_id_++;  // first seen: its NEW
  return ids[local - 1];
}

void Replayer::number(std::size_t shard, Outcome& outcome) {
  for (auto& e : outcome.events) e.alert_id = printed_id(shard, e.alert_id);
}

void Replayer::deliver(Outcome& outcome) {
  if (!render_) {
    for (auto& e : outcome.events) sink_({outcome.patient, std::move(e), {}});
    return;
  }
  // Numbered already: rendered with the ids they are printed with.
  ReplayedEvent printed;
  printed.patient = outcome.patient;
  std::string text;
  for (const auto& e : outcome.events) {
    text.clear();
    render_(e, outcome.patient, text);
    printed.rendered = {text, {}, {}};
    printed.event.type = e.type;
    printed.event.alert_id = e.alert_id;
    sink_(printed);
  }
}

void Replayer::print_rendered(ReplayedEvent& printed, std::string_view text, std::size_t id_at,
                              std::size_t id_size, engine::EventType type, std::int64_t alert_id) {
  std::array<char, 24> id;
  if (id_size > 0) {
    const auto end = std::to_chars(id.data(), id.data() + id.size(), alert_id).ptr;
    printed.rendered = {text.substr(0, id_at),
                        {id.data(), static_cast<std::size_t>(end - id.data())},
                        text.substr(id_at + id_size)};
  } else {
    printed.rendered = {text, {}, {}};
  }
  printed.event.type = type;
  printed.event.alert_id = alert_id;
  sink_(printed);
}

bool Replayer::add(const Record& record) {
  if (released_) throw std::logic_error("replay: an input after the one said to be the last");
  const auto slot = slot_of(patient_text(patient_of(record)));
  auto outcome = process(slot, record);
  number(shard_of(slot), outcome);
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
  const auto local = local_of(it->second);
  if (local >= shard.patients.size()) return {};  // its rows were all rejected
  auto alerts = shard.patients[local].alerts.all();
  for (auto& a : alerts) a.id = shard.global_ids.at(static_cast<std::size_t>(a.id) - 1);
  return alerts;
}

void Replayer::run_tasks(std::size_t count,
                         const std::function<void(std::size_t, std::size_t)>& work) const {
  std::vector<std::exception_ptr> failures(count);
  std::atomic<std::size_t> next_task{0};
  auto take_tasks = [&](std::size_t worker) {
    for (auto task = next_task++; task < count; task = next_task++) {
      try {
        work(task, worker);
      } catch (...) {
        failures[task] = std::current_exception();
      }
    }
  };
  {
    std::vector<std::jthread> helpers;
    for (std::size_t t = 0; t < std::min<std::size_t>(threads_, count); ++t)
      helpers.emplace_back(take_tasks, t);
  }
  for (auto& f : failures)
    if (f) std::rethrow_exception(f);
}

// A CSV file being replayed, and what maps its rows.
struct Replayer::CsvFile {
  std::string_view content;
  const std::string& path;
  FileKind kind;
  CsvHeader header;
  RecordContext context;

  // Throws InputError. The same row always maps to the same record: a row is mapped when it is
  // evaluated, and the first rows of each patient also when they are read. `patient`: the key the
  // record gets instead of its field's (replay's state is kept under the key the directory first
  // knew the patient by).
  Record record(const CsvRow& row, const PatientKey* patient = nullptr) const {
    Record out;
    record(row, patient, out);
    return out;
  }
  // The same into `out`, built there (a result record is ~20 strings: not moved into place).
  void record(const CsvRow& row, const PatientKey* patient, Record& out) const {
    if (kind == FileKind::results_csv) {
      parse_result_row(header, row, context, patient, out.emplace<ResultRecord>());
      return;
    }
    auto& milestone = out.emplace<MilestoneRecord>(parse_milestone_row(header, row, context));
    if (patient) milestone.patient = *patient;
  }
  // The patient a row names, without mapping the rest of it; throws InputError with the reason
  // record() gives when the patient field (or the row's width) is what is wrong.
  PatientKey patient(const CsvRow& row) const {
    if (row.fields.size() != header.width()) return patient_of(record(row));  // throws
    return parse_patient_key(header.get(row, Column::patient_id), "patient_id");
  }
};

// A row of that file. Only where it starts is kept: a mapped record is ~500 bytes, and a file of
// millions of rows would hold them all.
struct Replayer::FileRow {
  CsvReader::Position at;      // where the reader was before it: it is read again from there
  std::uint32_t line = 0;      // where its text starts
  std::uint32_t number = 0;    // its patient's number in the directory
  std::uint32_t slot = 0;      // its patient's slot
  std::uint32_t outcome = 0;   // 1 + index in its shard's outcomes, 0: none
  std::uint32_t rejected = 0;  // 1 + index in its stretch's reasons, 0: read well
};

// The rows as read, stretch by stretch (each thread read one), in file order.
struct Replayer::FileRows {
  struct Stretch {
    std::vector<FileRow> rows;
    std::vector<std::string> reasons;  // "file:line: reason"
  };
  std::vector<Stretch> stretches;
  std::optional<std::string> malformed;  // the quoting broke: the rows after it were not read
};

// The rendered texts of the events a thread holds, back to back in large blocks, without an
// allocation of their own. One per thread, shared by the shards it evaluates: only a thread's last
// block has room left unused. (Blocks per shard left that room in every shard's last block: 1.1 GB
// resident instead of 0.8 on 16 threads, or a copy of each last block to give it back; bench/
// README.md, thirteenth session.)
struct Replayer::HeldTexts {
  static constexpr std::size_t kBlock = 4 << 20;
  // A text is written into the last block while the block has this much room left (a longer one
  // grows the block).
  static constexpr std::size_t kRoom = 64 << 10;

  std::string& room() {
    if (blocks.empty() || blocks.back().capacity() - blocks.back().size() < kRoom) {
      blocks.emplace_back();
      blocks.back().reserve(kBlock);
    }
    return blocks.back();
  }
  std::vector<std::string> blocks;
};

// What a shard's rows left to print, held until every patient of the file is evaluated: a large
// file's JSON lines (~700 bytes per event) are most of a replay's memory. A rendered event is a
// 32-byte record here and its text in its thread's HeldTexts, without an Outcome of its own.
struct Replayer::HeldOutcomes {
  struct Row {
    std::uint32_t first = 0, count = 0;  // its rendered events in `events`
    std::uint32_t full = 0;              // or 1 + index in `full`: events not rendered, an error
  };
  struct Event {
    std::int64_t alert_id = 0;  // the shard's; printed_id gives the printed one
    std::uint32_t block = 0, at = 0, size = 0;
    std::uint32_t id_at = 0, id_size = 0;  // where the text holds alert_id (AlertIdAt)
    engine::EventType type = engine::EventType::info;
  };

  // Returns 1 + the row's index in `rows`. With `render`, its events are written into `texts` as
  // they are held.
  std::uint32_t hold(Outcome&& outcome, const Render& render) {
    Row row;
    if (!render || !outcome.error.empty()) {
      full.push_back(std::move(outcome));
      row.full = static_cast<std::uint32_t>(full.size());
    } else {
      row.first = static_cast<std::uint32_t>(events.size());
      row.count = static_cast<std::uint32_t>(outcome.events.size());
      for (const auto& e : outcome.events) events.push_back(keep(e, outcome.patient, render));
    }
    rows.push_back(row);
    return static_cast<std::uint32_t>(rows.size());
  }
  std::string_view text(const Event& e) const {
    return {texts->blocks[e.block].data() + e.at, e.size};
  }

  HeldTexts* texts = nullptr;  // those of the thread that evaluated the shard
  std::vector<Row> rows;
  std::vector<Event> events;
  std::vector<Outcome> full;

 private:
  Event keep(const engine::Event& event, const std::string& patient, const Render& render) {
    auto& block = texts->room();
    Event e;
    e.alert_id = event.alert_id;
    e.block = static_cast<std::uint32_t>(texts->blocks.size() - 1);
    e.at = static_cast<std::uint32_t>(block.size());
    const auto id = render(event, patient, block);
    e.size = static_cast<std::uint32_t>(block.size() - e.at);
    e.id_at = static_cast<std::uint32_t>(id.at);
    e.id_size = static_cast<std::uint32_t>(id.size);
    e.type = event.type;
    return e;
  }
};

struct Replayer::Held {
  std::vector<HeldTexts> texts;        // one per thread: the outcomes point into them
  std::vector<HeldOutcomes> outcomes;  // one per shard
};

void Replayer::feed_csv(std::string_view content, const std::string& path, bool last_input) {
  if (released_) throw std::logic_error("replay: an input after the one said to be the last");
  const auto kind = detect_file_kind(content);
  if (kind != FileKind::results_csv && kind != FileKind::milestones_csv)
    throw InputError(path +
                     ": not a results or milestones CSV (header patient_id,marker,collected_at,"
                     "value,unit or patient_id,kind,date)");
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
  const CsvFile file{content, path, kind, *header, record_context(settings_)};
  patients_.next_file();
  auto read = read_rows(file, reader);
  auto held = evaluate_by_patient(file, read, last_input);
  released_ = last_input;
  print_in_order(file, read, held);
}

Replayer::FileRows Replayer::read_rows(const CsvFile& file, const CsvReader& after_header) {
  // Each thread reads a stretch of the file, and maps each patient's rows there until one is
  // valid.
  struct StretchPatient {
    PatientKey key;
    bool valid = false;  // one of its rows in the stretch is
  };
  // A stretch as its thread reads it; what stays of it is a FileRows::Stretch.
  struct StretchRead {
    StretchStart start;
    std::vector<FileRow> rows;
    std::vector<std::uint32_t> patient_of_row;  // 1 + index in `patients`, 0: it does not read
    std::vector<StretchPatient> patients;       // in order of first appearance
    std::unordered_map<std::string, std::uint32_t> index_of;  // "id" or "id^authority"
    std::vector<std::string> reasons;
    std::optional<std::string> malformed;
  };
  std::vector<StretchRead> stretches;
  for (const auto& start : stretches_of(after_header, threads_))
    stretches.push_back({start, {}, {}, {}, {}, {}, {}});
  run_tasks(stretches.size(), [&](std::size_t s, std::size_t) {
    auto& stretch = stretches[s];
    stretch.rows.reserve(stretch.start.lines);
    stretch.patient_of_row.reserve(stretch.start.lines);
    // As many patients as the files before had (growing the index rehashes every key again).
    stretch.index_of.reserve(std::min(slots_.size(), stretch.start.lines));
    CsvReader reader(file.content);
    reader.seek(stretch.start.from);
    CsvRow csv_row;
    for (;;) {
      FileRow row;
      row.at = reader.position();
      try {
        if (!reader.next(csv_row)) return;
      } catch (const InputError& e) {
        stretch.malformed = file.path + ": " + e.what();
        return;
      }
      // Past blank lines, the reader may have reached the next stretch's first row.
      const auto until = stretch.start.until_line;
      if (until && csv_row.line >= until) return;
      row.line = static_cast<std::uint32_t>(csv_row.line);
      std::uint32_t patient_index = 0;
      try {
        auto patient = file.patient(csv_row);
        const auto [at, added] = stretch.index_of.try_emplace(
            patient_text(patient), static_cast<std::uint32_t>(stretch.patients.size()));
        if (added) stretch.patients.push_back({std::move(patient), false});
        patient_index = at->second + 1;
        // A patient's rows are mapped here only until one is valid: naming needs to know which
        // patients have one. The rest are mapped when they are evaluated.
        if (auto& known = stretch.patients[at->second]; !known.valid) {
          file.record(csv_row);
          known.valid = true;
        }
      } catch (const InputError& e) {
        stretch.reasons.push_back(file.path + ":" + std::to_string(row.line) + ": " + e.what());
        row.rejected = static_cast<std::uint32_t>(stretch.reasons.size());
      }
      stretch.patient_of_row.push_back(patient_index);
      stretch.rows.push_back(row);
    }
  });

  // Then their patients are named here, in file order: a name depends on the names before it. As
  // an import does, a patient is named where it first appears (on a refused row too) if one of
  // its rows is valid. The directory names a written patient once per file, so each stretch asks
  // once per patient, where the patient first appears in it: in the order of its `patients`.
  std::size_t read_stretches = 0;  // up to the one whose CSV broke
  while (read_stretches < stretches.size() && !stretches[read_stretches++].malformed) {
  }
  auto valid_in_later_stretch = [&](std::size_t s, const PatientKey& patient) {
    const auto key = patient_text(patient);
    for (auto later = s + 1; later < read_stretches; ++later) {
      const auto& other = stretches[later];
      if (auto at = other.index_of.find(key);
          at != other.index_of.end() && other.patients[at->second].valid)
        return true;
    }
    return false;
  };
  struct Named {
    std::size_t number = 0, slot = 0;
    std::optional<std::string> refusal;  // the directory's reason it names no one patient
  };
  std::vector<std::vector<Named>> named(read_stretches);
  for (std::size_t s = 0; s < read_stretches; ++s) {
    const auto& stretch = stretches[s];
    named[s].resize(stretch.patients.size());
    for (std::size_t i = 0; i < stretch.patients.size(); ++i) {
      const auto& patient = stretch.patients[i];
      // Its rows here are all refused, and none is valid later either: it is not named.
      if (!patient.valid && !valid_in_later_stretch(s, patient.key)) continue;
      auto& n = named[s][i];
      try {
        n.number = patients_.resolve(patient.key);
        n.slot = slot_of_number(n.number);
      } catch (const InputError& e) {
        n.refusal = e.what();
      }
    }
  }
  // Each stretch's rows then learn their patient's name on the thread that read them.
  run_tasks(read_stretches, [&](std::size_t s, std::size_t) {
    auto& stretch = stretches[s];
    CsvReader reader(file.content);
    for (std::size_t i = 0; i < stretch.rows.size(); ++i) {
      auto& row = stretch.rows[i];
      if (row.rejected) continue;  // with its own reason
      const auto& n = named[s][stretch.patient_of_row[i] - 1];
      if (!n.refusal) {
        row.number = static_cast<std::uint32_t>(n.number);
        row.slot = static_cast<std::uint32_t>(n.slot);
        continue;
      }
      // The row's own fault comes first (it may not have been mapped yet).
      auto reason = *n.refusal;
      reader.seek(row.at);
      try {
        file.record(*reader.next());
      } catch (const InputError& fault) {
        reason = fault.what();
      }
      stretch.reasons.push_back(file.path + ":" + std::to_string(row.line) + ": " + reason);
      row.rejected = static_cast<std::uint32_t>(stretch.reasons.size());
    }
  });
  FileRows read;
  for (std::size_t s = 0; s < read_stretches; ++s) {
    auto& stretch = stretches[s];
    read.stretches.push_back({std::move(stretch.rows), std::move(stretch.reasons)});
    if (stretch.malformed) read.malformed = std::move(stretch.malformed);
  }
  return read;
}

// Each shard evaluates its patients one after the other, each patient's rows in file order.
// Patients never influence each other, so the events are those of file order; and a patient's
// state is touched while it is in the cache, not once per row among every other patient's
// (bench/README.md: a third less CPU on a large file).
Replayer::Held Replayer::evaluate_by_patient(const CsvFile& file, FileRows& read, bool last_input) {
  // The rows grouped by patient slot, each group in file order: slot k's rows are
  // order[first[k]] .. order[first[k + 1] - 1].
  std::vector<std::uint32_t> first(slots_.size() + 1, 0);
  for (const auto& stretch : read.stretches)
    for (const auto& row : stretch.rows)
      if (!row.rejected) ++first[row.slot + 1];
  for (std::size_t k = 1; k < first.size(); ++k) first[k] += first[k - 1];
  std::vector<FileRow*> order(first.back());
  {
    auto next = first;
    for (auto& stretch : read.stretches)
      for (auto& row : stretch.rows)
        if (!row.rejected) order[next[row.slot]++] = &row;
  }
  Held held;
  held.texts.resize(threads_);
  held.outcomes.resize(shards_.size());
  run_tasks(shards_.size(), [&](std::size_t s, std::size_t worker) {
    auto& shard = shards_[s];
    CsvReader reader(file.content);
    CsvRow csv_row;
    Record record;
    auto& done = held.outcomes[s];
    done.texts = &held.texts[worker];
    const auto runs_apart = kRun * shards_.size();
    for (auto run = s * kRun; run < slots_.size(); run += runs_apart) {
      for (auto slot = run; slot < std::min(run + kRun, slots_.size()); ++slot) {
        if (first[slot + 1] == first[slot]) continue;
        const auto local = local_of(slot);
        if (shard.patients.size() <= local) shard.patients.resize(local + 1);
        for (auto k = first[slot]; k < first[slot + 1]; ++k) {
          auto& row = *order[k];
          reader.seek(row.at);
          reader.next(csv_row);  // read without error before
          Outcome outcome;
          try {
            file.record(csv_row, &patients_.key(row.number), record);
            outcome = process(row.slot, record);
          } catch (const InputError& e) {
            outcome.error = e.what();  // the row does not map, or E3 refuses it
          }
          if (outcome.events.empty() && outcome.error.empty()) continue;
          row.outcome = done.hold(std::move(outcome), render_);
        }
        // Worked out again for the patient's rows of another file: a replay holds every patient.
        shard.patients[local].cache = engine::EvaluationCache{};
        // Nothing follows: the history is not needed again, and its memory serves the next
        // patient's.
        if (last_input) shard.patients[local].history = engine::PatientLedger{};
      }
    }
  });
  return held;
}

// Alerts are numbered, and the events and rejections handed on, in file order.
void Replayer::print_in_order(const CsvFile& file, FileRows& read, Held& held) {
  ReplayedEvent printed;  // its text's room serves every event
  for (auto& stretch : read.stretches) {
    for (const auto& row : stretch.rows) {
      if (row.rejected) {
        rejections_.push_back(std::move(stretch.reasons[row.rejected - 1]));
        continue;
      }
      if (!row.outcome) continue;
      const auto shard = shard_of(row.slot);
      auto& outcomes = held.outcomes[shard];
      const auto& held_row = outcomes.rows[row.outcome - 1];
      if (held_row.full) {
        auto& outcome = outcomes.full[held_row.full - 1];
        if (!outcome.error.empty()) {
          rejections_.push_back(file.path + ":" + std::to_string(row.line) + ": " + outcome.error);
        } else {
          number(shard, outcome);
          deliver(outcome);
        }
        outcome = Outcome{};
        continue;
      }
      printed.patient = patients_.key(row.number).id;
      for (auto k = held_row.first; k < held_row.first + held_row.count; ++k) {
        const auto& e = outcomes.events[k];
        print_rendered(printed, outcomes.text(e), e.id_at, e.id_size, e.type,
                       printed_id(shard, e.alert_id));
      }
    }
  }
  if (read.malformed) rejections_.push_back(*read.malformed);
}

}  // namespace markerwatch::ingest
