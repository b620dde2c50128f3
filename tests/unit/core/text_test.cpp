#include <catch2/catch.hpp>

#include "core/text.hpp"

using namespace markerwatch;

TEST_CASE("UTF-8 validation rejects overlongs, surrogates and truncation") {
  CHECK(text::is_valid_utf8("plain"));
  CHECK(text::is_valid_utf8("M\xC3\xBCller \xE2\x82\xAC \xF0\x9F\x98\x80"));
  CHECK_FALSE(text::is_valid_utf8("\xC0\xAF"));      // overlong '/'
  CHECK_FALSE(text::is_valid_utf8("\xED\xA0\x80"));  // surrogate
  CHECK_FALSE(text::is_valid_utf8("\xE2\x82"));      // truncated
  CHECK_FALSE(text::is_valid_utf8("\xFF"));
  CHECK_FALSE(text::is_valid_utf8("\xF4\x90\x80\x80"));  // beyond U+10FFFF
  const std::string_view mixed = "a\xC3\xBC\xFF\xE2\x82";
  CHECK(text::utf8_sequence_at(mixed, 0) == 1);
  CHECK(text::utf8_sequence_at(mixed, 1) == 2);
  CHECK(text::utf8_sequence_at(mixed, 3) == 0);  // not a lead byte
  CHECK(text::utf8_sequence_at(mixed, 4) == 0);  // truncated at the end
}

TEST_CASE("log helpers: printable text and no quoted values") {
  CHECK(text::printable("a\rb\x01"
                        "c") == "a?b?c");
  CHECK(text::printable(std::string(200, 'x'), 10) == "xxxxxxxxxx...");
  CHECK(text::without_quoted_values("unit 'furlongs' cannot be converted for 'AFP'") ==
        "unit '...' cannot be converted for '...'");
  CHECK(text::without_quoted_values("open 'quote") == "open '...");
  CHECK(text::without_quoted_values("no quotes") == "no quotes");
}

TEST_CASE("hex: bytes to lowercase digits, and digits of either case back") {
  CHECK(text::to_hex(std::string("\x00\x0f\xa5\xff", 4)) == "000fa5ff");
  CHECK(text::to_hex("") == "");
  CHECK(text::hex_value('0') == 0);
  CHECK(text::hex_value('9') == 9);
  CHECK(text::hex_value('a') == 10);
  CHECK(text::hex_value('F') == 15);
  for (char c : {'g', 'G', ' ', '%', '\0', '\xff'}) CHECK(text::hex_value(c) == -1);
}

TEST_CASE("nth_part finds what split would, without splitting") {
  const std::vector<std::string> inputs = {"", "a", "a^b", "^", "^^", "a^^b^", "^a", "ab^cd^ef"};
  for (const auto& input : inputs) {
    const auto parts = text::split(input, '^');
    for (std::size_t i = 0; i < parts.size() + 2; ++i) {
      INFO("input '" << input << "' part " << i);
      const auto found = text::nth_part(input, '^', i);
      if (i < parts.size()) {
        REQUIRE(found);
        CHECK(*found == parts[i]);
        CHECK(found->data() == parts[i].data());  // a view into the input, not a copy
      } else {
        CHECK_FALSE(found);
      }
    }
  }
}

TEST_CASE("trim and case folding are ASCII, whatever the locale") {
  CHECK(text::trim(" \t\r\n\v\fAFP \f\v") == "AFP");
  CHECK(text::trim("   ").empty());
  CHECK(text::trim("").empty());
  // A no-break space (UTF-8 C2 A0, or 0xA0 alone) and other bytes above 0x7F are text.
  CHECK(text::trim("\xC2\xA0"
                   "5.0\xA0") ==
        "\xC2\xA0"
        "5.0\xA0");
  CHECK(text::trim("\x01x\x7F") == "\x01x\x7F");
  CHECK(text::to_lower("NG/ML \xC3\x84Z") == "ng/ml \xC3\x84z");
  CHECK(text::iequals("ng/mL", "NG/ML"));
  CHECK_FALSE(text::iequals("\xC3\x84", "\xC3\xA4"));  // no folding beyond ASCII
  CHECK_FALSE(text::iequals("ng/mL", "ng/mL "));
  for (int c = 0; c < 256; ++c) {
    CHECK(text::is_space(static_cast<char>(c)) == (c == ' ' || (c >= 9 && c <= 13)));
    CHECK(text::ascii_lower(static_cast<char>(c)) ==
          static_cast<char>(c >= 'A' && c <= 'Z' ? c + 32 : c));
  }
}

TEST_CASE("Joining parts puts the separator only between them") {
  CHECK(text::join({}, ", ").empty());
  CHECK(text::join({"AFP"}, ";") == "AFP");
  CHECK(text::join({"AFP", "", "PIVKA-II"}, ";") == "AFP;;PIVKA-II");
  CHECK(text::join({"a", "b"}, "") == "ab");
}
