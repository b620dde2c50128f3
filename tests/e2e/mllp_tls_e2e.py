"""MLLP over TLS both ways README (Operations) sets it up, with a client certificate issued by the
hospital's CA required (mutual TLS, as IHE ATNA asks of secure nodes); Python's ssl (OpenSSL) is
the sender.

- native: markerwatchd's own listener with [mllp] cert_file, key_file, client_ca_file,
  allowed_clients and client_crl_file; the allow-list and the CRL taken anew at a reload (a
  damaged CRL refuses it); a handshake never begun is cut off.
- stunnel: the listener stays on loopback and speaks plain MLLP, and Debian's stunnel4 in front of
  it terminates TLS.

Either way a sender with an accepted certificate gets its ACK after the commit, as on the plain
port; one without a certificate, with a certificate from another CA (or, natively, one not on the
allow-list), or speaking plain MLLP to the TLS port gets no ACK, and nothing of theirs is stored."""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time

import harness as h
from http_e2e import metric_samples, request, token_lines


def openssl(*argv):
    subprocess.run(["openssl", *argv], check=True, capture_output=True)


def make_ca(tmp, name):
    cert, key = os.path.join(tmp, name + ".pem"), os.path.join(tmp, name + ".key")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
            "-days", "2", "-subj", "/CN=" + name, "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return cert, key


def issue(tmp, ca, name, extension, common_name=None):
    """A certificate for `name` (or `common_name`) signed by `ca` (cert, key)."""
    cert, key = os.path.join(tmp, name + ".pem"), os.path.join(tmp, name + ".key")
    csr, ext = os.path.join(tmp, name + ".csr"), os.path.join(tmp, name + ".ext")
    with open(ext, "w") as f:
        f.write(extension + "\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj",
            "/CN=" + (common_name or name))
    openssl("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial", "-out",
            cert, "-days", "2", "-extfile", ext)
    return cert, key


def revocation_list(tmp, ca, revoked, valid_s=None):
    """A PEM CRL of `ca` (cert, key) that revokes the certificate files in `revoked`, made by
    `openssl ca` as a small hospital CA would make it; due again in a day, or in `valid_s`."""
    base = os.path.join(tmp, "crl-%d" % len(os.listdir(tmp)))
    os.makedirs(base)
    config = os.path.join(base, "ca.cnf")
    with open(config, "w") as f:
        f.write("[ca]\ndefault_ca = hospital\n[hospital]\ndatabase = %s/index.txt\n"
                "crlnumber = %s/crlnumber\ndefault_md = sha256\ndefault_crl_days = 1\n"
                % (base, base))
    open(os.path.join(base, "index.txt"), "w").close()
    with open(os.path.join(base, "crlnumber"), "w") as f:
        f.write("01\n")
    for cert in revoked:
        openssl("ca", "-config", config, "-cert", ca[0], "-keyfile", ca[1], "-revoke", cert)
    crl = os.path.join(base, "ca.crl")
    validity = ["-crlsec", str(valid_s)] if valid_s else []
    openssl("ca", "-config", config, "-cert", ca[0], "-keyfile", ca[1], "-gencrl", "-out", crl,
            *validity)
    return crl


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_stunnel(tmp, port, mllp_port, server, ca):
    config = os.path.join(tmp, "stunnel.conf")
    with open(config, "w") as f:
        f.write("foreground = yes\npid =\noutput = %s\n\n[mllp-tls]\naccept = 127.0.0.1:%d\n"
                "connect = 127.0.0.1:%d\ncert = %s\nkey = %s\nCAfile = %s\nverifyChain = yes\n"
                "requireCert = yes\nsslVersionMin = TLSv1.2\n"
                % (os.path.join(tmp, "stunnel.log"), port, mllp_port, server[0], server[1], ca))
    proc = subprocess.Popen([shutil.which("stunnel4") or "stunnel", config],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def listening():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            return False
    h.check(h.wait_until(listening), "stunnel listens")
    return proc


def tls_connect(port, ca, client):
    """A TLS connection to 127.0.0.1:port that trusts `ca`, with `client` (cert, key) or no
    certificate."""
    context = ssl.create_default_context(cafile=ca)
    if client:
        context.load_cert_chain(*client)
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return context.wrap_socket(raw, server_hostname="127.0.0.1")


def send_over_tls(port, ca, client, message):
    """The framed reply to `message` sent over TLS with `client` (cert, key) or no certificate;
    b'' when the connection ended without one."""
    try:
        with tls_connect(port, ca, client) as s:
            s.sendall(h.frame(message))
            return h.read_frame(s, timeout=10)
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        return b""


def send_plain(port, message):
    """The reply to `message` sent as plain MLLP; b'' when the connection ended without one."""
    with h.connect(port) as s:
        s.sendall(h.frame(message))
        try:
            return h.read_frame(s, timeout=10)
        except ConnectionResetError:
            return b""


def stored(db, control_id):
    return h.query(db, "SELECT count(*) FROM messages WHERE control_id = ?", (control_id,))[0][0]


def check_accepted(d, port, ca, client, control_id, what):
    """Sends one AFP result over TLS with `client`; checks its AA and that it is stored."""
    reply = send_over_tls(port, ca, client, h.oru(control_id, "case-tls", [h.afp_obx(1, "45985")]))
    code, control, _ = h.parse_ack(reply)
    h.check((code, control) == ("AA", control_id), what)
    h.check(stored(d.db, control_id) == 1 and
            h.query(d.db, "SELECT value FROM results r JOIN patients p ON p.id = r.patient_id "
                          "WHERE p.identifier = 'case-tls'") == [(45985.0,)],
            "its message and result are stored")


def certificates(tmp):
    ca = make_ca(tmp, "hospital-ca")
    return {
        "ca": ca,
        "server": issue(tmp, ca, "127.0.0.1", "subjectAltName=IP:127.0.0.1"),
        "client": issue(tmp, ca, "lab-engine", "extendedKeyUsage=clientAuth"),
        # Issued by the same CA, to another system: verified, but not on the allow-list.
        "pharmacy": issue(tmp, ca, "pharmacy", "extendedKeyUsage=clientAuth"),
        "rogue": issue(tmp, make_ca(tmp, "other-ca"), "rogue", "extendedKeyUsage=clientAuth"),
        # A name that would forge log fields if written as it is.
        "hostile": issue(tmp, ca, "hostile", "extendedKeyUsage=clientAuth",
                         common_name='Lab "Night" feed; event=x'),
    }


def native_config(c, allowed):
    return ('idle_timeout_s = 10\nhandshake_timeout_s = 2\nmax_message_bytes = 4096\n'
            'cert_file = "%s"\nkey_file = "%s"\n'
            'client_ca_file = "%s"\nallowed_clients = [%s]\n'
            % (c["server"][0], c["server"][1], c["ca"][0],
               ", ".join('"%s"' % name for name in allowed)))


def native(a, tmp):
    c = certificates(tmp)
    ca = c["ca"][0]
    reader, reader_config = token_lines(a, "ops", "read")
    d = h.Daemon(a.bin, tmp, config_extra=native_config(c, ["lab-engine"]) + reader_config).start()
    obx = [h.afp_obx(1, "45985")]

    check_accepted(d, d.port, ca, c["client"], "N-1",
                   "a sender with an allowed certificate of the CA gets AA over TLS")
    # The log reaches its file through a pipe (markerwatchd logs to stdout): it can lag the reply.
    h.check(h.wait_until(lambda: d.log_count("event=tls_established peer=127.0.0.1") == 1 and
                         d.log_count("client_cn=lab-engine protocol=TLSv1.") == 1),
            "the log names the sender's certificate and the protocol")
    h.check(h.query(d.db, "SELECT peer FROM messages WHERE control_id = 'N-1'")[0][0]
            .endswith("/lab-engine"),
            "the message is stored with its sender's certificate name beside the address")

    # An HL7 library's own TLS client: node-hl7-client (npm), with the same certificate.
    message = os.path.join(tmp, "n-8.hl7")
    with open(message, "wb") as f:
        f.write(h.oru("N-8", "case-tls", [h.afp_obx(1, "45985")]))
    sent = subprocess.run(["node", os.path.join(a.source, "tests/e2e/hl7_client/send.mjs"),
                           str(d.port), ca, c["client"][0], c["client"][1], message],
                          capture_output=True, timeout=60)
    h.check(sent.stdout.decode().strip() == "AA N-8" and stored(d.db, "N-8") == 1,
            "node-hl7-client over TLS gets AA and its message is stored (%r)"
            % (sent.stdout + sent.stderr)[-300:])

    # Pipelined: three frames in one write, three ACKs in order on the one connection.
    with tls_connect(d.port, ca, c["client"]) as s:
        s.sendall(b"".join(h.frame(h.oru("N-P%d" % i, "case-tls", [h.afp_obx(1, str(10 + i))],
                                         collected="2017010%d083000" % (i + 1)))
                           for i in range(3)))
        acks = h.AckReader(s, timeout=10).read(3)
    h.check([(code, control) for code, control, _ in acks] ==
            [("AA", "N-P0"), ("AA", "N-P1"), ("AA", "N-P2")],
            "pipelined messages over TLS are answered in order")

    # A frame over max_message_bytes: AR, then the connection closes (with close_notify).
    with tls_connect(d.port, ca, c["client"]) as s:
        s.sendall(h.frame(h.oru("N-BIG", "case-tls", obx) + b"X" * 5000))
        code, _, _ = h.parse_ack(h.read_frame(s, timeout=10))
        h.check(code == "AR", "an oversized frame over TLS is answered AR")
        h.check(s.recv(1024) == b"", "and the connection is closed after it")

    refused = {
        "N-2": send_over_tls(d.port, ca, None, h.oru("N-2", "case-tls", obx)),
        "N-3": send_over_tls(d.port, ca, c["rogue"], h.oru("N-3", "case-tls", obx)),
        "N-4": send_over_tls(d.port, ca, c["pharmacy"], h.oru("N-4", "case-tls", obx)),
        "N-5": send_plain(d.port, h.oru("N-5", "case-tls", obx)),
        "N-7": send_over_tls(d.port, ca, c["hostile"], h.oru("N-7", "case-tls", obx)),
    }
    h.check(set(refused.values()) == {b""},
            "no certificate, another CA's, ones not on the allow-list, plain MLLP: no ACK")
    time.sleep(0.5)  # anything that did get through would be stored by now
    h.check(sum(stored(d.db, control) for control in refused) == 0,
            "nothing of the refused senders is stored")
    h.check(h.wait_until(lambda: d.log_count("event=tls_client_refused peer=127.0.0.1") == 2 and
                         d.log_count("client_cn=pharmacy reason=not_in_allowed_clients") == 1),
            "a certificate not on the allow-list is named in the log")
    h.check(h.wait_until(lambda: d.log_count("client_cn=Lab__Night__feed__event_x reason=") == 1)
            and d.log_count("event=x") == 0,
            "a hostile certificate name cannot forge log fields")
    h.check(h.wait_until(lambda: d.log_count("event=tls_handshake_failed") >= 3),
            "the failed handshakes are logged")

    # A connection that never begins its handshake is closed after handshake_timeout_s (2 s here,
    # idle_timeout_s 10 s).
    with h.connect(d.port) as s:
        began = time.time()
        s.settimeout(15)
        h.check(s.recv(1024) == b"", "a connection without a handshake is closed")
        h.check(1.5 < time.time() - began < 6, "after handshake_timeout_s, not idle_timeout_s")
    h.check(h.wait_until(lambda: d.log_count("event=tls_handshake_timeout") == 1), "and logged")
    samples = metric_samples(request(d.http_port, "GET", "/metrics", reader)[1])
    refusals = {reason: samples.get('markerwatch_mllp_tls_refused_total{reason="%s"}' % reason)
        for reason in ("handshake_failed", "certificate_rejected", "not_allowed",
                       "handshake_timeout")}
    h.check(refusals == {"handshake_failed": "2", "certificate_rejected": "1", "not_allowed": "2",
                         "handshake_timeout": "1"},
            "/metrics counts the refused connections by reason: %r" % refusals)

    # A reload takes a new allow-list for the connections that follow.
    with open(d.config, "w") as f:
        f.write('[storage]\npath = "%s"\n[http]\nlisten = "127.0.0.1:0"\n[mllp]\n'
                'listen = "127.0.0.1:0"\n%s' % (d.db, native_config(c, ["lab-engine", "pharmacy"])))
    d.proc.send_signal(signal.SIGHUP)
    h.check(h.wait_until(lambda: "event=config_reloaded" in d.log_text()), "SIGHUP reloads")
    code, control, _ = h.parse_ack(send_over_tls(d.port, ca, c["pharmacy"],
                                                 h.oru("N-6", "case-tls", obx)))
    h.check((code, control) == ("AA", "N-6"), "after the reload the added sender gets AA")

    # client_crl_file: the CA's revocation list, taken at a reload, refuses a revoked certificate
    # that the allow-list still names.
    crl = revocation_list(tmp, c["ca"], [c["pharmacy"][0]], valid_s=12 * 3600)

    def reload_with(extra):
        reloads = d.log_count("event=config_reload")
        with open(d.config, "w") as f:
            f.write('[storage]\npath = "%s"\n[http]\nlisten = "127.0.0.1:0"\n[mllp]\n'
                    'listen = "127.0.0.1:0"\n%s%s%s'
                    % (d.db, native_config(c, ["lab-engine", "pharmacy"]), extra, reader_config))
        d.proc.send_signal(signal.SIGHUP)
        h.check(h.wait_until(lambda: d.log_count("event=config_reload") > reloads), "SIGHUP read")
    reload_with('client_crl_file = "%s"\n' % crl)
    h.check(d.log_count("event=config_reloaded") == 2, "a reload takes the CRL")
    h.check(send_over_tls(d.port, ca, c["pharmacy"], h.oru("N-9", "case-tls", obx)) == b"",
            "a revoked certificate gets no ACK")
    time.sleep(0.5)
    h.check(stored(d.db, "N-9") == 0, "and nothing it sent is stored")
    h.check(h.wait_until(lambda: d.log_count('error="certificate revoked"') == 1),
            "the log says the certificate is revoked")
    code, control, _ = h.parse_ack(send_over_tls(d.port, ca, c["client"],
                                                 h.oru("N-10", "case-tls", obx)))
    h.check((code, control) == ("AA", "N-10"), "a certificate the CRL does not list gets AA")
    samples = metric_samples(request(d.http_port, "GET", "/metrics", reader)[1])
    now = time.time()
    certificate_end = float(samples['markerwatch_tls_certificate_expiry_timestamp_seconds'
                                    '{listener="mllp"}'])
    crl_next = float(samples['markerwatch_tls_crl_next_update_timestamp_seconds{listener="mllp"}'])
    h.check(abs(certificate_end - (now + 2 * 86400)) < 600 and abs(crl_next - (now + 12 * 3600)) < 600,
            "/metrics gives the certificate's end and the CRL's next update as Unix times "
            "(%r, %r at %r)" % (certificate_end, crl_next, now))
    h.check(h.wait_until(lambda: d.log_count("event=tls_certificate_expiring listener=mllp") >= 1
                         and d.log_count("event=tls_crl_expiring listener=mllp") == 1),
            "the log warns of a certificate within 30 days of its end, a CRL within a day of its "
            "next update")

    # A damaged CRL file refuses the reload; the CRL in force stays.
    with open(crl, "rb") as f:
        good = f.read()
    with open(crl, "wb") as f:
        f.write(good.replace(b"\n", b"\n!", 2))
    reload_with('client_crl_file = "%s"\n' % crl)
    h.check(h.wait_until(lambda: d.log_count("event=config_reload_refused") == 1 and
                         d.log_count("mllp.client_crl_file") >= 1),
            "a damaged CRL refuses the reload, naming the key")
    h.check(send_over_tls(d.port, ca, c["pharmacy"], h.oru("N-11", "case-tls", obx)) == b"",
            "and the revocation in force stays")
    code, control, _ = h.parse_ack(send_over_tls(d.port, ca, c["client"],
                                                 h.oru("N-12", "case-tls", obx)))
    h.check((code, control) == ("AA", "N-12"), "as does the service to the other senders")

    # A CRL past its next update: the reload logs an error, and every certificate of its CA is
    # refused until a current CRL comes.
    lapsed = revocation_list(tmp, c["ca"], [], valid_s=1)
    time.sleep(1.5)
    reload_with('client_crl_file = "%s"\n' % lapsed)
    h.check(h.wait_until(lambda: d.log_count("error markerwatch event=tls_crl_expired listener=mllp") == 1),
            "a lapsed CRL is logged as an error")
    h.check(send_over_tls(d.port, ca, c["client"], h.oru("N-13", "case-tls", obx)) == b"",
            "and refuses the senders of its CA")
    h.check(h.wait_until(lambda: d.log_count('error="CRL has expired"') == 1),
            "the log says why")
    samples = metric_samples(request(d.http_port, "GET", "/metrics", reader)[1])
    h.check(samples.get('markerwatch_mllp_tls_refused_total{reason="certificate_rejected"}') == "4",
            "/metrics counts the revoked certificate twice and the one refused by the lapsed CRL "
            "as rejected certificates (%r)" % samples.get(
                'markerwatch_mllp_tls_refused_total{reason="certificate_rejected"}'))
    h.check(d.stop() == 0, "daemon stops cleanly")


def check_config_loads_tls(a, tmp):
    """`markerwatchd --check-config` loads the TLS files as the start does: a key that does not
    match its certificate and a damaged CRL are errors naming the key; the dates the running
    daemon would warn of are said too."""
    c = certificates(tmp)

    def check(extra):
        path = os.path.join(tmp, "check.toml")
        with open(path, "w") as f:
            f.write("[mllp]\n" + native_config(c, ["lab-engine"]) + extra)
        out = subprocess.run([os.path.join(a.bin, "markerwatchd"), "--check-config", "--config",
                              path], capture_output=True, timeout=60)
        return out.returncode, out.stdout.decode(), out.stderr.decode()

    crl = revocation_list(tmp, c["ca"], [c["pharmacy"][0]])
    rc, out, err = check('client_crl_file = "%s"\n' % crl)
    h.check(rc == 0 and "configuration ok" in out and "mllp.tls=mutual+crl" in out,
            "a working TLS set-up passes (%r %r)" % (out, err))
    h.check("markerwatchd: warning: event=tls_certificate_expiring listener=mllp" in err,
            "and the certificate's near end is said (%r)" % err)

    # The pharmacy's key beside the server's certificate: both readable, but not a pair.
    path = os.path.join(tmp, "mismatch.toml")
    with open(path, "w") as f:
        f.write('[mllp]\ncert_file = "%s"\nkey_file = "%s"\n' % (c["server"][0], c["pharmacy"][1]))
    out = subprocess.run([os.path.join(a.bin, "markerwatchd"), "--check-config", "--config", path],
                         capture_output=True, timeout=60)
    h.check(out.returncode == 2 and b"mllp.key_file" in out.stderr and
            b"does not match the certificate in" in out.stderr,
            "a key that does not match its certificate fails check-config (%r)" % out.stderr)

    with open(crl, "rb") as f:
        good = f.read()
    damaged = os.path.join(tmp, "damaged.crl")
    with open(damaged, "wb") as f:
        f.write(good.replace(b"\n", b"\n!", 2))
    rc, out, err = check('client_crl_file = "%s"\n' % damaged)
    h.check(rc == 2 and "config error: mllp.client_crl_file %s: a CRL in it is damaged" % damaged
            in err, "a damaged CRL fails check-config (%r)" % err)

    lapsed = revocation_list(tmp, c["ca"], [], valid_s=1)
    time.sleep(1.5)
    rc, out, err = check('client_crl_file = "%s"\n' % lapsed)
    h.check(rc == 0 and "markerwatchd: error: event=tls_crl_expired listener=mllp" in err,
            "a lapsed CRL is said as an error (%r)" % err)


def through_stunnel(a, tmp):
    c = certificates(tmp)
    ca = c["ca"][0]
    d = h.Daemon(a.bin, tmp).start()
    port = free_port()
    stunnel = start_stunnel(tmp, port, d.port, c["server"], ca)
    try:
        obx = [h.afp_obx(1, "45985")]
        check_accepted(d, port, ca, c["client"], "TLS-1",
                       "a sender with the CA's client certificate gets AA over TLS")

        h.check(send_over_tls(port, ca, None, h.oru("TLS-2", "case-tls", obx)) == b"",
                "no client certificate: no ACK")
        h.check(send_over_tls(port, ca, c["rogue"], h.oru("TLS-3", "case-tls", obx)) == b"",
                "a certificate from another CA: no ACK")
        h.check(send_plain(port, h.oru("TLS-4", "case-tls", obx)) == b"",
                "plain MLLP on the TLS port: no ACK")
        time.sleep(0.5)  # anything that did get through would be stored by now
        h.check(sum(stored(d.db, control) for control in ("TLS-2", "TLS-3", "TLS-4")) == 0,
                "nothing of the refused senders is stored")
        h.check(d.log_count("event=connection_open peer=127.0.0.1") >= 1,
                "markerwatchd sees the connections as stunnel's (its log names the senders)")
    finally:
        stunnel.terminate()
        stunnel.wait(timeout=10)
    h.check(d.stop() == 0, "daemon stops cleanly")


def main(a, tmp):
    h.run_each(a, tmp, [native, check_config_loads_tls, through_stunnel])


if __name__ == "__main__":
    h.run(main)
