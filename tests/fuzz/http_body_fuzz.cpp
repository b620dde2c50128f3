// A request body as the HTTP listener hands it to ingest: FHIR R4 (a resource or a Bundle, at
// [base] or a type's endpoint) or the JSON API's rows. Byte 0 picks the endpoint; the rest is the
// body. Properties:
// - a body ends in a plan, rows, or an InputError (a 400 with the reason), nothing else;
// - every result and milestone planned is whole (fuzz_support.hpp);
// - the reply to a plan renders with an HTTP status, never a success for a refused single
//   resource or transaction; with [fhir.upstream] (id-only entries deferred) every deferred entry
//   is answered 202 and nothing else is;
// - read as an upstream server's search page ([fhir.upstream]), a body ends in a page or an
//   InputError, and the page's latest update is a UTC instant that can go into a URL as it is.
#include <array>
#include <cctype>
#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

#include "core/errors.hpp"
#include "fhir/json_body.hpp"
#include "fhir/request.hpp"
#include "fhir/search_paging.hpp"
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
  }
  const std::vector<fhir::EntryOutcome> nothing_stored(plan.entries.size());
  const auto reply = fhir::render_reply(plan, nothing_stored);
  fuzz::require(reply.status >= 200 && reply.status < 600, "a reply without an HTTP status");
  if (plan.refused()) fuzz::require(reply.status >= 400, "a refused request answered as a success");

  auto deferring = plan;
  const auto deferred = fhir::defer_id_only_entries(deferring);
  const auto deferring_reply = fhir::render_reply(deferring, nothing_stored);
  std::size_t answered_202 = 0;
  if (const auto entries = deferring_reply.body.find("entry");
      entries != deferring_reply.body.end())
    for (const auto& entry : *entries)
      answered_202 += entry["response"]["status"] == "202 Accepted" ? 1 : 0;
  fuzz::require(answered_202 == deferred, "a deferred entry not answered 202, or another one was");
  fuzz::require(deferred == 0 || plan.kind == fhir::RequestKind::collection,
                "an entry deferred outside a notification");
}

// "YYYY-MM-DDThh:mm:ss[.f...]Z": digits, the separators and nothing a URL would need escaped.
bool plain_utc_instant(const std::string& t) {
  if (t.size() < 20 || t.back() != 'Z' || t[4] != '-' || t[7] != '-' || t[10] != 'T' ||
      t[13] != ':' || t[16] != ':')
    return false;
  for (std::size_t i = 0; i + 1 < t.size(); ++i) {
    const bool separator = i == 4 || i == 7 || i == 10 || i == 13 || i == 16 || i == 19;
    if (separator) {
      if (i == 19 && t[i] != '.') return false;
    } else if (!std::isdigit(static_cast<unsigned char>(t[i]))) {
      return false;
    }
  }
  return true;
}

void read_page(const fhir::Json& body) {
  try {
    const auto page = fhir::read_search_page(body);
    if (page.latest_update)
      fuzz::require(plain_utc_instant(*page.latest_update),
                    "a page's latest update that is no plain UTC instant");
  } catch (const InputError& e) {
    fuzz::require(*e.what() != '\0', "a page refused without a reason");
  }
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
    if (pick == 0) read_page(json);
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
