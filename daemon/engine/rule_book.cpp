#include "engine/rule_book.hpp"

#include <algorithm>

namespace markerwatch::engine {

namespace {

RuleParams params(std::optional<RiseRule> rise, std::optional<RenormRule> renorm,
                  std::optional<AbsRule> absolute, std::optional<double> half_life,
                  std::optional<double> dt_high) {
  RuleParams p;
  p.rise = rise;
  p.renorm = renorm;
  p.absolute = absolute;
  p.half_life_days = half_life;
  p.doubling_time_high_days = dt_high;
  return p;
}

}  // namespace

RuleBook RuleBook::builtin() {
  RuleBook b;
  auto& afp = b.markers_["AFP"].base;
  afp = params(RiseRule{50, 5, 14, false}, RenormRule{2, 14}, AbsRule{400, 14}, 7.0, 90.0);
  afp.flare_guard_days = 56;

  auto& pivka = b.markers_["PIVKA-II"].base;
  pivka = params(RiseRule{50, 20, 14, false}, RenormRule{2, 14}, std::nullopt, 4.0, 90.0);
  pivka.vka_suppressor = true;

  b.markers_["AFP-L3"].base =
      params(std::nullopt, std::nullopt, AbsRule{10, 14}, std::nullopt, std::nullopt);
  b.markers_["CEA"].base =
      params(RiseRule{50, 2.5, 14, false}, RenormRule{1, 14}, std::nullopt, 4.4, 90.0);
  b.markers_["CA19-9"].base =
      params(RiseRule{50, 18.5, 14, false}, RenormRule{2, 14}, std::nullopt, std::nullopt, 90.0);
  b.markers_["CA-125"].base =
      params(RiseRule{100, 0, 7, true}, RenormRule{2, 7}, std::nullopt, std::nullopt, std::nullopt);

  auto& psa = b.markers_["PSA"];
  psa.base = params(std::nullopt, std::nullopt, std::nullopt, std::nullopt, std::nullopt);
  auto& rp = psa.profiles["radical_prostatectomy"];
  rp = params(std::nullopt, std::nullopt, AbsRule{0.2, 14}, 3.2, 365.0);
  rp.uln_source = UlnSource::fixed;
  rp.fixed_uln = 0.1;
  auto& rt = psa.profiles["radiotherapy_start"];
  rt = params(RiseRule{0, 2.0, 0, false}, std::nullopt, std::nullopt, std::nullopt, 365.0);
  rt.uln_source = UlnSource::none;
  auto& sys = psa.profiles["systemic_start"];
  sys = params(RiseRule{25, 2.0, 21, false}, std::nullopt, std::nullopt, std::nullopt, 90.0);
  sys.uln_source = UlnSource::none;
  sys.flare_guard_days = 84;
  return b;
}

const MarkerRules& RuleBook::marker(std::string_view name) const {
  static const MarkerRules kNone{};
  auto it = markers_.find(name);
  return it == markers_.end() ? kNone : it->second;
}

MarkerRules& RuleBook::marker_mutable(const std::string& name) {
  return markers_[name];
}

std::pair<const RuleParams*, std::string_view> RuleBook::params_for(
    std::string_view marker_name, const std::vector<std::string>& kinds) const {
  const auto& m = marker(marker_name);
  if (m.profiles.empty() || kinds.empty()) return {&m.base, ""};
  for (const char* preferred : {"radical_prostatectomy", "systemic_start", "radiotherapy_start"})
    if (std::find(kinds.begin(), kinds.end(), preferred) != kinds.end())
      if (auto it = m.profiles.find(preferred); it != m.profiles.end())
        return {&it->second, it->first};
  std::vector<std::string> sorted = kinds;
  std::sort(sorted.begin(), sorted.end());
  for (const auto& k : sorted)
    if (auto it = m.profiles.find(k); it != m.profiles.end()) return {&it->second, it->first};
  return {&m.base, ""};
}

}  // namespace markerwatch::engine
