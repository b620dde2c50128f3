#pragma once
// The marker table of RULES.md §1: which codes mean which marker, its canonical unit, the unit
// conversions it accepts and its upper limit of normal. Built-in defaults; settings extend them.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace markerwatch {

struct LocalCode {
  std::string system;  // empty: any non-LOINC coding system
  std::string code;
};

struct MarkerDefinition {
  std::string name;  // canonical: AFP, PIVKA-II, AFP-L3, CEA, CA19-9, CA-125, PSA
  std::vector<std::string> aliases;
  std::vector<std::string> loinc_codes;
  std::vector<LocalCode> local_codes;
  std::string canonical_unit;
  std::map<std::string, double> unit_factors;  // accepted unit -> factor to the canonical unit
  // Units of another assay family: stored unconverted as their own method group, never mixed
  // with the canonical series (PIVKA-II in ng/mL).
  std::vector<std::string> separate_group_units;
  double uln = 0.0;  // default upper limit of normal; the rule parameters live in engine::RuleBook
};

// Where a unit leads for one marker.
struct UnitMapping {
  double factor = 1.0;
  std::string stored_unit;    // canonical unit, or the separate-group unit as received
  std::string method_suffix;  // non-empty for a separate assay family
};

// Unit spellings differ between feeds (UCUM "[IU]/mL", legacy "IU/ml", "ug/l"); this folds them
// to one comparison key. It never folds prefixes into each other (mIU stays distinct from IU).
std::string unit_key(std::string_view unit);

class MarkerCatalog {
 public:
  static MarkerCatalog builtin();

  // Adds or replaces a definition (used by settings for overrides and extensions).
  void put(MarkerDefinition def);
  MarkerDefinition* find_mutable(std::string_view canonical_name);

  // Canonical name, alias (case-insensitive, spaces ignored) or LOINC code.
  const MarkerDefinition* find(std::string_view name_alias_or_loinc) const;
  // A coded observation: LOINC when the system says so, else a configured local code.
  const MarkerDefinition* find_by_code(std::string_view code, std::string_view system) const;
  // The marker's mapping for a unit as received; nullptr when the unit does not convert. Valid as
  // long as the catalogue is unchanged.
  const UnitMapping* map_unit(const MarkerDefinition& marker, std::string_view unit) const;

  const std::vector<MarkerDefinition>& all() const { return markers_; }

 private:
  void reindex();
  std::vector<MarkerDefinition> markers_;
  // Normalised name/alias/LOINC -> index into markers_: lookups are per result, keep them cheap.
  std::map<std::string, std::size_t, std::less<>> by_key_;
  // The markers whose canonical name, as written, finds them: the engine and the mappers look
  // markers up by that name per value, and comparing a few names costs less than normalising.
  std::vector<std::size_t> named_;
  // Per marker (same order as markers_): normalised unit -> mapping.
  std::vector<std::map<std::string, UnitMapping, std::less<>>> units_;
};

bool is_loinc_system(std::string_view system);

}  // namespace markerwatch
