#pragma once
// `markerwatch replay`: the engine over files or a stored history, in arrival order, with no
// database writes and no notifications. Every event is handed to a sink as it would have been
// emitted live.
//
// Patients never influence each other, so a file is evaluated on several threads. Patients are
// dealt to shards, many more than threads, in turn in runs of consecutive patients (by order of
// first appearance), and each thread takes the next shard when it is done with one: a thread on a
// slower core does fewer of them (the two cores of a virtual machine can run at different speeds;
// bench/README.md). The sink still sees every event on the caller's thread in arrival order, with
// alert ids numbered in that order: the output is the same for any number of threads.
#include <array>
#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <variant>
#include <vector>

#include "engine/evaluate.hpp"
#include "engine/ledger.hpp"
#include "engine/reconcile.hpp"
#include "ingest/csv_reader.hpp"
#include "ingest/patient_directory.hpp"
#include "settings/settings.hpp"

namespace markerwatch::ingest {

struct ReplayedEvent {
  std::string patient;
  engine::Event event;  // with a Render function, only its type and alert_id
  // The Render function's text, when one is given, in pieces to be written one after the other:
  // the printed alert id between the rendered text around it (hundreds of MB of JSON lines were
  // copied twice on the one thread that prints them in order). Valid during the sink's call.
  std::array<std::string_view, 3> rendered;
};

// Where in an event's text the renderer wrote the event's alert_id, counted from the text's start.
// Events are rendered before their alerts have the ids they are printed with (those follow arrival
// order across all patients); the printed id is written there afterwards.
struct AlertIdAt {
  std::size_t at = 0;
  std::size_t size = 0;  // 0: the text holds no alert id
};

class Replayer {
 public:
  using Sink = std::function<void(const ReplayedEvent&)>;
  // Appends the patient's event as text to `out`.
  using Render = std::function<AlertIdAt(const engine::Event& event, const std::string& patient,
                                         std::string& out)>;
  // `threads`: how many threads feed_csv evaluates patients on (at least 1). `render`, when
  // given, turns each event into text on those threads (it must be thread-safe); the sink gets
  // the text in ReplayedEvent::rendered.
  Replayer(const settings::Settings& settings, Sink sink, unsigned threads = 1, Render render = {});
  Replayer(Replayer&&) = default;

  // A results or milestones CSV file, rows in file order. Rows that are not valid are skipped and
  // reported in rejections() as "file:line: reason"; a file that is not such a CSV throws.
  // `last_input`: nothing follows, so each patient's history is let go once its rows are
  // evaluated (alerts_of still answers); a later input throws std::logic_error.
  void feed_csv(std::string_view content, const std::string& path, bool last_input = false);
  // One input; false when it changed nothing. Throws InputError.
  bool add_result(const ResultRecord& r);
  bool add_milestone(const MilestoneRecord& m);

  const std::vector<std::string>& rejections() const { return rejections_; }
  // Every alert of a patient ("id" or "id^authority") as it stands, with the ids printed.
  std::vector<engine::TrackedAlert> alerts_of(const std::string& patient_key) const;

 private:
  using Record = std::variant<ResultRecord, MilestoneRecord>;
  // With several threads: small enough shares that the last ones to finish leave the other
  // threads idle only briefly.
  static constexpr unsigned kShardsPerThread = 16;
  struct PatientState {
    engine::PatientLedger history;
    engine::PatientAlerts alerts;
    engine::EvaluationCache cache;  // let go after the patient's rows of a file
  };
  struct Shard {
    // Patient slot s is patients[local_of(s)] of shard shard_of(s): found without hashing its key
    // again for every row (a replay holds every patient of its files). A deque: states never move.
    std::deque<PatientState> patients;
    std::int64_t next_alert_id = 1;        // numbers alerts per shard; printed ids: global_ids
    std::vector<std::int64_t> global_ids;  // shard alert id - 1 -> printed id
  };
  struct Outcome {
    bool changed = false;
    std::string patient;
    std::vector<engine::Event> events;  // shard alert ids until numbered
    std::string error;                  // the input was refused (InputError)
  };

  // The slot of the patient known by `patient_key` ("id" or "id^authority"), made at its first
  // use: slots are numbered in order of first appearance. On the caller's thread.
  std::size_t slot_of(const std::string& patient_key);
  // The slot of the PatientDirectory's patient `number`. On the caller's thread.
  std::size_t slot_of_number(std::size_t number);
  // Slots are dealt to shards in runs of kRun: a shard's next patient is most often the one that
  // first appeared right after the last, whose rows lie next to its rows in a file.
  static constexpr std::size_t kRun = 64;
  std::size_t shard_of(std::size_t slot) const { return slot / kRun % shards_.size(); }
  // Where in its shard's `patients` the slot's state is.
  std::size_t local_of(std::size_t slot) const {
    return slot / (kRun * shards_.size()) * kRun + slot % kRun;
  }
  // Stores the input in its patient's state and evaluates it. Throws InputError. Touches only the
  // slot's shard: shards run on different threads.
  Outcome process(std::size_t slot, const Record& record);
  struct CsvFile;
  struct FileRow;
  struct FileRows;
  struct HeldTexts;
  struct HeldOutcomes;
  struct Held;
  // feed_csv's steps. The rows read and mapped on every thread, their patients named in file
  // order on this one, then each row given its patient's name on the thread that read it.
  FileRows read_rows(const CsvFile& file, const CsvReader& after_header);
  // Every row evaluated, patient by patient; the outcomes of each shard's rows.
  Held evaluate_by_patient(const CsvFile& file, FileRows& read, bool last_input);
  void print_in_order(const CsvFile& file, FileRows& read, Held& held);
  // `work(task, worker)` for every task in [0, count), on up to threads_ threads (`worker`: which
  // one, from 0), each taking the next task when it is done with one; then rethrows the failure of
  // the lowest-numbered task that failed.
  void run_tasks(std::size_t count,
                 const std::function<void(std::size_t, std::size_t)>& work) const;
  // On the caller's thread, in arrival order: the printed alert ids.
  std::int64_t printed_id(std::size_t shard, std::int64_t shard_alert_id);
  void number(std::size_t shard, Outcome& outcome);
  // To the sink, rendered when a Render function is given. Numbered before.
  void deliver(Outcome& outcome);
  // A rendered event's text to the sink, with the printed alert id where the renderer put the
  // shard's.
  void print_rendered(ReplayedEvent& printed, std::string_view text, std::size_t id_at,
                      std::size_t id_size, engine::EventType type, std::int64_t alert_id);
  bool add(const Record& record);

  const settings::Settings& settings_;
  const engine::EngineConfig config_;
  Sink sink_;
  Render render_;
  unsigned threads_;
  std::vector<Shard> shards_;
  std::int64_t next_id_ = 1;
  std::vector<std::string> rejections_;
  bool released_ = false;      // the last input is in: histories were let go
  PatientDirectory patients_;  // feed_csv's: files name patients as the store would resolve them
  std::unordered_map<std::string, std::size_t> slots_;  // patient key -> slot
  std::vector<std::size_t> slot_of_number_;             // directory number -> slot + 1, 0: none
};

}  // namespace markerwatch::ingest
