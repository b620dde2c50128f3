#include <catch2/catch.hpp>

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
