#pragma once
// The single writer: one thread owns the write connection, takes the messages of all connections
// from a queue and commits them together (group commit). Each message runs in its own savepoint,
// so one bad message cannot spoil the batch; its reply is released only after COMMIT.
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "core/clock.hpp"
#include "ingest/pipeline.hpp"
#include "settings/settings.hpp"

namespace markerwatch::ingest {

struct WriteOutcome {
  bool committed = false;  // false: nothing was stored, the sender must not get an ACK
  std::string error;       // why, when not committed
  Hl7Outcome hl7;
  // A task that refused its input (InputError): its savepoint was rolled back, nothing of it
  // stored; `committed` still tells whether the batch around it committed.
  std::optional<std::string> refused;
  bool refused_not_found = false;          // the refusal was an AlertNotFound
  std::vector<engine::Event> task_events;  // what a task changed in the alert log
};

struct WriterStats {
  std::uint64_t messages = 0;
  std::uint64_t commits = 0;
  std::uint64_t failures = 0;
};

class StoreWriter {
 public:
  using Completion = std::function<void(WriteOutcome)>;

  // Opens the database and applies migrations in the caller's thread, so start-up errors surface
  // before the daemon reports ready.
  StoreWriter(const settings::Settings& settings, const Clock& clock);
  ~StoreWriter();

  // Called on the writer thread after every commit (the webhook sender's wake-up).
  void set_on_commit(std::function<void()> f) { on_commit_ = std::move(f); }
  void start();
  // Parses and maps one HL7 message on the calling thread, then queues it for storage; `done`
  // runs on the writer thread after the commit (or failure).
  void submit_hl7(std::string raw, std::string peer, Completion done);
  // Records a frame that was too large (its first bytes only) and answers it.
  void submit_oversized(std::string head, std::size_t limit, std::string peer, Completion done);
  // Any other write (FHIR and JSON ingest, a person's action from the HTTP API): runs on the writer
  // thread inside the next group commit, in its own savepoint; `done` runs after the commit (or
  // failure). A task returns the alert events it caused, logged after the commit.
  using Task = std::function<std::vector<engine::Event>(Pipeline&)>;
  void submit_task(Task task, std::string peer, Completion done);
  // Finishes everything queued, then joins the thread.
  void stop();
  WriterStats stats() const;
  // For the pure preparation steps (parsing, mapping) on the caller's thread.
  const Pipeline& pipeline() const { return *pipeline_; }
  int schema_version() const { return schema_version_; }

 private:
  struct Job {
    std::string raw;  // oversized frames: their head
    std::optional<PreparedHl7> prepared;
    std::string peer;
    std::optional<std::size_t> oversized_limit;
    Completion done;
    Task task;
  };
  void run();
  void process(std::deque<Job>& batch);

  const settings::Settings& settings_;
  const Clock& clock_;
  std::unique_ptr<store::Database> db_;
  std::unique_ptr<Pipeline> pipeline_;
  int schema_version_ = 0;

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Job> queue_;
  bool stopping_ = false;
  WriterStats stats_;
  std::function<void()> on_commit_;
  std::thread thread_;
};

}  // namespace markerwatch::ingest
