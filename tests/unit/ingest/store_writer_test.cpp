// The writer's bookkeeping after each group commit: what /metrics and /readyz read.
#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <functional>
#include <future>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <thread>

#include "core/clock.hpp"
#include "hl7/hl7_builders.hpp"
#include "ingest/store_writer.hpp"
#include "store/database.hpp"
#include "test_support.hpp"

using namespace markerwatch;

namespace {

struct WriterFixture {
  test::TempDir dir;
  settings::Settings s;
  SystemClock clock;
  std::unique_ptr<ingest::StoreWriter> writer;
  // `dispatch`, when given, is where the writer's completions go.
  explicit WriterFixture(ingest::StoreWriter::Dispatch dispatch = {}, unsigned parts = 1)
      : s(test::utc_settings()) {
    s.storage.path = (dir.path() / "w.db").string();
    writer = std::make_unique<ingest::StoreWriter>(s, clock);
    if (dispatch) writer->set_completion_dispatch(std::move(dispatch), parts);
    writer->start();
  }
  ~WriterFixture() { writer->stop(); }
  ingest::WriteOutcome task(ingest::StoreWriter::Task t) {
    std::promise<ingest::WriteOutcome> done;
    writer->submit_task(std::move(t), "test", [&](ingest::WriteOutcome o) { done.set_value(o); });
    return done.get_future().get();
  }
  ingest::WriteOutcome hl7(const std::string& text) {
    std::promise<ingest::WriteOutcome> done;
    writer->submit_hl7(text, "test", [&](ingest::WriteOutcome o) { done.set_value(o); });
    return done.get_future().get();
  }
};

}  // namespace

TEST_CASE("writer: committed messages, results and batches are counted", "[writer]") {
  WriterFixture f;
  REQUIRE(f.hl7(test::oru({test::afp_obx("45985")}, "W-1")).committed);
  REQUIRE(f.task([](ingest::Pipeline&) {
             return ingest::TaskReport{{}, "api", "accepted", 3, "api:ward"};
           }).committed);
  const auto stats = f.writer->stats();
  CHECK(stats.messages_by_outcome.at({"mllp", "accepted"}) == 1);
  CHECK(stats.messages_by_outcome.at({"api", "accepted"}) == 1);
  CHECK(stats.results_by_transport.at("mllp") == 1);
  CHECK(stats.results_by_transport.at("api") == 3);
  CHECK(stats.ack_latency.count == 1);  // MLLP only
  CHECK(stats.ack_latency.cumulative.back() == 1);
  CHECK(stats.batch_sizes.count == stats.commits);
  CHECK(stats.last_commit_error.empty());
}

TEST_CASE("writer: the latest commit of each transport's messages is kept", "[writer]") {
  test::TempDir dir;
  auto s = test::utc_settings();
  s.storage.path = (dir.path() / "w.db").string();
  ManualClock clock(std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000)));
  ingest::StoreWriter writer(s, clock);
  writer.start();
  const auto run = [&](ingest::StoreWriter::Task task) {
    std::promise<ingest::WriteOutcome> done;
    writer.submit_task(std::move(task), "test", [&](ingest::WriteOutcome o) { done.set_value(o); });
    return done.get_future().get();
  };
  REQUIRE(run([](ingest::Pipeline&) {
            return ingest::TaskReport{{}, "api", "ignored", 0, "api:ward"};
          }).committed);
  clock.advance(std::chrono::seconds(90));
  REQUIRE(run([](ingest::Pipeline&) {
            return ingest::TaskReport{{}, "fhir", "accepted", 1, "fhir:lis"};
          }).committed);
  // A person's action (no transport) and a failed commit are no message of a feed.
  REQUIRE(run([](ingest::Pipeline&) { return ingest::TaskReport{}; }).committed);
  clock.advance(std::chrono::seconds(90));
  CHECK_FALSE(run([](ingest::Pipeline& p) {
                p.database().exec("ROLLBACK");
                return ingest::TaskReport{{}, "api", "accepted", 1, "api:ward"};
              }).committed);
  const auto last = writer.stats().last_message_at;
  writer.stop();
  CHECK(last ==
        std::map<std::string, std::int64_t>{{"api", 1'800'000'000}, {"fhir", 1'800'000'090}});
}

TEST_CASE("writer: the latest commit of each sender's messages is kept under a printable label",
          "[writer]") {
  test::TempDir dir;
  auto s = test::utc_settings();
  s.storage.path = (dir.path() / "w.db").string();
  s.storage.synchronous_full = false;
  ManualClock clock(std::chrono::system_clock::time_point(std::chrono::seconds(1'800'000'000)));
  using Gauges = std::map<std::pair<std::string, std::string>, std::int64_t>;
  const auto from_sender = [](const std::string& sender, const std::string& control_id) {
    auto message = test::oru({test::afp_obx("45985")}, control_id);
    return message.replace(message.find("LAB|HOSP"), 8, sender);
  };
  const std::string long_name(300, 'L');
  {
    ingest::StoreWriter writer(s, clock);
    writer.start();
    const auto submit = [&](auto&& call) {
      std::promise<ingest::WriteOutcome> done;
      call([&](ingest::WriteOutcome o) { done.set_value(o); });
      return done.get_future().get();
    };
    const auto hl7 = [&](const std::string& text) {
      return submit([&](auto done) { writer.submit_hl7(text, "test", done); });
    };
    const auto task = [&](const std::string& sender) {
      return submit([&](auto done) {
        writer.submit_task(
            [sender](ingest::Pipeline&) {
              return ingest::TaskReport{{}, "api", "accepted", 1, sender};
            },
            "test", done);
      });
    };
    REQUIRE(hl7(test::oru({test::afp_obx("45985")}, "S-1")).committed);
    clock.advance(std::chrono::seconds(60));
    // A quote, bytes that are not ASCII (UTF-8 and not), a name of 300 bytes; a frame too large.
    REQUIRE(hl7(from_sender("LAB\"X|H\xC3\xB4pital\xFF", "S-2")).committed);
    REQUIRE(hl7(from_sender(long_name + "|HOSP", "S-3")).committed);
    REQUIRE(submit([&](auto done) {
              writer.submit_oversized("MSH|^~\\&|BIG|LAB|MW|ONC|20161215093000||ORU^R01|S-4|P|2.5",
                                      100, "test", done);
            }).committed);
    clock.advance(std::chrono::seconds(60));
    REQUIRE(task("api:ward").committed);
    REQUIRE(task("").committed);  // a write with no sender has no gauge
    CHECK(writer.stats().last_message_by_sender ==
          Gauges{{{"mllp", "LAB|HOSP"}, 1'800'000'000},
                 {{"mllp", "LAB\"X|H??pital?"}, 1'800'000'060},
                 {{"mllp", std::string(100, 'L') + "..."}, 1'800'000'060},
                 {{"mllp", "BIG|LAB"}, 1'800'000'060},
                 {{"api", "api:ward"}, 1'800'000'120}});
    // At most kMaxSenderGauges: the senders already shown keep theirs, later ones get none.
    for (int i = 0; i < 100; ++i) REQUIRE(task("api:token-" + std::to_string(i)).committed);
    clock.advance(std::chrono::seconds(60));
    REQUIRE(hl7(test::oru({test::afp_obx("45985")}, "S-5")).committed);
    const auto full = writer.stats().last_message_by_sender;
    CHECK(full.size() == ingest::WriterStats::kMaxSenderGauges);
    CHECK(full.at({"mllp", "LAB|HOSP"}) == 1'800'000'180);
    CHECK(full.count({"api", "api:token-94"}) == 1);
    CHECK(full.count({"api", "api:token-95"}) == 0);
    writer.stop();
  }
  // A restart starts from the message log's arrival times (these tasks stored no message).
  ingest::StoreWriter again(s, clock);
  CHECK(again.stats().last_message_by_sender ==
        Gauges{{{"mllp", "LAB|HOSP"}, 1'800'000'180},
               {{"mllp", "LAB\"X|H??pital?"}, 1'800'000'060},
               {{"mllp", std::string(100, 'L') + "..."}, 1'800'000'060},
               {{"mllp", "BIG|LAB"}, 1'800'000'060}});
}

TEST_CASE("writer: a failed commit is reported until the next one succeeds", "[writer]") {
  WriterFixture f;
  // A task that ends the transaction under the writer: its COMMIT then fails.
  const auto failed = f.task([](ingest::Pipeline& p) {
    p.database().exec("ROLLBACK");
    return ingest::TaskReport{{}, "api", "accepted", 1, "api:ward"};
  });
  CHECK_FALSE(failed.committed);
  auto stats = f.writer->stats();
  CHECK_FALSE(stats.last_commit_error.empty());
  CHECK(stats.messages_by_outcome.empty());  // nothing counted that was not committed
  REQUIRE(f.task([](ingest::Pipeline&) { return ingest::TaskReport{}; }).committed);
  CHECK(f.writer->stats().last_commit_error.empty());
}

TEST_CASE("writer: a batch's completions go to the dispatch after the commit, in parts in order",
          "[writer]") {
  std::mutex mutex;
  std::condition_variable handed;
  std::vector<std::function<void()>> parts;
  WriterFixture f(
      [&](std::function<void()> part) {
        std::lock_guard lock(mutex);
        parts.push_back(std::move(part));
        handed.notify_all();
      },
      2);
  auto& writer = *f.writer;
  const auto& s = f.s;
  auto parts_handed = [&](std::size_t n) {
    std::unique_lock lock(mutex);
    return handed.wait_for(lock, std::chrono::seconds(20), [&] { return parts.size() >= n; });
  };

  // A first task holds the writer until four messages wait behind it: they are the next batch.
  std::promise<void> release, started;
  auto released = release.get_future().share();
  std::vector<std::string> answered;  // completions run on this thread, through the parts
  writer.submit_task(
      [released, &started](ingest::Pipeline&) {
        started.set_value();
        released.wait();
        return ingest::TaskReport{};
      },
      "test", [&](ingest::WriteOutcome o) { answered.push_back(o.committed ? "task" : "failed"); });
  started.get_future().wait();
  for (int i = 1; i <= 4; ++i) {
    const auto id = "D-" + std::to_string(i);
    writer.submit_hl7(test::oru({test::afp_obx("12")}, id), "test",
                      [&answered, id](ingest::WriteOutcome o) {
                        answered.push_back(o.committed ? id : "failed " + id);
                      });
  }
  release.set_value();
  REQUIRE(parts_handed(3));  // the task's batch (one completion: one part), then two parts of two

  // Stored and committed before any answer: another connection sees the four messages.
  store::Database reader(s.storage.path, store::OpenOptions{});
  auto count = reader.prepare("SELECT count(*) FROM messages");
  REQUIRE(count.step());
  CHECK(count.int64(0) == 4);
  CHECK(answered.empty());  // nothing answered on the writer's thread

  std::vector<std::function<void()>> handed_parts;
  {
    std::lock_guard lock(mutex);
    handed_parts = parts;
  }
  REQUIRE(handed_parts.size() == 3);
  handed_parts[0]();
  CHECK(answered == std::vector<std::string>{"task"});
  handed_parts[2]();  // parts may run in any order; each answers its own messages in order
  handed_parts[1]();
  CHECK(answered == std::vector<std::string>{"task", "D-3", "D-4", "D-1", "D-2"});
  writer.stop();
}

TEST_CASE("writer: another part's write commits with the batch, answered on the writer's thread",
          "[writer]") {
  std::atomic<int> dispatched{0};  // never run: the event loop of markerwatchd may not run
  WriterFixture f([&](std::function<void()>) { ++dispatched; }, 2);
  auto& writer = *f.writer;
  const auto& s = f.s;
  struct Answer {
    std::optional<std::string> failure;
    std::thread::id thread;
  };
  auto write = [&](ingest::StoreWriter::Write w) {
    std::promise<Answer> answered;
    writer.submit_write(std::move(w), "test", [&](std::optional<std::string> failure) {
      answered.set_value({std::move(failure), std::this_thread::get_id()});
    });
    return answered.get_future().get();
  };
  const auto ok = write([](store::Database& db) {
    db.exec("CREATE TABLE side(x INTEGER); INSERT INTO side VALUES (1)");
  });
  CHECK_FALSE(ok.failure);
  CHECK(ok.thread != std::this_thread::get_id());
  const auto refused = write([](store::Database& db) {
    db.exec("INSERT INTO side VALUES (2)");
    throw std::runtime_error("no room for side 2");
  });
  REQUIRE(refused.failure);
  CHECK(*refused.failure == "no room for side 2");
  CHECK(dispatched == 0);

  // Committed, the refused write rolled back alone; neither is counted as a message.
  store::Database reader(s.storage.path, store::OpenOptions{});
  auto rows = reader.prepare("SELECT group_concat(x) FROM side");
  REQUIRE(rows.step());
  CHECK(rows.text(0) == "1");
  const auto stats = writer.stats();
  CHECK(stats.messages == 0);
  CHECK(stats.failures == 0);
  CHECK(stats.commits == 2);
  writer.stop();
}

TEST_CASE("writer: what is submitted after stop() is answered at once, as not stored", "[writer]") {
  WriterFixture f;
  auto& writer = *f.writer;
  writer.stop();

  std::optional<std::string> write_failure;
  bool wrote = false;
  writer.submit_write([&](store::Database&) { wrote = true; }, "test",
                      [&](std::optional<std::string> failure) { write_failure = failure; });
  REQUIRE(write_failure);  // answered before submit_write returned, on this thread
  CHECK(*write_failure == "the store writer has stopped");
  CHECK_FALSE(wrote);

  std::optional<ingest::WriteOutcome> message;
  writer.submit_hl7(test::oru({test::afp_obx("12")}, "MSG-AFTER-STOP"), "test",
                    [&](ingest::WriteOutcome o) { message = std::move(o); });
  REQUIRE(message);
  CHECK_FALSE(message->committed);  // no ACK for it: the sender will send it again
  CHECK(message->error == "the store writer has stopped");

  store::Database reader(f.s.storage.path, store::OpenOptions{});
  auto rows = reader.prepare("SELECT count(*) FROM messages");
  REQUIRE(rows.step());
  CHECK(rows.int64(0) == 0);
  CHECK(writer.stats().messages == 0);
}

TEST_CASE("writer: how long the batch being stored has run, zero while it waits", "[writer]") {
  WriterFixture f;
  auto& writer = *f.writer;
  CHECK(writer.busy_for() == std::chrono::steady_clock::duration::zero());
  std::promise<void> let_go;
  std::promise<ingest::WriteOutcome> done;
  writer.submit_task(
      [released = let_go.get_future().share()](ingest::Pipeline&) {
        released.wait();  // a writer stuck in its batch
        return ingest::TaskReport{};
      },
      "test", [&](ingest::WriteOutcome o) { done.set_value(std::move(o)); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  CHECK(writer.busy_for() >= std::chrono::milliseconds(250));
  let_go.set_value();
  CHECK(done.get_future().get().committed);
  // The answer goes out before the batch ends; the writer is idle again right after.
  for (int i = 0; i < 500 && writer.busy_for() != std::chrono::steady_clock::duration::zero(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(writer.busy_for() == std::chrono::steady_clock::duration::zero());
}

TEST_CASE("writer: the commit hook runs after a task, not after another part's write", "[writer]") {
  test::TempDir dir;
  auto s = test::utc_settings();
  s.storage.path = (dir.path() / "hook.db").string();
  SystemClock clock;
  ingest::StoreWriter writer(s, clock);
  std::atomic<int> hooked{0};
  writer.set_on_commit([&] { ++hooked; });  // markerwatchd: the webhook sender's wake-up
  writer.start();
  std::promise<void> written;
  writer.submit_write([](store::Database&) {}, "notify",
                      [&](std::optional<std::string>) { written.set_value(); });
  written.get_future().get();
  CHECK(hooked == 0);  // the sender's own records: it learns of them from their answer
  std::promise<void> tasked;
  writer.submit_task([](ingest::Pipeline&) { return ingest::TaskReport{}; }, "api",
                     [&](ingest::WriteOutcome) { tasked.set_value(); });
  tasked.get_future().get();
  CHECK(hooked == 1);  // a person's action may queue deliveries
  writer.stop();
}

TEST_CASE("writer: new settings map the messages after them, not those before", "[writer]") {
  WriterFixture f;
  // A local lab code that the running settings do not know: the observation is ignored.
  const auto local_obx = "OBX|1|NM|AFPX^AFP local^L||45985|ng/mL|0-10||||F|||20161215083000";
  auto before = f.hl7(test::oru({local_obx}, "LOCAL-1"));
  REQUIRE(before.committed);
  CHECK(before.hl7.stored == 0);
  CHECK(before.hl7.ignored == 1);
  const auto held = f.writer->pipeline();  // a caller preparing with the old settings

  auto next = std::make_shared<settings::Settings>(test::settings_from(
      "[ingest]\ndefault_timezone = \"UTC\"\n[markers.AFP]\nlocal_codes = [\"L|AFPX\"]\n"));
  next->storage = f.s.storage;
  std::promise<std::optional<std::string>> swapped;
  f.writer->use_settings(
      next, [&](std::optional<std::string> failure) { swapped.set_value(std::move(failure)); });
  CHECK_FALSE(swapped.get_future().get());

  auto after = f.hl7(test::oru({local_obx}, "LOCAL-2"));
  REQUIRE(after.committed);
  CHECK(after.hl7.stored == 1);
  CHECK(after.hl7.ignored == 0);
  CHECK(f.writer->pipeline() != held);
  // What was prepared before still maps as it did: the old pipeline lives while it is held.
  CHECK(held->prepare_hl7(test::oru({local_obx}, "LOCAL-3")).mapped->results.empty());

  store::Database reader(f.s.storage.path, store::OpenOptions{});
  auto rows = reader.prepare("SELECT count(*) FROM results");
  REQUIRE(rows.step());
  CHECK(rows.int64(0) == 1);
}

TEST_CASE("writer: settings that arrive after it stopped are refused, the old ones stay",
          "[writer]") {
  WriterFixture f;
  const auto held = f.writer->pipeline();
  f.writer->stop();
  std::optional<std::string> failure;
  f.writer->use_settings(std::make_shared<settings::Settings>(f.s),
                         [&](std::optional<std::string> why) { failure = std::move(why); });
  CHECK(failure == "the store writer has stopped");
  CHECK(f.writer->pipeline() == held);
}
