"""Webhooks over HTTPS: TLS verification is on by default (a self-signed receiver is refused, and
the reason is printed), and `ca_file` trusts a private CA. Driven through `markerwatch webhook
test`, which sends exactly as the daemon's sender does."""
import http.server
import os
import ssl
import subprocess
import threading

import harness as h

SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


class Handler(http.server.BaseHTTPRequestHandler):
    seen = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", 0)))
        Handler.seen.append((self.headers.get("webhook-id"), body))
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def main(a, tmp):
    cert, key = os.path.join(tmp, "cert.pem"), os.path.join(tmp, "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key,
                    "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = "https://127.0.0.1:%d/hook" % server.server_address[1]
    config = os.path.join(tmp, "c.toml")
    with open(config, "w") as f:
        f.write('[[webhooks]]\nname = "strict"\nurl = "%s"\nsecret = "%s"\n' % (url, SECRET))
        f.write('[[webhooks]]\nname = "private-ca"\nurl = "%s"\nsecret = "%s"\nca_file = "%s"\n'
                % (url, SECRET, cert))
    try:
        out = h.cli(a.bin, "webhook", "test", "--config", config, "strict", check_rc=False)
        h.check(out.returncode == 1 and b"no answer" in out.stdout and
                b"certificate" in out.stdout.lower(),
                "a self-signed receiver is refused by default: %r" % out.stdout)
        h.check(not Handler.seen, "nothing reached it")
        out = h.cli(a.bin, "webhook", "test", "--config", config, "private-ca")
        h.check(b"HTTP 200" in out.stdout, "trusted through ca_file")
        h.check(len(Handler.seen) == 1 and Handler.seen[0][0].startswith("mw_test_"),
                "the test event arrived over TLS")
    finally:
        server.shutdown()


if __name__ == "__main__":
    h.run(main)
