// Deterministic mutation testing of every input path: HL7 v2, CSV files, FHIR bodies and the JSON
// API's rows. Damaged copies of the public samples (bit flips, truncations, stray delimiters, junk
// bytes), every HL7 field replaced by hostile content (70,000 digits, escape sequences, runs of
// delimiters, bytes that are not UTF-8, impossible dates), every node of a JSON body replaced by a
// value of the wrong type or shape, or removed. Each must end in an orderly outcome: an HL7
// ParseError or a mapping whose ACK parses again; a CSV row read or rejected with a reason; a JSON
// body answered, its refusal changing nothing. Under the ASan/UBSan preset this doubles as a
// memory-safety check.
#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <limits>
#include <random>

#include "fhir/fhir_fixture.hpp"
#include "hl7/ack.hpp"
#include "hl7/hl7_builders.hpp"
#include "hl7/oru_mapper.hpp"
#include "ingest/csv_reader.hpp"
#include "ingest/csv_records.hpp"
#include "ingest/pipeline.hpp"
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

// The mapping the public samples are tested with (their local codes mapped to markers).
struct SampleMapping {
  settings::Settings settings =
      settings::load_settings_file(test::source_dir() / "tests/fixtures/toml/samples.toml");
  hl7::MappingOptions options() const {
    hl7::MappingOptions o;
    o.markers = &settings.markers;
    o.default_zone = settings.zone.get();
    o.accepted_processing_ids = settings.ingest.accept_processing_ids;
    return o;
  }
};

struct Hl7Tally {
  int parsed = 0;
  int rejected = 0;
  int results = 0;
};

// Parse, map and acknowledge `message`: a ParseError, or a mapping whose ACK parses again and
// whose results are whole.
void expect_orderly_outcome(const std::string& message, const hl7::MappingOptions& o,
                            Hl7Tally& tally) {
  try {
    auto msg = hl7::Message::parse(message);
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
    ++tally.parsed;
    tally.results += static_cast<int>(mapped.results.size());
  } catch (const hl7::ParseError&) {
    ++tally.rejected;
  }
}

std::vector<std::filesystem::path> hl7_samples() {
  std::vector<std::filesystem::path> paths;
  for (const auto& entry : std::filesystem::directory_iterator(test::shared_dir() / "samples/hl7"))
    if (entry.path().extension() == ".hl7") paths.push_back(entry.path());
  std::sort(paths.begin(), paths.end());
  return paths;
}

}  // namespace

TEST_CASE("damaged HL7 messages always end in an orderly outcome") {
  const SampleMapping mapping;
  const auto o = mapping.options();
  std::mt19937 rng(20161215);
  Hl7Tally tally;
  for (const auto& path : hl7_samples()) {
    const auto original = test::read_file(path);
    for (int i = 0; i < 400; ++i) expect_orderly_outcome(mutate(original, rng), o, tally);
  }
  CHECK(tally.parsed > 1000);
  CHECK(tally.rejected > 100);
}

TEST_CASE("every field of every HL7 segment replaced by hostile content ends in an orderly outcome",
          "[hl7][bad-input]") {
  const SampleMapping mapping;
  const auto o = mapping.options();
  const std::vector<std::string> hostile = {
      "",
      std::string(70000, '9'),
      ">35000",
      "<=-0.0",
      "1e309",
      "NaN",
      "\\X00\\\\X0D\\",
      "\\.br\\\\Zfoo\\\\H\\\\",
      "\\",
      std::string(3000, '^'),
      std::string(3000, '~'),
      std::string(3000, '&'),
      "a\xff\xfe\xc3(b",
      "20161315250000+9900",
      "'; DROP TABLE results; --",
  };
  Hl7Tally tally;
  // The public samples, and an AFP result that maps (the samples' markers are mostly others).
  std::vector<std::string> messages;
  for (const auto& path : hl7_samples()) messages.push_back(test::read_file(path));
  messages.push_back(test::oru({test::afp_obx("45985")}));
  for (const auto& original : messages) {
    // Segments as written (any line ending), fields split at the sample's own separator.
    const auto msh = original.find("MSH");
    REQUIRE(msh != std::string::npos);
    const char separator = original.at(msh + 3);
    std::size_t start = 0;
    while (start < original.size()) {
      const auto end = std::min(original.find_first_of("\r\n", start), original.size());
      for (std::size_t field = start, index = 0; field < end; ++index) {
        const auto next = std::min(original.find(separator, field), end);
        if (index > 0) {  // the segment's name stays
          for (const auto& value : hostile) {
            const auto damaged = original.substr(0, field) + value + original.substr(next);
            INFO(original.substr(start, end - start)
                 << "\nfield " << index << " = " << value.substr(0, 40));
            expect_orderly_outcome(damaged, o, tally);
          }
        }
        field = next + 1;
      }
      start = end + 1;
    }
  }
  CHECK(tally.parsed > 5000);
  CHECK(tally.rejected > 100);
  CHECK(tally.results > 1000);
}

TEST_CASE("damaged CSV files are read or rejected row by row, never crash") {
  auto s = test::utc_settings();
  const auto ctx = ingest::record_context(s);
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

namespace {

using test::Json;

// Every node below the root, as JSON pointers.
void collect_nodes(const Json& node, const Json::json_pointer& at,
                   std::vector<Json::json_pointer>& out) {
  if (!at.empty()) out.push_back(at);
  if (node.is_object()) {
    for (const auto& [key, value] : node.items()) collect_nodes(value, at / key, out);
  } else if (node.is_array()) {
    for (std::size_t i = 0; i < node.size(); ++i) collect_nodes(node[i], at / i, out);
  }
}

void remove_node(Json& doc, const Json::json_pointer& at) {
  auto& parent = doc[at.parent_pointer()];
  if (parent.is_object())
    parent.erase(at.back());
  else
    parent.erase(static_cast<std::size_t>(std::stoul(at.back())));
}

// What a sender could put where the mapper expects something else.
std::vector<Json> hostile_values() {
  Json deep = Json::array();
  for (int i = 0; i < 80; ++i) deep = Json::array({deep});
  return {nullptr,
          0,
          -1,
          1.5e308,
          4.9e-324,
          std::numeric_limits<std::uint64_t>::max(),
          true,
          "",
          std::string("P\0\n\x1b[2J", 7),
          std::string(5000, 'x'),
          "9999-99-99T99:99:99Z",
          "'; DROP TABLE results; --",
          Json::array(),
          Json::object(),
          Json::array({nullptr}),
          Json{{"resourceType", "Observation"}},
          deep};
}

// The documents the FHIR endpoint takes: the public samples, an AFP Observation (stored), Bundles
// of them (transaction: all or nothing; batch: per entry), a Procedure and a MedicationStatement
// (milestones).
std::vector<std::pair<std::string, Json>> fhir_documents() {
  std::vector<std::pair<std::string, Json>> docs;
  for (const auto& entry : std::filesystem::directory_iterator(test::shared_dir() / "samples/fhir"))
    if (entry.path().extension() == ".json")
      docs.emplace_back(entry.path().filename().string(),
                        test::sample(entry.path().filename().string()));
  std::sort(docs.begin(), docs.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  const auto procedure = test::resection_procedure();
  docs.emplace_back("afp", test::afp_observation("m1", 10));
  docs.emplace_back(
      "transaction",
      test::bundle("transaction", {test::entry(test::afp_observation("t1", 10, "2013-04-02")),
                                   test::entry(test::afp_observation("t2", 12, "2013-06-02"))}));
  docs.emplace_back("batch", test::bundle("batch", {test::entry(test::afp_observation("b1", 9)),
                                                    test::entry(procedure)}));
  docs.emplace_back("procedure", procedure);
  docs.emplace_back("medication", test::systemic_medication());
  return docs;
}

struct FhirTally {
  int answered = 0;
  int refused = 0;
};

// One post of a damaged body: answered below 500, and a refusal says why and changes nothing.
void post_damaged(test::FhirFixture& f, const std::string& body, FhirTally& tally) {
  INFO(body.substr(0, 300));
  const auto before = f.state();
  ingest::FhirOutcome out;
  REQUIRE_NOTHROW(out = f.post(body));
  REQUIRE(out.reply.status >= 200);
  REQUIRE(out.reply.status < 500);
  if (out.reply.status >= 400) {
    REQUIRE(out.reply.body.value("resourceType", "") == "OperationOutcome");
    REQUIRE_FALSE(out.reply.body["issue"][0].value("diagnostics", "").empty());
    REQUIRE(out.outcome == "rejected");
    REQUIRE(f.state() == before);
    ++tally.refused;
  } else {
    ++tally.answered;
  }
}

}  // namespace

TEST_CASE("FHIR bodies with any node of the wrong type or removed are answered, never crash",
          "[fhir][bad-input]") {
  constexpr std::size_t kNodesPerDocument = 60;
  std::mt19937 rng(20160310);
  const auto values = hostile_values();
  FhirTally tally;
  for (const auto& [name, original] : fhir_documents()) {
    INFO(name);
    test::FhirFixture f(test::kMilestoneCodes);
    std::vector<Json::json_pointer> nodes;
    collect_nodes(original, Json::json_pointer(), nodes);
    std::shuffle(nodes.begin(), nodes.end(), rng);
    nodes.resize(std::min(nodes.size(), kNodesPerDocument));
    for (const auto& at : nodes) {
      INFO(at.to_string());
      for (const auto& value : values) {
        auto damaged = original;
        damaged[at] = value;
        post_damaged(f, damaged.dump(), tally);
      }
      auto without = original;
      remove_node(without, at);
      post_damaged(f, without.dump(), tally);
    }
  }
  // Both kinds of outcome occur: the mutations reach the mapper's checks and its happy paths.
  CHECK(tally.refused > 2000);
  CHECK(tally.answered > 500);
}

TEST_CASE("damaged FHIR text is refused as JSON or answered, never crashes", "[fhir][bad-input]") {
  std::mt19937 rng(20130402);
  FhirTally tally;
  for (const auto& [name, original] : fhir_documents()) {
    INFO(name);
    test::FhirFixture f(test::kMilestoneCodes);
    const auto text = original.dump(1);
    for (int i = 0; i < 150; ++i) post_damaged(f, mutate(text, rng), tally);
  }
  CHECK(tally.refused > 1000);
  CHECK(tally.answered > 50);
}

TEST_CASE("JSON API rows with any node of the wrong type or removed are stored or refused whole",
          "[json-rows][bad-input]") {
  const Json results = Json::parse(R"([
    {"patient_id": "P-1", "marker": "AFP", "collected_at": "2016-02-01T08:30:00+01:00",
     "value": 250, "unit": "ng/mL", "status": "final", "obs_id": "o-1",
     "received_at": "2016-02-01T12:00:00Z", "method": "", "reference_range": "<7"},
    {"patient_id": "P-1", "marker": "AFP", "collected_at": "2016-04-01", "value": ">35000",
     "unit": "ng/mL"}])");
  const Json milestones = Json::parse(R"([
    {"patient_id": "P-1", "kind": "resection", "date": "2016-03-10", "note": "right hepatectomy"},
    {"patient_id": "P-1", "kind": "systemic_start", "date": "2016-05-01",
     "end_date": "2016-09-01", "markers": "AFP;PIVKA-II"}])");
  const auto values = hostile_values();
  int stored = 0, refused = 0;
  for (const auto& [body, kind] : {std::pair{results, ingest::FileKind::results_csv},
                                   std::pair{milestones, ingest::FileKind::milestones_csv}}) {
    test::PipelineFixture f;
    std::vector<Json::json_pointer> nodes;
    collect_nodes(body, Json::json_pointer(), nodes);
    auto post = [&](const Json& damaged) {
      INFO(damaged.dump());
      const auto before = f.state();
      ingest::RowsOutcome out;
      REQUIRE_NOTHROW(out = f.post_rows(damaged.dump(), kind));
      if (out.outcome == "accepted") {
        ++stored;
        return;
      }
      REQUIRE(out.outcome == "rejected");
      REQUIRE((out.refusal || !out.rejected.empty()));
      for (const auto& row : out.rejected) REQUIRE_FALSE(row.reason.empty());
      REQUIRE(f.state() == before);
      ++refused;
    };
    for (const auto& at : nodes) {
      INFO(at.to_string());
      for (const auto& value : values) {
        auto damaged = body;
        damaged[at] = value;
        post(damaged);
      }
      auto without = body;
      remove_node(without, at);
      post(without);
    }
  }
  CHECK(refused > 300);
  CHECK(stored > 20);
}
