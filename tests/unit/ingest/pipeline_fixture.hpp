#pragma once
// A Pipeline over an in-memory database with a fixed clock and UTC as the default zone: the
// ingest tests' common ground.
#include <memory>
#include <string>

#include "core/clock.hpp"
#include "ingest/pipeline.hpp"
#include "store/migrations.hpp"
#include "test_support.hpp"

namespace markerwatch::test {

struct PipelineFixture {
  settings::Settings s;
  ManualClock clock{std::chrono::system_clock::time_point{} + std::chrono::hours(24 * 20000)};
  store::Database db{":memory:", {}};
  std::unique_ptr<ingest::Pipeline> pipeline;

  // `extra_toml` is appended to the settings (after [ingest] default_timezone = "UTC").
  explicit PipelineFixture(const std::string& extra_toml = "")
      : s(settings_from("[ingest]\ndefault_timezone = \"UTC\"\n" + extra_toml)) {
    store::migrate(db);
    pipeline = std::make_unique<ingest::Pipeline>(db, s, clock);
  }
  // A whole file imported in one transaction.
  ingest::FileReport import(const std::string& content, const std::string& path = "f.csv") {
    store::Transaction txn(db);
    auto out = pipeline->ingest_file(content, path);
    txn.commit();
    return out;
  }
  // A JSON API body (POST /api/v1/results or /milestones) stored as the writer runs it: a task in
  // its own savepoint.
  ingest::RowsOutcome post_rows(const std::string& body,
                                ingest::FileKind kind = ingest::FileKind::results_csv) {
    store::Transaction txn(db);
    store::Savepoint sp(db);
    auto out = pipeline->store_rows(pipeline->prepare_rows(body, kind), "api:test", "peer");
    sp.release();
    txn.commit();
    return out;
  }
  // Everything a refused request must leave as it was.
  std::string state() {
    auto q = db.prepare(
        "SELECT (SELECT count(*) FROM results) || '/' || (SELECT count(*) FROM milestones) || '/' "
        "|| (SELECT count(*) FROM alerts) || '/' || (SELECT coalesce(group_concat(value_raw), '') "
        "FROM results WHERE effective = 1)");
    q.step();
    return q.text(0);
  }
  std::int64_t count(const std::string& sql) {
    auto q = db.prepare(sql);
    q.step();
    return q.int64(0);
  }
};

}  // namespace markerwatch::test
