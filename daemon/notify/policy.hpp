#pragma once
// Delivery decisions (INTEROP.md §4.1, §4.5), pure: which receivers an alert event goes to, how an
// attempt's outcome is classified, and when the next attempt is due.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "settings/settings.hpp"

namespace markerwatch::notify {

// What a receiver is told about: the alert-log event, reduced to what routing needs.
struct RoutedEvent {
  std::string type;  // new, update, resolve, retract, suppressed, info
  std::string marker;
  std::string severity;  // of the alert ("" for notes)
  bool severity_raised = false;
  int fire_day = 0;  // day number of the alert's (or suppressed firing's) fire date
};

bool wants(const settings::WebhookSettings& receiver, const RoutedEvent& event);

// [notify] max_age_days: a backfilled event (fire date older than that on `today`) is logged but
// not notified. Returns the reason when it must not be sent.
std::optional<std::string> too_old(const settings::NotifySettings& notify, const RoutedEvent& e,
                                   int today);

enum class AttemptVerdict { delivered, retry, dead, disable_receiver };
// 2xx delivered; 408, 425, 429, 5xx and transport errors (status 0) retry; 410 disables the
// receiver; any other status is dead at once (3xx are not followed: a failure).
AttemptVerdict classify(int http_status);

// After `attempts_made` failed attempts: the unix time of the next one (the schedule's delay, or a
// longer Retry-After, capped at one day), or nullopt when the schedule is exhausted.
std::optional<std::int64_t> next_attempt(const std::vector<int>& schedule, int attempts_made,
                                         std::int64_t now, std::optional<int> retry_after_s);

// A "Retry-After" value (RFC 9110 section 10.2.3) as seconds from `now` (unix time):
// delay-seconds, or an HTTP date in any of the three formats HTTP allows (a date already past:
// 0). Nullopt for anything else.
std::optional<int> parse_retry_after(std::string_view value, std::int64_t now);

}  // namespace markerwatch::notify
