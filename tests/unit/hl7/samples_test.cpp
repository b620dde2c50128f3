// Every public sample in shared/samples/hl7 with its exact expected outcome. None of them carries
// a tumor marker, so tests/fixtures/toml/samples.toml adds their analytes as markers; with the
// built-in marker table alone each valid one is "ignored" (see the last test case).
#include <catch2/catch.hpp>

#include "hl7/oru_mapper.hpp"
#include "test_support.hpp"

using namespace markerwatch;
using hl7::Disposition;

namespace {

struct ExpectedResult {
  std::string marker;
  double value;
  std::string comparator;
  std::string unit;
  std::string status;
  std::string date;
  std::optional<double> uln;
};

struct Expected {
  std::string file;
  Disposition disposition;
  std::vector<ExpectedResult> results;
  int ignored;
  std::string issue;  // substring of the first issue, "" = no issue
  std::string patient = "";
};

const std::vector<Expected>& table() {
  static const std::vector<Expected> t = {
      {"01_ghh_glucose_sn_fn_v2.4.hl7",
       Disposition::accepted,
       {{"GLU", 182, "", "mg/dL", "final", "2002-02-15", 105}},
       1,
       "",
       "555-44-4444"},
      {"02_olis_nte_escapes_v2.3.hl7",
       Disposition::accepted,
       {{"CHOL", 2.3, "", "mmol/L", "final", "2009-11-23", std::nullopt}},
       1,
       "",
       "7005728"},
      {"03_molis_multi_order_corrected_charset_v2.4.hl7",
       Disposition::accepted,
       {{"FSH", 1.0, "", "U/L", "corrected", "2003-03-31", std::nullopt}},
       7,
       "cannot be converted to ug/L for PROL",
       "50381"},
      {"04_phcn_ft_highlight_no_pid_v2.4.hl7",
       Disposition::rejected_error,
       {},
       0,
       "PID segment is missing"},
      {"05_hnam_repeating_obx5_v2.4.hl7", Disposition::ignored, {}, 1, "", ""},
      {"06_nysdoh_zsegment_crlf_badsegment_v2.3.hl7",
       Disposition::rejected_error,
       {},
       0,
       "PID segment is missing"},
      {"07_nist_lead_final_tz_v2.5.1.hl7",
       Disposition::accepted,
       {{"LEAD", 50, "", "ug/dL", "final", "2008-08-15", std::nullopt}},
       0,
       "",
       "9817566735"},
      {"08_nist_lead_corrected_v2.5.1.hl7",
       Disposition::accepted,
       {{"LEAD", 25, "", "ug/dL", "corrected", "2008-08-15", std::nullopt}},
       0,
       "",
       "9817566735"},
      {"09_nist_stool_dup_setids_st_v2.5.1.hl7",
       Disposition::rejected_error,
       {},
       2,
       "value 'Isolated' is not a number"},
      {"10_elr_hcv_sn_shifted_3char_msh2_v2.5.1.hl7",
       Disposition::rejected_error,
       {},
       0,
       "OBX-11 result status '' is missing or unknown"},
      {"11_cerner_lead_spm_before_obx_v2.5.1.hl7",
       Disposition::accepted,
       {{"LEAD", 50, "", "ug/dL", "final", "2010-11-04", std::nullopt}},
       0,
       "",
       "9339683996"},
      {"12_ms_cbc_bom_lf_pending_v2.5.hl7",
       Disposition::accepted,
       {{"HCT", 40.1, "", "%", "preliminary", "2014-10-06", std::nullopt},
        {"PLT", 221, "", "giga.l-1", "final", "2014-10-06", std::nullopt}},
       8,
       "",
       "10006579"},
      {"13_nist_lri_cbc_28obx_bom_lf_v2.5.1.hl7",
       Disposition::accepted,
       {{"HGB", 1250, "", "g/dL", "final", "2011-01-03", 1800},
        {"HCT", 41, "", "%", "final", "2011-01-03", 52}},
       25,
       "value type 'TX' is not numeric",
       "PATID1234"},
      {"14_mirth_12obr_st_comparators_lf_v2.2.hl7",
       Disposition::accepted,
       {{"HGB", 14.3, "", "g/dL", "final", "2010-06-04", 15.7},
        {"CREA", 0.64, "", "mg/dL", "final", "2010-06-04", 0.95},
        {"GLU", 91, "", "mg/dL", "final", "2010-06-04", 106},
        {"CREA", 0.64, "", "mg/dL", "final", "2010-06-04", 0.95},
        {"CRP", 1, "<", "mg/L", "final", "2010-06-04", 10}},
       79,
       "",
       "1424589"},
      {"15_mirth_cmp_subids_baddate_v2.4.hl7",
       Disposition::accepted,
       {{"CREA", 1.3, "", "mg/dL", "final", "2006-09-22", std::nullopt}},
       16,
       "",
       "4223161584"},
  };
  return t;
}

hl7::MappingResult map_sample(const std::string& file, const settings::Settings& s) {
  auto bytes = test::read_file(test::shared_dir() / "samples/hl7" / file);
  auto msg = hl7::Message::parse(bytes);
  hl7::MappingOptions o;
  o.markers = &s.markers;
  o.default_zone = s.zone.get();
  o.accepted_processing_ids = s.ingest.accept_processing_ids;
  return hl7::map_oru(msg, o);
}

}  // namespace

TEST_CASE("every HL7 sample maps to its expected outcome") {
  auto s = settings::load_settings_file(test::source_dir() / "tests/fixtures/toml/samples.toml");
  for (const auto& e : table()) {
    INFO(e.file);
    auto r = map_sample(e.file, s);
    CHECK(r.disposition == e.disposition);
    if (e.issue.empty()) {
      CHECK(r.issues.empty());
    } else {
      REQUIRE_FALSE(r.issues.empty());
      CHECK_THAT(r.issues[0].text, Catch::Contains(e.issue));
    }
    if (e.disposition == Disposition::accepted || e.disposition == Disposition::ignored)
      CHECK(r.ignored_observations == e.ignored);
    REQUIRE(r.results.size() == e.results.size());
    for (std::size_t i = 0; i < e.results.size(); ++i) {
      const auto& got = r.results[i];
      const auto& want = e.results[i];
      INFO("result " << i << " " << want.marker);
      CHECK(got.marker == want.marker);
      CHECK(*got.value == Approx(want.value));
      CHECK(std::string(to_string(got.comparator)) == want.comparator);
      CHECK(got.unit == want.unit);
      CHECK(std::string(to_string(got.status)) == want.status);
      CHECK(got.collected_date == want.date);
      CHECK(got.uln.has_value() == want.uln.has_value());
      if (want.uln && got.uln) CHECK(*got.uln == Approx(*want.uln));
      CHECK(got.patient.id == e.patient);
    }
  }
}

TEST_CASE("sample details: offsets, precision kept, correction identity") {
  auto s = settings::load_settings_file(test::source_dir() / "tests/fixtures/toml/samples.toml");
  auto final_lead = map_sample("07_nist_lead_final_tz_v2.5.1.hl7", s);
  auto corrected = map_sample("08_nist_lead_corrected_v2.5.1.hl7", s);
  CHECK(final_lead.results.at(0).collected_at == "2008-08-15T17:30:00Z");
  CHECK(final_lead.results.at(0).patient.authority == "MPI");
  // 07 and 08 are the same observation: 08 corrects 07.
  CHECK(final_lead.results.at(0).obs_id == corrected.results.at(0).obs_id);
  CHECK(map_sample("02_olis_nte_escapes_v2.3.hl7", s).results.at(0).value_raw == "2.30");
  CHECK(map_sample("14_mirth_12obr_st_comparators_lf_v2.2.hl7", s).results.at(4).value_raw == "<1");
  // PID-2 holds the Mirth-assigned id; PID-3 is the bare one.
  CHECK(map_sample("15_mirth_cmp_subids_baddate_v2.4.hl7", s)
            .results.at(0)
            .patient.authority.empty());
  CHECK(map_sample("10_elr_hcv_sn_shifted_3char_msh2_v2.5.1.hl7", s).header.control_id ==
        "1234567890");
}

TEST_CASE("with the shipped defaults the samples carry no tumor marker, and test ids are refused") {
  auto s = settings::default_settings();
  for (const auto& e : table()) {
    INFO(e.file);
    auto r = map_sample(e.file, s);
    CHECK(r.results.empty());
  }
  CHECK(map_sample("02_olis_nte_escapes_v2.3.hl7", s).disposition == Disposition::rejected_reject);
  CHECK(map_sample("06_nysdoh_zsegment_crlf_badsegment_v2.3.hl7", s).issues.at(0).code == 202);
  CHECK(map_sample("15_mirth_cmp_subids_baddate_v2.4.hl7", s).disposition == Disposition::ignored);
}
