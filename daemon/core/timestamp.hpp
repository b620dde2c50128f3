#pragma once
// Timestamps as labs write them (HL7 TS/DTM, ISO 8601), kept with their precision and offset,
// and resolved to a UTC instant plus the clinical (local) collection date. Pure: the zone rules
// for timestamps without an offset are injected.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace markerwatch {

enum class TimePrecision { year, month, day, hour, minute, second, fraction };
std::string_view to_string(TimePrecision p);

struct LocalTimestamp {
  int year = 0, month = 1, day = 1, hour = 0, minute = 0, second = 0;
  std::int64_t nanos = 0;
  TimePrecision precision = TimePrecision::year;
  std::optional<int> offset_minutes;  // as written; nullopt when the sender gave none
};

// HL7 TS/DTM: YYYY[MM[DD[HH[MM[SS[.S[S[S[S]]]]]]]]][+/-ZZZZ]; a 2nd component (legacy degree of
// precision) must already be stripped. Rejects impossible dates ("196203520", hour 30).
std::optional<LocalTimestamp> parse_hl7_timestamp(std::string_view s);
// ISO 8601 as used in CSV files and FHIR: YYYY-MM-DD[(T| )hh:mm[:ss[.fff]]][Z|(+|-)hh:mm].
std::optional<LocalTimestamp> parse_iso_timestamp(std::string_view s);

// Offset rules of the zone assumed for timestamps without an offset (`[ingest]
// default_timezone`).
class ZoneRules {
 public:
  virtual ~ZoneRules() = default;
  // Offset from UTC in minutes that applies at this local wall-clock time.
  virtual int offset_minutes_at_local(const LocalTimestamp& local) const = 0;
  virtual std::string name() const = 0;
};

class FixedOffsetZone final : public ZoneRules {
 public:
  explicit FixedOffsetZone(int minutes, std::string name = "UTC")
      : minutes_(minutes), name_(std::move(name)) {}
  int offset_minutes_at_local(const LocalTimestamp&) const override { return minutes_; }
  std::string name() const override { return name_; }

 private:
  int minutes_;
  std::string name_;
};

struct ResolvedTime {
  std::string utc;         // "YYYY-MM-DDThh:mm:ss[.fff]Z"
  std::string local_date;  // "YYYY-MM-DD": the clinical collection date as the sender wrote it
  bool offset_assumed = false;
};

// Needs at least day precision: a collection time of "2013" or "2013-07" cannot place a value
// in a series.
std::optional<ResolvedTime> resolve(const LocalTimestamp& t, const ZoneRules& default_zone);

std::string format_utc(std::int64_t unix_seconds);

}  // namespace markerwatch
