"""HTTPS on the HTTP listener (issue #5): `[http] cert_file` and `key_file` turn TLS on (1.2 and
later); the API, FHIR ingest (with the npm fhir-kit-client over https) and the review page are
served over it, plain HTTP on that port gets no answer, and bad TLS configuration is refused with
the key's name: at check-config, or at start for a key that does not match the certificate. A
renewed certificate is taken up by a reload (SIGHUP) for new connections."""
import http.client
import json
import os
import signal
import socket
import ssl
import subprocess
import time

import harness as h
from fhir_e2e import fhir_kit, observation
from http_e2e import metric_samples, token_lines


def make_cert(tmp, name):
    cert, key = os.path.join(tmp, name + "-cert.pem"), os.path.join(tmp, name + "-key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


def served_certificate(port):
    """The DER certificate a new connection gets (compared byte for byte, so not verified)."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
        with context.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            return s.getpeercert(binary_form=True)


def der(path):
    with open(path) as f:
        return ssl.PEM_cert_to_DER_cert(f.read())


def renew_certificate(d, cert, key, kept):
    """A renewed certificate in the same files is served from the next connection on after a
    reload; a connection open before it keeps working; a key that does not match is refused and
    the renewed certificate stays in use."""
    tmp = os.path.dirname(d.config)
    new_cert, new_key = make_cert(tmp, "renewed")
    h.check(der(new_cert) != der(cert), "the renewed certificate differs")
    os.replace(new_cert, cert)
    os.replace(new_key, key)
    h.check(served_certificate(d.http_port) != der(cert),
            "before the reload the old certificate is still served")
    d.proc.send_signal(signal.SIGHUP)
    h.check(h.wait_until(lambda: "event=config_reloaded" in d.log_text()), "SIGHUP reloads")
    h.check(served_certificate(d.http_port) == der(cert),
            "a new connection gets the renewed certificate")
    kept.request("GET", "/healthz")
    h.check(kept.getresponse().status == 200, "a connection from before the reload still works")

    _, stray_key = make_cert(tmp, "stray")
    os.replace(stray_key, key)
    d.proc.send_signal(signal.SIGHUP)
    h.check(h.wait_until(lambda: "event=config_reload_refused" in d.log_text()),
            "a key that does not match the certificate refuses the reload")
    refusal = [l for l in d.log_text().splitlines() if "event=config_reload_refused" in l]
    h.check("http.key_file" in refusal[-1] and "does not match the certificate in" in refusal[-1],
            "and the log names the key file and why: %r" % refusal[-1])
    h.check(served_certificate(d.http_port) == der(cert),
            "the renewed certificate is still served")


def main(a, tmp):
    cert, key = make_cert(tmp, "server")
    _, other_key = make_cert(tmp, "other")
    token, token_cfg = token_lines(a, "lab-feed", "ingest,read")

    # Configuration errors name the key.
    for extra, expect in [
            ('[http]\ncert_file = "%s"\n' % cert, "http.key_file: is required"),
            ('[http]\ncert_file = "%s"\nkey_file = "%s/missing.pem"\n' % (cert, tmp),
             "http.key_file: cannot read"),
            ('[http]\ncert_file = 5\nkey_file = "%s"\n' % key, "http.cert_file: must be a string")]:
        path = os.path.join(tmp, "bad.toml")
        with open(path, "w") as f:
            f.write(extra)
        res = h.cli(a.bin, "check-config", "--config", path, check_rc=False)
        h.check(res.returncode == 2 and expect in res.stderr.decode(),
                "check-config: %s (%r)" % (expect, res.stderr))
    bad = h.Daemon(a.bin, tmp, db_name="bad.db",
                   http_extra='cert_file = "%s"\nkey_file = "%s"\n' % (cert, other_key))
    try:
        bad.start(timeout=10)
        h.check(False, "a key that does not match the certificate must stop the start")
    except h.Failure as e:
        h.check("http.key_file" in str(e) and "does not match the certificate in" in str(e),
                "mismatched key refused: %s" % str(e)[-300:])

    os.makedirs(os.path.join(tmp, "d"), exist_ok=True)
    d = h.Daemon(a.bin, os.path.join(tmp, "d"), '[ingest]\ndefault_timezone = "UTC"\n' + token_cfg,
                 http_extra='cert_file = "%s"\nkey_file = "%s"\n' % (cert, key)).start()
    port = d.http_port
    try:
        context = ssl.create_default_context(cafile=cert)
        c = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
        c.request("GET", "/healthz")
        r = c.getresponse()
        h.check(r.status == 200 and json.loads(r.read()) == {"status": "ok"}, "GET /healthz over TLS")
        h.check(c.sock.version() in ("TLSv1.2", "TLSv1.3"), "TLS 1.2 or later (%s)" % c.sock.version())
        c.request("GET", "/", headers={})
        r = c.getresponse()
        h.check(r.status == 200 and b"alert review" in r.read(), "the review page over TLS (keep-alive)")
        c.close()

        steps = fhir_kit(port, token, [{"op": "create", "body": observation(
            "TLS-1", "AFP", "2022-01-05", "4.2", "ng/mL", "tls-1")}], scheme="https", ca_file=cert)
        h.check(steps[0]["ok"] and "stored 1" in json.dumps(steps[0]["body"]),
                "fhir-kit-client posts over https: %r" % steps)
        c = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=10)
        c.request("GET", "/api/v1/patients/TLS-1/results", headers={"Authorization": "Bearer " + token})
        r = c.getresponse()
        h.check(r.status == 200 and json.loads(r.read())["results"][0]["value"] == 4.2,
                "the result is stored and read back over TLS")
        c.request("GET", "/metrics", headers={"Authorization": "Bearer " + token})
        samples = metric_samples(c.getresponse().read())
        end = float(samples.get('markerwatch_tls_certificate_expiry_timestamp_seconds'
                                '{listener="http"}', 0))
        h.check(abs(end - (time.time() + 2 * 86400)) < 600 and
                not any('listener="mllp"' in name for name in samples
                        if name.startswith("markerwatch_tls_")),
                "/metrics gives the HTTPS certificate's end (%r), none for plain MLLP" % end)
        h.check(h.wait_until(lambda: d.log_count(
            "warning markerwatch event=tls_certificate_expiring listener=http") == 1),
                "the log warns of a certificate within 30 days of its end")

        # Plain HTTP on the TLS port: no HTTP answer.
        with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            answer = b""
            try:
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    answer += chunk
            except (ConnectionResetError, socket.timeout):
                pass
        h.check(not answer.startswith(b"HTTP/"), "plain HTTP gets no HTTP answer: %r" % answer[:60])
        # An untrusting client fails its handshake; the daemon carries on.
        try:
            u = http.client.HTTPSConnection("127.0.0.1", port, context=ssl.create_default_context(),
                                            timeout=10)
            u.request("GET", "/healthz")
            u.getresponse()
            h.check(False, "a client that does not trust the certificate must fail")
        except ssl.SSLError:
            pass
        c.request("GET", "/healthz")  # the kept-alive TLS connection is still served
        r = c.getresponse()
        r.read()
        h.check(r.status == 200, "other connections unaffected")
        renew_certificate(d, cert, key, c)
    finally:
        h.check(d.stop() == 0, "clean stop with a TLS connection open")
    h.check("tls=on" in d.log_text(), "the listening line says tls=on")


if __name__ == "__main__":
    h.run(main)
