#include "fhir/request.hpp"

#include <map>

#include "core/errors.hpp"
#include "core/text.hpp"

namespace markerwatch::fhir {

namespace {

// "Type/id" of a resource, or "".
std::string local_reference(const Json& resource) {
  const auto type = resource_type_of(resource);
  auto it = resource.find("id");
  if (type.empty() || it == resource.end() || !is_text(*it)) return {};
  return type + "/" + it->get<std::string>();
}

// The last two segments of a reference ("http://x/fhir/Patient/1" -> "Patient/1").
std::string tail_reference(const std::string& reference) {
  const auto last = reference.rfind('/');
  if (last == std::string::npos || last == 0) return reference;
  const auto before = reference.rfind('/', last - 1);
  return before == std::string::npos ? reference : reference.substr(before + 1);
}

std::string string_member(const Json& object, const char* name) {
  if (!object.is_object()) return {};
  auto it = object.find(name);
  return it != object.end() && is_text(*it) ? it->get<std::string>() : std::string();
}

std::string control_id_of(const Json& resource) {
  auto id = local_reference(resource);
  if (id.empty()) return {};
  if (const auto meta = resource.find("meta"); meta != resource.end()) {
    const auto version = string_member(*meta, "versionId");
    if (!version.empty()) id += "/_history/" + version;
  }
  return text::printable(id, 200);
}

// What a Bundle's entries can reach: resources by fullUrl and by Type/id, and which
// DiagnosticReport lists which Observation.
class BundleIndex {
 public:
  explicit BundleIndex(const Json& entries) {
    for (const auto& entry : entries) {
      if (!entry.is_object()) continue;
      auto it = entry.find("resource");
      if (it == entry.end() || !it->is_object()) continue;
      const auto full_url = string_member(entry, "fullUrl");
      if (!full_url.empty()) by_reference_.emplace(full_url, &*it);
      const auto local = local_reference(*it);
      if (!local.empty()) by_reference_.emplace(local, &*it);
    }
    for (const auto& entry : entries) {
      if (!entry.is_object()) continue;
      auto it = entry.find("resource");
      if (it == entry.end() || resource_type_of(*it) != "DiagnosticReport") continue;
      auto results = it->find("result");
      if (results == it->end() || !results->is_array()) continue;
      for (const auto& ref : *results) {
        const auto reference = string_member(ref, "reference");
        if (reference.empty()) continue;
        reports_.emplace(reference, &*it);
        reports_.emplace(tail_reference(reference), &*it);
      }
    }
  }

  Context context(const std::string& full_url) const {
    Context c;
    c.resolve = [this](const std::string& reference) -> const Json* {
      auto it = by_reference_.find(reference);
      if (it == by_reference_.end()) it = by_reference_.find(tail_reference(reference));
      return it == by_reference_.end() ? nullptr : it->second;
    };
    c.report_effective = [this, full_url](const Json& observation) -> const Json* {
      for (const auto& key : {full_url, local_reference(observation)}) {
        if (key.empty()) continue;
        auto it = reports_.find(key);
        if (it == reports_.end()) it = reports_.find(tail_reference(key));
        if (it != reports_.end()) return it->second;
      }
      return nullptr;
    };
    return c;
  }

 private:
  std::map<std::string, const Json*> by_reference_;
  std::map<std::string, const Json*> reports_;
};

EntryPlan plan_resource(const Json& resource, const std::string& path, const MapperOptions& options,
                        const Context& context) {
  EntryPlan plan;
  plan.resource_type = resource_type_of(resource);
  try {
    plan.mapped = map_resource(resource, path, options, context);
  } catch (const InputError& e) {
    plan.error = e.what();
  }
  return plan;
}

// A batch or transaction entry's request: POST or PUT of the entry's resource type; anything
// else is refused (markerwatch receives results, it is not a FHIR repository).
std::optional<std::string> request_problem(const Json& entry, const std::string& path,
                                           const std::string& resource_type) {
  auto it = entry.find("request");
  if (it == entry.end() || !it->is_object())
    return path + ".request: is required in a batch or transaction";
  const auto& request = *it;
  const auto method = string_member(request, "method");
  const auto url = string_member(request, "url");
  if (method != "POST" && method != "PUT")
    return path + ".request.method: " + text::printable(method, 10) +
           " is not supported; this server only receives resources (POST, PUT)";
  if (url.find('$') != std::string::npos)
    return path + ".request.url: operations ('" + text::printable(url, 60) + "') are not supported";
  for (const char* precondition : {"ifMatch", "ifNoneMatch", "ifModifiedSince"})
    if (request.contains(precondition))
      return path + ".request." + precondition +
             ": version preconditions are not supported (results are stored by identity)";
  const auto url_type = url.substr(0, url.find_first_of("/?"));
  if (url_type != resource_type)
    return path + ".request.url: '" + text::printable(url, 60) + "' does not name the entry's " +
           text::printable(resource_type, 40);
  return std::nullopt;
}

Json issue(const std::string& severity, const std::string& code, const std::string& diagnostics) {
  Json i = {{"severity", severity}, {"code", code}};
  // "<FHIRPath>: <reason>" gives the expression separately as well.
  const auto colon = diagnostics.find(": ");
  if (colon != std::string::npos && colon > 0 && diagnostics.find(' ') >= colon &&
      diagnostics.find('\'') > colon)
    i["expression"] = Json::array({diagnostics.substr(0, colon)});
  i["diagnostics"] = diagnostics;
  return i;
}

Json operation_outcome(Json issues) {
  return {{"resourceType", "OperationOutcome"}, {"issue", std::move(issues)}};
}

// The informational outcome of one accepted entry.
Json entry_outcome(const EntryPlan& plan, const EntryOutcome& outcome) {
  Json issues = Json::array();
  std::string summary = "stored " + std::to_string(outcome.stored);
  if (outcome.unchanged > 0) summary += ", unchanged " + std::to_string(outcome.unchanged);
  if (plan.mapped.ignored > 0) summary += ", ignored " + std::to_string(plan.mapped.ignored);
  issues.push_back(issue("information", "informational", summary));
  for (const auto& note : plan.mapped.notes)
    issues.push_back(issue("information", "informational", note));
  return operation_outcome(std::move(issues));
}

std::string status_line(unsigned status) {
  switch (status) {
    case 200:
      return "200 OK";
    case 201:
      return "201 Created";
    case 202:
      return "202 Accepted";
    default:
      return "422 Unprocessable Entity";
  }
}

}  // namespace

bool RequestPlan::refused() const {
  if (kind != RequestKind::transaction && kind != RequestKind::resource) return false;
  for (const auto& e : entries)
    if (e.error) return true;
  return false;
}

RequestPlan plan_request(const Json& body, std::string_view endpoint,
                         const MapperOptions& options) {
  RequestPlan plan;
  if (!body.is_object()) throw InputError("the body must be a JSON object (a FHIR resource)");
  const auto type = resource_type_of(body);
  if (type.empty()) throw InputError("resourceType: is required and must be a string");
  if (!endpoint.empty() && type != endpoint)
    throw InputError("resourceType: " + text::printable(type, 40) + " cannot be posted to /fhir/" +
                     std::string(endpoint));
  plan.control_id = control_id_of(body);
  if (type != "Bundle") {
    if (!is_ingested_type(type))
      throw InputError("resourceType: " + text::printable(type, 40) +
                       " is not accepted (Observation, Procedure, MedicationStatement, "
                       "MedicationAdministration, or a Bundle of them)");
    plan.entries.push_back(plan_resource(body, type, options, Context{}));
    return plan;
  }

  const auto bundle_type = string_member(body, "type");
  if (bundle_type == "transaction")
    plan.kind = RequestKind::transaction;
  else if (bundle_type == "batch")
    plan.kind = RequestKind::batch;
  else if (bundle_type == "collection" || bundle_type == "history" || bundle_type == "searchset")
    plan.kind = RequestKind::collection;  // related resources, or a subscription notification
  else
    throw InputError("Bundle.type: '" + text::printable(bundle_type, 30) +
                     "' is not accepted (transaction, batch, collection, history, searchset)");
  static const Json no_entries = Json::array();
  const Json* entries = &no_entries;
  if (auto it = body.find("entry"); it != body.end() && !it->is_null()) {
    if (!it->is_array()) throw InputError("Bundle.entry: must be an array");
    entries = &*it;
  }
  const BundleIndex index(*entries);
  std::size_t i = 0;
  for (const auto& entry : *entries) {
    const auto path = "Bundle.entry[" + std::to_string(i++) + "]";
    EntryPlan entry_plan;
    if (!entry.is_object()) {
      entry_plan.error = path + ": must be an object";
      plan.entries.push_back(std::move(entry_plan));
      continue;
    }
    auto resource = entry.find("resource");
    const std::string resource_type =
        resource == entry.end() ? std::string() : resource_type_of(*resource);
    std::optional<std::string> problem;
    if (plan.kind != RequestKind::collection) problem = request_problem(entry, path, resource_type);
    if (!problem && resource == entry.end()) {
      entry_plan.id_only = bundle_type == "history";
      problem = path + ".resource: is required" +
                (entry_plan.id_only
                     ? std::string(" (an id-only subscription notification cannot be followed up "
                                   "without [fhir.upstream]: set the Subscription's content to "
                                   "full-resource)")
                     : std::string());
    } else if (!problem && resource_type.empty())
      problem = path + ".resource.resourceType: is required and must be a string";
    if (problem) {
      entry_plan.error = *problem;
      entry_plan.issue_code =
          problem->find("not supported") != std::string::npos ? "not-supported" : "invalid";
      entry_plan.resource_type = resource_type;
      plan.entries.push_back(std::move(entry_plan));
      continue;
    }
    plan.entries.push_back(plan_resource(*resource, path + ".resource", options,
                                         index.context(string_member(entry, "fullUrl"))));
  }
  return plan;
}

std::size_t defer_id_only_entries(RequestPlan& plan) {
  std::size_t deferred = 0;
  for (auto& entry : plan.entries) {
    if (!entry.id_only) continue;
    entry.error.reset();
    entry.deferred = true;
    ++deferred;
  }
  return deferred;
}

Reply render_reply(const RequestPlan& plan, const std::vector<EntryOutcome>& outcomes) {
  auto error_of = [&](std::size_t i) -> std::optional<std::string> {
    if (plan.entries[i].error) return plan.entries[i].error;
    return i < outcomes.size() ? outcomes[i].error : std::nullopt;
  };
  auto outcome_of = [&](std::size_t i) {
    return i < outcomes.size() ? outcomes[i] : EntryOutcome{};
  };
  if (plan.kind == RequestKind::resource || plan.kind == RequestKind::transaction) {
    Json issues = Json::array();
    for (std::size_t i = 0; i < plan.entries.size(); ++i)
      if (auto e = error_of(i)) issues.push_back(issue("error", plan.entries[i].issue_code, *e));
    if (!issues.empty()) {
      if (plan.kind == RequestKind::transaction)
        issues.push_back(
            issue("information", "informational", "transaction refused: nothing of it was stored"));
      return {plan.kind == RequestKind::transaction ? 400u : 422u,
              operation_outcome(std::move(issues))};
    }
  }
  if (plan.kind == RequestKind::resource) {
    const auto o = outcome_of(0);
    return {o.stored > 0 ? 201u : 200u, entry_outcome(plan.entries[0], o)};
  }
  Json bundle = {
      {"resourceType", "Bundle"},
      {"type", plan.kind == RequestKind::transaction ? "transaction-response" : "batch-response"},
      {"entry", Json::array()}};
  for (std::size_t i = 0; i < plan.entries.size(); ++i) {
    Json response;
    if (plan.entries[i].deferred) {
      response = {{"status", status_line(202)},
                  {"outcome", operation_outcome(Json::array({issue(
                                  "information", "informational",
                                  "the resource is read by the search on the upstream server "
                                  "([fhir.upstream])")}))}};
    } else if (auto e = error_of(i)) {
      response = {{"status", status_line(422)},
                  {"outcome", operation_outcome(
                                  Json::array({issue("error", plan.entries[i].issue_code, *e)}))}};
    } else {
      const auto o = outcome_of(i);
      response = {{"status", status_line(o.stored > 0 ? 201 : 200)},
                  {"outcome", entry_outcome(plan.entries[i], o)}};
    }
    bundle["entry"].push_back({{"response", std::move(response)}});
  }
  return {200, std::move(bundle)};
}

Reply refusal(unsigned status, const std::string& issue_code, const std::string& diagnostics) {
  return {status, operation_outcome(Json::array({issue("error", issue_code, diagnostics)}))};
}

Reply notice(unsigned status, const std::string& diagnostics) {
  return {status,
          operation_outcome(Json::array({issue("information", "informational", diagnostics)}))};
}

}  // namespace markerwatch::fhir
