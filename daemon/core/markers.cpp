#include "core/markers.hpp"

#include <algorithm>

#include "core/text.hpp"

namespace markerwatch {

namespace {

std::string name_key(std::string_view s) {
  std::string out;
  for (char c : s)
    if (!text::is_space(c)) out.push_back(text::ascii_lower(c));
  return out;
}

}  // namespace

std::string unit_key(std::string_view unit) {
  // Legacy all-capitals feeds ("NG/ML", "MG/DL") mean the lower-case prefixes; no lab unit uses
  // mega or peta, so case folding is safe, while the prefix letter itself is always kept.
  std::string out;
  out.reserve(unit.size());
  for (char c : text::trim(unit)) {
    if (c == '[' || c == ']' || text::is_space(c)) continue;
    out.push_back(text::ascii_lower(c));
  }
  // "mcg" and the micro sign are the same prefix as "u".
  for (std::string_view micro :
       {std::string_view("mcg"), std::string_view("\xC2\xB5g"), std::string_view("\xCE\xBCg")}) {
    if (out.starts_with(micro)) out.replace(0, micro.size(), "ug");
  }
  return out;
}

bool is_loinc_system(std::string_view system) {
  const auto s = text::trim(system);
  return s == "LN" || s == "http://loinc.org" || text::iequals(s, "LOINC");
}

MarkerCatalog MarkerCatalog::builtin() {
  MarkerCatalog c;
  c.put({"AFP",
         {"alpha-fetoprotein", "AFP-serum"},
         {"1834-1", "19176-7", "83073-7", "53962-7"},
         {},
         "ng/mL",
         {{"ng/mL", 1.0}, {"ug/L", 1.0}, {"IU/mL", 1.21}, {"kIU/L", 1.21}},
         {},
         10.0});
  c.put({"PIVKA-II",
         {"DCP", "PIVKA2", "PIVKA II", "des-gamma-carboxy prothrombin"},
         {},
         {},
         "mAU/mL",
         {{"mAU/mL", 1.0}},
         {"ng/mL"},
         40.0});
  c.put({"AFP-L3", {"AFP-L3%", "AFPL3", "AFP-L3 %"}, {"42332-7"}, {}, "%", {{"%", 1.0}}, {}, 10.0});
  c.put({"CEA",
         {"carcinoembryonic antigen"},
         {"2039-6", "19166-8"},
         {},
         "ng/mL",
         {{"ng/mL", 1.0}, {"ug/L", 1.0}},
         {},
         5.0});
  c.put({"CA19-9",
         {"CA 19-9", "CA199", "CA-19-9"},
         {"24108-3", "83084-4"},
         {},
         "U/mL",
         {{"U/mL", 1.0}, {"kU/L", 1.0}},
         {},
         37.0});
  c.put({"CA-125",
         {"CA125", "CA 125"},
         {"10334-1", "83082-8"},
         {},
         "U/mL",
         {{"U/mL", 1.0}, {"kU/L", 1.0}},
         {},
         35.0});
  c.put({"PSA",
         {"prostate specific antigen", "PSA total"},
         {"2857-1", "83112-3", "35741-8"},
         {},
         "ng/mL",
         {{"ng/mL", 1.0}, {"ug/L", 1.0}},
         {},
         4.0});
  return c;
}

void MarkerCatalog::put(MarkerDefinition def) {
  if (auto* existing = find_mutable(def.name))
    *existing = std::move(def);
  else
    markers_.push_back(std::move(def));
  reindex();
}

void MarkerCatalog::reindex() {
  by_key_.clear();
  units_.assign(markers_.size(), {});
  for (std::size_t i = 0; i < markers_.size(); ++i) {
    const auto& m = markers_[i];
    for (const auto& [name, factor] : m.unit_factors)
      units_[i].emplace(unit_key(name), UnitMapping{factor, m.canonical_unit, {}});
    for (const auto& name : m.separate_group_units)
      units_[i].emplace(unit_key(name), UnitMapping{1.0, name, name});
  }
  // Names and aliases first, then LOINC codes, each keeping its first owner.
  for (std::size_t i = 0; i < markers_.size(); ++i) {
    by_key_.emplace(name_key(markers_[i].name), i);
    for (const auto& a : markers_[i].aliases) by_key_.emplace(name_key(a), i);
  }
  for (std::size_t i = 0; i < markers_.size(); ++i)
    for (const auto& code : markers_[i].loinc_codes) by_key_.emplace(name_key(code), i);
  named_.clear();
  for (std::size_t i = 0; i < markers_.size(); ++i)
    if (by_key_.at(name_key(markers_[i].name)) == i) named_.push_back(i);
}

MarkerDefinition* MarkerCatalog::find_mutable(std::string_view canonical_name) {
  for (auto& m : markers_)
    if (m.name == canonical_name) return &m;
  return nullptr;
}

const MarkerDefinition* MarkerCatalog::find(std::string_view key) const {
  for (auto i : named_)
    if (markers_[i].name == key) return &markers_[i];
  auto it = by_key_.find(name_key(key));
  return it == by_key_.end() ? nullptr : &markers_[it->second];
}

const MarkerDefinition* MarkerCatalog::find_by_code(std::string_view code,
                                                    std::string_view system) const {
  code = text::trim(code);
  system = text::trim(system);
  if (code.empty()) return nullptr;
  if (is_loinc_system(system)) {
    for (const auto& m : markers_)
      if (std::find(m.loinc_codes.begin(), m.loinc_codes.end(), code) != m.loinc_codes.end())
        return &m;
    return nullptr;
  }
  for (const auto& m : markers_)
    for (const auto& lc : m.local_codes)
      if (lc.code == code && (lc.system.empty() || lc.system == system)) return &m;
  return nullptr;
}

const UnitMapping* MarkerCatalog::map_unit(const MarkerDefinition& marker,
                                           std::string_view unit) const {
  const auto key = unit_key(unit);
  if (key.empty()) return nullptr;
  // Only definitions held by this catalogue have an index (std::less orders any two pointers).
  const std::less<const MarkerDefinition*> before;
  if (markers_.empty() || before(&marker, markers_.data()) ||
      !before(&marker, markers_.data() + markers_.size()))
    return nullptr;
  const auto index = static_cast<std::size_t>(&marker - markers_.data());
  auto it = units_[index].find(key);
  if (it == units_[index].end()) return nullptr;
  return &it->second;
}

}  // namespace markerwatch
