#include "notify/policy.hpp"

#include <curl/curl.h>

#include <algorithm>
#include <charconv>
#include <limits>

#include "core/text.hpp"

namespace markerwatch::notify {

bool wants(const settings::WebhookSettings& r, const RoutedEvent& e) {
  auto listed = [&](const std::string& name) {
    return std::find(r.events.begin(), r.events.end(), name) != r.events.end();
  };
  bool type_ok = false;
  if (e.type == "update")
    type_ok = listed("update") || (e.severity_raised && listed("update_severity"));
  else
    type_ok = listed(e.type);
  if (!type_ok) return false;
  if (!r.markers.empty() &&
      std::find(r.markers.begin(), r.markers.end(), e.marker) == r.markers.end())
    return false;
  if (r.min_severity == "high" && e.type != "suppressed" && e.severity != "high") return false;
  return true;
}

std::optional<std::string> too_old(const settings::NotifySettings& notify, const RoutedEvent& e,
                                   int today) {
  if (notify.max_age_days == 0 || today - e.fire_day <= notify.max_age_days) return std::nullopt;
  return "not notified: fire date is " + std::to_string(today - e.fire_day) +
         " days old, more than [notify] max_age_days = " + std::to_string(notify.max_age_days) +
         " (a backfill)";
}

AttemptVerdict classify(int status) {
  if (status >= 200 && status < 300) return AttemptVerdict::delivered;
  if (status == 410) return AttemptVerdict::disable_receiver;
  if (status == 0 || status == 408 || status == 425 || status == 429 || status >= 500)
    return AttemptVerdict::retry;
  return AttemptVerdict::dead;
}

std::optional<std::int64_t> next_attempt(const std::vector<int>& schedule, int attempts_made,
                                         std::int64_t now, std::optional<int> retry_after_s) {
  if (attempts_made < 0 || static_cast<std::size_t>(attempts_made) >= schedule.size())
    return std::nullopt;
  constexpr int kMaxRetryAfter = 86400;
  int delay = schedule[static_cast<std::size_t>(attempts_made)];
  if (retry_after_s) delay = std::max(delay, std::min(*retry_after_s, kMaxRetryAfter));
  return now + delay;
}

std::optional<int> parse_retry_after(std::string_view value, std::int64_t now) {
  value = text::trim(value);
  if (value.empty()) return std::nullopt;
  constexpr auto kLongest = std::numeric_limits<int>::max();
  if (value.front() >= '0' && value.front() <= '9') {
    std::int64_t seconds = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
    if (end != value.data() + value.size()) return std::nullopt;  // "30s", "1.5"
    if (ec == std::errc::result_out_of_range) return kLongest;    // capped by next_attempt
    return static_cast<int>(std::min<std::int64_t>(seconds, kLongest));
  }
  // An HTTP date starts with the day's name; libcurl parses all three of its formats.
  if (const char c = text::ascii_lower(value.front()); c < 'a' || c > 'z') return std::nullopt;
  const auto at = curl_getdate(std::string(value).c_str(), nullptr);
  if (at == -1) return std::nullopt;
  return static_cast<int>(
      std::clamp<std::int64_t>(static_cast<std::int64_t>(at) - now, 0, kLongest));
}

}  // namespace markerwatch::notify
