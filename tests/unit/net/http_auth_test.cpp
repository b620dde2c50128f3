// The HTTP API's authentication and error shape (app/http_api): pure functions, no sockets.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "app/http_api.hpp"
#include "store/sha256.hpp"
#include "test_support.hpp"

using namespace markerwatch;

namespace {
settings::HttpSettings with_tokens() {
  auto s = test::settings_from(
      "[[http.tokens]]\nname = \"reader\"\nsha256 = \"" + store::sha256_hex("mwt_reader-token") +
      "\"\nroles = [\"read\"]\n"
      "[[http.tokens]]\nname = \"reviewer\"\nsha256 = \"" +
      store::sha256_hex("mwt_reviewer-token") + "\"\nroles = [\"read\", \"review\"]\n");
  return s.http;
}
}  // namespace

TEST_CASE("a bearer token is known by its SHA-256 only") {
  const auto http = with_tokens();
  const auto* reader = app::authenticate(http, "Bearer mwt_reader-token");
  REQUIRE(reader);
  CHECK(reader->name == "reader");
  CHECK(reader->roles == static_cast<unsigned>(settings::Role::read));
  const auto* reviewer = app::authenticate(http, "bearer   mwt_reviewer-token ");
  REQUIRE(reviewer);  // scheme case-insensitive, spaces around the token ignored
  CHECK(reviewer->name == "reviewer");
  CHECK((reviewer->roles & static_cast<unsigned>(settings::Role::review)) != 0);
}

TEST_CASE("anything but a configured bearer token names nobody") {
  const auto http = with_tokens();
  for (const char* header : {"", "Bearer", "Bearer ", "Bearer mwt_reader-tokeN",
                             "Bearer mwt_reader-token2", "Basic bXc6cHc=", "mwt_reader-token",
                             "Bearer \xff\xfe", "Bearer mwt_reader-token\r\nX: y"}) {
    INFO(header);
    CHECK(app::authenticate(http, header) == nullptr);
  }
  CHECK(app::authenticate(http, "Bearer " + std::string(600, 'a')) == nullptr);
  settings::HttpSettings none;
  CHECK(app::authenticate(none, "Bearer mwt_reader-token") == nullptr);
}

TEST_CASE("errors are RFC 9457 problem details") {
  const auto r = app::problem(403, "token 'x' lacks the role 'review'");
  CHECK(r.result_int() == 403);
  CHECK(r[boost::beast::http::field::content_type] == "application/problem+json");
  const auto body = nlohmann::json::parse(r.body());
  CHECK(body["type"] == "about:blank");
  CHECK(body["title"] == "Forbidden");
  CHECK(body["status"] == 403);
  CHECK(body["detail"] == "token 'x' lacks the role 'review'");
  const auto unauthorized = app::problem(401, "no token");
  CHECK(unauthorized[boost::beast::http::field::www_authenticate] ==
        "Bearer realm=\"markerwatch\"");
}
