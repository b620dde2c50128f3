// markerwatch messages prune: the raw bytes of old messages go, everything else stays.
#include <catch2/catch.hpp>

#include "store/message_pruning.hpp"
#include "store/migrations.hpp"
#include "store/result_store.hpp"

using namespace markerwatch;
using namespace markerwatch::store;

namespace {

std::int64_t add_message(ResultStore& store, const std::string& received_at,
                         const std::string& outcome, const std::string& raw,
                         std::optional<std::int64_t> duplicate_of = {}) {
  MessageEntry entry{"mllp", "10.0.0.7:4000", "LAB|HOSP", "C" + received_at,
                     "sha",  received_at,     raw};
  MessageOutcome o;
  o.outcome = outcome;
  o.ack_code = "AA";
  o.duplicate_of = duplicate_of;
  return store.insert_message(entry, o);
}

// Every column of every message but the two pruning writes, in id order.
std::vector<std::vector<std::string>> kept_columns(Database& db) {
  auto q = db.prepare(
      "SELECT id, transport, peer, sender, control_id, content_sha256, received_at, outcome, "
      "ack_code, error, results_stored, observations_ignored, ifnull(duplicate_of, '') FROM "
      "messages ORDER BY id");
  std::vector<std::vector<std::string>> rows;
  while (q.step()) {
    rows.emplace_back();
    for (int c = 0; c < 13; ++c) rows.back().push_back(q.text(c));
  }
  return rows;
}

struct Bytes {
  bool kept;
  std::string pruned_at;
};

Bytes bytes_of(Database& db, std::int64_t id) {
  auto q =
      db.prepare("SELECT raw IS NOT NULL, ifnull(raw_pruned_at, '') FROM messages WHERE id = ?");
  q.bind(1, id);
  REQUIRE(q.step());
  return {q.int64(0) != 0, q.text(1)};
}

}  // namespace

TEST_CASE("messages prune: only the chosen outcomes received before the day lose their bytes") {
  Database db(":memory:", OpenOptions{});
  migrate(db);
  ResultStore store(db);
  const auto old_ignored = add_message(store, "2016-01-31T23:59:59Z", "ignored", "MSH|1");
  const auto old_rejected = add_message(store, "2016-01-15T08:00:00Z", "rejected", "MSH|22");
  const auto old_accepted = add_message(store, "2016-01-10T08:00:00Z", "accepted", "MSH|333");
  const auto old_duplicate =
      add_message(store, "2016-01-11T08:00:00Z", "duplicate", "", old_accepted);
  const auto new_ignored = add_message(store, "2016-02-01T00:00:00Z", "ignored", "MSH|4444");
  const auto before = kept_columns(db);

  PruneRequest request{
      .before = "2016-02-01", .outcomes = {"ignored", "rejected"}, .now = "2026-12-07T10:00:00Z"};
  request.dry_run = true;
  auto report = prune_message_bytes(db, request);
  CHECK(report.messages == 2);
  CHECK(report.bytes == 5 + 6);
  CHECK(bytes_of(db, old_ignored).kept);  // a dry run counts only

  request.dry_run = false;
  report = prune_message_bytes(db, request);
  CHECK(report.messages == 2);
  CHECK(report.bytes == 11);
  CHECK_FALSE(bytes_of(db, old_ignored).kept);
  CHECK(bytes_of(db, old_ignored).pruned_at == "2026-12-07T10:00:00Z");
  CHECK_FALSE(bytes_of(db, old_rejected).kept);
  CHECK(bytes_of(db, old_accepted).kept);                // outcome not chosen
  CHECK(bytes_of(db, old_duplicate).pruned_at.empty());  // had none to remove
  CHECK(bytes_of(db, new_ignored).kept);                 // received on the day itself
  CHECK(bytes_of(db, new_ignored).pruned_at.empty());
  CHECK(kept_columns(db) == before);

  const auto shown = store.message(old_ignored);
  REQUIRE(shown);
  CHECK_FALSE(shown->raw);
  CHECK(shown->raw_pruned_at == "2026-12-07T10:00:00Z");

  report = prune_message_bytes(db, request);  // nothing left to remove
  CHECK(report.messages == 0);
  CHECK(report.bytes == 0);
}

TEST_CASE("messages prune: many messages go in chunks, each committed") {
  Database db(":memory:", OpenOptions{});
  migrate(db);
  ResultStore store(db);
  for (int i = 0; i < 1203; ++i) add_message(store, "2016-01-01T00:00:00Z", "ignored", "MSH|x");
  const auto last_kept = add_message(store, "2016-01-01T00:00:00Z", "accepted", "MSH|y");
  PruneRequest request{.before = "2016-01-02", .outcomes = {"ignored"}, .now = "t", .chunk = 500};
  const auto report = prune_message_bytes(db, request);
  CHECK(report.messages == 1203);
  CHECK(report.bytes == 1203 * 5);
  auto left = db.prepare("SELECT count(*) FROM messages WHERE raw IS NOT NULL");
  REQUIRE(left.step());
  CHECK(left.int64(0) == 1);
  CHECK(bytes_of(db, last_kept).kept);
  CHECK_FALSE(db.in_transaction());
}
