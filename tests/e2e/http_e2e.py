"""The HTTP listener (issue #5, first part): health and readiness without a token, /metrics and the
alert review (GET /api/v1/alerts with filters and paging, GET /api/v1/alerts/{id} with a `read`
token; POST .../ack and .../resolve with a `review` token, answered after the commit), a
patient's results (GET /api/v1/patients/{id}/results), 401/403/404/405 as problem+json, the limits (body, header, read timeout, connections)
enforced before any handler runs, keep-alive, a clean stop with idle connections open, and
`markerwatch token new` output that the daemon accepts. The client is Python's http.client."""
import http.client
import json
import os
import re
import socket
import time

import harness as h


def token_lines(a, name, roles):
    out = h.cli(a.bin, "token", "new", name, "--roles", roles).stdout.decode()
    token = re.search(r"^token: (mwt_[A-Za-z0-9_-]{43})$", out, re.M)
    h.check(token is not None, "token new prints a token: %r" % out)
    config = out[out.index("[[http.tokens]]"):]
    return token.group(1), config


def request(port, method, path, token=None, body=None, headers=None, conn=None):
    c = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    hdrs = dict(headers or {})
    if token:
        hdrs["Authorization"] = "Bearer " + token
    c.request(method, path, body=body, headers=hdrs)
    r = c.getresponse()
    data = r.read()
    if conn is None:
        c.close()
    return r, data


def metric_samples(data):
    """A /metrics body as {name and labels: value text}."""
    return dict(line.rsplit(" ", 1) for line in data.decode().splitlines()
                if line and not line.startswith("#"))


def problem(r, data, status):
    h.check(r.status == status, "status %d (got %d: %r)" % (status, r.status, data[:200]))
    h.check(r.getheader("Content-Type") == "application/problem+json",
            "problem+json for %d (got %s)" % (status, r.getheader("Content-Type")))
    body = json.loads(data)
    h.check(body["status"] == status and body["title"] and body["detail"],
            "problem body has status, title and detail: %r" % body)
    return body


def raw(port, payload, timeout=10):
    """Sends raw bytes, returns everything the server answers until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as s:
        s.sendall(payload)
        out = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                return out
            out += chunk


def main(a, tmp):
    reader, reader_cfg = token_lines(a, "dashboard", "read")
    nurse, nurse_cfg = token_lines(a, "navigator", "read,review")
    ingester, ingester_cfg = token_lines(a, "lis-gateway", "ingest")
    other, _ = token_lines(a, "unknown", "read,review")  # never configured
    extra_http = ("max_body_bytes = 1024\nmax_header_bytes = 2048\nread_timeout_s = 1\n"
                  "max_connections = 3\n")
    d = h.Daemon(a.bin, tmp, "")
    # The harness writes [http] listen before [mllp]; add our limits and tokens to the file.
    with open(d.config) as f:
        text = f.read()
    text = text.replace('[http]\nlisten = "127.0.0.1:0"\n',
                        '[http]\nlisten = "127.0.0.1:0"\n' + extra_http)
    with open(d.config, "w") as f:
        f.write(text + reader_cfg + ingester_cfg + nurse_cfg)
    d.start()
    port = d.http_port

    r, data = request(port, "GET", "/healthz")
    h.check(r.status == 200 and json.loads(data) == {"status": "ok"}, "healthz without a token")
    r, data = request(port, "GET", "/readyz")
    h.check(r.status == 200 and json.loads(data)["status"] == "ready", "readyz without a token")
    problem(*request(port, "POST", "/healthz", body=b"{}"), 405)

    body = problem(*request(port, "GET", "/metrics"), 401)
    r, _ = request(port, "GET", "/metrics")
    h.check(r.getheader("WWW-Authenticate", "").startswith("Bearer"), "401 names the Bearer scheme")
    problem(*request(port, "GET", "/metrics", token=other), 401)
    problem(*request(port, "GET", "/metrics", headers={"Authorization": "Basic " + reader}), 401)
    body = problem(*request(port, "GET", "/metrics", token=ingester), 403)
    h.check("read" in body["detail"], "403 says which role is missing: %r" % body)
    problem(*request(port, "GET", "/no/such/thing", token=reader), 404)
    problem(*request(port, "GET", "/no/such/thing"), 401)  # nothing revealed without a token

    # Three messages over MLLP, two senders, then the counters show them.
    for i in range(3):
        message = h.oru("H%d" % i, "p1", [h.afp_obx(1, "5")])
        if i == 2:  # a sender whose name needs escaping in a label
            message = message.replace(b"|LAB|HOSP|", b'|Q"LAB|HOSP|')
        code, _, _ = h.exchange(d.port, message)
        h.check(code == "AA", "MLLP message %d accepted" % i)
    r, data = request(port, "GET", "/metrics", token=reader)
    text = data.decode()
    h.check(r.status == 200 and r.getheader("Content-Type").startswith("text/plain; version=0.0.4"),
            "metrics in Prometheus text format")
    for line in ['markerwatch_mllp_messages_total{ack="AA"} 3', "markerwatch_store_messages_total 3",
                 "# TYPE markerwatch_store_commits_total counter", "markerwatch_build_info{version=",
                 "markerwatch_http_connections 1", 'markerwatch_http_responses_total{code="401"} 5',
                 'markerwatch_accept_failures_total{listener="mllp"} 0',
                 'markerwatch_accept_failures_total{listener="http"} 0',
                 'markerwatch_messages_total{transport="mllp",outcome="accepted"} 3',
                 'markerwatch_results_stored_total{transport="mllp"} 3',
                 "# TYPE markerwatch_last_message_timestamp_seconds gauge",
                 "# TYPE markerwatch_mllp_ack_latency_seconds histogram",
                 'markerwatch_mllp_ack_latency_seconds_bucket{le="+Inf"} 3',
                 "markerwatch_mllp_ack_latency_seconds_count 3",
                 "# TYPE markerwatch_sender_last_message_timestamp_seconds gauge",
                 "markerwatch_commit_batch_size_bucket{le=\"1\"} ", "markerwatch_outbox_depth 0",
                 "markerwatch_database_bytes "]:
        h.check(line in text, "metrics show %r" % line)
    last = re.search(r'^markerwatch_last_message_timestamp_seconds\{transport="mllp"\} (\S+)$', text, re.M)
    h.check(last and abs(float(last.group(1)) - time.time()) < 300,
            "the latest MLLP message's commit time, in Unix seconds: %r" % (last and last.group(0)))
    senders = dict(re.findall(r'^markerwatch_sender_last_message_timestamp_seconds'
                              r'\{transport="mllp",sender="((?:[^"\\\n]|\\.)*)"\} (\S+)$', text, re.M))
    h.check(sorted(senders) == ["LAB|HOSP", 'Q\\"LAB|HOSP'] and
            all(abs(float(t) - time.time()) < 300 for t in senders.values()),
            "each MLLP sender's latest message, its name escaped: %r" % senders)
    value = r'"(?:[^"\\\n]|\\.)*"'
    sample = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[a-z_]+=' + value + r'(,[a-z_]+=' + value + r')*\})? '
                        r'(-?[0-9.e+]+|\+Inf|NaN)$')
    bad = [l for l in text.splitlines() if l and not l.startswith("# ") and not sample.match(l)]
    h.check(bad == [], "every sample line is valid exposition format: %r" % bad[:3])
    db_bytes = float(re.search(r"^markerwatch_database_bytes (\S+)$", text, re.M).group(1))
    h.check(db_bytes > 4096, "database size reported (%d bytes)" % db_bytes)
    h.check("p1" not in text, "no patient identifier in the metrics")

    # The alert review reads: the seed case imported beside the running daemon.
    seed = os.path.join(a.shared, "seed")
    h.cli(a.bin, "import", "--config", d.config, os.path.join(seed, "milestones.csv"),
          os.path.join(seed, "results.csv"))
    r, data = request(port, "GET", "/api/v1/alerts?state=all", token=reader)
    h.check(r.status == 200 and r.getheader("Content-Type") == "application/json", "alerts listed")
    page = json.loads(data)
    cli_alerts = json.loads(h.cli(a.bin, "alerts", "--config", d.config, "--state", "all",
                                  "--format", "json").stdout)
    h.check(page["alerts"] == cli_alerts, "the API lists exactly what the CLI lists")
    got = [(x["marker"], x["class"], x["rules"], x["event_date"], x["fire_date"], x["severity"])
           for x in page["alerts"]]
    h.check(got == [("AFP", "progression", ["R_RISE", "R_RENORM"], "2013-07-10", "2013-10-02", "high"),
                    ("AFP", "progression", ["R_RISE"], "2015-06-10", "2015-09-09", "high"),
                    ("AFP", "residual", ["R_NODECLINE"], "2016-12-15", "2016-12-15", "high")],
            "the seed's three alerts: %r" % got)
    h.check(page["next_offset"] is None and page["offset"] == 0, "one page")
    first = json.loads(request(port, "GET", "/api/v1/alerts?state=all&limit=2", token=reader)[1])
    h.check(len(first["alerts"]) == 2 and first["next_offset"] == 2, "limit=2 pages: %r" % first["next_offset"])
    second = json.loads(request(port, "GET", "/api/v1/alerts?state=all&limit=2&offset=2", token=reader)[1])
    h.check([x["alert_id"] for x in first["alerts"] + second["alerts"]] ==
            [x["alert_id"] for x in page["alerts"]] and second["next_offset"] is None,
            "offset continues where the first page ended")
    for query, n in [("marker=afp", 3), ("marker=1834-1", 3), ("severity=standard", 0),
                     ("patient=nobody", 0), ("patient=case-001", 3), ("patient=+case-001%20", 3),
                     ("since=2016-01-01", 1),
                     ("until=2015-12-31&since=2015-01-01", 1),
                     ("state=open", sum(x["state"] == "open" for x in cli_alerts)),
                     ("state=resolved", sum(x["state"] == "resolved" for x in cli_alerts))]:
        prefix = "" if query.startswith("state=") else "state=all&"
        r, data = request(port, "GET", "/api/v1/alerts?" + prefix + query, token=reader)
        h.check(r.status == 200 and len(json.loads(data)["alerts"]) == n, "%s -> %d alerts" % (query, n))
    for query, word in [("state=bogus", "state"), ("limit=0", "limit"), ("limit=abc", "limit"),
                        ("limit=99999", "limit"), ("offset=-1", "offset"), ("since=2016-13-01", "since"),
                        ("marker=XYZ", "marker"), ("colour=red", "colour"), ("patient=%zz", "percent"),
                        ("patient=%ff%fe", "UTF-8"), ("patient=case-001%5E", "id^authority"),
                        ("patient=%5EHOSP", "no identifier"), ("severity=HIGHEST", "severity"),
                        ("state=all&state=open", "more than once")]:
        body = problem(*request(port, "GET", "/api/v1/alerts?" + query, token=reader), 400)
        h.check(word in body["detail"], "%s: the 400 names %s: %r" % (query, word, body["detail"]))
    one = page["alerts"][2]
    r, data = request(port, "GET", "/api/v1/alerts/%d" % one["alert_id"], token=reader)
    detail = json.loads(data)
    h.check(r.status == 200 and detail["alert_id"] == one["alert_id"] and
            detail["rules"] == ["R_NODECLINE"] and detail["summary"] == one["summary"],
            "one alert with its evidence")
    h.check([e["event"] for e in detail["events"]][:1] == ["new"] and detail["deliveries"] == [],
            "with its events and (no) deliveries: %r" % detail["events"])
    problem(*request(port, "GET", "/api/v1/alerts/999999", token=reader), 404)
    problem(*request(port, "GET", "/api/v1/alerts/12abc", token=reader), 404)
    problem(*request(port, "GET", "/api/v1/alerts", token=ingester), 403)
    problem(*request(port, "GET", "/api/v1/alerts"), 401)
    problem(*request(port, "DELETE", "/api/v1/alerts/1", token=reader), 405)

    # A patient's results, as the CLI lists them.
    r, data = request(port, "GET", "/api/v1/patients/case-001/results", token=reader)
    listed = json.loads(data)
    cli_results = json.loads(h.cli(a.bin, "results", "--config", d.config, "--patient", "case-001",
                                   "--format", "json").stdout)
    h.check(r.status == 200 and listed["patient_id"] == "case-001" and
            listed["results"] == cli_results and len(cli_results) == 34,
            "the API lists the patient's 34 results exactly as the CLI does")
    afp = json.loads(request(port, "GET", "/api/v1/patients/case-001/results?marker=afp",
                             token=reader)[1])["results"]
    h.check(afp and all(x["marker"] == "AFP" for x in afp) and
            len(afp) == sum(x["marker"] == "AFP" for x in cli_results), "marker filter")
    padded = json.loads(request(port, "GET", "/api/v1/patients/%20case-001%20/results", token=reader)[1])
    h.check(padded["patient_id"] == "case-001" and padded["results"] == listed["results"],
            "a patient id with surrounding spaces names the patient an import trims it to")
    problem(*request(port, "GET", "/api/v1/patients/nobody/results", token=reader), 404)
    problem(*request(port, "GET", "/api/v1/patients/case-001/results?marker=XYZ", token=reader), 400)
    problem(*request(port, "GET", "/api/v1/patients/case-001/results?all_versions=maybe",
                     token=reader), 400)
    problem(*request(port, "GET", "/api/v1/patients/%ff/results", token=reader), 400)
    for bad in ("case-001%5E", "a%5Eb%5Ec", "%5EHOSP", "x%01"):
        body = problem(*request(port, "GET", "/api/v1/patients/%s/results" % bad, token=reader), 400)
        h.check("patient id" in body["detail"], "/patients/%s: the 400 names the patient id" % bad)
    # The patient's milestones and the milestone log, as the CLI lists them.
    r, data = request(port, "GET", "/api/v1/patients/case-001/milestones", token=reader)
    milestones = json.loads(data)
    cli_milestones = json.loads(h.cli(a.bin, "milestones", "list", "--config", d.config, "--patient",
                                      "case-001", "--format", "json").stdout)
    cli_changes = json.loads(h.cli(a.bin, "milestones", "history", "--config", d.config, "--patient",
                                   "case-001", "--format", "json").stdout)
    h.check(r.status == 200 and milestones["patient_id"] == "case-001" and
            milestones["milestones"] == cli_milestones and len(cli_milestones) > 5 and
            milestones["changes"] == cli_changes and
            [c["change"] for c in cli_changes] == ["added"] * len(cli_milestones),
            "the API lists the patient's milestones and their log exactly as the CLI does: %r" %
            milestones["changes"][:1])
    problem(*request(port, "GET", "/api/v1/patients/nobody/milestones", token=reader), 404)
    problem(*request(port, "GET", "/api/v1/patients/case-001/milestones?kind=tace", token=reader), 400)
    problem(*request(port, "GET", "/api/v1/patients/case-001%5E/milestones", token=reader), 400)
    problem(*request(port, "GET", "/api/v1/patients/case-001/milestones", token=ingester), 403)
    problem(*request(port, "POST", "/api/v1/patients/case-001/milestones", token=reader), 405)
    problem(*request(port, "GET", "/api/v1/patients/case-001/notes", token=reader), 404)
    problem(*request(port, "GET", "/api/v1/patients//milestones", token=reader), 404)
    body = problem(*request(port, "GET", "/api/v1/patients/case-001%5E/chart.svg", token=reader), 400)
    h.check("neither id nor id^authority" in body["detail"], "chart.svg of a malformed patient: 400")
    # Every read of a patient's data leaves a line of the audit trail: who, what, which patient.
    r, data = request(port, "GET", "/api/v1/patients/case-001/chart.svg?marker=AFP", token=reader)
    h.check(r.status == 200 and data.startswith(b"<svg"), "the patient's chart")
    request(port, "GET", "/api/v1/alerts?state=all&patient=case-002", token=reader)
    for what, patient, target, status in [
            ("results", "case-001", "/api/v1/patients/case-001/results", 200),
            ("results", "nobody", "/api/v1/patients/nobody/results", 404),
            ("alert", "case-001", "/api/v1/alerts/%d" % one["alert_id"], 200),
            ("alert", "", "/api/v1/alerts/999999", 404),
            ("alerts", "*", "/api/v1/alerts?state=all&limit=2", 200),
            ("alerts", "case-002", "/api/v1/alerts?state=all&patient=case-002", 200),
            ("chart", "case-001", "/api/v1/patients/case-001/chart.svg?marker=AFP", 200),
            ("milestones", "case-001", "/api/v1/patients/case-001/milestones", 200)]:
        line = re.compile(r"event=data_read peer=127\.0\.0\.1:\d+ token=dashboard what=%s "
                          r'patient="%s" target="%s" status=%d' %
                          (what, re.escape(patient), re.escape(target), status))
        h.check(h.wait_until(lambda: line.search(d.log_text())),
                "the read of %s is in the log as %s" % (target, line.pattern))
    problem(*request(port, "GET", "/api/v1/patients/case-001/results", token=ingester), 403)
    h.check(h.wait_until(lambda: "event=request_forbidden" in d.log_text() and
                         "token=lis-gateway" in d.log_text()), "the refused read is logged")
    h.check("event=data_read peer" not in "".join(
        l for l in d.log_text().splitlines(True) if "token=lis-gateway" in l),
        "as refused, not as a read")
    problem(*request(port, "GET", "/api/v1/patients/case-001/results"), 401)

    # A person acknowledges, then resolves, over HTTP: answered after the commit.
    # The seed's alerts are resolved by later values: a second patient with the seed's history up
    # to the end of 2013 has its first alert still open.
    partial, partial_ms = h.partial_seed(a.shared, tmp, "2014-01-01", "case-002")
    h.cli(a.bin, "import", "--config", d.config, partial_ms, partial)
    open_now = json.loads(request(port, "GET", "/api/v1/alerts?patient=case-002", token=reader)[1])
    h.check(len(open_now["alerts"]) == 1, "one open alert for the second patient: %r" % open_now)
    target = open_now["alerts"][0]
    url = "/api/v1/alerts/%d/" % target["alert_id"]
    as_json = {"Content-Type": "application/json"}
    ack = json.dumps({"by": "Nurse Kim", "note": "CT booked"}).encode()
    problem(*request(port, "POST", url + "ack", token=reader, body=ack, headers=as_json), 403)
    problem(*request(port, "POST", url + "ack", body=ack, headers=as_json), 401)
    problem(*request(port, "POST", url + "ack", token=nurse, body=ack,
                     headers={"Content-Type": "text/plain"}), 415)
    problem(*request(port, "GET", url + "ack", token=nurse), 405)
    for bad, word in [(b"{not json", "JSON"), (b"[1]", "object"), (b'{"note": "x"}', "by"),
                      (b'{"by": 7}', "by"), (b'{"by": "  "}', "by"), (b'{"by": "x", "who": 1}', "who"),
                      (b'{"by": "x", "note": 5}', "note")]:
        body = problem(*request(port, "POST", url + "ack", token=nurse, body=bad, headers=as_json), 400)
        h.check(word in body["detail"], "bad body %r: the 400 names %s: %r" % (bad[:30], word, body["detail"]))
    r, data = request(port, "POST", url + "ack", token=nurse, body=ack, headers=as_json)
    acked = json.loads(data)
    h.check(r.status == 200 and acked["state"] == "acknowledged" and
            acked["acknowledged_by"] == "Nurse Kim", "acknowledged over HTTP: %r" % data[:200])
    h.check([(e["event"], e["actor"], e.get("note")) for e in acked["events"]][-1] ==
            ("acknowledge", "Nurse Kim", "CT booked"), "the log says who, and why")
    stored = json.loads(h.cli(a.bin, "alerts", "--config", d.config, "--state", "acknowledged",
                              "--format", "json").stdout)
    h.check([x["alert_id"] for x in stored] == [target["alert_id"]], "the acknowledgement is stored")
    body = problem(*request(port, "POST", url + "ack", token=nurse, body=ack, headers=as_json), 409)
    h.check("already acknowledged" in body["detail"], "a second ack conflicts: %r" % body["detail"])
    r, data = request(port, "POST", url + "resolve", token=nurse,
                      body=b'{"by": "Dr. Lee", "note": "imaging negative"}', headers=as_json)
    h.check(r.status == 200 and json.loads(data)["state"] == "resolved" and
            json.loads(data)["resolved_by"] == "Dr. Lee", "resolved over HTTP")
    problem(*request(port, "POST", url + "resolve", token=nurse, body=ack, headers=as_json), 409)
    problem(*request(port, "POST", "/api/v1/alerts/999999/ack", token=nurse, body=ack,
                     headers=as_json), 404)
    problem(*request(port, "POST", url + "delete", token=nurse, body=ack, headers=as_json), 404)

    # Keep-alive: several requests on one connection.
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for i in range(3):
        # The last asks the server to close: the connection-limit check below counts on every
        # earlier connection being closed by the server, which frees its slot before the close.
        r, _ = request(port, "GET", "/healthz", conn=c,
                       headers={"Connection": "close"} if i == 2 else None)
        h.check(r.status == 200, "keep-alive request answered")
    h.check(r.getheader("Connection") == "close", "Connection: close is honoured")
    c.close()

    # Limits, enforced before any handler: body, header, malformed, connections, read timeout.
    problem(*request(port, "POST", "/metrics", token=reader, body=b"x" * 5000), 413)
    problem(*request(port, "GET", "/healthz", headers={"X-Filler": "y" * 4000}), 431)
    out = raw(port, b"GARBAGE / NONSENSE\r\n\r\n")
    h.check(out.startswith(b"HTTP/1.1 400") and b"application/problem+json" in out,
            "a malformed request gets 400 problem+json: %r" % out[:80])
    # Connections are accepted in the order they arrive: the fourth finds the three open.
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(3)]
    out = raw(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    h.check(out.startswith(b"HTTP/1.1 503") and b"too many connections" in out,
            "over max_connections: 503 saying why: %r" % out[:120])
    h.check(b"\r\nRetry-After: 5\r\n" in out, "the 503 says when to try again: %r" % out[:300])
    for s in idle:
        s.close()
    # The server notices the closes on its own time; until then it may still answer 503.
    def healthy():
        try:
            return request(port, "GET", "/healthz")[0].status == 200
        except OSError:
            return False

    h.check(h.wait_until(healthy), "served again once connections closed")
    # After the connection limit: a connection the read timeout closes is seen closed by the
    # client a moment before the server frees its slot.
    started = time.time()
    out = raw(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n", timeout=10)  # never finished
    h.check(out == b"" and 0.8 < time.time() - started < 5,
            "an unfinished request is closed after read_timeout_s: %r" % out[:80])
    started = time.time()
    out = raw(port, b"", timeout=10)  # connects and says nothing
    h.check(out == b"" and time.time() - started < 5, "a silent connection is closed too")

    # Hostile targets and headers are answered, not echoed raw into the log.
    problem(*request(port, "GET", "/%1b%5b31m%00" + "a" * 300, token=reader), 404)
    log = d.log_text()
    h.check("\x1b" not in log, "no raw escape sequence in the log")

    # A clean stop with an idle keep-alive connection open.
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    request(port, "GET", "/healthz", conn=c)
    h.check(d.stop() == 0, "clean stop with an idle HTTP connection open")
    c.close()

    # After a restart the last-message time comes from the message log: a feed that went silent
    # before it still shows as silent, not as no feed at all.
    d.start()
    _, data = request(d.http_port, "GET", "/metrics", token=reader)
    again = re.search(r'^markerwatch_last_message_timestamp_seconds\{transport="mllp"\} (\S+)$',
                      data.decode(), re.M)
    h.check(again and 0 <= float(last.group(1)) - float(again.group(1)) <= 5,
            "after a restart, the latest MLLP message's time from the log: %r, before %r"
            % (again and again.group(0), last.group(0)))
    h.check(re.search(r'^markerwatch_sender_last_message_timestamp_seconds'
                      r'\{transport="mllp",sender="Q\\"LAB\|HOSP"\} \S+$', data.decode(), re.M),
            "after a restart, each sender's latest message from the log")
    h.check(d.stop() == 0, "clean stop after the restart")

    # Config errors name the key and line.
    bad = os.path.join(tmp, "bad.toml")
    with open(bad, "w") as f:
        f.write('[http]\nlisten = "127.0.0.1:0"\n[[http.tokens]]\nname = "x"\n'
                'sha256 = "abc"\nroles = ["read"]\n')
    out = h.cli(a.bin, "check-config", "--config", bad, check_rc=False)
    h.check(out.returncode != 0 and b"bad.toml:5" in out.stderr and b"http.tokens[0].sha256" in out.stderr,
            "a bad token hash names key and line: %r" % out.stderr)
    with open(bad, "w") as f:
        f.write('[[http.tokens]]\nname = "x"\nsha256 = "%s"\nroles = ["root"]\n' % ("a" * 64))
    out = h.cli(a.bin, "check-config", "--config", bad, check_rc=False)
    h.check(out.returncode != 0 and b"http.tokens[0].roles" in out.stderr,
            "an unknown role names the key: %r" % out.stderr)
    out = h.cli(a.bin, "token", "new", "bad name!", "--roles", "read", check_rc=False)
    h.check(out.returncode == 2, "token new refuses a bad name")


if __name__ == "__main__":
    h.run(main)
