#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "net/tls_context.hpp"
#include "test_support.hpp"

using namespace markerwatch;

namespace {

// A certificate for `name` and its key, written as PEM files under `dir`: self-signed (a CA, or a
// server's own) without an issuer, else issued by `issuer`.
struct Identity {
  std::shared_ptr<EVP_PKEY> key;
  std::shared_ptr<X509> cert;
  std::string cert_file, key_file;
};

template <typename Write>
void write_pem(const std::string& path, Write write) {
  FILE* f = std::fopen(path.c_str(), "w");
  REQUIRE(f);
  write(f);
  std::fclose(f);
}

Identity make_identity(const std::filesystem::path& dir, const std::string& name,
                       const Identity* issuer = nullptr, long serial = 1, bool ca = false) {
  std::shared_ptr<EVP_PKEY> key(EVP_EC_gen("P-256"), EVP_PKEY_free);
  REQUIRE(key);
  std::shared_ptr<X509> cert(X509_new(), X509_free);
  X509_set_version(cert.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(cert.get()), serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), 0);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), 86400);
  X509_NAME* subject = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(subject, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(name.c_str()), -1, -1, 0);
  X509_set_issuer_name(cert.get(), issuer ? X509_get_subject_name(issuer->cert.get()) : subject);
  X509_set_pubkey(cert.get(), key.get());
  if (ca) {
    X509_EXTENSION* constraints =
        X509V3_EXT_conf_nid(nullptr, nullptr, NID_basic_constraints, "critical,CA:TRUE");
    REQUIRE(constraints);
    X509_add_ext(cert.get(), constraints, -1);
    X509_EXTENSION_free(constraints);
  }
  REQUIRE(X509_sign(cert.get(), issuer ? issuer->key.get() : key.get(), EVP_sha256()) > 0);
  Identity out{key, cert, (dir / (name + ".pem")).string(), (dir / (name + ".key")).string()};
  write_pem(out.cert_file, [&](FILE* f) { PEM_write_X509(f, cert.get()); });
  write_pem(out.key_file, [&](FILE* f) {
    PEM_write_PrivateKey(f, key.get(), nullptr, nullptr, 0, nullptr, nullptr);
  });
  return out;
}

// A CRL of `issuer` that revokes `serials`, issued `age_s` ago and due again `valid_s` after that.
std::string write_crl(const std::filesystem::path& dir, const std::string& name,
                      const Identity& issuer, const std::vector<long>& serials, long age_s = 0,
                      long valid_s = 86400) {
  std::unique_ptr<X509_CRL, decltype(&X509_CRL_free)> crl(X509_CRL_new(), X509_CRL_free);
  X509_CRL_set_version(crl.get(), 1);
  X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(issuer.cert.get()));
  std::unique_ptr<ASN1_TIME, decltype(&ASN1_TIME_free)> last(X509_gmtime_adj(nullptr, -age_s),
                                                             ASN1_TIME_free);
  std::unique_ptr<ASN1_TIME, decltype(&ASN1_TIME_free)> next(
      X509_gmtime_adj(nullptr, valid_s - age_s), ASN1_TIME_free);
  X509_CRL_set1_lastUpdate(crl.get(), last.get());
  X509_CRL_set1_nextUpdate(crl.get(), next.get());
  for (long serial : serials) {
    X509_REVOKED* revoked = X509_REVOKED_new();
    ASN1_INTEGER* number = ASN1_INTEGER_new();
    ASN1_INTEGER_set(number, serial);
    X509_REVOKED_set_serialNumber(revoked, number);
    ASN1_INTEGER_free(number);
    X509_REVOKED_set_revocationDate(revoked, last.get());
    X509_CRL_add0_revoked(crl.get(), revoked);
  }
  X509_CRL_sort(crl.get());
  REQUIRE(X509_CRL_sign(crl.get(), issuer.key.get(), EVP_sha256()) > 0);
  const auto path = (dir / (name + ".crl")).string();
  write_pem(path, [&](FILE* f) { PEM_write_X509_CRL(f, crl.get()); });
  return path;
}

// What the handshake's certificate check says of `cert` with the context's trust store and flags.
int verify(net::TlsContext& tls, const Identity& client) {
  std::unique_ptr<X509_STORE_CTX, decltype(&X509_STORE_CTX_free)> ctx(X509_STORE_CTX_new(),
                                                                      X509_STORE_CTX_free);
  REQUIRE(X509_STORE_CTX_init(ctx.get(), SSL_CTX_get_cert_store(tls.native_handle()),
                              client.cert.get(), nullptr) == 1);
  X509_verify_cert(ctx.get());
  return X509_STORE_CTX_get_error(ctx.get());
}

}  // namespace

TEST_CASE("tls context: certificate, key and client CAs load; errors name the key and the file") {
  test::TempDir dir;
  const auto server = make_identity(dir.path(), "server");
  const auto ca = make_identity(dir.path(), "senders-ca", nullptr, 1, true);

  auto plain = net::load_tls_context({server.cert_file, server.key_file, {}, {}}, "mllp");
  REQUIRE(plain);
  CHECK(SSL_CTX_get_verify_mode(plain->native_handle()) == SSL_VERIFY_NONE);

  auto mutual =
      net::load_tls_context({server.cert_file, server.key_file, ca.cert_file, {}}, "mllp");
  REQUIRE(mutual);
  CHECK(SSL_CTX_get_verify_mode(mutual->native_handle()) ==
        (SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT));
  // The certificate request names the CA, so a client picks a certificate it issued.
  const auto* names = SSL_CTX_get_client_CA_list(mutual->native_handle());
  REQUIRE(names);
  CHECK(sk_X509_NAME_num(names) == 1);

  CHECK_THROWS_WITH(net::load_tls_context({server.cert_file, ca.key_file, {}, {}}, "mllp"),
                    Catch::StartsWith("mllp.key_file " + ca.key_file) &&
                        Catch::Contains("does not match the certificate in " + server.cert_file));
  CHECK_THROWS_WITH(net::load_tls_context(
                        {(dir.path() / "missing.pem").string(), server.key_file, {}, {}}, "http"),
                    Catch::StartsWith("http.cert_file "));
  const auto not_pem = (dir.path() / "not.pem").string();
  std::ofstream(not_pem) << "MSH|^~\\&|not a certificate\r";
  CHECK_THROWS_WITH(net::load_tls_context({not_pem, server.key_file, {}, {}}, "mllp"),
                    Catch::StartsWith("mllp.cert_file " + not_pem));
  CHECK_THROWS_WITH(net::load_tls_context({server.cert_file, not_pem, {}, {}}, "mllp"),
                    Catch::StartsWith("mllp.key_file " + not_pem));
  CHECK_THROWS_WITH(net::load_tls_context({server.cert_file, server.key_file, not_pem, {}}, "mllp"),
                    Catch::StartsWith("mllp.client_ca_file " + not_pem));
}

TEST_CASE("tls context: a client CRL revokes certificates of its issuer; a bad CRL file is named") {
  test::TempDir dir;
  const auto server = make_identity(dir.path(), "server");
  const auto ca = make_identity(dir.path(), "senders-ca", nullptr, 1, true);
  const auto lab = make_identity(dir.path(), "lab-engine", &ca, 2);
  const auto revoked = make_identity(dir.path(), "old-lab-engine", &ca, 3);
  const auto crl = write_crl(dir.path(), "senders-ca", ca, {3});
  const auto mllp = [&](const std::string& crl_file) {
    return net::load_tls_context({server.cert_file, server.key_file, ca.cert_file, crl_file},
                                 "mllp");
  };

  auto without_crl = mllp({});
  CHECK(verify(*without_crl, lab) == X509_V_OK);
  CHECK(verify(*without_crl, revoked) == X509_V_OK);

  auto with_crl = mllp(crl);
  CHECK(verify(*with_crl, lab) == X509_V_OK);
  CHECK(verify(*with_crl, revoked) == X509_V_ERR_CERT_REVOKED);

  SECTION(
      "a file may hold several CAs' CRLs beside other PEM blocks; of one CA's the newest counts") {
    const auto other_ca = make_identity(dir.path(), "other-ca", nullptr, 1, true);
    const auto older = write_crl(dir.path(), "older", ca, {}, 7200);
    const auto bundle = (dir.path() / "bundle.pem").string();
    std::ofstream(bundle) << std::ifstream(ca.cert_file).rdbuf()
                          << std::ifstream(write_crl(dir.path(), "other-ca", other_ca, {})).rdbuf()
                          << std::ifstream(older).rdbuf() << std::ifstream(crl).rdbuf();
    auto both = mllp(bundle);
    CHECK(verify(*both, revoked) == X509_V_ERR_CERT_REVOKED);
    CHECK(verify(*both, lab) == X509_V_OK);
  }
  SECTION("a CRL past its next update refuses every certificate of its issuer") {
    auto stale = mllp(write_crl(dir.path(), "stale", ca, {}, 3 * 86400, 86400));
    CHECK(verify(*stale, lab) == X509_V_ERR_CRL_HAS_EXPIRED);
  }
  SECTION("a certificate whose issuer has no CRL in the file is refused") {
    const auto other_ca = make_identity(dir.path(), "other-ca", nullptr, 1, true);
    auto others = mllp(write_crl(dir.path(), "other-ca", other_ca, {}));
    CHECK(verify(*others, lab) == X509_V_ERR_UNABLE_TO_GET_CRL);
  }
  SECTION("a file without a CRL, a damaged one, a missing one: errors name the key and the file") {
    CHECK_THROWS_WITH(mllp(ca.cert_file),
                      Catch::StartsWith("mllp.client_crl_file " + ca.cert_file) &&
                          Catch::Contains("no certificate revocation list"));
    std::ifstream in(crl);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    text[text.find('\n') + 10] = '!';  // not a base64 letter
    const auto damaged = (dir.path() / "damaged.crl").string();
    std::ofstream(damaged) << text;
    CHECK_THROWS_WITH(mllp(damaged), Catch::StartsWith("mllp.client_crl_file " + damaged) &&
                                         Catch::Contains("damaged"));
    const auto missing = (dir.path() / "missing.crl").string();
    CHECK_THROWS_WITH(mllp(missing), Catch::StartsWith("mllp.client_crl_file " + missing) &&
                                         Catch::Contains("cannot be read"));
  }
}

TEST_CASE("tls validity: the certificate's notAfter and the earliest CRL next update") {
  test::TempDir dir;
  const auto server = make_identity(dir.path(), "server");
  const auto ca = make_identity(dir.path(), "senders-ca", nullptr, 1, true);
  const auto now = static_cast<std::int64_t>(std::time(nullptr));
  auto plain = net::load_tls_context({server.cert_file, server.key_file, {}, {}}, "http");
  const auto validity = net::tls_validity(*plain);
  CHECK(validity.certificate_not_after >= now + 86400 - 60);
  CHECK(validity.certificate_not_after <= now + 86400 + 60);
  CHECK_FALSE(validity.crl_next_update);

  // Two CRLs: due again in 22 hours (issued two hours ago) and in 24 hours.
  const auto bundle = (dir.path() / "bundle.crl").string();
  std::ofstream(bundle) << std::ifstream(write_crl(dir.path(), "older", ca, {}, 7200)).rdbuf()
                        << std::ifstream(write_crl(dir.path(), "newer", ca, {})).rdbuf();
  auto revoking =
      net::load_tls_context({server.cert_file, server.key_file, ca.cert_file, bundle}, "mllp");
  const auto with_crl = net::tls_validity(*revoking);
  REQUIRE(with_crl.crl_next_update);
  CHECK(*with_crl.crl_next_update >= now + 79200 - 60);
  CHECK(*with_crl.crl_next_update <= now + 79200 + 60);
}

TEST_CASE("tls notices: a certificate within 30 days of its end, a CRL within a day of its next") {
  constexpr std::int64_t now = 1796083200;  // 2026-12-01T00:00:00Z
  constexpr std::int64_t day = 86400;
  using Validity = net::TlsValidity;
  CHECK(net::tls_notices("mllp", Validity{now + 30 * day, now + day}, now).empty());

  auto notices = net::tls_notices("mllp", Validity{now + 30 * day - 1, now + day - 1}, now);
  REQUIRE(notices.size() == 2);
  CHECK_FALSE(notices[0].lapsed);
  CHECK(notices[0].line ==
        "event=tls_certificate_expiring listener=mllp not_after=2026-12-30T23:59:59Z days_left=29");
  CHECK_FALSE(notices[1].lapsed);
  CHECK(notices[1].line ==
        "event=tls_crl_expiring listener=mllp next_update=2026-12-01T23:59:59Z hours_left=23");

  notices = net::tls_notices("http", Validity{now, std::nullopt}, now);
  REQUIRE(notices.size() == 1);
  CHECK(notices[0].lapsed);
  CHECK(notices[0].line ==
        "event=tls_certificate_expired listener=http not_after=2026-12-01T00:00:00Z");

  notices = net::tls_notices("mllp", Validity{now + 365 * day, now}, now);
  REQUIRE(notices.size() == 1);
  CHECK(notices[0].lapsed);
  CHECK(notices[0].line ==
        "event=tls_crl_expired listener=mllp next_update=2026-12-01T00:00:00Z "
        "refused=\"every client certificate of its CA\"");
}
