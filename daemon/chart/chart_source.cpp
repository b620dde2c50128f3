#include "chart/chart_source.hpp"

#include "core/calendar.hpp"
#include "core/result_status.hpp"
#include "core/text.hpp"
#include "store/alert_store.hpp"
#include "store/result_store.hpp"

namespace markerwatch::chart {

namespace {

bool applies_to(const std::string& markers, const std::string& marker) {
  if (markers.empty()) return true;
  for (auto m : text::split(markers, ';'))
    if (m == marker) return true;
  return false;
}

}  // namespace

ChartData load_chart(store::Database& db, const MarkerCatalog& markers, const std::string& patient,
                     const std::string& marker_name) {
  const auto* marker = markers.find(marker_name);
  if (!marker) throw InputError("unknown marker '" + text::printable(marker_name, 40) + "'");
  store::ResultStore results(db);
  if (results.patients(patient).empty())
    throw PatientNotFound("no such patient: " + text::printable(patient, 60));

  ChartData d;
  d.title = marker->name + ", patient " + patient;
  d.unit = marker->canonical_unit;
  if (marker->uln > 0) d.uln = marker->uln;
  for (const auto& r : results.results(patient, marker->name, true)) {
    const auto day = day_number(r.collected_date);
    // Another assay family (its own method group and unit) is not on this scale.
    if (!r.value || !day || r.unit != marker->canonical_unit) continue;
    const auto status = status_from_string(r.status);
    d.points.push_back({*day, *r.value,
                        comparator_from_string(r.comparator).value_or(Comparator::none),
                        status && counts_for_evaluation(*status)});
  }

  const auto rows = results.milestones(patient);
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const auto& m = rows[i];
    if (!applies_to(m.markers, marker->name)) continue;
    const auto day = day_number(m.date);
    if (!day) continue;
    Milestone out{*day, std::nullopt, m.kind, m.note};
    if (auto end = day_number(m.end_date)) {
      out.end_day = *end;
    } else if (m.kind.ends_with("_start")) {
      const auto stop = m.kind.substr(0, m.kind.size() - 6) + "_stop";
      for (std::size_t j = 0; j < rows.size(); ++j)
        if (rows[j].kind == stop && rows[j].date >= m.date &&
            applies_to(rows[j].markers, marker->name)) {
          if (auto end_day = day_number(rows[j].date);
              end_day && (!out.end_day || *end_day < *out.end_day))
            out.end_day = *end_day;
        }
    }
    d.milestones.push_back(std::move(out));
  }

  store::AlertFilter filter;
  filter.patient = patient;
  filter.marker = marker->name;
  for (const auto& row : store::AlertStore(db).alerts(filter)) {
    const auto& a = row.alert;
    AlertMark mark;
    mark.id = row.id;
    mark.day = a.fire_day;
    mark.value = a.confirmer ? a.confirmer->value : a.value.value;
    mark.label = "#" + std::to_string(row.id);
    for (std::size_t i = 0; i < a.rules.size(); ++i)
      mark.label += (i == 0 ? " " : "+") + std::string(engine::to_string(a.rules[i]));
    mark.high = a.severity == engine::Severity::high;
    mark.retracted = row.state == engine::AlertState::retracted;
    mark.summary = (a.summary.empty() ? engine::summarize(a) : a.summary) + " [" +
                   std::string(engine::to_string(row.state)) + "]";
    d.alerts.push_back(std::move(mark));
  }
  return d;
}

}  // namespace markerwatch::chart
