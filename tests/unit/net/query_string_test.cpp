#include <catch2/catch.hpp>

#include <map>
#include <string>

#include "core/errors.hpp"
#include "net/query_string.hpp"

using markerwatch::InputError;
using markerwatch::net::parse_query;
using markerwatch::net::percent_decode;
using Query = std::map<std::string, std::string>;

TEST_CASE("a query is read as decoded names and values") {
  CHECK(parse_query("/api/v1/alerts") == Query{});
  CHECK(parse_query("/api/v1/alerts?") == Query{});
  CHECK(parse_query("/api/v1/alerts?state=all&limit=2") == Query{{"state", "all"}, {"limit", "2"}});
  CHECK(parse_query("/x?patient=case-001%5EHOSP&note=two+words%2Bplus") ==
        Query{{"patient", "case-001^HOSP"}, {"note", "two words+plus"}});
  CHECK(parse_query("/x?name=M%C3%BCller") == Query{{"name", "M\xC3\xBCller"}});
  // Empty parts are skipped; a name alone has an empty value; only the first '=' splits.
  CHECK(parse_query("/x?&&a&b=&=c&d=e=f") == Query{{"a", ""}, {"b", ""}, {"", "c"}, {"d", "e=f"}});
  // Only the first '?' starts the query.
  CHECK(parse_query("/x?a=1?2") == Query{{"a", "1?2"}});
}

TEST_CASE("a bad query is refused with its reason") {
  CHECK_THROWS_WITH(parse_query("/x?a=1&a=2"), "a is given more than once");
  CHECK_THROWS_WITH(parse_query("/x?a=1&%61=2"), "a is given more than once");
  CHECK_THROWS_WITH(parse_query("/x?patient=%zz"), "a percent escape is not hexadecimal");
  CHECK_THROWS_WITH(parse_query("/x?patient=%4"), "a percent escape is cut short");
  CHECK_THROWS_WITH(parse_query("/x?patient=%"), "a percent escape is cut short");
  CHECK_THROWS_WITH(parse_query("/x?patient=caf%E9"), "a parameter is not valid UTF-8");
  CHECK_THROWS_WITH(parse_query("/x?%C3=1"), "a parameter is not valid UTF-8");
  CHECK_THROWS_AS(parse_query("/x?a=%00%ZZ"), InputError);
}

TEST_CASE("a path segment is decoded without taking '+' for a space") {
  CHECK(percent_decode("case-001%5EHOSP") == "case-001^HOSP");
  CHECK(percent_decode("a+b") == "a+b");
  CHECK(percent_decode("a+b", true) == "a b");
  CHECK(percent_decode("%41%62%2f") == "Ab/");
  CHECK(percent_decode("") == "");
  CHECK_THROWS_WITH(percent_decode("%2"), "a percent escape is cut short");
  CHECK_THROWS_WITH(percent_decode("%g0"), "a percent escape is not hexadecimal");
  CHECK_THROWS_WITH(percent_decode("\xFF"), "a parameter is not valid UTF-8");
  CHECK_THROWS_WITH(percent_decode("%ED%A0%80"), "a parameter is not valid UTF-8");
}
