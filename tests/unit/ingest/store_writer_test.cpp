// The writer's bookkeeping after each group commit: what /metrics and /readyz read.
#include <catch2/catch.hpp>
#include <future>

#include "core/clock.hpp"
#include "hl7/hl7_builders.hpp"
#include "ingest/store_writer.hpp"
#include "test_support.hpp"

using namespace markerwatch;

namespace {

struct WriterFixture {
  test::TempDir dir;
  settings::Settings s;
  SystemClock clock;
  std::unique_ptr<ingest::StoreWriter> writer;
  WriterFixture() : s(test::utc_settings()) {
    s.storage.path = (dir.path() / "w.db").string();
    writer = std::make_unique<ingest::StoreWriter>(s, clock);
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
             return ingest::TaskReport{{}, "api", "accepted", 3};
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

TEST_CASE("writer: a failed commit is reported until the next one succeeds", "[writer]") {
  WriterFixture f;
  // A task that ends the transaction under the writer: its COMMIT then fails.
  const auto failed = f.task([](ingest::Pipeline& p) {
    p.database().exec("ROLLBACK");
    return ingest::TaskReport{{}, "api", "accepted", 1};
  });
  CHECK_FALSE(failed.committed);
  auto stats = f.writer->stats();
  CHECK_FALSE(stats.last_commit_error.empty());
  CHECK(stats.messages_by_outcome.empty());  // nothing counted that was not committed
  REQUIRE(f.task([](ingest::Pipeline&) { return ingest::TaskReport{}; }).committed);
  CHECK(f.writer->stats().last_commit_error.empty());
}
