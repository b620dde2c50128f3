#include "ingest/store_writer.hpp"

#include <pthread.h>

#include <spdlog/spdlog.h>
#include <algorithm>
#include <chrono>
#include <iterator>

#include "core/text.hpp"
#include "hl7/ack.hpp"
#include "ingest/alert_review.hpp"
#include "logging/module_logger.hpp"
#include "store/migrations.hpp"
#include "store/sender_activity.hpp"

namespace markerwatch::ingest {

namespace {
std::shared_ptr<spdlog::logger> log() {
  static auto logger = logging::module_logger("store");
  return logger;
}

// One line per committed alert event; identifiers only (the values and dates stay in the log
// table, which is where people review them).
void log_alert_events(const std::vector<engine::Event>& events) {
  static auto logger = logging::module_logger("alerts");
  for (const auto& e : events) {
    if (e.alert)
      logger->info("event=alert_{} alert_id={} marker={} class={} severity={} state={}",
                   engine::to_string(e.type), e.alert_id, e.alert->identity.marker,
                   engine::to_string(e.alert->identity.cls), engine::to_string(e.alert->severity),
                   engine::to_string(e.state));
    else
      logger->info("event=alert_{} marker={} code={}", engine::to_string(e.type), e.note->marker,
                   e.note->code);
  }
}
}  // namespace

StoreWriter::StoreWriter(const settings::Settings& settings, const Clock& clock,
                         std::function<void()> upgrading)
    : settings_(settings), clock_(clock) {
  store::OpenOptions options;
  options.synchronous =
      settings.storage.synchronous_full ? store::Synchronous::full : store::Synchronous::normal;
  // The WAL is reset by the writer's own checkpoint (SQLite's automatic one after commits past
  // `[storage] wal_autocheckpoint_pages`, 25,000 by default, ~100 MiB): only there do checkpoints
  // complete under a steady load. Alone, a checkpointer thread on its own connection never resets
  // it (measured: the WAL grew without bound); beside this one it copies most frames early, so
  // this one stalls less (store::Checkpointer). Each such checkpoint still stalls the writer
  // (copying what is left, syncing the database file): 5-25 ms on a small database, 20-150 ms on
  // one of ~0.7 GB under a steady load; every message in flight waits.
  // The more pages between them, the rarer the stall: 25,000 rather than SQLite's 1,000 put the
  // 32-connection p99 at ~7 ms instead of ~16 ms at 10,000 (bench/README.md).
  options.wal_autocheckpoint = settings.storage.wal_autocheckpoint_pages;
  // The log's frames in writes of up to 124 KiB, not two per frame (store/batched_log_vfs.hpp).
  options.batched_log_writes = true;
  db_ = std::make_unique<store::Database>(settings.storage.path, options);
  auto report =
      store::migrate(*db_, store::embedded_schema(), {.still_working = std::move(upgrading)});
  schema_version_ = report.to_version;
  // The last-message times start from the log: a feed silent since before a restart still shows.
  auto latest = store::latest_messages(*db_);
  stats_.last_message_at = std::move(latest.by_transport);
  for (const auto& m : latest.by_sender) note_sender(m.transport, m.sender, m.at);
  if (report.to_version != report.from_version)
    log()->info("event=schema_migrated from={} to={} path={}", report.from_version,
                report.to_version, settings.storage.path);
  // The first generation refers to the caller's settings, which outlive the writer.
  generation_ = std::make_unique<Generation>();
  generation_->settings = std::shared_ptr<const settings::Settings>(&settings_, [](auto*) {});
  generation_->pipeline = std::make_unique<Pipeline>(*db_, settings_, clock_);
}

std::shared_ptr<const Pipeline> StoreWriter::pipeline() const {
  std::lock_guard lock(generation_mutex_);
  auto* held = generation_.get();
  held->leases.fetch_add(1, std::memory_order_relaxed);
  return {held->pipeline.get(),
          [held](const Pipeline*) { held->leases.fetch_sub(1, std::memory_order_release); }};
}

void StoreWriter::use_settings(std::shared_ptr<const settings::Settings> next,
                               std::function<void(std::optional<std::string>)> done) {
  auto made = std::make_shared<std::unique_ptr<Generation>>();
  submit_write(
      [this, next, made](store::Database& db) {
        auto fresh = std::make_unique<Generation>();
        fresh->settings = next;
        fresh->pipeline = std::make_unique<Pipeline>(db, *next, clock_);
        *made = std::move(fresh);
      },
      "reload",
      [this, made, done = std::move(done)](std::optional<std::string> failure) {
        // On the writer thread, after the batch that built it; the next batch stores with it.
        if (!failure && *made) {
          std::lock_guard lock(generation_mutex_);
          retired_.push_back(std::exchange(generation_, std::move(*made)));
        }
        made->reset();
        done(std::move(failure));
      });
}

void StoreWriter::release_retired() {
  // Leases are taken under the mutex, so none is taken after a generation was replaced; the
  // acquire pairs with each lease's release, so its holder's reads are done before it is freed.
  std::erase_if(retired_,
                [](const auto& g) { return g->leases.load(std::memory_order_acquire) == 0; });
}

StoreWriter::~StoreWriter() {
  stop();
}

void StoreWriter::start() {
  thread_ = std::thread([this] {
    pthread_setname_np(pthread_self(), "mw-writer");
    run();
  });
}

void StoreWriter::submit_hl7(std::string raw, std::string peer, Completion done) {
  std::optional<PreparedHl7> prepared;
  try {
    prepared = pipeline()->prepare_hl7(std::move(raw));
  } catch (const std::exception& e) {
    // Parse errors are outcomes, not exceptions; this is resource exhaustion. Nothing is stored,
    // so the sender gets no ACK and retries.
    log()->error("event=message_prepare_failed peer={} error=\"{}\"", peer,
                 text::printable(e.what(), 200));
    WriteOutcome failed;
    failed.error = e.what();
    done(std::move(failed));
    return;
  }
  enqueue({{}, std::move(prepared), std::move(peer), std::nullopt, std::move(done), {}});
}

void StoreWriter::submit_oversized(std::string head, std::size_t limit, std::string peer,
                                   Completion done) {
  enqueue({std::move(head), std::nullopt, std::move(peer), limit, std::move(done), {}});
}

void StoreWriter::submit_task(Task task, std::string peer, Completion done) {
  enqueue({{}, std::nullopt, std::move(peer), std::nullopt, std::move(done), std::move(task)});
}

void StoreWriter::submit_write(Write write, std::string peer, WriteDone done) {
  Job job{{},
          std::nullopt,
          std::move(peer),
          std::nullopt,
          [done = std::move(done)](WriteOutcome outcome) {
            if (outcome.committed && !outcome.refused) return done(std::nullopt);
            done(outcome.refused ? *outcome.refused : outcome.error);
          },
          [write = std::move(write)](Pipeline& pipeline) {
            write(pipeline.database());
            return TaskReport{};
          }};
  job.done_on_writer = true;
  enqueue(std::move(job));
}

void StoreWriter::enqueue(Job job) {
  bool taken = false;
  {
    std::lock_guard lock(mutex_);
    if (!finished_) {
      queue_.push_back(std::move(job));
      queued_.store(queue_.size(), std::memory_order_relaxed);
      taken = true;
    }
  }
  if (taken)
    wake_.notify_one();
  else
    refuse(job);
}

// Nobody would ever answer a job the thread does not take: a part that waits for its answer (the
// webhook sender's stop()) would wait forever. Answered on the caller's thread, as not stored.
void StoreWriter::refuse(Job& job) {
  WriteOutcome refused;
  refused.error = "the store writer has stopped";
  job.done(std::move(refused));
}

// Measured at one connection (bench/README.md): a writer that slept between messages answered
// ~1,400-2,100 msg/s, one that first waits up to 250 us awake ~2,000-2,650, and since the event
// loop's threads stopped waking each other (twentieth session) 400 us did better than 250 in 7 of
// 8 pairs, most in slower minutes. On this virtual machine a sleeping thread takes
// tens of microseconds to run again, and the next message of a sender that waits for each ACK
// comes ~100-300 us after it. Under load the queue is rarely empty, so this changes nothing there;
// an idle daemon spins 400 us after its last message, then sleeps.
void StoreWriter::spin_for_work() const {
  // Asked once: glibc reads /sys for it, three system calls that each wait would pay again.
  static const bool several_cores = std::thread::hardware_concurrency() > 1;
  if (!several_cores) return;  // the producer would need this core
  constexpr auto kSpin = std::chrono::microseconds(400);
  const auto until = std::chrono::steady_clock::now() + kSpin;
  while (queued_.load(std::memory_order_relaxed) == 0 && std::chrono::steady_clock::now() < until) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
  }
}

void StoreWriter::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Jobs are left only when the thread never ran (start-up failed after they were submitted).
  std::deque<Job> left;
  {
    std::lock_guard lock(mutex_);
    finished_ = true;
    left.swap(queue_);
    queued_.store(0, std::memory_order_relaxed);
  }
  for (auto& job : left) refuse(job);
}

bool StoreWriter::note_sender(const std::string& transport, std::string_view sender,
                              std::int64_t at) {
  auto& gauges = stats_.last_message_by_sender;
  // Printable ASCII: a label of any byte would spoil the whole /metrics text.
  auto key = std::make_pair(transport, text::printable(sender, WriterStats::kSenderLabelBytes));
  if (auto it = gauges.find(key); it != gauges.end()) {
    it->second = std::max(it->second, at);
    return true;
  }
  if (gauges.size() >= WriterStats::kMaxSenderGauges) return false;
  gauges.emplace(std::move(key), at);
  return true;
}

WriterStats StoreWriter::stats() const {
  WriterStats out;
  {
    std::lock_guard lock(mutex_);
    out = stats_;
  }
  out.batch_sizes = batch_sizes_.snapshot();
  out.ack_latency = ack_latency_.snapshot();
  return out;
}

// Deliveries are queued with alert events, or by a person's action (a task). Waking the webhook
// sender after every commit cost each MLLP message a context switch on the sender's thread. Other
// parts' writes (submit_write: the sender's own records) wake nobody: their writer is told by
// their answer.
bool StoreWriter::may_have_queued_deliveries(const std::deque<Job>& batch,
                                             const std::vector<WriteOutcome>& outcomes) {
  for (std::size_t i = 0; i < batch.size(); ++i)
    if ((batch[i].task && !batch[i].done_on_writer) || !outcomes[i].hl7.alert_events.empty())
      return true;
  return false;
}

void StoreWriter::run() {
  const auto batch_max = static_cast<std::size_t>(settings_.storage.commit_batch_max);
  while (true) {
    std::deque<Job> batch;
    spin_for_work();
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty() && stopping_) {
        finished_ = true;
        return;
      }
      // Everything that queued up during the previous commit goes into this one.
      while (!queue_.empty() && batch.size() < batch_max) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      queued_.store(queue_.size(), std::memory_order_relaxed);
    }
    process(batch);
  }
}

std::chrono::steady_clock::duration StoreWriter::busy_for() const {
  const auto since = busy_since_.load(std::memory_order_relaxed);
  if (since == 0) return {};
  return std::chrono::steady_clock::now().time_since_epoch() -
         std::chrono::steady_clock::duration(since);
}

void StoreWriter::process(std::deque<Job>& batch) {
  using SteadyClock = std::chrono::steady_clock;
  const auto started = SteadyClock::now();
  busy_since_.store(started.time_since_epoch().count(), std::memory_order_relaxed);
  struct Idle {
    std::atomic<SteadyClock::rep>& since;
    ~Idle() { since.store(0, std::memory_order_relaxed); }
  } idle_after{busy_since_};
  release_retired();
  auto stored_at = started;
  std::vector<WriteOutcome> outcomes(batch.size());
  bool committed = false;
  std::string commit_error;
  try {
    store::Transaction txn(*db_);
    for (std::size_t i = 0; i < batch.size(); ++i) {
      auto& job = batch[i];
      if (job.task) {
        // A refused task rolls back its own savepoint only; the batch carries on.
        try {
          store::Savepoint sp(*db_);
          outcomes[i].task = job.task(*generation_->pipeline);
          sp.release();
        } catch (const AlertNotFound& e) {
          outcomes[i].refused = e.what();
          outcomes[i].refused_not_found = true;
        } catch (const InputError& e) {
          outcomes[i].refused = e.what();
        } catch (const std::exception& e) {
          outcomes[i].error = e.what();
          log()->error("event=task_failed peer={} error=\"{}\"", job.peer,
                       text::printable(e.what(), 200));
          continue;
        }
        outcomes[i].committed = true;
        continue;
      }
      try {
        store::Savepoint sp(*db_);
        if (job.oversized_limit) {
          outcomes[i].hl7 = generation_->pipeline->reject_oversized(job.raw, *job.oversized_limit,
                                                                    "mllp", job.peer);
        } else {
          outcomes[i].hl7 = generation_->pipeline->store_hl7(*job.prepared, "mllp", job.peer);
        }
        sp.release();
        outcomes[i].committed = true;
      } catch (const std::exception& e) {
        outcomes[i].committed = false;
        outcomes[i].error = e.what();
        log()->error("event=message_store_failed peer={} error=\"{}\"", job.peer,
                     text::printable(e.what(), 200));
      }
    }
    stored_at = SteadyClock::now();
    txn.commit();
    committed = true;
    if (on_commit_ && may_have_queued_deliveries(batch, outcomes)) on_commit_();
  } catch (const std::exception& e) {
    commit_error = e.what();
    log()->error("event=commit_failed messages={} error=\"{}\"", batch.size(),
                 text::printable(commit_error, 200));
  }
  const auto finished = SteadyClock::now();
  log()->trace("event=batch_committed messages={} store_us={} commit_us={}", batch.size(),
               std::chrono::duration_cast<std::chrono::microseconds>(stored_at - started).count(),
               std::chrono::duration_cast<std::chrono::microseconds>(finished - stored_at).count());
  batch_sizes_.observe(static_cast<double>(batch.size()));
  // Other parts' writes (submit_write) are neither messages nor a person's actions.
  const auto messages = static_cast<std::uint64_t>(std::count_if(
      batch.begin(), batch.end(), [](const Job& job) { return !job.done_on_writer; }));
  const auto committed_at = unix_seconds(clock_);
  bool sender_left_out = false;  // the first sender without a gauge: logged after the lock
  {
    std::lock_guard lock(mutex_);
    stats_.messages += messages;
    stats_.commits += committed ? 1 : 0;
    stats_.failures += committed ? 0 : messages;
    stats_.last_commit_error = committed ? std::string() : commit_error;
    stats_.failed_checkpoints = db_->failed_auto_checkpoints();
    for (std::size_t i = 0; committed && i < batch.size(); ++i) {
      const auto& o = outcomes[i];
      if (!o.committed) continue;
      const bool hl7 = !batch[i].task;
      const auto& transport = hl7 ? std::string("mllp") : o.task.transport;
      if (!transport.empty()) {
        ++stats_.messages_by_outcome[{transport, hl7 ? o.hl7.outcome : o.task.outcome}];
        stats_.results_by_transport[transport] +=
            static_cast<std::uint64_t>(hl7 ? o.hl7.stored : o.task.results_stored);
        stats_.last_message_at[transport] = committed_at;
        const auto& sender = hl7 ? o.hl7.sender : o.task.sender;
        if (!sender.empty() && !note_sender(transport, sender, committed_at) &&
            !std::exchange(sender_gauges_full_, true))
          sender_left_out = true;
      }
      for (const auto* events : {&o.hl7.alert_events, &o.task.alert_events})
        for (const auto& e : *events)
          ++stats_.alert_events_by_type[std::string(engine::to_string(e.type))];
      if (hl7)
        ack_latency_.observe(std::chrono::duration<double>(finished - batch[i].enqueued).count());
    }
  }
  if (sender_left_out)
    log()->warn(
        "event=sender_gauges_full limit={} reason=\"senders after the first {} get no "
        "last-message gauge; markerwatch senders lists them all\"",
        WriterStats::kMaxSenderGauges, WriterStats::kMaxSenderGauges);
  std::vector<Delivery> deliveries, here;
  deliveries.reserve(batch.size());
  for (std::size_t i = 0; i < batch.size(); ++i) {
    if (!committed) {
      outcomes[i].committed = false;
      outcomes[i].error = commit_error;
    }
    if (outcomes[i].committed) {
      log_alert_events(outcomes[i].hl7.alert_events);
      log_alert_events(outcomes[i].task.alert_events);
    }
    (batch[i].done_on_writer ? here : deliveries)
        .push_back({std::move(batch[i].done), std::move(outcomes[i]), std::move(batch[i].peer)});
  }
  run_completions(here);
  deliver(std::move(deliveries));
}

void StoreWriter::set_completion_dispatch(Dispatch dispatch, unsigned parts) {
  dispatch_ = std::move(dispatch);
  dispatch_parts_ = std::max(1u, parts);
}

void StoreWriter::run_completions(std::vector<Delivery>& deliveries) {
  for (auto& d : deliveries) {
    try {
      d.done(std::move(d.outcome));
    } catch (const std::exception& e) {
      // A completion answers one client; its failure must not take the others down.
      log()->error("event=completion_failed peer={} error=\"{}\"", d.peer,
                   text::printable(e.what(), 200));
    }
  }
}

void StoreWriter::deliver(std::vector<Delivery> deliveries) {
  if (!dispatch_) {
    run_completions(deliveries);
    return;
  }
  // Consecutive parts, so each answers in arrival order.
  const auto n = deliveries.size();
  const auto parts = std::min<std::size_t>(dispatch_parts_, n);
  auto from = deliveries.begin();
  for (std::size_t p = 0; p < parts; ++p) {
    const auto size = static_cast<std::ptrdiff_t>(n / parts + (p < n % parts ? 1 : 0));
    auto part = std::make_shared<std::vector<Delivery>>(std::make_move_iterator(from),
                                                        std::make_move_iterator(from + size));
    from += size;
    try {
      dispatch_([part] { run_completions(*part); });
    } catch (const std::exception& e) {
      // Could not be handed over (memory): answered here rather than never.
      log()->error("event=completion_dispatch_failed error=\"{}\"", text::printable(e.what(), 200));
      run_completions(*part);
    }
  }
}

}  // namespace markerwatch::ingest
