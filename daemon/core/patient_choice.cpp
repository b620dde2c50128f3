#include "core/patient_choice.hpp"

#include "core/errors.hpp"
#include "core/text.hpp"

namespace markerwatch {

PatientKey parse_patient_key(std::string_view value, std::string_view field) {
  const auto text = text::checked_text(value, field, 200);
  const auto trimmed = text::trim(text);
  auto key = split_patient_key(trimmed);
  key.id = std::string(text::trim(key.id));
  key.authority = std::string(text::trim(key.authority));
  const bool has_authority = trimmed.find('^') != std::string_view::npos;
  if (has_authority && (key.authority.empty() || key.authority.find('^') != std::string::npos))
    throw InputError(std::string(field) + " '" + text::printable(trimmed, 60) +
                     "' is neither id nor id^authority");
  if (key.id.empty())
    throw InputError(std::string(field) + (has_authority ? " '" + text::printable(trimmed, 60) +
                                                               "' has no identifier before the '^'"
                                                         : std::string(" is empty")));
  return key;
}

PatientChoice choose_patient(const PatientKey& key, std::span<const PatientCandidate> candidates) {
  using Kind = PatientChoice::Kind;
  const PatientCandidate* unnamed = nullptr;
  for (const auto& c : candidates) {
    if (c.authority == key.authority) return {Kind::existing, c.id};
    if (c.authority.empty()) unnamed = &c;
  }
  if (!key.authority.empty())
    return unnamed ? PatientChoice{Kind::claim, unnamed->id} : PatientChoice{};
  if (candidates.size() == 1) return {Kind::existing, candidates.front().id};
  if (candidates.empty()) return {};
  throw InputError("patient " + text::printable(key.id, 60) +
                   " is stored under several assigning authorities (" +
                   text::printable(candidates[0].authority, 60) + ", " +
                   text::printable(candidates[1].authority, 60) +
                   (candidates.size() > 2 ? ", ..." : "") + "): name one as " +
                   text::printable(key.id, 60) + "^AUTHORITY");
}

}  // namespace markerwatch
