#include "hl7/file_split.hpp"

#include <catch2/catch.hpp>
#include <string>
#include <vector>

using markerwatch::hl7::split_file;

namespace {

const std::string kFirst =
    "MSH|^~\\&|LAB|HOSP|MW|HOSP|20160301083000||ORU^R01|B-1|P|2.5.1\r"
    "PID|1||MRN1^^^HOSP^MR\r"
    "OBX|1|NM|1834-1^AFP^LN||45985|ng/mL|||||F\r";
const std::string kSecond =
    "MSH|^~\\&|LAB|HOSP|MW|HOSP|20160315083000||ORU^R01|B-2|P|2.5.1\r"
    "PID|1||MRN1^^^HOSP^MR\r"
    "OBX|1|NM|1834-1^AFP^LN||50000|ng/mL|||||F\r";
const std::string kFileHeader = "FHS|^~\\&|LAB|HOSP|MW|HOSP|20160401\r";
const std::string kBatchHeader = "BHS|^~\\&|LAB|HOSP|MW|HOSP|20160401\r";

std::vector<std::string> texts(const markerwatch::hl7::FileSplit& split) {
  std::vector<std::string> out;
  for (const auto& m : split.messages) out.emplace_back(m.text);
  return out;
}

std::vector<std::size_t> lines(const markerwatch::hl7::FileSplit& split) {
  std::vector<std::size_t> out;
  for (const auto& m : split.messages) out.push_back(m.line);
  return out;
}

}  // namespace

TEST_CASE("a file without envelope splits at each MSH line and keeps every byte in between") {
  // What a message's bytes are decides its content hash, and so whether a file imported again
  // is known: a plain file must split as it always did, blank lines and all.
  const auto file = kFirst + "\r\n\r\n" + kSecond + "\n";
  const auto split = split_file(file);
  CHECK(texts(split) == std::vector<std::string>{kFirst + "\r\n\r\n", kSecond + "\n"});
  CHECK(lines(split) == std::vector<std::size_t>{1, 6});
  CHECK(split.problems.empty());
}

// The views split_file returns point into its argument: each test keeps its file alive.

TEST_CASE("a batch file's envelope is not part of its messages and its counts agree") {
  const auto file = kFileHeader + kBatchHeader + kFirst + kSecond + "BTS|2\rFTS|1\r";
  const auto with_bom = "\xEF\xBB\xBF" + file;
  const auto split = split_file(with_bom);
  CHECK(texts(split) == std::vector<std::string>{kFirst, kSecond});
  CHECK(lines(split) == std::vector<std::size_t>{3, 6});
  CHECK(split.problems.empty());
}

TEST_CASE("a batch whose trailer counts other messages than it holds is a problem at the BTS") {
  const auto split = split_file(kBatchHeader + kFirst + kSecond + "BTS|3\r");
  CHECK(split.messages.size() == 2);
  REQUIRE(split.problems.size() == 1);
  CHECK(split.problems[0].line == 8);
  CHECK(split.problems[0].reason ==
        "BTS-1 gives 3 message(s) for this batch, the file holds 2: some may be missing, or the "
        "count is wrong");
}

TEST_CASE("a batch file cut short misses its trailers: each header is named") {
  // The transfer stopped after the first message: its messages are still whole.
  const auto file = kFileHeader + kBatchHeader + kFirst;
  const auto split = split_file(file);
  CHECK(texts(split) == std::vector<std::string>{kFirst});
  REQUIRE(split.problems.size() == 2);
  CHECK(split.problems[0].line == 1);
  CHECK(split.problems[0].reason ==
        "the file header (FHS) here has no trailer (FTS): the file may have been cut short");
  CHECK(split.problems[1].line == 2);
  CHECK(split.problems[1].reason ==
        "the batch that starts here (BHS) has no trailer (BTS): the file may have been cut short");
}

TEST_CASE("several batches in one file: the file trailer counts them") {
  const auto two =
      kFileHeader + kBatchHeader + kFirst + "BTS|1\r" + kBatchHeader + kSecond + "BTS|1\r";
  auto split = split_file(two + "FTS|2\r");
  CHECK(split.messages.size() == 2);
  CHECK(split.problems.empty());

  split = split_file(two + "FTS|3\r");
  REQUIRE(split.problems.size() == 1);
  CHECK(split.problems[0].line == 12);
  CHECK(split.problems[0].reason ==
        "FTS-1 gives 3 batch(es) for this file, the file holds 2: some may be missing, or the "
        "count is wrong");

  // A second batch header before the first batch's trailer: the first batch is incomplete.
  split = split_file(kBatchHeader + kFirst + kBatchHeader + kSecond + "BTS|1\r");
  REQUIRE(split.problems.size() == 1);
  CHECK(split.problems[0].line == 1);
  CHECK(split.messages.size() == 2);
}

TEST_CASE("an empty batch is a valid file with no message") {
  const auto split = split_file(kFileHeader + kBatchHeader + "BTS|0\rFTS|1\r");
  CHECK(split.messages.empty());
  CHECK(split.problems.empty());
}

TEST_CASE("trailer counts that are not counts, and optional counts left empty") {
  for (const std::string count : {"two", "-1", "1.0", "99999999999999999999", "1\xC3\xA9"}) {
    const auto split = split_file(kBatchHeader + kFirst + "BTS|" + count + "\r");
    REQUIRE(split.problems.size() == 1);
    CHECK_THAT(split.problems[0].reason, Catch::StartsWith("BTS-1 '"));
    CHECK_THAT(split.problems[0].reason, Catch::EndsWith("' is not a count"));
  }
  // Blanks around a count, another field separator, and no count at all.
  CHECK(split_file(kBatchHeader + kFirst + "BTS| 1 |more\r").problems.empty());
  CHECK(split_file(kBatchHeader + kFirst + "BTS#1\r").problems.empty());
  CHECK(split_file(kBatchHeader + kFirst + "BTS\rFTS|\r").problems.empty());
}

TEST_CASE("a segment whose name only begins like a trailer stays in its message") {
  const auto file = kFirst + "BTSX|1\r" + "ZBT|2\r";
  const auto split = split_file(file);
  CHECK(texts(split) == std::vector<std::string>{kFirst + "BTSX|1\rZBT|2\r"});
  CHECK(split.problems.empty());
}

TEST_CASE("messages still in their MLLP frames are taken out of them") {
  const auto framed = "\x0b" + kFirst + "\x1c\r" + "\x0b" + kSecond + "\x1c\r";
  auto split = split_file(framed);
  CHECK(texts(split) == std::vector<std::string>{kFirst, kSecond});
  CHECK(lines(split) == std::vector<std::size_t>{1, 5});
  CHECK(split.problems.empty());

  // Frames back to back with no CR after the end byte, and a last segment with no CR before it.
  const auto back_to_back =
      "\x0b" + kFirst + "\x1c\x0b" + kSecond.substr(0, kSecond.size() - 1) + "\x1c";
  split = split_file(back_to_back);
  CHECK(texts(split) == std::vector<std::string>{kFirst, kSecond.substr(0, kSecond.size() - 1)});
}

TEST_CASE("text outside any message is a problem once per run of lines") {
  const auto split = split_file("\x0b" + kFirst + "\x1c\r" + "garbage\rmore garbage\r\r" + "\x0b" +
                                kSecond + "\x1c\r" + "   \r" + kFileHeader + "stray\r");
  CHECK(split.messages.size() == 2);
  REQUIRE(split.problems.size() == 3);
  CHECK(split.problems[0].line == 5);
  CHECK(split.problems[0].reason ==
        "text outside any message is ignored (no MSH segment starts it)");
  CHECK(split.problems[1].line == 13);  // the file header without its trailer
  CHECK(split.problems[2].line == 14);
}

TEST_CASE("splitting never reads past the file and holds only its views") {
  // Truncated everywhere: each prefix of a framed batch file splits into views of itself.
  const auto file = "\x0b" + kFileHeader + kBatchHeader + kFirst + "BTS|1\rFTS|1\r\x1c\r";
  for (std::size_t n = 0; n <= file.size(); ++n) {
    const std::string prefix = file.substr(0, n);
    const auto split = split_file(prefix);
    for (const auto& m : split.messages) {
      CHECK(m.text.data() >= prefix.data());
      CHECK(m.text.data() + m.text.size() <= prefix.data() + prefix.size());
      CHECK(m.text.substr(0, 3) == "MSH");
    }
  }
}
