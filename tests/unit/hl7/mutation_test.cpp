// Deterministic mutation testing of the input paths: thousands of damaged copies of the public
// samples (bit flips, truncations, stray delimiters, junk bytes) go through parse, map and ACK.
// Each must end in an orderly outcome: a ParseError, or a mapping whose ACK parses again and
// echoes the right control id. Under the ASan/UBSan preset this doubles as a memory-safety check.
#include <catch2/catch.hpp>
#include <filesystem>
#include <random>

#include "hl7/ack.hpp"
#include "hl7/oru_mapper.hpp"
#include "ingest/csv_reader.hpp"
#include "ingest/csv_records.hpp"
#include "test_support.hpp"

using namespace markerwatch;

namespace {

std::string mutate(std::string s, std::mt19937& rng) {
  static const std::string specials = "|^~\\&\r\n\x0b\x1c\xff\x00<>.-+";
  std::uniform_int_distribution<int> kind(0, 5);
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int e = 0; e < edits && !s.empty(); ++e) {
    const std::size_t pos = rng() % s.size();
    switch (kind(rng)) {
      case 0:
        s[pos] = static_cast<char>(s[pos] ^ (1 << (rng() % 8)));
        break;
      case 1:
        s.resize(pos);
        break;
      case 2:
        s.insert(pos, 1, specials[rng() % specials.size()]);
        break;
      case 3:
        s.erase(pos, 1 + rng() % 16);
        break;
      case 4:
        s.insert(pos, std::string(1 + rng() % 64, specials[rng() % specials.size()]));
        break;
      default:
        s.replace(pos, 1, std::string(1 + rng() % 8, static_cast<char>(rng() % 256)));
        break;
    }
  }
  return s;
}

}  // namespace

TEST_CASE("damaged HL7 messages always end in an orderly outcome") {
  auto s = settings::load_settings_file(test::source_dir() / "tests/fixtures/toml/samples.toml");
  hl7::MappingOptions o;
  o.markers = &s.markers;
  o.default_zone = s.zone.get();
  o.accepted_processing_ids = s.ingest.accept_processing_ids;
  std::mt19937 rng(20161215);
  int parsed = 0, rejected = 0;
  for (const auto& entry :
       std::filesystem::directory_iterator(test::shared_dir() / "samples/hl7")) {
    if (entry.path().extension() != ".hl7") continue;
    const auto original = test::read_file(entry.path());
    for (int i = 0; i < 400; ++i) {
      const auto damaged = mutate(original, rng);
      try {
        auto msg = hl7::Message::parse(damaged);
        auto mapped = hl7::map_oru(msg, o);
        hl7::AckRequest req;
        req.header = mapped.header;
        req.code =
            mapped.disposition == hl7::Disposition::accepted ? hl7::AckCode::AA : hl7::AckCode::AE;
        req.issues = mapped.issues;
        req.control_id = "MW1";
        req.timestamp = "20261127000000+0000";
        auto ack = hl7::Message::parse(hl7::build_ack(req));
        REQUIRE(ack.first("MSA"));
        for (const auto& r : mapped.results) {
          REQUIRE_FALSE(r.marker.empty());
          REQUIRE(r.collected_date.size() == 10);
          REQUIRE((r.value.has_value() || removes_value(r.status)));
        }
        ++parsed;
      } catch (const hl7::ParseError&) {
        ++rejected;
      }
    }
  }
  CHECK(parsed > 1000);
  CHECK(rejected > 100);
}

TEST_CASE("damaged CSV files are read or rejected row by row, never crash") {
  auto s = test::utc_settings();
  ingest::RecordContext ctx{&s.markers, &s.milestone_kinds, s.zone.get()};
  const auto original = test::read_file(test::shared_dir() / "seed/results.csv");
  std::mt19937 rng(2013);
  int rows = 0, errors = 0;
  for (int i = 0; i < 2000; ++i) {
    const auto damaged = mutate(original, rng);
    try {
      ingest::CsvReader reader(damaged);
      auto header_row = reader.next();
      if (!header_row) continue;
      auto header = ingest::results_header(*header_row);
      while (auto row = reader.next()) {
        try {
          auto r = ingest::parse_result_row(header, *row, ctx);
          REQUIRE_FALSE(r.patient.id.empty());
          ++rows;
        } catch (const InputError&) {
          ++errors;
        }
      }
    } catch (const InputError&) {
      ++errors;
    }
  }
  CHECK(rows > 10000);
  CHECK(errors > 100);
}
