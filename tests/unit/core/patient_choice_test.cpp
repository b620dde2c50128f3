// The patient rule (README, *Patients*) on its own; the store and replay apply it.
#include <catch2/catch.hpp>

#include "core/errors.hpp"
#include "core/patient_choice.hpp"

using namespace markerwatch;
using Kind = PatientChoice::Kind;

TEST_CASE("a patient is written id or id^authority; anything else is refused with the field") {
  CHECK(parse_patient_key("mrn1", "patient_id") == PatientKey{"mrn1", ""});
  CHECK(parse_patient_key(" mrn1 ^ HOSP ", "patient_id") == PatientKey{"mrn1", "HOSP"});
  for (const std::string& bad :
       std::vector<std::string>{"mrn1^", "mrn1^ ", "^HOSP", "a^b^c", "", "  ", "x\x01y", "\xff\xfe",
                                std::string(201, 'p')}) {
    INFO("'" << bad << "'");
    CHECK_THROWS_AS(parse_patient_key(bad, "--patient"), InputError);
    CHECK_THROWS_WITH(parse_patient_key(bad, "--patient"), Catch::StartsWith("--patient "));
  }
  CHECK(parse_patient_key(std::string(200, 'p'), "patient_id").id.size() == 200);
  CHECK_THROWS_WITH(parse_patient_key("^HOSP", "patient_id"),
                    "patient_id '^HOSP' has no identifier before the '^'");
  CHECK_THROWS_WITH(parse_patient_key("", "patient_id"), "patient_id is empty");
}

TEST_CASE("a key with an authority names that patient, else claims the one without, else is new") {
  const std::vector<PatientCandidate> unnamed_and_a{{7, ""}, {9, "A"}};
  CHECK(choose_patient({"x", "A"}, unnamed_and_a).kind == Kind::existing);
  CHECK(choose_patient({"x", "A"}, unnamed_and_a).id == 9);
  const std::vector<PatientCandidate> unnamed{{7, ""}};
  CHECK(choose_patient({"x", "B"}, unnamed).kind == Kind::claim);
  CHECK(choose_patient({"x", "B"}, unnamed).id == 7);
  const std::vector<PatientCandidate> a_only{{9, "A"}};
  CHECK(choose_patient({"x", "B"}, a_only).kind == Kind::create);
  CHECK(choose_patient({"x", "B"}, {}).kind == Kind::create);
}

TEST_CASE("a key without an authority names the patient without, else the only one, else none") {
  const std::vector<PatientCandidate> unnamed_first{{7, ""}, {9, "A"}, {11, "B"}};
  CHECK(choose_patient({"x", ""}, unnamed_first).id == 7);
  CHECK(choose_patient({"x", ""}, unnamed_first).kind == Kind::existing);
  const std::vector<PatientCandidate> one{{9, "A"}};
  CHECK(choose_patient({"x", ""}, one).kind == Kind::existing);
  CHECK(choose_patient({"x", ""}, one).id == 9);
  CHECK(choose_patient({"x", ""}, {}).kind == Kind::create);

  const std::vector<PatientCandidate> two{{9, "A"}, {11, "B"}};
  CHECK_THROWS_AS(choose_patient({"x", ""}, two), InputError);
  CHECK_THROWS_WITH(choose_patient({"x", ""}, two),
                    "patient x is stored under several assigning authorities (A, B): name one as "
                    "x^AUTHORITY");
  const std::vector<PatientCandidate> three{{9, "A"}, {11, "B"}, {12, "C"}};
  CHECK_THROWS_WITH(choose_patient({"x\n", ""}, three),
                    Catch::Contains("(A, B, ...)") && !Catch::Contains("\n"));
}
