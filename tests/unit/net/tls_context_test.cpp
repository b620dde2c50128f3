#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>
#include <memory>
#include <string>

#include "net/tls_context.hpp"
#include "test_support.hpp"

using namespace markerwatch;

namespace {

// A self-signed certificate for `name` and its key, written as PEM files under `dir`.
struct PemPair {
  std::string cert, key;
};

PemPair self_signed(const std::filesystem::path& dir, const std::string& name) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  REQUIRE(key);
  std::unique_ptr<X509, decltype(&X509_free)> cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), 1);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
  X509_NAME* subject = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), subject);
  X509_set_pubkey(cert.get(), key.get());
  REQUIRE(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0);
  PemPair out{(dir / (name + ".pem")).string(), (dir / (name + ".key")).string()};
  FILE* f = std::fopen(out.cert.c_str(), "w");
  PEM_write_X509(f, cert.get());
  std::fclose(f);
  f = std::fopen(out.key.c_str(), "w");
  PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  std::fclose(f);
  return out;
}

}  // namespace

TEST_CASE("tls context: certificate, key and client CAs load; errors name the key and the file") {
  test::TempDir dir;
  const auto server = self_signed(dir.path(), "server");
  const auto ca = self_signed(dir.path(), "senders-ca");

  auto plain = net::load_tls_context({server.cert, server.key, {}}, "mllp");
  REQUIRE(plain);
  CHECK(SSL_CTX_get_verify_mode(plain->native_handle()) == SSL_VERIFY_NONE);

  auto mutual = net::load_tls_context({server.cert, server.key, ca.cert}, "mllp");
  REQUIRE(mutual);
  CHECK(SSL_CTX_get_verify_mode(mutual->native_handle()) ==
        (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT));
  // The certificate request names the CA, so a client picks a certificate it issued.
  const auto* names = SSL_CTX_get_client_CA_list(mutual->native_handle());
  REQUIRE(names);
  CHECK(sk_X509_NAME_num(names) == 1);

  CHECK_THROWS_WITH(net::load_tls_context({server.cert, ca.key, {}}, "mllp"),
                    Catch::StartsWith("mllp.key_file " + ca.key) &&
                        Catch::Contains("does not match the certificate in " + server.cert));
  CHECK_THROWS_WITH(
      net::load_tls_context({(dir.path() / "missing.pem").string(), server.key, {}}, "http"),
      Catch::StartsWith("http.cert_file "));
  const auto not_pem = (dir.path() / "not.pem").string();
  std::ofstream(not_pem) << "MSH|^~\\&|not a certificate\r";
  CHECK_THROWS_WITH(net::load_tls_context({not_pem, server.key, {}}, "mllp"),
                    Catch::StartsWith("mllp.cert_file " + not_pem));
  CHECK_THROWS_WITH(net::load_tls_context({server.cert, not_pem, {}}, "mllp"),
                    Catch::StartsWith("mllp.key_file " + not_pem));
  CHECK_THROWS_WITH(net::load_tls_context({server.cert, server.key, not_pem}, "mllp"),
                    Catch::StartsWith("mllp.client_ca_file " + not_pem));
}
