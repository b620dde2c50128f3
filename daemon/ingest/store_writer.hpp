#pragma once
// The single writer: one thread owns the write connection, takes the messages of all connections
// from a queue and commits them together (group commit). Each message runs in its own savepoint,
// so one bad message cannot spoil the batch; its reply is released only after COMMIT.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <utility>

#include "core/clock.hpp"
#include "ingest/histogram.hpp"
#include "ingest/pipeline.hpp"
#include "settings/settings.hpp"

namespace markerwatch::ingest {

// What a task stored, for the log and the metrics.
struct TaskReport {
  std::vector<engine::Event> alert_events;
  std::string transport;  // "" when the task stored no message (a person's action)
  std::string outcome;
  int results_stored = 0;
  std::string sender;  // as in the message log (fhir:<token>, api:<token>, fhir-upstream)
};

struct WriteOutcome {
  bool committed = false;  // false: nothing was stored, the sender must not get an ACK
  std::string error;       // why, when not committed
  Hl7Outcome hl7;
  // A task that refused its input (InputError): its savepoint was rolled back, nothing of it
  // stored; `committed` still tells whether the batch around it committed.
  std::optional<std::string> refused;
  bool refused_not_found = false;  // the refusal was an AlertNotFound
  TaskReport task;                 // what a task stored
};

struct WriterStats {
  std::uint64_t messages = 0;  // messages and tasks: not other parts' writes (submit_write)
  std::uint64_t commits = 0;
  std::uint64_t failures = 0;
  std::uint64_t failed_checkpoints = 0;  // the writer's automatic checkpoints that failed
  std::string last_commit_error;         // empty when the latest group commit succeeded
  // Committed only: (transport, outcome) -> messages; transport -> results stored; event type ->
  // alert-log entries.
  std::map<std::pair<std::string, std::string>, std::uint64_t> messages_by_outcome;
  std::map<std::string, std::uint64_t> results_by_transport;
  // transport -> Unix seconds of the latest commit with one of its messages: a feed gone silent.
  std::map<std::string, std::int64_t> last_message_at;
  // The same per (transport, sender label): one lab of several gone silent. The label is the
  // sender in printable ASCII, a longer one cut to kSenderLabelBytes and "..."; at most
  // kMaxSenderGauges senders, the first seen (at the start: the latest), so a sender that invents
  // names cannot crowd out a lab's gauge.
  static constexpr std::size_t kSenderLabelBytes = 100, kMaxSenderGauges = 100;
  std::map<std::pair<std::string, std::string>, std::int64_t> last_message_by_sender;
  std::map<std::string, std::uint64_t> alert_events_by_type;
  Histogram::Snapshot batch_sizes;  // jobs per group commit
  Histogram::Snapshot ack_latency;  // seconds from an MLLP frame's arrival to its ACK's release
};

class StoreWriter {
 public:
  using Completion = std::function<void(WriteOutcome)>;

  // Opens the database and applies migrations in the caller's thread, so start-up errors surface
  // before the daemon reports ready; `upgrading` is called about once a second while a schema file
  // runs.
  StoreWriter(const settings::Settings& settings, const Clock& clock,
              std::function<void()> upgrading = {});
  ~StoreWriter();

  // Called on the writer thread after a commit that may have queued webhook deliveries (one
  // with alert events or a task): the webhook sender's wake-up.
  void set_on_commit(std::function<void()> f) { on_commit_ = std::move(f); }
  // Where a batch's completions run (markerwatchd: its event loop, split in `parts` closures for
  // its threads); unset, they run on the writer thread. Either way only after the commit. The
  // writer thread then posts once or twice per commit instead of once per message: the posts
  // were ~5% of its time at 32 connections (bench/README.md).
  using Dispatch = std::function<void(std::function<void()>)>;
  void set_completion_dispatch(Dispatch dispatch, unsigned parts);
  void start();
  // Parses and maps one HL7 message on the calling thread, then queues it for storage; `done`
  // runs after the commit (or failure), on the writer thread or through the completion dispatch.
  void submit_hl7(std::string raw, std::string peer, Completion done);
  // Records a frame that was too large (its first bytes only) and answers it.
  void submit_oversized(std::string head, std::size_t limit, std::string peer, Completion done);
  // Any other write (FHIR and JSON ingest, a person's action from the HTTP API): runs on the writer
  // thread inside the next group commit, in its own savepoint; `done` runs after the commit (or
  // failure). A task reports what it stored: logged and counted after the commit.
  using Task = std::function<TaskReport(Pipeline&)>;
  void submit_task(Task task, std::string peer, Completion done);
  // A write of another part of the daemon (the webhook sender's records), with the writer's
  // connection, inside the next group commit in its own savepoint. `done` gets the failure, none
  // when committed; it runs on the writer thread right after the commit, never through the
  // completion dispatch, so it works while the event loop does not run (start-up, shutdown).
  using Write = store::Write;
  using WriteDone = store::WriteDone;
  void submit_write(Write write, std::string peer, WriteDone done);
  // Finishes everything queued, then joins the thread. What is submitted after that is answered
  // at once, on the submitting thread, as not stored ("the store writer has stopped").
  void stop();
  WriterStats stats() const;
  // How long the batch being stored has run so far; zero while the writer waits for work.
  // markerwatchd stops kicking the systemd watchdog while it is long: a writer that hangs answers
  // nobody, while the event loop would still look alive.
  std::chrono::steady_clock::duration busy_for() const;
  // For the pure preparation steps (parsing, mapping) on the caller's thread: the pipeline of the
  // settings in force, kept alive while the caller holds it (a reload may replace it meanwhile).
  std::shared_ptr<const Pipeline> pipeline() const;
  // Replaces the settings that mapping and evaluation use (a configuration reload): a pipeline
  // for `next` is built on the writer thread in the next group commit and stores from the one
  // after it. A message is mapped with the settings in force when it arrives and stored and
  // evaluated with those in force when its group commit runs; none sees a mix within a step.
  // The storage settings stay those the writer was made with (settings::restart_only_changes).
  // `done` runs on the writer thread, with the reason when the new pipeline could not be made
  // (the old one then stays in force).
  void use_settings(std::shared_ptr<const settings::Settings> next,
                    std::function<void(std::optional<std::string>)> done);
  int schema_version() const { return schema_version_; }

 private:
  struct Job {
    std::string raw;  // oversized frames: their head
    std::optional<PreparedHl7> prepared;
    std::string peer;
    std::optional<std::size_t> oversized_limit;
    Completion done;
    Task task;
    bool done_on_writer = false;  // `done` runs on the writer thread, not through the dispatch
    std::chrono::steady_clock::time_point enqueued = std::chrono::steady_clock::now();
  };
  struct Delivery {
    Completion done;
    WriteOutcome outcome;
    std::string peer;
  };
  static void run_completions(std::vector<Delivery>& deliveries);
  void deliver(std::vector<Delivery> deliveries);
  void enqueue(Job job);
  static void refuse(Job& job);
  // Waits a little, awake, for a job before the writer goes to sleep on the condition variable.
  void spin_for_work() const;
  void run();
  void process(std::deque<Job>& batch);
  static bool may_have_queued_deliveries(const std::deque<Job>& batch,
                                         const std::vector<WriteOutcome>& outcomes);

  // A pipeline with the settings it was made for (it refers to them), and how many callers of
  // pipeline() still hold it.
  struct Generation {
    std::shared_ptr<const settings::Settings> settings;
    std::unique_ptr<Pipeline> pipeline;
    std::atomic<int> leases{0};
  };
  // Frees the replaced generations that no other thread holds any more (writer thread): their
  // statements are finalised on the thread that owns the connection (opened without SQLite's
  // mutex).
  void release_retired();
  // Records `at` as the latest message of `sender` over `transport` (stats_, under mutex_); false
  // when the sender has no gauge and no more may be added.
  bool note_sender(const std::string& transport, std::string_view sender, std::int64_t at);

  const settings::Settings& settings_;
  const Clock& clock_;
  std::unique_ptr<store::Database> db_;
  // Replaced on the writer thread only, under generation_mutex_; the writer reads it without.
  std::unique_ptr<Generation> generation_;
  mutable std::mutex generation_mutex_;
  std::vector<std::unique_ptr<Generation>> retired_;  // writer thread only
  int schema_version_ = 0;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  std::atomic<std::size_t> queued_{0};  // queue_.size(), readable without the mutex
  // When the batch being stored began (steady clock ticks); 0 while waiting for work.
  std::atomic<std::chrono::steady_clock::rep> busy_since_{0};
  bool stopping_ = false;
  bool finished_ = false;  // the thread has drained the queue and ended: nothing is taken any more
  WriterStats stats_;
  bool sender_gauges_full_ = false;  // logged once: a sender was left without a gauge
  Histogram batch_sizes_{{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024}};
  Histogram ack_latency_{
      {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10}};
  std::function<void()> on_commit_;
  Dispatch dispatch_;
  unsigned dispatch_parts_ = 1;
  std::thread thread_;
};

}  // namespace markerwatch::ingest
