// `markerwatch senders`: each sender's messages in a recent window and what became of them.
#include <iostream>

#include "cli/commands.hpp"
#include "cli/output.hpp"
#include "core/clock.hpp"
#include "store/sender_activity.hpp"

namespace markerwatch::cli {

int cmd_senders(const Common& c, const std::string& since, const std::string& format_name) {
  const auto format = parse_format(format_name);
  const auto start = since_time(since, unix_seconds(SystemClock()));
  auto s = load_settings(c);
  auto db = open_database(s, true);
  const auto rows = store::sender_activity(*db, start);
  if (format == Format::json) {
    auto out = nlohmann::ordered_json::array();
    for (const auto& a : rows)
      out.push_back({{"transport", a.transport},
                     {"sender", a.sender},
                     {"first_received_at", a.first_received_at},
                     {"last_received_at", a.last_received_at},
                     {"messages", a.messages},
                     {"accepted", a.accepted},
                     {"partial", a.partial},
                     {"ignored", a.ignored},
                     {"rejected", a.rejected},
                     {"duplicate", a.duplicate},
                     {"results_stored", a.results_stored},
                     {"last_error", a.last_error}});
    std::cout << out.dump() << "\n";
    return 0;
  }
  std::vector<std::vector<std::string>> table;
  for (const auto& a : rows)
    table.push_back({a.transport, a.sender, a.last_received_at, std::to_string(a.messages),
                     std::to_string(a.accepted), std::to_string(a.partial),
                     std::to_string(a.ignored), std::to_string(a.rejected),
                     std::to_string(a.duplicate), std::to_string(a.results_stored), a.last_error});
  if (format == Format::table) std::cout << "messages received since " << start << "\n";
  std::cout << render(format,
                      {"transport", "sender", "last_received", "messages", "accepted", "partial",
                       "ignored", "rejected", "duplicate", "results", "last_error"},
                      table, {false, false, false, true, true, true, true, true, true, true});
  return 0;
}

}  // namespace markerwatch::cli
