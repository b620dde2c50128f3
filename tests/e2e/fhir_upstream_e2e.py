"""[fhir.upstream]: an upstream FHIR server whose rest-hook Subscription sends empty "pings".
Each ping makes markerwatchd run the configured search there, page by page (next links), with the
configured headers, and store what it finds; the next run asks only for what changed since
(_lastUpdated=ge the latest stored). A server that fails, a page that is not a searchset and a
next link to another server end a run without harm, and the next ping starts where the last
complete run ended. The server here is Python's http.server serving searchset Bundles as a FHIR
server does (HAPI's paging links: base?_getpages=...)."""
import http.server
import json
import os
import re
import threading
import time
import urllib.parse

import harness as h
from fhir_e2e import observation
from http_e2e import metric_samples, request, token_lines


class Upstream:
    """Observations with their meta.lastUpdated; a search returns those at or after
    _lastUpdated=ge..., two per page."""

    def __init__(self):
        self.observations = []  # (lastUpdated, resource)
        self.requests = []      # (path, Authorization header)
        self.fail_with = None   # an HTTP status to answer every request with
        self.foreign_next = False
        self.lock = threading.Lock()
        upstream = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                with upstream.lock:
                    upstream.requests.append((self.path, self.headers.get("Authorization")))
                    status, body = upstream.answer(self.path)
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/fhir+json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = "http://127.0.0.1:%d/fhir" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add(self, last_updated, resource):
        resource = dict(resource, meta={"lastUpdated": last_updated})
        with self.lock:
            self.observations.append((last_updated, resource))

    def answer(self, path):
        if self.fail_with:
            return self.fail_with, {"resourceType": "OperationOutcome",
                                    "issue": [{"severity": "error", "code": "transient"}]}
        url = urllib.parse.urlsplit(path)
        query = urllib.parse.parse_qs(url.query)
        since = query.get("_lastUpdated", ["ge"])[0][2:]
        offset = int(query.get("_getpagesoffset", ["0"])[0])
        matches = sorted(o for o in self.observations if o[0] >= since)
        page = matches[offset:offset + 2]
        bundle = {"resourceType": "Bundle", "type": "searchset", "total": len(matches),
                  "link": [{"relation": "self", "url": self.base + path}],
                  "entry": [{"fullUrl": "%s/Observation/%s" % (self.base, r["id"]), "resource": r,
                             "search": {"mode": "match"}} for _, r in page]}
        if offset + 2 < len(matches):
            base = "http://elsewhere.example/fhir" if self.foreign_next else self.base
            bundle["link"].append({"relation": "next", "url": "%s?_getpages=s1&_lastUpdated=ge%s"
                                   "&_getpagesoffset=%d" % (base, since, offset + 2)})
        return 200, bundle


def afp(i, date, value):
    return observation("UP-1", "AFP", date, value, "ng/mL", obs_id="afp-%d" % i)


def stored_values(db):
    return h.query(db, "SELECT collected_date, value FROM results WHERE effective = 1 "
                       "ORDER BY collected_date")


def started_daemon(a, tmp, name, tokens_cfg, upstream_cfg):
    """A daemon of its own folder under tmp, with these tokens and [fhir.upstream] keys."""
    os.mkdir(os.path.join(tmp, name))
    d = h.Daemon(a.bin, os.path.join(tmp, name), "")
    with open(d.config, "a") as f:
        f.write(tokens_cfg + "[fhir.upstream]\n" + upstream_cfg)
    d.start()
    return d


def main(a, tmp):
    upstream = Upstream()
    for i, (updated, date, value) in enumerate([
            ("2026-01-05T10:00:00Z", "2026-01-05", "4.1"),
            ("2026-01-06T10:00:00.250+01:00", "2026-01-06", "5.2"),
            ("2026-01-07T10:00:00Z", "2026-01-07", "6.3")]):
        upstream.add(updated, afp(i, date, value))
    hook, hook_cfg = token_lines(a, "upstream-hook", "ingest")
    reader, reader_cfg = token_lines(a, "dashboard", "read")
    d = h.Daemon(a.bin, tmp, "")
    with open(d.config, "a") as f:
        f.write(hook_cfg + reader_cfg)
        f.write('[fhir.upstream]\nbase_url = "%s/"\nsearch = "Observation?code=http://loinc.org|1834-1"\n'
                'headers = { Authorization = "Bearer upstream-secret" }\ntimeout_s = 5\n'
                'max_pages = 3\n' % upstream.base)
    d.start()
    port = d.http_port
    try:
        def ping():
            r, data = request(port, "POST", "/fhir", token=hook, body=b"", headers={})
            h.check(r.status == 200 and b"the search on the upstream server" in data,
                    "an empty notification is answered 200: %d %r" % (r.status, data[:200]))

        def runs(outcome):
            m = metric_samples(request(port, "GET", "/metrics", token=reader)[1])
            return int(m.get('markerwatch_fhir_upstream_runs_total{outcome="%s"}' % outcome, "0"))

        # The first ping reads the whole search: two pages.
        ping()
        h.check(h.wait_until(lambda: runs("completed") == 1), "the first run completes")
        h.check(stored_values(d.db) == [("2026-01-05", 4.1), ("2026-01-06", 5.2), ("2026-01-07", 6.3)],
                "its three results stored: %r" % stored_values(d.db))
        paths = [p for p, _ in upstream.requests]
        h.check(paths[0] == "/fhir/Observation?code=http://loinc.org|1834-1" and len(paths) == 2 and
                "_getpagesoffset=2" in paths[1], "the search, then its next page: %r" % paths)
        h.check({auth for _, auth in upstream.requests} == {"Bearer upstream-secret"},
                "every request carries the configured header")
        h.check(h.query(d.db, "SELECT count(*) FROM messages WHERE sender = 'fhir-upstream' AND "
                              "outcome = 'accepted'")[0][0] == 2, "each page is in the message log")
        h.check(h.wait_until(lambda: re.search(
            r"event=fhir_upstream_run_completed server=http://127\.0\.0\.1:\d+ pages=2 "
            r"latest=2026-01-07T10:00:00Z", d.log_text())), "the run is logged with its pages")

        # The next ping asks only for what changed since the latest stored.
        upstream.add("2026-01-08T09:00:00Z", afp(3, "2026-01-08", "7.4"))
        del upstream.requests[:]
        ping()
        h.check(h.wait_until(lambda: runs("completed") == 2), "the second run completes")
        h.check(upstream.requests[0][0].endswith("&_lastUpdated=ge2026-01-07T10:00:00Z"),
                "from the latest meta.lastUpdated stored: %r" % upstream.requests)
        h.check(stored_values(d.db)[-1] == ("2026-01-08", 7.4) and len(stored_values(d.db)) == 4,
                "the new result stored, the one read again unchanged: %r" % stored_values(d.db))

        # A server that fails: logged, nothing changes, the next ping starts from the same place.
        before = stored_values(d.db)
        upstream.fail_with = 503
        ping()
        h.check(h.wait_until(lambda: runs("failed") == 1), "a failing server fails the run")
        h.check(h.wait_until(lambda: "event=fhir_upstream_run_failed" in d.log_text() and
                             "answered HTTP 503" in d.log_text()), "logged with the status")
        upstream.fail_with = None
        upstream.add("2026-01-09T09:00:00Z", afp(4, "2026-01-09", "8.5"))
        upstream.add("2026-01-10T09:00:00Z", afp(5, "2026-01-10", "9.6"))
        del upstream.requests[:]
        ping()
        h.check(h.wait_until(lambda: runs("completed") == 3), "the next ping runs again")
        h.check(upstream.requests[0][0].endswith("_lastUpdated=ge2026-01-08T09:00:00Z"),
                "from where the last complete run ended: %r" % upstream.requests[0][0])
        h.check(len(stored_values(d.db)) == len(before) + 2, "and stores what came meanwhile")

        # A next link to another server is not followed (the headers carry credentials there).
        upstream.foreign_next = True
        upstream.add("2026-01-11T09:00:00Z", afp(6, "2026-01-11", "10.7"))
        upstream.add("2026-01-12T09:00:00Z", afp(7, "2026-01-12", "11.8"))
        ping()
        h.check(h.wait_until(lambda: runs("failed") == 2), "a foreign next link fails the run")
        h.check(h.wait_until(lambda: "is not on %s" % upstream.base in d.log_text()),
                "saying so")
        h.check(h.query(d.db, "SELECT last_updated FROM search_cursors")[0][0] == "2026-01-10T09:00:00Z",
                "the start of the next run stays where the last complete run ended")
        upstream.foreign_next = False

        # An id-only notification (R4B backport history Bundle) names what changed without
        # carrying it: its entries are answered 202 and the search runs as for a ping.
        upstream.add("2026-01-13T09:00:00Z", afp(8, "2026-01-13", "12.9"))
        id_only = {"resourceType": "Bundle", "id": "notification-1", "type": "history", "entry": [
            {"fullUrl": "urn:uuid:9e41ff6d-5be6-4e6a-8b85-abd4e7f58400",
             "resource": {"resourceType": "Parameters", "parameter": [
                 {"name": "type", "valueCode": "event-notification"}]}},
            {"fullUrl": "%s/Observation/afp-8" % upstream.base,
             "request": {"method": "PUT", "url": "Observation/afp-8"}}]}
        r, data = request(port, "POST", "/fhir", token=hook, body=json.dumps(id_only).encode(),
                          headers={"Content-Type": "application/fhir+json"})
        reply = json.loads(data)
        h.check(r.status == 200 and reply["entry"][1]["response"]["status"] == "202 Accepted",
                "an id-only entry is accepted for the search: %d %r" % (r.status, data[:300]))
        h.check(h.wait_until(lambda: ("2026-01-13", 12.9) in stored_values(d.db)),
                "and the search there stores what it names")
        h.check(h.wait_until(lambda: "event=fhir_subscription_ping" in d.log_text() and
                             "id_only=true" in d.log_text()), "the follow-up is logged")

        # Without a body and without a Content-Type, as rest-hook pings come; a body is a
        # notification with content, stored as before.
        r, data = request(port, "POST", "/fhir", token=hook,
                          body=json.dumps(afp(9, "2026-02-01", "3.3")).encode(),
                          headers={"Content-Type": "application/fhir+json"})
        h.check(r.status == 201, "a notification with its resource is stored at once: %d" % r.status)
        h.check(request(port, "POST", "/fhir", body=b"", headers={})[0].status == 401,
                "a ping needs the ingest token")
    finally:
        h.check(d.stop() == 0, "clean stop")

    # A search with more pages than max_pages: the pages read are stored, the start stays.
    d = started_daemon(a, tmp, "truncated", hook_cfg,
                       'base_url = "%s"\nsearch = "Observation"\nmax_pages = 1\n' % upstream.base)
    try:
        r, _ = request(d.http_port, "POST", "/fhir", token=hook, body=b"", headers={})
        h.check(r.status == 200, "pinged")
        h.check(h.wait_until(lambda: "more than fhir.upstream.max_pages = 1 pages" in d.log_text()),
                "the run fails at max_pages, saying so")
        h.check(len(stored_values(d.db)) == 2, "the first page's two results are stored")
        h.check(h.query(d.db, "SELECT count(*) FROM search_cursors")[0][0] == 0,
                "and the next run starts from the beginning again")
    finally:
        h.check(d.stop() == 0, "clean stop")

    # poll_every: a server that sends no notification is searched at the start and on schedule.
    del upstream.requests[:]
    d = started_daemon(a, tmp, "polling", reader_cfg,
                       'base_url = "%s"\nsearch = "Observation"\npoll_every = "1s"\n' % upstream.base)
    try:
        h.check(h.wait_until(lambda: "trigger=start since=start" in d.log_text()),
                "the first run comes at the start")
        h.check(h.wait_until(lambda: ("2026-01-13", 12.9) in stored_values(d.db)),
                "and stores the whole search")
        upstream.add("2026-01-14T09:00:00Z", afp(10, "2026-01-14", "14.1"))
        h.check(h.wait_until(lambda: ("2026-01-14", 14.1) in stored_values(d.db)),
                "what the server adds later arrives with a scheduled run")
        h.check(re.search(r"event=fhir_upstream_run_started server=\S+ trigger=schedule since=2026-",
                          d.log_text()), "logged as scheduled, from the cursor")
        starts = [p for p, _ in upstream.requests if "_getpages" not in p]
        h.check(starts[0] == "/fhir/Observation" and
                all(p.startswith("/fhir/Observation?_lastUpdated=ge2026-01-") for p in starts[1:]),
                "each run asks for the search, the later ones from the cursor: %r" % starts[:3])
    finally:
        started = time.time()
        h.check(d.stop() == 0 and time.time() - started < 10, "a clean stop between runs")

    # A stop while a run waits on a server that does not answer ends the run at once.
    hanging = threading.Event()

    class Silent(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            hanging.set()
            threading.Event().wait(30)

        def log_message(self, *args):
            pass

    silent = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Silent)
    threading.Thread(target=silent.serve_forever, daemon=True).start()
    d = started_daemon(a, tmp, "silent", hook_cfg,
                       'base_url = "http://127.0.0.1:%d/fhir"\nsearch = "Observation"\n'
                       'timeout_s = 30\n' % silent.server_address[1])
    r, _ = request(d.http_port, "POST", "/fhir", token=hook, body=b"", headers={})
    h.check(r.status == 200 and hanging.wait(10), "a run waits on the silent server")
    started = time.time()
    h.check(d.stop() == 0 and time.time() - started < 10, "SIGTERM ends it: a clean stop in %.1f s"
            % (time.time() - started))
    h.check("event=fhir_upstream_run_stopped" in d.log_text() and
            "event=fhir_upstream_run_failed" not in d.log_text(), "logged as stopped, not failed")


if __name__ == "__main__":
    h.run(main)
