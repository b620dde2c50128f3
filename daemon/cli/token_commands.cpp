// `markerwatch token new`: a bearer token for the HTTP API. Only its SHA-256 goes into the
// configuration; the token itself is printed once, for the client.
#include <openssl/rand.h>

#include <algorithm>
#include <iostream>

#include "cli/commands.hpp"
#include "notify/signature.hpp"
#include "store/sha256.hpp"

namespace markerwatch::cli {

int cmd_token_new(const std::string& name, const std::vector<std::string>& roles) {
  if (!settings::is_token_name(name))
    throw InputError("token name: use 1-64 letters, digits, '.', '-' and '_'");
  if (roles.empty()) throw InputError("--roles: name at least one of ingest, read, review, admin");
  std::vector<std::string> sorted;
  for (const auto& r : roles) {
    if (r != "ingest" && r != "read" && r != "review" && r != "admin")
      throw InputError("--roles: '" + r + "' is not one of ingest, read, review, admin");
    if (std::find(sorted.begin(), sorted.end(), r) == sorted.end()) sorted.push_back(r);
  }
  unsigned char random[32];
  if (RAND_bytes(random, sizeof random) != 1)
    throw std::runtime_error("the system's random number generator failed");
  auto text =
      notify::base64_encode(std::string_view(reinterpret_cast<char*>(random), sizeof random));
  // base64url without padding: safe in headers, shells and TOML strings.
  std::replace(text.begin(), text.end(), '+', '-');
  std::replace(text.begin(), text.end(), '/', '_');
  while (!text.empty() && text.back() == '=') text.pop_back();
  const auto token = "mwt_" + text;
  std::cout
      << "token: " << token << "\n\n"
      << "Give the token to the client now: markerwatch keeps only its SHA-256. Add these\n"
      << "lines to the configuration and reload markerwatchd (systemctl reload markerwatch):\n\n"
      << "[[http.tokens]]\n"
      << "name = \"" << name << "\"\n"
      << "sha256 = \"" << store::sha256_hex(token) << "\"\n"
      << "roles = [";
  for (std::size_t i = 0; i < sorted.size(); ++i)
    std::cout << (i ? ", " : "") << "\"" << sorted[i] << "\"";
  std::cout << "]\n";
  return 0;
}

}  // namespace markerwatch::cli
