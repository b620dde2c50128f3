#pragma once
// FHIR R4 resources -> the records ingest stores (INTEROP.md §3): Observation -> ResultRecords,
// Procedure and MedicationStatement/-Administration -> milestones. Pure: no I/O, no clock; the
// caller supplies the catalogues, the zone for times without an offset, and how references in
// the same Bundle resolve.
#include <functional>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "core/markers.hpp"
#include "core/milestone_kinds.hpp"
#include "core/records.hpp"
#include "core/timestamp.hpp"

namespace markerwatch::fhir {

using Json = nlohmann::json;

struct MapperOptions {
  const MarkerCatalog* markers = nullptr;
  const MilestoneKinds* kinds = nullptr;
  const ZoneRules* zone = nullptr;
  std::string patient_identifier_system;    // empty: the first identifier with a value
  std::string reference_identifier_system;  // empty: bare Patient/<id> references are refused
  std::map<std::string, std::string> authorities;  // identifier system -> stored authority
  std::map<std::string, std::string> procedures;   // "SYSTEM|CODE" -> milestone kind
  std::map<std::string, std::string> medications;  // "SYSTEM|CODE" -> start kind
};

// What a resource's references can reach inside its Bundle.
struct Context {
  // A referenced resource ("Patient/1", "urn:uuid:...", an absolute URL), or nullptr.
  std::function<const Json*(const std::string& reference)> resolve;
  // The effective[x] of a DiagnosticReport that lists this Observation in `result`, or nullptr.
  std::function<const Json*(const Json& observation)> report_effective;
};

// One resource's contribution. An invalid resource throws InputError whose text starts with the
// FHIRPath of the offending element ("Observation.valueQuantity.unit: ...").
struct Mapped {
  std::vector<ResultRecord> results;
  std::vector<MilestoneRecord> milestones;  // to add, or to remove (entered_in_error)
  int ignored = 0;                          // observations for no configured marker
  std::vector<std::string> notes;           // why something was ignored, fallbacks used
};

// `path` names the resource in error texts ("Observation", "Bundle.entry[2].resource").
Mapped map_resource(const Json& resource, const std::string& path, const MapperOptions& options,
                    const Context& context);

// resourceType when it is a string, else "".
std::string resource_type_of(const Json& resource);

// The resource types map_resource turns into records; others are accepted and not stored.
bool is_ingested_type(std::string_view resource_type);

}  // namespace markerwatch::fhir
