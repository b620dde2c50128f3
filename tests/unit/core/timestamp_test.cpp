#include <catch2/catch.hpp>

#include <chrono>
#include <cstdio>
#include <string_view>

#include "core/calendar.hpp"
#include "core/timestamp.hpp"

using namespace markerwatch;

TEST_CASE("HL7 timestamps keep precision and offset") {
  auto t = parse_hl7_timestamp("20080818183002.1-0700");
  REQUIRE(t);
  CHECK(t->year == 2008);
  CHECK(t->second == 2);
  CHECK(t->precision == TimePrecision::fraction);
  CHECK(t->nanos == 100000000);
  CHECK(t->offset_minutes == -420);
  auto r = resolve(*t, FixedOffsetZone(0));
  REQUIRE(r);
  CHECK(r->utc == "2008-08-19T01:30:02.100Z");
  CHECK(r->local_date == "2008-08-18");  // the clinical date as the sender wrote it
  CHECK_FALSE(r->offset_assumed);

  auto d = parse_hl7_timestamp("20130710");
  REQUIRE(d);
  CHECK(d->precision == TimePrecision::day);
  auto minute = parse_hl7_timestamp("200202150930");
  REQUIRE(minute);
  CHECK(minute->precision == TimePrecision::minute);
  CHECK_FALSE(minute->offset_minutes);
}

TEST_CASE("timestamps without an offset take the configured zone") {
  auto t = parse_hl7_timestamp("201011041640");
  REQUIRE(t);
  auto r = resolve(*t, FixedOffsetZone(60, "+01:00"));
  REQUIRE(r);
  CHECK(r->utc == "2010-11-04T15:40:00Z");
  CHECK(r->local_date == "2010-11-04");
  CHECK(r->offset_assumed);
}

TEST_CASE("impossible or malformed timestamps are rejected") {
  for (const char* bad :
       {"", "196203520", "2008081830-0700", "20100230", "Aug 15, 1942", "20101301", "2010-01-01",
        "20100101120000.", "20100101+2500", "201001011261", "2010010112000000000", "x2010"}) {
    INFO(bad);
    CHECK_FALSE(parse_hl7_timestamp(bad));
  }
}

TEST_CASE("a collection time needs day precision") {
  auto year = parse_hl7_timestamp("2013");
  REQUIRE(year);
  CHECK_FALSE(resolve(*year, FixedOffsetZone(0)));
}

TEST_CASE("ISO 8601 dates and date-times") {
  auto d = parse_iso_timestamp("2013-07-10");
  REQUIRE(d);
  CHECK(d->precision == TimePrecision::day);
  auto z = parse_iso_timestamp("2013-07-10T23:30:00Z");
  REQUIRE(z);
  CHECK(z->offset_minutes == 0);
  auto o = parse_iso_timestamp("2013-07-10T01:30+02:00");
  REQUIRE(o);
  CHECK(resolve(*o, FixedOffsetZone(0))->utc == "2013-07-09T23:30:00Z");
  for (const char* bad : {"2013/07/10", "2013-7-10", "2013-02-30", "2013-07-10T25:00",
                          "2013-07-10 garbage", "10.07.2013", "2013-07-10T10:00+2"}) {
    INFO(bad);
    CHECK_FALSE(parse_iso_timestamp(bad));
  }
}

TEST_CASE("format_utc writes ISO 8601 UTC instants, before 1970 too") {
  CHECK(format_utc(0) == "1970-01-01T00:00:00Z");
  CHECK(format_utc(-1) == "1969-12-31T23:59:59Z");
  CHECK(format_utc(1380672000 + 13 * 3600 + 5 * 60 + 9) == "2013-10-02T13:05:09Z");
  CHECK(format_utc(253402300799) == "9999-12-31T23:59:59Z");
  CHECK(format_day(0) == "1970-01-01");
  CHECK(format_day(-719528) == "0000-01-01");
}

TEST_CASE("format_day and write_day agree with std::chrono on every day of the years 0-9999") {
  using namespace std::chrono;
  const int first = static_cast<int>(sys_days{year{0} / January / 1}.time_since_epoch().count());
  const int last =
      static_cast<int>(sys_days{year{9999} / December / 31}.time_since_epoch().count());
  char written[10];
  std::size_t wrong = 0;
  for (int day = first; day <= last; ++day) {
    const year_month_day ymd{sys_days{days{day}}};
    char expected[24];
    std::snprintf(expected, sizeof expected, "%04d-%02u-%02u", static_cast<int>(ymd.year()),
                  static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()));
    if (!write_day(day, written) || std::string_view(written, 10) != expected) ++wrong;
  }
  CHECK(wrong == 0);
  CHECK_FALSE(write_day(first - 1, written));
  CHECK_FALSE(write_day(last + 1, written));
  CHECK(format_day(first) == "0000-01-01");
  CHECK(format_day(first + 59) == "0000-02-29");
  CHECK(format_day(first + 60) == "0000-03-01");
  CHECK(format_day(last) == "9999-12-31");
  CHECK(format_day(last + 1) == "10000-01-01");
  CHECK(format_day(first - 1) == "-001-12-31");
  CHECK(format_day(day_number("2016-02-29").value()) == "2016-02-29");
  CHECK(format_day(day_number("2100-03-01").value() - 1) == "2100-02-28");
}

TEST_CASE("format_utc outside the years 0-9999 still names the instant") {
  CHECK(format_utc(253402300800) == "10000-01-01T00:00:00Z");
  CHECK(format_utc(-62167219200) == "0000-01-01T00:00:00Z");
  CHECK(format_utc(-62167219201) == "-001-12-31T23:59:59Z");
}
