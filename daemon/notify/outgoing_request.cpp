#include "notify/outgoing_request.hpp"

#include <algorithm>

namespace markerwatch::notify {
namespace {

struct CurlGlobal {
  CurlGlobal() { curl_global_init(CURL_GLOBAL_DEFAULT); }
  ~CurlGlobal() { curl_global_cleanup(); }
};

}  // namespace

void ensure_curl() {
  static CurlGlobal global;
}

void set_outgoing_options(CURL* easy, int timeout_s, bool tls_verify, const std::string& ca_file) {
  curl_easy_setopt(easy, CURLOPT_TIMEOUT, static_cast<long>(timeout_s));
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, static_cast<long>(std::min(timeout_s, 10)));
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, tls_verify ? 1L : 0L);
  curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, tls_verify ? 2L : 0L);
  if (!ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, ca_file.c_str());
  curl_easy_setopt(easy, CURLOPT_USERAGENT, "markerwatch");
}

}  // namespace markerwatch::notify
