#include "engine/anchors.hpp"

#include <algorithm>

namespace markerwatch::engine {

namespace {

constexpr int kVkaWashoutDays = 30;

bool applies_to(const Milestone& m, const std::string& marker) {
  return m.markers.empty() ||
         std::find(m.markers.begin(), m.markers.end(), marker) != m.markers.end();
}

// E5: anchors of one marker, same-day anchors collapsed (curative if any member is).
std::vector<AnchorGroup> anchors_for(const PatientHistory& h, const std::string& marker,
                                     const MilestoneKinds& kinds, const RuleBook& rules) {
  // A patient has a few milestones: a sorted vector of days serves better than maps.
  struct Day {
    int day;
    std::vector<std::string> kinds;
    bool curative = false;
  };
  std::vector<Day> by_day;
  for (const auto& m : h.milestones) {
    if (!applies_to(m, marker)) continue;
    auto role = kinds.role(m.kind);
    if (!role || *role == MilestoneRole::context) continue;
    auto at = std::lower_bound(by_day.begin(), by_day.end(), m.day,
                               [](const Day& d, int day) { return d.day < day; });
    if (at == by_day.end() || at->day != m.day) at = by_day.insert(at, Day{m.day, {}, false});
    if (std::find(at->kinds.begin(), at->kinds.end(), m.kind) == at->kinds.end())
      at->kinds.push_back(m.kind);
    at->curative = at->curative || *role == MilestoneRole::curative_anchor;
  }
  std::vector<AnchorGroup> out;
  out.reserve(by_day.size());
  for (auto& [day, list, curative] : by_day) {
    const auto [params, profile_kind] = rules.params_for(marker, list);
    // Display order: the profile-defining kind first, then curative kinds, then the rest.
    if (list.size() > 1) {
      auto rank = [&, &profile = profile_kind](const std::string& k) {
        if (k == profile) return 0;
        return kinds.role(k) == MilestoneRole::curative_anchor ? 1 : 2;
      };
      std::stable_sort(list.begin(), list.end(), [&](const auto& a, const auto& b) {
        const int ra = rank(a), rb = rank(b);
        return ra != rb ? ra < rb : a < b;
      });
    }
    std::string joined = list.front();
    for (std::size_t i = 1; i < list.size(); ++i) joined.append(1, '+').append(list[i]);
    const bool systemic = std::find(list.begin(), list.end(), "systemic_start") != list.end();
    out.push_back({{std::move(joined), day, curative}, std::move(list), params, systemic});
  }
  return out;
}

}  // namespace

VkaCalendar::VkaCalendar(const PatientHistory& h, const std::string& marker) {
  for (const auto& m : h.milestones) {
    if (!applies_to(m, marker)) continue;
    if (m.kind == "vka_start") {
      starts_.push_back(m);
    } else if (m.kind == "vka_stop") {
      stops_.push_back(m.day);
    }
  }
  std::sort(starts_.begin(), starts_.end(),
            [](const auto& a, const auto& b) { return a.day < b.day; });
}

bool VkaCalendar::active(int day) const {
  const Milestone* latest = nullptr;
  for (const auto& s : starts_)
    if (s.day <= day) latest = &s;
  if (!latest) return false;
  auto ends_it = [&](int stop) { return stop >= latest->day && day - stop > kVkaWashoutDays; };
  if (latest->end_day && ends_it(*latest->end_day)) return false;
  return std::none_of(stops_.begin(), stops_.end(), ends_it);
}

MarkerMilestones marker_milestones(const PatientHistory& h, const std::string& marker,
                                   const MilestoneKinds& kinds, const RuleBook& rules) {
  return {marker, anchors_for(h, marker, kinds, rules), rules.params_for(marker, {}).first,
          VkaCalendar(h, marker)};
}

}  // namespace markerwatch::engine
