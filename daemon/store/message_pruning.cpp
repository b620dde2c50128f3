#include "store/message_pruning.hpp"

#include <optional>

namespace markerwatch::store {

PruneReport prune_message_bytes(Database& db, const PruneRequest& request) {
  std::string outcomes = ",";
  for (const auto& o : request.outcomes) outcomes += o + ",";
  // In id order from where the last chunk ended: each row is read once, without an index on
  // received_at (ids follow the arrival order, but a changed clock may leave exceptions).
  auto select = db.prepare(
      "SELECT id, length(raw) FROM messages WHERE id > ?1 AND received_at < ?2 AND raw IS NOT "
      "NULL AND instr(?3, ',' || outcome || ',') > 0 ORDER BY id LIMIT ?4");
  auto prune = db.prepare("UPDATE messages SET raw = NULL, raw_pruned_at = ?2 WHERE id = ?1");
  PruneReport report;
  std::int64_t after = 0;
  for (;;) {
    std::vector<std::int64_t> ids;
    std::optional<Transaction> transaction;
    if (!request.dry_run) transaction.emplace(db);
    select.bind(1, after).bind(2, request.before).bind(3, outcomes).bind(4, request.chunk);
    while (select.step()) {
      ids.push_back(select.int64(0));
      report.bytes += select.int64(1);
    }
    select.reset();
    if (ids.empty()) break;
    if (!request.dry_run) {
      for (const auto id : ids) prune.bind(1, id).bind(2, request.now).run();
      transaction->commit();
    }
    report.messages += static_cast<std::int64_t>(ids.size());
    after = ids.back();
  }
  return report;
}

}  // namespace markerwatch::store
