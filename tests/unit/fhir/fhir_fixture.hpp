#pragma once
// What the FHIR tests share: a pipeline fixture that posts a body through the two steps the HTTP
// API takes (prepare, then store in a transaction), the samples, and builders of AFP Observations
// and Bundles.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "ingest/pipeline.hpp"
#include "ingest/pipeline_fixture.hpp"

namespace markerwatch::test {

using Json = nlohmann::json;

struct FhirFixture : PipelineFixture {
  using PipelineFixture::PipelineFixture;
  ingest::FhirOutcome post(const std::string& body, std::string_view endpoint = "") {
    store::Transaction txn(db);
    auto out =
        pipeline->store_fhir(pipeline->prepare_fhir(body, endpoint), "fhir:test", "127.0.0.1:1");
    txn.commit();
    return out;
  }
  ingest::FhirOutcome post(const Json& body, std::string_view endpoint = "") {
    return post(body.dump(), endpoint);
  }
  // As markerwatchd posts with [fhir.upstream] set: id-only notification entries are deferred.
  ingest::FhirOutcome post_with_upstream(const Json& body, std::size_t& deferred) {
    auto prepared = pipeline->prepare_fhir(body.dump(), "");
    deferred = prepared.plan ? fhir::defer_id_only_entries(*prepared.plan) : 0;
    store::Transaction txn(db);
    auto out = pipeline->store_fhir(prepared, "fhir:test", "127.0.0.1:1");
    txn.commit();
    return out;
  }
  std::string last_outcome() {
    auto q = db.prepare("SELECT outcome FROM messages ORDER BY id DESC LIMIT 1");
    q.step();
    return q.text(0);
  }
};

inline Json sample(const std::string& name) {
  return Json::parse(read_file(shared_dir() / "samples" / "fhir" / name));
}

// Every diagnostics text of an OperationOutcome, joined.
inline std::string diagnostics(const Json& outcome) {
  std::string all;
  for (const auto& i : outcome.at("issue")) all += i.value("diagnostics", "") + "\n";
  return all;
}

// Observation-f001 turned into an AFP result of patient P-1 (LOINC 1834-1, ng/mL).
inline Json afp_observation(const std::string& id, const Json& value,
                            const std::string& date = "2013-04-02") {
  auto o = sample("Observation-f001.json");
  o["id"] = id;
  o["code"] = {{"coding", {{{"system", "http://loinc.org"}, {"code", "1834-1"}}}}};
  o["subject"] = {{"identifier", {{"system", "urn:mrn"}, {"value", "P-1"}}}};
  o["effectivePeriod"] = {{"start", date + "T09:30:10+01:00"}};
  o["valueQuantity"] = {{"value", value},
                        {"unit", "ng/ml"},
                        {"system", "http://unitsofmeasure.org"},
                        {"code", "ng/mL"}};
  o["referenceRange"] = {{{"high", {{"value", 8.0}}}}};
  return o;
}

inline Json entry(const Json& resource, const std::string& method = "POST",
                  const std::string& url = "") {
  const auto type = resource.at("resourceType").get<std::string>();
  return {{"resource", resource},
          {"request", {{"method", method}, {"url", url.empty() ? type : url}}}};
}

inline Json bundle(const std::string& type, const std::vector<Json>& entries) {
  return {{"resourceType", "Bundle"}, {"type", type}, {"entry", entries}};
}

// [fhir] settings that map the two resources below to milestones.
inline const char* const kMilestoneCodes =
    "[fhir]\nprocedures = { \"http://snomed.info/sct|16099007\" = \"resection\" }\n"
    "medications = { \"http://www.nlm.nih.gov/research/umls/rxnorm|495881\" = "
    "\"systemic_start\" }\n";

// A hepatectomy of patient P-1 on 2016-03-10: a resection under kMilestoneCodes.
inline Json resection_procedure() {
  return {{"resourceType", "Procedure"},
          {"status", "completed"},
          {"code",
           {{"coding", {{{"system", "http://snomed.info/sct"}, {"code", "16099007"}}}},
            {"text", "hepatectomy"}}},
          {"subject", {{"identifier", {{"value", "P-1"}}}}},
          {"performedDateTime", "2016-03-10"}};
}

// Systemic therapy of P-1 from 2010-09-08 to 2012-01-15 under kMilestoneCodes.
inline Json systemic_medication() {
  return {{"resourceType", "MedicationStatement"},
          {"status", "completed"},
          {"medicationCodeableConcept",
           {{"coding",
             {{{"system", "http://www.nlm.nih.gov/research/umls/rxnorm"}, {"code", "495881"}}}}}},
          {"subject", {{"identifier", {{"value", "P-1"}}}}},
          {"effectivePeriod", {{"start", "2010-09-08"}, {"end", "2012-01-15"}}}};
}

}  // namespace markerwatch::test
