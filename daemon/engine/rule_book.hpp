#pragma once
// The parameters of RULES.md §6: per marker, with per-anchor-kind profiles. Built-in defaults;
// settings override them key by key.
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace markerwatch::engine {

struct RiseRule {
  double pct = 50.0;
  double abs = 0.0;
  int confirm_days = 14;
  bool only_if_never_normalized = false;
  bool operator==(const RiseRule&) const = default;
};

struct RenormRule {
  double k = 2.0;
  int confirm_days = 14;
  bool operator==(const RenormRule&) const = default;
};

struct AbsRule {
  double threshold = 0.0;
  int confirm_days = 14;
  bool operator==(const AbsRule&) const = default;
};

// Where a value's upper limit of normal comes from in an episode.
enum class UlnSource {
  results,  // the result's own reference range, else the marker default (no profile)
  fixed,    // the profile's value for every value (PSA after prostatectomy: 0.1)
  none,     // no ULN: the rules that need one do not apply and alerts never resolve by themselves
};

struct RuleParams {
  UlnSource uln_source = UlnSource::results;
  double fixed_uln = 0.0;
  std::optional<RiseRule> rise;
  std::optional<RenormRule> renorm;
  std::optional<AbsRule> absolute;
  std::optional<double> half_life_days;  // off: neither residual rule, no A_HL
  int nonorm_confirm_days = 14;
  std::optional<double> doubling_time_high_days;  // PROGRESSION is high below it
  int flare_guard_days = 0;                       // after systemic_start; 0 = off
  bool vka_suppressor = false;
  bool operator==(const RuleParams&) const = default;
};

struct MarkerRules {
  RuleParams base;
  std::map<std::string, RuleParams, std::less<>> profiles;  // anchor kind -> parameters
};

class RuleBook {
 public:
  static RuleBook builtin();

  // Unknown markers have every rule off.
  const MarkerRules& marker(std::string_view name) const;
  MarkerRules& marker_mutable(const std::string& name);

  // The profile for an episode whose (collapsed) anchor has these kinds: radical_prostatectomy >
  // systemic_start > radiotherapy_start > any other kind with a profile (alphabetical) > base.
  // Returns the chosen profile's kind ("" for the marker default).
  std::pair<const RuleParams*, std::string_view> params_for(
      std::string_view marker, const std::vector<std::string>& kinds) const;

  const std::map<std::string, MarkerRules, std::less<>>& all() const { return markers_; }

 private:
  std::map<std::string, MarkerRules, std::less<>> markers_;
};

}  // namespace markerwatch::engine
