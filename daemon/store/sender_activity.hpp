#pragma once
// Who sent messages lately and what became of them (`markerwatch senders`): the feed that went
// silent, the one whose messages are refused. Read from the message log, in the window only: the
// log keeps every message with its bytes, so it is found by arrival order (ids), not scanned.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "store/database.hpp"

namespace markerwatch::store {

struct SenderActivity {
  std::string transport;  // mllp, http, file
  std::string sender;     // MSH-3|MSH-4, fhir:<token>, api:<token>, fhir-upstream, a file name
  std::string first_received_at, last_received_at;  // within the window
  std::int64_t messages = 0, accepted = 0, partial = 0, ignored = 0, rejected = 0, duplicate = 0;
  std::int64_t results_stored = 0;
  std::string last_error;  // of its latest message with one in the window, "" when none
};

// Senders of the messages received at or after `since` (UTC, "YYYY-MM-DD" or an ISO 8601 time
// with Z), latest first. Messages are located by id, which follows their arrival; a message stored
// far out of arrival order (an import that ran beside the daemon, a clock set back) near the
// window's start may be missed.
std::vector<SenderActivity> sender_activity(Database& db, const std::string& since);

// The Unix times of the latest messages of markerwatchd's transports (`mllp`, `fhir`: FHIR pushes
// and upstream searches, `api`), among the log's last `recent` messages: what the daemon's
// last-message gauges start from, so a feed that went silent before a restart still shows.
// Imports are not a transport of the daemon. A bounded read, whatever the log's size.
struct LatestMessages {
  struct OfSender {
    std::string transport, sender;
    std::int64_t at = 0;
  };
  std::map<std::string, std::int64_t> by_transport;
  std::vector<OfSender> by_sender;  // latest first
};
LatestMessages latest_messages(Database& db, std::int64_t recent = 10000);

}  // namespace markerwatch::store
