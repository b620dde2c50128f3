#include "fhir/resource_mapper.hpp"

#include <algorithm>

#include "core/errors.hpp"
#include "core/numeric_value.hpp"
#include "core/quantity.hpp"
#include "core/result_status.hpp"
#include "core/text.hpp"
#include "fhir/json_body.hpp"

namespace markerwatch::fhir {

namespace {

constexpr std::string_view kUcum = "http://unitsofmeasure.org";

[[noreturn]] void fail(const std::string& path, const std::string& reason) {
  throw InputError(path + ": " + reason);
}

// A member of an object, or nullptr when absent (null counts as absent).
const Json* member(const Json& object, const char* name) {
  if (!object.is_object()) return nullptr;
  auto it = object.find(name);
  if (it == object.end() || it->is_null()) return nullptr;
  return &*it;
}

std::string string_of(const Json& value, const std::string& path, std::size_t max = 200) {
  if (!is_text(value)) fail(path, "must be a string");
  auto text = value.get<std::string>();
  text::checked_text(text, path + ":", max);
  return text;
}

std::string optional_string(const Json& object, const char* name, const std::string& path,
                            std::size_t max = 200) {
  const auto* v = member(object, name);
  return v ? string_of(*v, path + "." + name, max) : std::string();
}

}  // namespace

std::string resource_type_of(const Json& resource) {
  if (!resource.is_object()) return {};
  auto it = resource.find("resourceType");
  return it != resource.end() && is_text(*it) ? it->get<std::string>() : std::string();
}

namespace {

const Json& object_of(const Json& value, const std::string& path) {
  if (!value.is_object()) fail(path, "must be an object");
  return value;
}

const Json& array_of(const Json& value, const std::string& path) {
  if (!value.is_array()) fail(path, "must be an array");
  return value;
}

struct Coding {
  std::string system, code, display;
};

// The codings of a CodeableConcept, type-checked.
std::vector<Coding> codings_of(const Json& codeable, const std::string& path) {
  object_of(codeable, path);
  std::vector<Coding> out;
  if (const auto* list = member(codeable, "coding")) {
    std::size_t i = 0;
    for (const auto& c : array_of(*list, path + ".coding")) {
      const auto at = path + ".coding[" + std::to_string(i++) + "]";
      object_of(c, at);
      out.push_back({optional_string(c, "system", at, 500), optional_string(c, "code", at),
                     optional_string(c, "display", at)});
    }
  }
  return out;
}

std::string concept_text(const Json& codeable, const std::string& path) {
  auto text = optional_string(codeable, "text", path);
  if (!text.empty()) return text;
  for (const auto& c : codings_of(codeable, path))
    if (!c.display.empty()) return c.display;
  return {};
}

// The marker a code names: LOINC first (INTEROP.md §3.1), then configured local systems.
const MarkerDefinition* marker_of(const Json& codeable, const std::string& path,
                                  const MarkerCatalog& markers) {
  const auto codings = codings_of(codeable, path);
  for (const auto& c : codings)
    if (is_loinc_system(c.system))
      if (const auto* m = markers.find_by_code(c.code, c.system)) return m;
  for (const auto& c : codings)
    if (!is_loinc_system(c.system) && !c.code.empty())
      if (const auto* m = markers.find_by_code(c.code, c.system)) return m;
  return nullptr;
}

std::string code_label(const Json& codeable, const std::string& path) {
  for (const auto& c : codings_of(codeable, path))
    if (!c.code.empty()) return text::printable(c.system, 60) + "|" + text::printable(c.code, 40);
  return "(no coding)";
}

// The kind a configured "SYSTEM|CODE" map gives a codeable, or nullopt.
std::optional<std::string> mapped_kind(const Json& codeable, const std::string& path,
                                       const std::map<std::string, std::string>& map) {
  for (const auto& c : codings_of(codeable, path)) {
    auto it = map.find(c.system + "|" + c.code);
    if (it != map.end()) return it->second;
  }
  return std::nullopt;
}

struct Time {
  ResolvedTime resolved;
  std::string raw;
  TimePrecision precision = TimePrecision::day;
};

Time time_of(const Json& value, const std::string& path, const ZoneRules& zone) {
  Time t;
  t.raw = string_of(value, path, 64);
  auto parsed = parse_iso_timestamp(t.raw);
  auto resolved = parsed ? resolve(*parsed, zone) : std::nullopt;
  if (!resolved)
    fail(path,
         "'" + text::printable(t.raw, 40) +
             "' is not a dateTime precise to the day (YYYY-MM-DD[Thh:mm:ss[.fff]][Z|+hh:mm])");
  t.resolved = *resolved;
  t.precision = parsed->precision;
  return t;
}

// effective[x] / performed[x] as dateTime or Period (start, end).
struct Span {
  std::optional<Time> start, end;
};

Span span_of(const Json& resource, const std::string& path, const std::string& prefix,
             const ZoneRules& zone) {
  Span s;
  if (const auto* dt = member(resource, (prefix + "DateTime").c_str())) {
    s.start = time_of(*dt, path + "." + prefix + "DateTime", zone);
  } else if (const auto* period = member(resource, (prefix + "Period").c_str())) {
    const auto at = path + "." + prefix + "Period";
    object_of(*period, at);
    if (const auto* start = member(*period, "start"))
      s.start = time_of(*start, at + ".start", zone);
    if (const auto* end = member(*period, "end")) s.end = time_of(*end, at + ".end", zone);
  } else if (const auto* instant = member(resource, (prefix + "Instant").c_str())) {
    s.start = time_of(*instant, path + "." + prefix + "Instant", zone);
  }
  return s;
}

std::string authority_of(const std::string& system, const MapperOptions& o) {
  auto it = o.authorities.find(system);
  return it == o.authorities.end() ? system : it->second;
}

PatientKey key_of_identifier(const Json& identifier, const std::string& path,
                             const MapperOptions& o) {
  object_of(identifier, path);
  PatientKey key;
  key.id = std::string(text::trim(optional_string(identifier, "value", path)));
  if (key.id.empty()) fail(path + ".value", "is required: the patient's identifier");
  key.authority = authority_of(optional_string(identifier, "system", path, 500), o);
  return key;
}

// The identifier of a Patient resource that names the patient here.
PatientKey key_of_patient(const Json& patient, const std::string& path, const MapperOptions& o) {
  const auto* list = member(patient, "identifier");
  if (list) {
    std::size_t i = 0;
    for (const auto& id : array_of(*list, path + ".identifier")) {
      const auto at = path + ".identifier[" + std::to_string(i++) + "]";
      object_of(id, at);
      const auto system = optional_string(id, "system", at, 500);
      if (!o.patient_identifier_system.empty() && system != o.patient_identifier_system) continue;
      if (text::trim(optional_string(id, "value", at)).empty()) continue;
      return key_of_identifier(id, at, o);
    }
  }
  fail(path + ".identifier", o.patient_identifier_system.empty()
                                 ? "the Patient has no identifier with a value"
                                 : "the Patient has no identifier of system " +
                                       text::printable(o.patient_identifier_system, 80));
}

// "Patient/<id>" or "<base>/Patient/<id>": the id, else nullopt.
std::optional<std::string> bare_patient_id(const std::string& reference) {
  const auto pos = reference.rfind("Patient/");
  if (pos == std::string::npos || (pos > 0 && reference[pos - 1] != '/')) return std::nullopt;
  auto id = reference.substr(pos + 8);
  if (id.empty() || id.size() > 64) return std::nullopt;
  for (char c : id)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.') return std::nullopt;
  return id;
}

PatientKey patient_of(const Json& resource, const std::string& path, const MapperOptions& o,
                      const Context& ctx) {
  const auto at = path + ".subject";
  const auto* subject = member(resource, "subject");
  if (!subject) fail(at, "is required: the patient this is about");
  object_of(*subject, at);
  if (const auto* identifier = member(*subject, "identifier"))
    return key_of_identifier(*identifier, at + ".identifier", o);
  const auto reference = optional_string(*subject, "reference", at, 1000);
  if (reference.empty()) fail(at, "needs an identifier or a reference");
  if (const auto* target = ctx.resolve ? ctx.resolve(reference) : nullptr) {
    if (resource_type_of(*target) != "Patient")
      fail(at + ".reference", "'" + text::printable(reference, 80) + "' is not a Patient");
    return key_of_patient(*target, "Patient '" + text::printable(reference, 80) + "'", o);
  }
  if (!o.reference_identifier_system.empty())
    if (auto id = bare_patient_id(reference))
      return {*id, authority_of(o.reference_identifier_system, o)};
  fail(at + ".reference",
       "'" + text::printable(reference, 80) +
           "' names no Patient in this Bundle and [fhir] reference_identifier_system is not set; "
           "send subject.identifier");
}

struct Reading {
  NumericValue number;
  std::string raw, unit;
};

Reading quantity_of(const Json& q, const std::string& path) {
  object_of(q, path);
  Reading r;
  const auto* value = member(q, "value");
  if (!value) fail(path + ".value", "is required");
  if (!is_decimal(*value)) fail(path + ".value", "must be a number");
  const auto number = decimal_value(*value);
  if (!number) fail(path + ".value", "must be a finite number");
  r.number.value = *number;
  r.number.text = decimal_text(*value);
  const auto comparator = optional_string(q, "comparator", path, 4);
  auto c = comparator_from_string(comparator);
  if (!c || (comparator == "="))
    fail(path + ".comparator", "'" + text::printable(comparator, 4) + "' is not <, <=, >= or >");
  r.number.comparator = *c;
  r.raw = comparator + r.number.text;
  // The UCUM code is the unit; `unit` is only its display (INTEROP.md §3.1).
  const auto system = optional_string(q, "system", path, 500);
  const auto code = optional_string(q, "code", path, 40);
  r.unit = system == kUcum && !code.empty() ? code : optional_string(q, "unit", path, 40);
  if (r.unit.empty()) r.unit = code;
  return r;
}

std::string range_text(const Json& ranges, const std::string& path) {
  std::size_t i = 0;
  for (const auto& range : array_of(ranges, path)) {
    const auto at = path + "[" + std::to_string(i++) + "]";
    object_of(range, at);
    auto bound = [&](const char* name) -> std::string {
      const auto* q = member(range, name);
      if (!q) return {};
      const auto* v = member(object_of(*q, at + "." + name), "value");
      if (!v) return {};
      if (!is_decimal(*v) || !decimal_value(*v))
        fail(at + "." + name + ".value", "must be a finite number");
      return decimal_text(*v);
    };
    const auto low = bound("low"), high = bound("high");
    if (!high.empty()) return low.empty() ? "<=" + high : low + "-" + high;
    if (!low.empty()) return ">=" + low;
    const auto text = optional_string(range, "text", at);
    if (!text.empty()) return text;
  }
  return {};
}

// The clinically relevant time of an Observation: INTEROP.md §3.1's fallback order.
Time observation_time(const Json& obs, const std::string& path, const MapperOptions& o,
                      const Context& ctx, Mapped& out) {
  auto span = span_of(obs, path, "effective", *o.zone);
  if (span.start) return *span.start;
  if (member(obs, "effectivePeriod"))
    fail(path + ".effectivePeriod.start", "is required when effectivePeriod is sent");
  if (const auto* report = ctx.report_effective ? ctx.report_effective(obs) : nullptr) {
    auto inherited = span_of(*report, "DiagnosticReport", "effective", *o.zone);
    if (inherited.start) {
      out.notes.push_back("collection time taken from the DiagnosticReport");
      return *inherited.start;
    }
  }
  if (const auto* issued = member(obs, "issued")) {
    out.notes.push_back("no effective[x]: collection time taken from issued");
    return time_of(*issued, path + ".issued", *o.zone);
  }
  fail(path + ".effective[x]", "is required: the collection time (or issued as a last resort)");
}

std::optional<ResultStatus> observation_status(const std::string& status, Mapped& out) {
  if (status == "registered") {
    out.notes.push_back("status registered: no result yet, nothing stored");
    return std::nullopt;
  }
  if (status == "unknown") {
    out.notes.push_back("status unknown: stored as preliminary, not evaluated");
    return ResultStatus::preliminary;
  }
  if (status == "deleted") return std::nullopt;  // not an R4 Observation status
  return status_from_string(status);
}

void map_observation(const Json& obs, const std::string& path, const MapperOptions& o,
                     const Context& ctx, Mapped& out) {
  const auto* status_node = member(obs, "status");
  if (!status_node) fail(path + ".status", "is required");
  const auto status_text = string_of(*status_node, path + ".status", 40);
  const auto* code = member(obs, "code");
  if (!code) fail(path + ".code", "is required");

  // The top-level code, else the components that carry a marker (INTEROP.md §3.1, f205).
  struct Part {
    const Json* holder;
    const MarkerDefinition* marker;
    std::string path, suffix;
  };
  std::vector<Part> parts;
  if (const auto* m = marker_of(*code, path + ".code", *o.markers)) {
    parts.push_back({&obs, m, path, ""});
  } else if (const auto* components = member(obs, "component")) {
    std::size_t i = 0;
    for (const auto& c : array_of(*components, path + ".component")) {
      const auto at = path + ".component[" + std::to_string(i) + "]";
      const auto* c_code = member(object_of(c, at), "code");
      if (c_code)
        if (const auto* m = marker_of(*c_code, at + ".code", *o.markers))
          parts.push_back({&c, m, at, "#component" + std::to_string(i)});
      ++i;
    }
  }
  if (parts.empty()) {
    ++out.ignored;
    out.notes.push_back("code " + code_label(*code, path + ".code") +
                        " maps to no configured marker: not stored");
    return;
  }
  const auto status = observation_status(status_text, out);
  if (!status) {
    if (status_text != "registered")
      fail(path + ".status",
           "'" + text::printable(status_text, 30) + "' is not an Observation status");
    out.ignored += static_cast<int>(parts.size());
    return;
  }

  ResultRecord base;
  base.source = "fhir";
  base.status = *status;
  base.patient = patient_of(obs, path, o, ctx);
  const auto when = observation_time(obs, path, o, ctx, out);
  base.collected_raw = when.raw;
  base.collected_at = when.resolved.utc;
  base.collected_date = when.resolved.local_date;
  base.collected_offset_assumed =
      when.resolved.offset_assumed && when.precision > TimePrecision::day;
  // Corrections replace by resource id; without one, by the business identifier.
  if (const auto id = optional_string(obs, "id", path, 64); !id.empty()) {
    base.obs_id = "Observation/" + id;
  } else if (const auto* ids = member(obs, "identifier")) {
    const auto& list = array_of(*ids, path + ".identifier");
    if (!list.empty()) {
      const auto at = path + ".identifier[0]";
      object_of(list[0], at);
      base.obs_id =
          optional_string(list[0], "system", at, 500) + "|" + optional_string(list[0], "value", at);
    }
  }
  if (const auto* issued = member(obs, "issued"))
    base.received_at = time_of(*issued, path + ".issued", *o.zone).resolved.utc;
  if (const auto* method = member(obs, "method")) {
    base.method = concept_text(*method, path + ".method");
    if (base.method.empty())
      for (const auto& c : codings_of(*method, path + ".method"))
        if (!c.code.empty()) base.method = c.code;
  }

  for (const auto& part : parts) {
    ResultRecord r = base;
    r.marker = part.marker->name;
    if (!r.obs_id.empty()) r.obs_id += part.suffix;
    if (const auto* ranges = member(*part.holder, "referenceRange"))
      r.reference_range = range_text(*ranges, part.path + ".referenceRange");
    if (removes_value(r.status)) {
      r.unit = part.marker->canonical_unit;
      out.results.push_back(std::move(r));
      continue;
    }
    Reading reading;
    if (const auto* q = member(*part.holder, "valueQuantity")) {
      reading = quantity_of(*q, part.path + ".valueQuantity");
    } else if (const auto* s = member(*part.holder, "valueString")) {
      const auto text = string_of(*s, part.path + ".valueString", 40);
      auto number = parse_numeric(text);
      if (!number)
        fail(part.path + ".valueString", "'" + text::printable(text, 40) + "' is not a number");
      reading.number = *number;
      reading.raw = std::string(to_string(number->comparator)) + number->text;
    } else if (member(*part.holder, "dataAbsentReason")) {
      ++out.ignored;
      out.notes.push_back(part.marker->name + " has no value (dataAbsentReason): not stored");
      continue;
    } else {
      fail(part.path + ".value[x]",
           "a " + part.marker->name + " result needs valueQuantity (or a numeric valueString)");
    }
    if (r.unit_raw.empty()) r.unit_raw = reading.unit;
    r.value_raw = reading.raw;
    try {
      set_reading(r, *o.markers, *part.marker, reading.number, RangeCheck::lenient);
    } catch (const InputError& e) {
      fail(part.path + ".valueQuantity", e.what());
    }
    out.results.push_back(std::move(r));
  }
}

// Procedure (INTEROP.md §3.4): the start of a completed or in-progress procedure.
void map_procedure(const Json& proc, const std::string& path, const MapperOptions& o,
                   const Context& ctx, Mapped& out) {
  const auto* status_node = member(proc, "status");
  if (!status_node) fail(path + ".status", "is required");
  const auto status = string_of(*status_node, path + ".status", 40);
  static const std::vector<std::string> known = {"preparation",      "in-progress", "not-done",
                                                 "on-hold",          "stopped",     "completed",
                                                 "entered-in-error", "unknown"};
  if (std::find(known.begin(), known.end(), status) == known.end())
    fail(path + ".status", "'" + text::printable(status, 30) + "' is not a Procedure status");
  const auto* code = member(proc, "code");
  if (!code) fail(path + ".code", "is required to know which milestone this is");
  const auto kind = mapped_kind(*code, path + ".code", o.procedures);
  if (!kind) {
    ++out.ignored;
    out.notes.push_back("Procedure code " + code_label(*code, path + ".code") +
                        " is no milestone ([fhir] procedures): not stored");
    return;
  }
  const bool removal = status == "entered-in-error";
  if (!removal && status != "completed" && status != "in-progress") {
    ++out.ignored;
    out.notes.push_back("Procedure status " + status + ": no milestone");
    return;
  }
  MilestoneRecord m;
  m.patient = patient_of(proc, path, o, ctx);
  m.kind = *kind;
  const auto span = span_of(proc, path, "performed", *o.zone);
  if (!span.start)
    fail(path + ".performed[x]", "is required as performedDateTime or performedPeriod.start");
  m.date = span.start->resolved.local_date;
  if (span.end) {
    m.end_date = span.end->resolved.local_date;
    if (m.end_date < m.date) fail(path + ".performedPeriod.end", "is before its start");
  }
  m.note = concept_text(*code, path + ".code");
  m.entered_in_error = removal;
  out.milestones.push_back(std::move(m));
}

// MedicationStatement / MedicationAdministration: the start (and the stop, when the period ends
// and the kind has a _stop partner) of a configured drug.
void map_medication(const Json& med, const std::string& type, const std::string& path,
                    const MapperOptions& o, const Context& ctx, Mapped& out) {
  const auto* status_node = member(med, "status");
  if (!status_node) fail(path + ".status", "is required");
  const auto status = string_of(*status_node, path + ".status", 40);
  const bool statement = type == "MedicationStatement";
  const std::vector<std::string> taking =
      statement ? std::vector<std::string>{"active", "completed", "stopped"}
                : std::vector<std::string>{"in-progress", "completed", "stopped"};
  const std::vector<std::string> not_taking =
      statement ? std::vector<std::string>{"intended", "not-taken", "on-hold", "unknown"}
                : std::vector<std::string>{"not-done", "on-hold", "unknown"};
  const bool removal = status == "entered-in-error";
  const bool takes = std::find(taking.begin(), taking.end(), status) != taking.end();
  if (!removal && !takes &&
      std::find(not_taking.begin(), not_taking.end(), status) == not_taking.end())
    fail(path + ".status", "'" + text::printable(status, 30) + "' is not a " + type + " status");

  const Json* codeable = member(med, "medicationCodeableConcept");
  std::string codeable_path = path + ".medicationCodeableConcept";
  if (!codeable)
    if (const auto* ref = member(med, "medicationReference")) {
      const auto reference = optional_string(object_of(*ref, path + ".medicationReference"),
                                             "reference", path + ".medicationReference", 1000);
      if (const auto* target = ctx.resolve ? ctx.resolve(reference) : nullptr) {
        codeable = member(*target, "code");
        codeable_path = "Medication.code";
      }
    }
  if (!codeable) {
    ++out.ignored;
    out.notes.push_back(type +
                        " names no medication code (medicationCodeableConcept, or a "
                        "Medication in the Bundle): not stored");
    return;
  }
  const auto kind = mapped_kind(*codeable, codeable_path, o.medications);
  if (!kind) {
    ++out.ignored;
    out.notes.push_back("medication " + code_label(*codeable, codeable_path) +
                        " is no milestone ([fhir] medications): not stored");
    return;
  }
  if (!removal && !takes) {
    ++out.ignored;
    out.notes.push_back(type + " status " + status + ": no milestone");
    return;
  }
  const auto span = span_of(med, path, "effective", *o.zone);
  if (!span.start)
    fail(path + ".effective[x]", "is required as effectiveDateTime or effectivePeriod.start");
  MilestoneRecord start;
  start.patient = patient_of(med, path, o, ctx);
  start.kind = *kind;
  start.date = span.start->resolved.local_date;
  start.note = concept_text(*codeable, codeable_path);
  start.entered_in_error = removal;
  std::optional<MilestoneRecord> stop;
  if (span.end) {
    const auto stop_kind = kind->substr(0, kind->size() - 6) + "_stop";
    if (o.kinds->role(stop_kind)) {
      stop = start;
      stop->kind = stop_kind;
      stop->date = span.end->resolved.local_date;
      if (stop->date < start.date) fail(path + ".effectivePeriod.end", "is before its start");
    }
  }
  out.milestones.push_back(std::move(start));
  if (stop) out.milestones.push_back(std::move(*stop));
}

}  // namespace

bool is_ingested_type(std::string_view t) {
  return t == "Observation" || t == "Procedure" || t == "MedicationStatement" ||
         t == "MedicationAdministration";
}

Mapped map_resource(const Json& resource, const std::string& path, const MapperOptions& options,
                    const Context& context) {
  Mapped out;
  object_of(resource, path);
  const auto type = resource_type_of(resource);
  if (type == "Observation")
    map_observation(resource, path, options, context, out);
  else if (type == "Procedure")
    map_procedure(resource, path, options, context, out);
  else if (type == "MedicationStatement" || type == "MedicationAdministration")
    map_medication(resource, type, path, options, context, out);
  else
    out.notes.push_back(text::printable(type, 40) + " is not stored");
  return out;
}

}  // namespace markerwatch::fhir
