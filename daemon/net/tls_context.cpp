#include "net/tls_context.hpp"

#include "core/text.hpp"
#include "core/timestamp.hpp"

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <ctime>
#include <stdexcept>

namespace markerwatch::net {

namespace ssl = boost::asio::ssl;

namespace {
struct X509Free {
  void operator()(X509* cert) const { X509_free(cert); }
};
using PeerCertificate = std::unique_ptr<X509, X509Free>;

PeerCertificate peer_certificate(SSL* ssl) {
  return PeerCertificate(SSL_get1_peer_certificate(ssl));
}

// Adds every CRL in the PEM file to the context's trust store and has the handshake check the
// client's certificate against its issuer's CRL. Only the client's own certificate is checked:
// checking the whole chain would also ask each CA for a CRL of its issuer, root CAs included,
// which many hospital PKIs do not publish. `key` names the setting in errors.
void load_crls(TlsContext& tls, const std::string& path, const std::string& key) {
  const auto fail = [&](const std::string& why) {
    ERR_clear_error();
    throw std::runtime_error(key + " " + path + ": " + why);
  };
  std::unique_ptr<BIO, decltype(&BIO_free)> in(BIO_new_file(path.c_str(), "r"), BIO_free);
  if (!in) fail("cannot be read");
  X509_STORE* store = SSL_CTX_get_cert_store(tls.native_handle());
  int count = 0;
  while (X509_CRL* crl = PEM_read_bio_X509_CRL(in.get(), nullptr, nullptr, nullptr)) {
    const int added = X509_STORE_add_crl(store, crl);
    X509_CRL_free(crl);
    if (added != 1) fail("a CRL in it cannot be used");
    ++count;
  }
  // The read that ends the loop fails with "no start line" at the end of the file; any other
  // failure is a damaged CRL, which must not silently leave the ones after it out.
  if (ERR_GET_REASON(ERR_peek_last_error()) != PEM_R_NO_START_LINE) fail("a CRL in it is damaged");
  ERR_clear_error();
  if (count == 0) fail("no certificate revocation list (PEM X509 CRL) in it");
  X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK);
}

// Seconds since the Unix epoch of an ASN.1 time (certificates and CRLs carry UTC times).
std::int64_t unix_time(const ASN1_TIME* time) {
  std::tm parts{};
  if (!time || ASN1_TIME_to_tm(time, &parts) != 1) return 0;
  return static_cast<std::int64_t>(timegm(&parts));
}
}  // namespace

std::shared_ptr<TlsContext> load_tls_context(const TlsFiles& files, std::string_view section) {
  const std::string key = std::string(section) + ".";
  auto tls = std::make_shared<TlsContext>(ssl::context::tls_server);
  tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                   ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                   ssl::context::single_dh_use);
  boost::system::error_code ec;
  tls->use_certificate_chain_file(files.cert_file, ec);
  if (ec) throw std::runtime_error(key + "cert_file " + files.cert_file + ": " + ec.message());
  tls->use_private_key_file(files.key_file, ssl::context::pem, ec);
  if (ec || SSL_CTX_check_private_key(tls->native_handle()) != 1)
    throw std::runtime_error(
        key + "key_file " + files.key_file + ": " +
        (ec && ERR_GET_REASON(static_cast<unsigned long>(ec.value())) != X509_R_KEY_VALUES_MISMATCH
             ? ec.message()
             : "does not match the certificate in " + files.cert_file));
  if (files.client_ca_file.empty()) return tls;
  tls->load_verify_file(files.client_ca_file, ec);
  if (ec)
    throw std::runtime_error(key + "client_ca_file " + files.client_ca_file + ": " + ec.message());
  // The CAs' names go into the certificate request, so a client holding several certificates
  // picks one these CAs issued.
  STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca_file.c_str());
  if (!names)
    throw std::runtime_error(key + "client_ca_file " + files.client_ca_file +
                             ": no CA certificate in it");
  SSL_CTX_set_client_CA_list(tls->native_handle(), names);
  tls->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
  if (!files.client_crl_file.empty())
    load_crls(*tls, files.client_crl_file, key + "client_crl_file");
  return tls;
}

bool client_certificate_allowed(SSL* ssl, const std::vector<std::string>& names) {
  if (names.empty()) return true;
  const auto cert = peer_certificate(ssl);
  if (!cert) return false;
  for (const auto& name : names)
    if (X509_check_host(cert.get(), name.data(), name.size(), X509_CHECK_FLAG_NO_WILDCARDS,
                        nullptr) == 1)
      return true;
  return false;
}

std::string client_common_name(SSL* ssl) {
  const auto cert = peer_certificate(ssl);
  if (!cert) return {};
  const X509_NAME* subject = X509_get_subject_name(cert.get());
  const int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) return {};
  const ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index));
  std::string name(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
                   std::min<std::size_t>(static_cast<std::size_t>(ASN1_STRING_length(data)), 64));
  for (char& c : name)
    if (!text::is_name_char(c)) c = '_';
  return name;
}

std::string client_verify_error(SSL* ssl) {
  const long result = SSL_get_verify_result(ssl);
  return result == X509_V_OK ? std::string() : X509_verify_cert_error_string(result);
}

TlsValidity tls_validity(TlsContext& tls) {
  TlsValidity validity;
  SSL_CTX* ctx = tls.native_handle();
  validity.certificate_not_after = unix_time(X509_get0_notAfter(SSL_CTX_get0_certificate(ctx)));
  X509_STORE* store = SSL_CTX_get_cert_store(ctx);
  // Handshakes may look CRLs up in the store meanwhile; nothing adds to it after the load.
  X509_STORE_lock(store);
  const STACK_OF(X509_OBJECT)* objects = X509_STORE_get0_objects(store);
  for (int i = 0; i < sk_X509_OBJECT_num(objects); ++i) {
    X509_CRL* crl = X509_OBJECT_get0_X509_CRL(sk_X509_OBJECT_value(objects, i));
    if (!crl) continue;
    const auto next = unix_time(X509_CRL_get0_nextUpdate(crl));
    if (!validity.crl_next_update || next < *validity.crl_next_update)
      validity.crl_next_update = next;
  }
  X509_STORE_unlock(store);
  return validity;
}

std::vector<TlsNotice> tls_notices(std::string_view listener, const TlsValidity& validity,
                                   std::int64_t now) {
  constexpr std::int64_t day = 86400;
  std::vector<TlsNotice> notices;
  const auto not_after = validity.certificate_not_after;
  if (not_after <= now)
    notices.push_back({true, "event=tls_certificate_expired listener=" + std::string(listener) +
                                 " not_after=" + format_utc(not_after)});
  else if (not_after - now < 30 * day)
    notices.push_back({false, "event=tls_certificate_expiring listener=" + std::string(listener) +
                                  " not_after=" + format_utc(not_after) +
                                  " days_left=" + std::to_string((not_after - now) / day)});
  if (const auto next = validity.crl_next_update; next && *next <= now)
    notices.push_back({true, "event=tls_crl_expired listener=" + std::string(listener) +
                                 " next_update=" + format_utc(*next) +
                                 " refused=\"every client certificate of its CA\""});
  else if (next && *next - now < day)
    notices.push_back({false, "event=tls_crl_expiring listener=" + std::string(listener) +
                                  " next_update=" + format_utc(*next) +
                                  " hours_left=" + std::to_string((*next - now) / 3600)});
  return notices;
}

}  // namespace markerwatch::net
