#pragma once
// A FHIR request body -> what to store, and what to answer (INTEROP.md §3.3): a single resource,
// or a batch, transaction or collection Bundle whose entries may refer to each other. Pure:
// planning happens before the writer, the reply is rendered from what the writer stored.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "fhir/json_body.hpp"
#include "fhir/resource_mapper.hpp"

namespace markerwatch::fhir {

enum class RequestKind { resource, batch, transaction, collection };

struct EntryPlan {
  std::string resource_type;
  Mapped mapped;
  std::optional<std::string> error;    // refused: "<FHIRPath>: <reason>"
  std::string issue_code = "invalid";  // OperationOutcome issue type for the refusal
  // A subscription notification's entry that names a resource without carrying it ("id-only").
  bool id_only = false;
  // Left to the search on the upstream server (defer_id_only_entries): nothing stored, no error.
  bool deferred = false;
};

struct RequestPlan {
  RequestKind kind = RequestKind::resource;
  std::string control_id;  // "Observation/<id>/_history/<version>", "Bundle/<id>", or ""
  std::vector<EntryPlan> entries;
  // A transaction with a refused entry, or a refused single resource: nothing may be stored.
  bool refused() const;
};

// `endpoint` is the resource type the URL names ("Observation" for [base]/Observation) or "" for
// [base]. InputError when the body is no resource this endpoint takes at all.
RequestPlan plan_request(const Json& body, std::string_view endpoint, const MapperOptions& options);

// Marks the plan's id-only notification entries as deferred: with [fhir.upstream] the search there
// reads the resources they name, so they are answered 202 and refuse nothing. Returns how many.
std::size_t defer_id_only_entries(RequestPlan& plan);

// What the writer did with each entry (same order as the plan's).
struct EntryOutcome {
  int stored = 0;                    // results and milestones added, changed or removed
  int unchanged = 0;                 // already stored exactly so
  std::optional<std::string> error;  // refused while storing (e.g. an ambiguous correction)
};

struct Reply {
  unsigned status = 200;
  Json body;  // OperationOutcome or a batch-/transaction-response Bundle
};

Reply render_reply(const RequestPlan& plan, const std::vector<EntryOutcome>& outcomes);
// An OperationOutcome with one error issue.
Reply refusal(unsigned status, const std::string& issue_code, const std::string& diagnostics);
// An OperationOutcome with one informational issue.
Reply notice(unsigned status, const std::string& diagnostics);

}  // namespace markerwatch::fhir
