#pragma once
// What every request markerwatch sends has in common (webhook deliveries, the [fhir.upstream]
// search): a time limit, no redirects, HTTP(S) only, the TLS checks as configured.
#include <curl/curl.h>

#include <string>

namespace markerwatch::notify {

// libcurl's global state, set up once for the process.
void ensure_curl();

// On a fresh easy handle.
void set_outgoing_options(CURL* easy, int timeout_s, bool tls_verify, const std::string& ca_file);

}  // namespace markerwatch::notify
