#pragma once
// What a chart shows, read from the database: one patient's effective values of one marker (its
// canonical method group), the milestones that apply to it (a *_start paired with the next
// *_stop, or a milestone with an end date, is a course) and its alerts.
#include <string>

#include "chart/svg_chart.hpp"
#include "core/errors.hpp"
#include "core/markers.hpp"
#include "store/database.hpp"

namespace markerwatch::chart {

struct PatientNotFound : InputError {
  using InputError::InputError;
};

// Throws PatientNotFound, or InputError for a marker the catalogue does not know.
ChartData load_chart(store::Database& db, const MarkerCatalog& markers, const std::string& patient,
                     const std::string& marker);

}  // namespace markerwatch::chart
