// A request body as the HTTP listener hands it to ingest: FHIR R4 (a resource or a Bundle, at
// [base] or a type's endpoint) or the JSON API's rows. Byte 0 picks the endpoint; the rest is the
// body. Properties:
// - a body ends in a plan, rows, or an InputError (a 400 with the reason), nothing else;
// - every result and milestone planned is whole (fuzz_support.hpp);
// - the reply to a plan renders with an HTTP status, never a success for a refused single
//   resource or transaction.
#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "core/errors.hpp"
#include "fhir/json_body.hpp"
#include "fhir/request.hpp"
#include "fuzz_support.hpp"
#include "ingest/json_records.hpp"
#include "ingest/pipeline.hpp"

using namespace markerwatch;

namespace {

constexpr std::array<std::string_view, 5> kFhirEndpoints = {"", "Observation", "Bundle",
                                                            "Procedure", "MedicationStatement"};

void plan_fhir(const fhir::Json& body, std::string_view endpoint) {
  const auto options = ingest::fhir_mapping(fuzz::sample_settings());
  const auto plan = fhir::plan_request(body, endpoint, options);
  for (const auto& entry : plan.entries) {
    if (entry.error) continue;
    for (const auto& r : entry.mapped.results) fuzz::require_whole(r);
    for (const auto& m : entry.mapped.milestones) fuzz::require_whole(m);
    for (const auto& m : entry.mapped.removed_milestones) fuzz::require_whole(m);
  }
  const std::vector<fhir::EntryOutcome> nothing_stored(plan.entries.size());
  const auto reply = fhir::render_reply(plan, nothing_stored);
  fuzz::require(reply.status >= 200 && reply.status < 600, "a reply without an HTTP status");
  if (plan.refused()) fuzz::require(reply.status >= 400, "a refused request answered as a success");
}

void read_rows(const fhir::Json& body, ingest::FileKind kind) {
  const auto rows =
      ingest::records_from_json(body, kind, ingest::record_context(fuzz::sample_settings()));
  for (const auto& record : rows.records)
    std::visit([](const auto& r) { fuzz::require_whole(r); }, record);
  for (const auto& rejection : rows.rejections)
    fuzz::require(!rejection.reason.empty(), "a row refused without a reason");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  const unsigned pick = data[0] % (kFhirEndpoints.size() + 2);
  const std::string_view body(reinterpret_cast<const char*>(data) + 1, size - 1);
  try {
    const auto json = fhir::parse_body(body);
    if (pick < kFhirEndpoints.size())
      plan_fhir(json, kFhirEndpoints[pick]);
    else
      read_rows(json, pick == kFhirEndpoints.size() ? ingest::FileKind::results_csv
                                                    : ingest::FileKind::milestones_csv);
  } catch (const InputError& e) {
    fuzz::require(*e.what() != '\0', "a body refused without a reason");
  }
  return 0;
}
