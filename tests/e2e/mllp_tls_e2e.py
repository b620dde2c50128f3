"""MLLP over TLS as README (Operations) sets it up: markerwatchd's MLLP listener stays on loopback
and speaks plain MLLP, and Debian's stunnel4 in front of it terminates TLS 1.2+ and requires a
client certificate issued by the hospital's CA (mutual TLS, as IHE ATNA asks of secure nodes). A
sender with such a certificate gets its ACK after the commit, as on the plain port; one without a
certificate, with a certificate from another CA, or speaking plain MLLP to the TLS port gets no
ACK, and nothing of theirs is stored."""
import os
import shutil
import socket
import ssl
import subprocess
import time

import harness as h


def openssl(*argv):
    subprocess.run(["openssl", *argv], check=True, capture_output=True)


def make_ca(tmp, name):
    cert, key = os.path.join(tmp, name + ".pem"), os.path.join(tmp, name + ".key")
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert,
            "-days", "2", "-subj", "/CN=" + name, "-addext", "basicConstraints=critical,CA:TRUE",
            "-addext", "keyUsage=critical,keyCertSign,cRLSign")
    return cert, key


def issue(tmp, ca, name, extension):
    """A certificate for `name` signed by `ca` (cert, key)."""
    cert, key = os.path.join(tmp, name + ".pem"), os.path.join(tmp, name + ".key")
    csr, ext = os.path.join(tmp, name + ".csr"), os.path.join(tmp, name + ".ext")
    with open(ext, "w") as f:
        f.write(extension + "\n")
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", csr, "-subj",
            "/CN=" + name)
    openssl("x509", "-req", "-in", csr, "-CA", ca[0], "-CAkey", ca[1], "-CAcreateserial", "-out",
            cert, "-days", "2", "-extfile", ext)
    return cert, key


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


def send_over_tls(port, ca, client, message):
    """The framed reply to `message` sent over TLS with `client` (cert, key) or no certificate;
    b'' when the connection ended without one."""
    context = ssl.create_default_context(cafile=ca)
    if client:
        context.load_cert_chain(*client)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as raw:
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as s:
                s.sendall(h.frame(message))
                return h.read_frame(s, timeout=10)
    except (ssl.SSLError, ConnectionResetError, BrokenPipeError):
        return b""


def stored(db, control_id):
    return h.query(db, "SELECT count(*) FROM messages WHERE control_id = ?", (control_id,))[0][0]


def main(a, tmp):
    ca = make_ca(tmp, "hospital-ca")
    server = issue(tmp, ca, "127.0.0.1", "subjectAltName=IP:127.0.0.1")
    client = issue(tmp, ca, "lab-engine", "extendedKeyUsage=clientAuth")
    rogue = issue(tmp, make_ca(tmp, "other-ca"), "rogue", "extendedKeyUsage=clientAuth")

    d = h.Daemon(a.bin, tmp).start()
    port = free_port()
    stunnel = start_stunnel(tmp, port, d.port, server, ca[0])
    try:
        obx = [h.afp_obx(1, "45985")]
        reply = send_over_tls(port, ca[0], client, h.oru("TLS-1", "case-tls", obx))
        code, control, _ = h.parse_ack(reply)
        h.check((code, control) == ("AA", "TLS-1"),
                "a sender with the CA's client certificate gets AA over TLS")
        h.check(stored(d.db, "TLS-1") == 1 and
                h.query(d.db, "SELECT value FROM results r JOIN patients p ON p.id = r.patient_id "
                              "WHERE p.identifier = 'case-tls'") == [(45985.0,)],
                "its message and result are stored")

        h.check(send_over_tls(port, ca[0], None, h.oru("TLS-2", "case-tls", obx)) == b"",
                "no client certificate: no ACK")
        h.check(send_over_tls(port, ca[0], rogue, h.oru("TLS-3", "case-tls", obx)) == b"",
                "a certificate from another CA: no ACK")
        with h.connect(port) as s:
            s.sendall(h.frame(h.oru("TLS-4", "case-tls", obx)))
            try:
                plain = h.read_frame(s, timeout=10)
            except ConnectionResetError:
                plain = b""
        h.check(plain == b"", "plain MLLP on the TLS port: no ACK")
        time.sleep(0.5)  # anything that did get through would be stored by now
        h.check(sum(stored(d.db, c) for c in ("TLS-2", "TLS-3", "TLS-4")) == 0,
                "nothing of the refused senders is stored")
        h.check(d.log_count("event=connection_open peer=127.0.0.1") >= 1,
                "markerwatchd sees the connections as stunnel's (its log names the senders)")
    finally:
        stunnel.terminate()
        stunnel.wait(timeout=10)
    h.check(d.stop() == 0, "daemon stops cleanly")


if __name__ == "__main__":
    h.run(main)
