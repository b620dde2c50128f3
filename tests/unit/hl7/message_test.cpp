#include <catch2/catch.hpp>

#include "hl7/hl7_builders.hpp"
#include "hl7/message.hpp"

using namespace markerwatch;
using hl7::Message;
using hl7::ParseError;

TEST_CASE("segments, fields, repetitions, components and subcomponents") {
  auto m = Message::parse(
      "MSH|^~\\&|LAB|HOSP|||20100101||ORU^R01|1|P|2.5.1\rPID|1||A1^^^MPI&1.2.3&ISO^MR~B2^^^SSA^"
      "SS\r");
  REQUIRE(m.segments().size() == 2);
  CHECK(m.msh().field(1) == "|");
  CHECK(m.msh().field(2) == "^~\\&");
  CHECK(m.msh().field(3) == "LAB");
  CHECK(m.msh().field(10) == "1");
  const auto* pid = m.first("PID");
  REQUIRE(pid);
  CHECK(m.value(pid->field(3), 0, 1) == "A1");
  CHECK(m.value(pid->field(3), 0, 4, 2) == "1.2.3");
  CHECK(m.value(pid->field(3), 1, 1) == "B2");
  CHECK(m.value(pid->field(3), 1, 5) == "SS");
  CHECK(m.value(pid->field(3), 2, 1).empty());
  CHECK(m.value(pid->field(3), 0, 4, 3) == "ISO");
  CHECK(m.value(pid->field(3), 0, 4, 4).empty());
  CHECK(m.value(pid->field(3), 0, 6).empty());
  // HL7 numbers components and subcomponents from 1: a 0 names nothing.
  CHECK(m.value(pid->field(3), 0, 0).empty());
  CHECK(m.value(pid->field(3), 0, 4, 0).empty());
  CHECK(pid->field(99).empty());
}

TEST_CASE("without a subcomponent separator a component is one piece") {
  auto m = Message::parse("MSH|^~\\|A\rPID|1||A&B^C\r");
  CHECK(m.delimiters().subcomponent == '\0');
  CHECK(m.value(m.first("PID")->field(3), 0, 1) == "A&B");
  CHECK(m.value(m.first("PID")->field(3), 0, 1, 2).empty());
  CHECK(m.value(m.first("PID")->field(3), 0, 2) == "C");
}

TEST_CASE("line endings, BOM, blank lines and an unterminated last segment") {
  for (const char* eol : {"\r", "\n", "\r\n"}) {
    std::string text = "\xEF\xBB\xBFMSH|^~\\&|A|B|||20100101||ORU^R01|1|P|2.5.1";
    text += eol;
    text += eol;
    text += "PID|1||X";
    text += eol;
    text += "OBX|1|NM|1834-1^AFP^LN||5|ng/mL   ";  // trailing spaces, no terminator
    auto m = Message::parse(text);
    INFO("eol " << int(eol[0]));
    REQUIRE(m.segments().size() == 3);
    CHECK(m.segments()[2].field(6) == "ng/mL");
  }
}

TEST_CASE("escape sequences are decoded after splitting; unknown ones pass through") {
  auto m = Message::parse("MSH|^~\\&|A\r");
  CHECK(m.unescape("a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f") == "a|b^c&d~e\\f");
  CHECK(m.unescape("line\\.br\\next") == "line\nnext");
  CHECK(m.unescape("\\H\\bold\\N\\") == "bold");
  CHECK(m.unescape("\\X41C3A9\\") == "A\xC3\xA9");
  CHECK(m.unescape("(1.6-12.0) \\ (8.0-22.0)Peak \\ x") == "(1.6-12.0) \\ (8.0-22.0)Peak \\ x");
  CHECK(m.unescape("trailing \\") == "trailing \\");
  CHECK(m.unescape("37 \\S\\o C") == "37 ^o C");
}

TEST_CASE("a 3-character MSH-2 without escape character") {
  auto m = Message::parse("MSH|^~&|Lab1^1234^CLIA|x\rPID|1||A^^^AUTH&1.2&ISO\r");
  CHECK(m.delimiters().escape == '\0');
  CHECK(m.delimiters().subcomponent == '&');
  CHECK(m.value(m.first("PID")->field(3), 0, 4, 2) == "1.2");
  CHECK(m.unescape("a\\F\\b") == "a\\F\\b");
}

TEST_CASE("other delimiters are read from MSH-1 and MSH-2") {
  auto m = Message::parse("MSH#*+$!#A*B#\rPID#1##X*Y!Z+W\r");
  CHECK(m.delimiters().field == '#');
  CHECK(m.value(m.first("PID")->field(3), 0, 2, 2) == "Z");
  CHECK(m.value(m.first("PID")->field(3), 1, 1) == "W");
}

TEST_CASE("Latin-1 declared in MSH-18 is transcoded; undeclared invalid UTF-8 is refused") {
  std::string latin = "MSH|^~\\&|A|B|||20100101||ORU^R01|1|P|2.4||||||8859/1\rNTE|1||M\xFCller\r";
  auto m = Message::parse(latin);
  CHECK(m.transcoded_from_latin1());
  CHECK(m.value(m.first("NTE")->field(3)) == "M\xC3\xBCller");
  std::string undeclared = "MSH|^~\\&|A|B|||20100101||ORU^R01|1|P|2.4\rNTE|1||M\xFCller\r";
  CHECK_THROWS_WITH(Message::parse(undeclared), Catch::Contains("not valid UTF-8"));
}

TEST_CASE("bad input gets a clear parse error") {
  struct Case {
    std::string bytes;
    const char* reason;
  };
  const std::vector<Case> cases = {
      {"", "empty message"},
      {"\r\n\r\n", "empty message"},
      {"PID|1||X\r", "does not start with an MSH segment"},
      {"MSH", "does not start with an MSH segment"},
      {"BHS|^~\\&|LAB\rMSH|^~\\&|LAB|HOSP|||2016||ORU^R01|1|P|2.5\rBTS|1\r",
       "an HL7 batch (FHS/BHS) where one message was expected"},
      {"MSH|^~\\&", "truncated before MSH-2"},
      {"MSH|^~\rPID|1\r", "truncated before MSH-2"},
      {"MSH|^|A\r", "3 to 5 encoding characters"},
      {"MSHA^~\\&|A\r", "invalid field separator"},
      {"MSH|^~\\&|A\rMSH|^~\\&|B\r", "a second MSH segment"},
      {std::string("MSH|^~\\&|A\rPID|1||\0X\r", 21), "NUL"},
      {"MSH|^~\\&|A\rNTE|1||\xC3\x28\r", "not valid UTF-8"},
      {std::string("\x01\x02\x03\xff\xfe binary junk"), "does not start with an MSH"},
  };
  for (const auto& c : cases) {
    INFO("case: " << c.reason);
    CHECK_THROWS_WITH(Message::parse(c.bytes), Catch::Contains(c.reason));
  }
}

TEST_CASE("size limits bound the parser") {
  hl7::Limits limits;
  limits.max_bytes = 1000;
  auto big = test::oru({test::afp_obx(std::string(2000, '9'))});
  CHECK_THROWS_WITH(Message::parse(big, limits), Catch::Contains("exceeds the limit of 1000"));
  hl7::Limits few;
  few.max_segments = 3;
  CHECK_THROWS_WITH(Message::parse(test::oru({test::afp_obx("5"), test::afp_obx("6")}), few),
                    Catch::Contains("more than 3 segments"));
  hl7::Limits narrow;
  narrow.max_fields_per_segment = 10;
  CHECK_THROWS_WITH(Message::parse("MSH|^~\\&|A\rOBX" + std::string(50, '|') + "\r", narrow),
                    Catch::Contains("more than 10 fields"));
}

TEST_CASE("escape() makes text safe in a field") {
  CHECK(hl7::escape("a|b^c&d~e\\f\rg") == "a\\F\\b\\S\\c\\T\\d\\R\\e\\E\\f\\.br\\g");
}
