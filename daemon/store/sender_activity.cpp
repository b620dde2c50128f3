#include "store/sender_activity.hpp"

#include <algorithm>

namespace markerwatch::store {
namespace {

// How far before the first message of the window (by id) the scan starts: messages committed
// out of arrival order (one group commit, an import beside the daemon) are read too.
constexpr std::int64_t kOutOfOrderMargin = 10000;

// The lowest id from which every message is received at or after `since`, were ids in arrival
// order: a binary search over ids, one indexed read per step.
std::int64_t first_id_since(Database& db, const std::string& since) {
  auto last = db.prepare("SELECT coalesce(max(id), 0) FROM messages");
  last.step();
  std::int64_t lo = 1, hi = last.int64(0) + 1;
  auto at_or_after =
      db.prepare("SELECT id, received_at FROM messages WHERE id >= ?1 ORDER BY id LIMIT 1");
  while (lo < hi) {
    const auto mid = lo + (hi - lo) / 2;
    at_or_after.bind(1, mid);
    const bool found = at_or_after.step();
    const auto id = found ? at_or_after.int64(0) : hi;
    const bool earlier = id < hi && at_or_after.text_view(1) < since;
    at_or_after.reset();
    if (earlier)
      lo = id + 1;  // every message up to it came before the window
    else
      hi = mid;
  }
  return lo;
}

}  // namespace

std::vector<SenderActivity> sender_activity(Database& db, const std::string& since) {
  const auto from = std::max<std::int64_t>(1, first_id_since(db, since) - kOutOfOrderMargin);
  auto select = db.prepare(
      "SELECT transport, sender, min(received_at), max(received_at), count(*), "
      "sum(outcome = 'accepted'), sum(outcome = 'partial'), sum(outcome = 'ignored'), "
      "sum(outcome = 'rejected'), sum(outcome = 'duplicate'), sum(results_stored) "
      "FROM messages WHERE id >= ?1 AND received_at >= ?2 GROUP BY transport, sender "
      "ORDER BY max(received_at) DESC, transport, sender");
  auto last_error = db.prepare(
      "SELECT error FROM messages WHERE id >= ?1 AND received_at >= ?2 AND transport = ?3 AND "
      "sender = ?4 AND error <> '' ORDER BY id DESC LIMIT 1");
  std::vector<SenderActivity> out;
  select.bind(1, from).bind(2, since);
  while (select.step()) {
    SenderActivity a;
    a.transport = select.text(0);
    a.sender = select.text(1);
    a.first_received_at = select.text(2);
    a.last_received_at = select.text(3);
    a.messages = select.int64(4);
    a.accepted = select.int64(5);
    a.partial = select.int64(6);
    a.ignored = select.int64(7);
    a.rejected = select.int64(8);
    a.duplicate = select.int64(9);
    a.results_stored = select.int64(10);
    out.push_back(std::move(a));
  }
  select.reset();
  for (auto& a : out) {
    last_error.bind(1, from).bind(2, since).bind(3, a.transport).bind(4, a.sender);
    if (last_error.step()) a.last_error = last_error.text(0);
    last_error.reset();
  }
  return out;
}

LatestMessages latest_messages(Database& db, std::int64_t recent) {
  // The senders the daemon writes for HTTP: fhir:<token>, fhir-upstream, api:<token>.
  auto select = db.prepare(
      "SELECT CASE WHEN transport = 'mllp' THEN 'mllp' WHEN sender LIKE 'api:%' THEN 'api' "
      "ELSE 'fhir' END AS metric_transport, sender, "
      "max(CAST(strftime('%s', received_at) AS INTEGER)) AS latest "
      "FROM messages WHERE id > (SELECT coalesce(max(id), 0) FROM messages) - ?1 AND "
      "(transport = 'mllp' OR (transport = 'http' AND "
      "(sender LIKE 'api:%' OR sender LIKE 'fhir:%' OR sender = 'fhir-upstream'))) "
      "GROUP BY metric_transport, sender ORDER BY latest DESC, metric_transport, sender");
  select.bind(1, recent);
  LatestMessages latest;
  while (select.step()) {
    if (select.is_null(2)) continue;
    const auto at = select.int64(2);
    auto& of_transport = latest.by_transport[select.text(0)];
    of_transport = std::max(of_transport, at);
    latest.by_sender.push_back({select.text(0), select.text(1), at});
  }
  return latest;
}

}  // namespace markerwatch::store
