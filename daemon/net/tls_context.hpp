#pragma once
// TLS server contexts for the listeners (HTTPS, MLLP over TLS) and what a listener asks of a
// client's certificate once the handshake is done.
#include <utility>  // Boost 1.74 Asio uses std::exchange without including it

#include <openssl/ssl.h>

#include <boost/asio/ssl/context.hpp>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace markerwatch::net {

using TlsContext = boost::asio::ssl::context;

struct TlsFiles {
  std::string cert_file;        // PEM certificate, the chain may follow it
  std::string key_file;         // its PEM private key
  std::string client_ca_file;   // PEM CA certificates; set: clients must present one they issued
  std::string client_crl_file;  // PEM CRLs; set: and one its issuer's CRL here does not revoke
};

// A TLS 1.2+ server context. With `client_ca_file` the handshake fails unless the client presents
// a certificate that chains to one of its CAs (mutual TLS). With `client_crl_file` as well, that
// certificate is also checked against its issuer's CRL, which the file must hold (a certificate
// whose issuer has no CRL there, or whose CRL has expired, is refused). Throws std::runtime_error
// naming the key (`section`.cert_file ...) and the file when a file cannot be read or the key does
// not match.
std::shared_ptr<TlsContext> load_tls_context(const TlsFiles& files, std::string_view section);

// Whether the client certificate of a completed handshake on `ssl` carries one of `names`: a DNS
// name of its subjectAltName, or its subject's CN when it has no DNS names (as X509_check_host
// matches; case-insensitive, no wildcards). True when `names` is empty.
bool client_certificate_allowed(SSL* ssl, const std::vector<std::string>& names);

// The subject CN of the client certificate on `ssl`, as a name that is safe in log lines and
// stored with each message: letters, digits, '.', '-' and '_' kept, any other byte '_', at most
// 64 characters; "" when there is none.
std::string client_common_name(SSL* ssl);

// Why the client's certificate failed verification in the handshake on `ssl` ("certificate
// revoked", "CRL has expired", ...); "" when it did not.
std::string client_verify_error(SSL* ssl);

// When what a context holds stops being usable, as Unix times: its certificate's notAfter, and the
// earliest nextUpdate of its CRLs (none without client_crl_file).
struct TlsValidity {
  std::int64_t certificate_not_after = 0;
  std::optional<std::int64_t> crl_next_update;
  bool operator==(const TlsValidity&) const = default;
};
TlsValidity tls_validity(TlsContext& tls);

// What an operator must hear about `validity` at `now` (Unix seconds), as log lines: a certificate
// expired or expiring within 30 days, a CRL past its next update or due within a day. `lapsed`:
// the listener refuses connections because of it (an error, not a warning).
struct TlsNotice {
  bool lapsed = false;
  std::string line;
};
std::vector<TlsNotice> tls_notices(std::string_view listener, const TlsValidity& validity,
                                   std::int64_t now);

}  // namespace markerwatch::net
