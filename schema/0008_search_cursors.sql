-- How far markerwatch has read a search on an upstream FHIR server ([fhir.upstream]): the latest
-- meta.lastUpdated of what it stored from it, so that the next run asks only for what changed
-- since. Keyed by the search's URL: a changed search starts from the beginning.
CREATE TABLE search_cursors (
  search       TEXT PRIMARY KEY,
  last_updated TEXT NOT NULL,  -- UTC instant, YYYY-MM-DDThh:mm:ss[.fff]Z
  updated_at   TEXT NOT NULL
);
