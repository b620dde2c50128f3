"""FHIR R4 and JSON ingest over HTTP (issue #5): the npm fhir-kit-client library creates an AFP
Observation and posts a transaction Bundle; the seed case posted as FHIR Observations (milestones
through POST /api/v1/milestones) gives the same three alerts as through MLLP; every error is an
OperationOutcome on /fhir and problem+json on /api, and nothing stored changes."""
import csv
import json
import os
import subprocess
import xml.etree.ElementTree as ET

import harness as h
from alerts_e2e import EXPECTED, key
from http_e2e import problem, raw, request, token_lines

CLIENT_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fhir_client")
LAB = "http://lab.example.org/codes"
CONFIG_EXTRA = ('[ingest]\ndefault_timezone = "UTC"\n'
                '[markers.PIVKA-II]\nlocal_codes = ["%s|DCP"]\n' % LAB)


def fhir_kit(port, token, steps, scheme="http", ca_file=None):
    if not os.path.isdir(os.path.join(CLIENT_DIR, "node_modules", "fhir-kit-client")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund"], cwd=CLIENT_DIR, check=True,
                       stdout=subprocess.DEVNULL)
    job = {"base": "%s://127.0.0.1:%d/fhir" % (scheme, port), "token": token, "steps": steps}
    env = dict(os.environ)
    if ca_file:
        env["NODE_EXTRA_CA_CERTS"] = ca_file  # Node trusts the test's self-signed certificate
    out = subprocess.run(["node", os.path.join(CLIENT_DIR, "post.mjs")], input=json.dumps(job).encode(),
                         capture_output=True, timeout=60, env=env)
    h.check(out.returncode == 0, "fhir-kit-client ran: %r" % out.stderr[-500:])
    return [json.loads(line) for line in out.stdout.decode().splitlines()]


def observation(patient, marker, date, value, unit, obs_id=None):
    q = {"system": "http://unitsofmeasure.org", "code": unit, "unit": unit}
    if value[0] in "<>":
        comparator = value[:2] if value[1] == "=" else value[0]
        q["comparator"], value = comparator, value[len(comparator):]
    q["value"] = float(value) if "." in value else int(value)
    code = ({"system": "http://loinc.org", "code": "1834-1"} if marker == "AFP"
            else {"system": LAB, "code": "DCP"})
    o = {"resourceType": "Observation", "status": "final",
         "category": [{"coding": [{"system": "http://terminology.hl7.org/CodeSystem/observation-category",
                                   "code": "laboratory"}]}],
         "code": {"coding": [code]},
         "subject": {"identifier": {"value": patient}},
         "effectiveDateTime": date, "valueQuantity": q}
    if obs_id:
        o["id"] = obs_id
    return o


def outcome_of(r, data, status):
    h.check(r.status == status, "status %d (got %d: %r)" % (status, r.status, data[:300]))
    h.check(r.getheader("Content-Type", "").startswith("application/fhir+json"),
            "FHIR errors are application/fhir+json (got %s)" % r.getheader("Content-Type"))
    body = json.loads(data)
    h.check(body["resourceType"] == "OperationOutcome", "an OperationOutcome: %r" % body)
    return " ".join(i.get("diagnostics", "") for i in body["issue"])


def main(a, tmp):
    ingest_token, ingest_cfg = token_lines(a, "lab-feed", "ingest")
    read_token, read_cfg = token_lines(a, "viewer", "read")
    d = h.Daemon(a.bin, tmp, CONFIG_EXTRA + ingest_cfg + "\n" + read_cfg + "\n").start()
    port = d.http_port
    fhir_json = {"Content-Type": "application/fhir+json"}
    as_json = {"Content-Type": "application/json"}
    try:
        # --- the real client: create, transaction, a wrong token ---------------------------------
        patient = {"resourceType": "Patient",
                   "identifier": [{"system": "urn:oid:1.2.3", "value": "KIT-1"}]}
        o2 = observation("x", "AFP", "2020-02-01", "12.5", "ng/mL", "kit-2")
        o3 = observation("x", "AFP", "2020-03-01", "30", "ng/mL", "kit-3")
        for o in (o2, o3):
            o["subject"] = {"reference": "urn:uuid:6d2f0c1e-0000-4000-8000-000000000001"}
        transaction = {"resourceType": "Bundle", "type": "transaction", "entry": [
            {"fullUrl": "urn:uuid:6d2f0c1e-0000-4000-8000-000000000001", "resource": patient,
             "request": {"method": "POST", "url": "Patient"}},
            {"resource": o2, "request": {"method": "PUT", "url": "Observation/kit-2"}},
            {"resource": o3, "request": {"method": "POST", "url": "Observation",
                                         "ifNoneExist": "identifier=urn:x|3"}}]}
        steps = fhir_kit(port, ingest_token, [
            {"op": "create", "body": observation("KIT-0", "AFP", "2020-01-01", "8.1", "ng/mL", "kit-1")},
            {"op": "transaction", "body": transaction},
            {"op": "create", "body": {"resourceType": "Observation", "status": "final"}},
        ])
        h.check(steps[0]["ok"] and "stored 1" in json.dumps(steps[0]["body"]),
                "fhir-kit-client create: stored (%r)" % steps[0])
        h.check(steps[1]["ok"] and steps[1]["body"]["type"] == "transaction-response"
                and [e["response"]["status"] for e in steps[1]["body"]["entry"]]
                == ["200 OK", "201 Created", "201 Created"],
                "fhir-kit-client transaction: one response per entry (%r)" % steps[1])
        h.check(not steps[2]["ok"] and steps[2]["status"] == 422
                and steps[2]["body"]["resourceType"] == "OperationOutcome"
                and "Observation.code: is required" in json.dumps(steps[2]["body"]),
                "fhir-kit-client sees a 422 OperationOutcome for an invalid Observation")
        wrong = fhir_kit(port, "mwt_wrong", [{"op": "create", "body": o2}])[0]
        h.check(not wrong["ok"] and wrong["status"] == 401
                and wrong["body"]["resourceType"] == "OperationOutcome",
                "a wrong token: 401 OperationOutcome (%r)" % wrong)
        r, data = request(port, "GET", "/api/v1/patients/KIT-1/results", read_token)
        rows = json.loads(data)["results"]
        h.check(r.status == 200 and [x["value"] for x in rows] == [12.5, 30]
                and rows[0]["source"] == "fhir" and rows[0]["obs_id"] == "Observation/kit-2"
                and rows[0]["authority"] == "urn:oid:1.2.3",
                "the transaction's results are stored under the Patient's identifier: %r" % rows)

        # --- the seed case as FHIR Observations, milestones through the JSON API ----------------
        seed = os.path.join(a.shared, "seed")
        with open(os.path.join(seed, "milestones.csv")) as f:
            milestones = [{k: v for k, v in row.items() if v} for row in csv.DictReader(f)]
        r, data = request(port, "POST", "/api/v1/milestones", ingest_token,
                          json.dumps(milestones).encode(), as_json)
        h.check(r.status == 200 and json.loads(data)["stored"] == len(milestones),
                "POST /api/v1/milestones stores the seed milestones: %r" % data)
        with open(os.path.join(seed, "results.csv")) as f:
            results = list(csv.DictReader(f))
        for i, row in enumerate(results):
            body = observation(row["patient_id"], row["marker"], row["collected_at"], row["value"],
                               row["unit"], "seed-%d" % i)
            r, data = request(port, "POST", "/fhir/Observation", ingest_token,
                              json.dumps(body).encode(), fhir_json)
            h.check(r.status == 201, "seed row %d stored over FHIR (%d %r)" % (i, r.status, data[:200]))
        r, data = request(port, "GET", "/api/v1/alerts?state=all&patient=case-001&limit=100",
                          read_token)
        alerts = sorted([x for x in json.loads(data)["alerts"] if x["state"] != "retracted"],
                        key=lambda x: x["event_date"])
        h.check([key(x) for x in alerts] == EXPECTED,
                "the seed case over FHIR gives the three expected alerts: %r"
                % [key(x) for x in alerts])

        r, data = request(port, "GET", "/metrics", read_token)
        text = data.decode()
        for line in ['markerwatch_messages_total{transport="fhir",outcome="accepted"} 36',
                     'markerwatch_messages_total{transport="api",outcome="accepted"} 1',
                     'markerwatch_results_stored_total{transport="fhir"} 37',
                     'markerwatch_alert_events_total{type="new"} ',
                     # each sender's latest message: the token's name, per transport
                     'markerwatch_sender_last_message_timestamp_seconds{transport="fhir",'
                     'sender="fhir:lab-feed"} 1',
                     'markerwatch_sender_last_message_timestamp_seconds{transport="api",'
                     'sender="api:lab-feed"} 1']:
            h.check(line in text, "metrics show %r" % line)

        # --- the seed case's chart over HTTP: a self-contained SVG -----------------------------
        r, chart_svg = request(port, "GET", "/api/v1/patients/case-001/chart.svg?marker=AFP",
                               read_token)
        h.check(r.status == 200 and r.getheader("Content-Type") == "image/svg+xml"
                and "default-src 'none'" in r.getheader("Content-Security-Policy", ""),
                "chart.svg: 200 image/svg+xml with a CSP that runs nothing")
        root = ET.fromstring(chart_svg)
        ns = "{http://www.w3.org/2000/svg}"
        values = [c for c in root.iter(ns + "circle") if "value" in c.get("class", "")]
        marks = [g for g in root.iter(ns + "g") if g.get("data-alert-id")]
        h.check(len(values) == 32 and len(marks) >= 3, "chart.svg: 32 AFP values and the alerts")
        h.check(b"<script" not in chart_svg and b"href" not in chart_svg, "chart.svg: no scripts, no links")
        r, data = request(port, "GET", "/api/v1/patients/nobody/chart.svg", read_token)
        problem(r, data, 404)
        r, data = request(port, "GET", "/api/v1/patients/case-001/chart.svg?marker=glucose",
                          read_token)
        problem(r, data, 400)
        r, data = request(port, "GET", "/api/v1/patients/case-001/chart.svg")
        problem(r, data, 401)

        # --- errors: OperationOutcome on /fhir, problem+json on /api; nothing changes -----------
        before = h.query(d.db, "SELECT count(*), group_concat(value_raw) FROM results")
        good = json.dumps(observation("ERR-1", "AFP", "2021-01-01", "5", "ng/mL")).encode()
        r, data = request(port, "POST", "/fhir/Observation", None, good, fhir_json)
        outcome_of(r, data, 401)
        h.check(r.getheader("WWW-Authenticate", "").startswith("Bearer"), "401 names the scheme")
        r, data = request(port, "POST", "/fhir/Observation", read_token, good, fhir_json)
        h.check("lacks the role 'ingest'" in outcome_of(r, data, 403), "403 names the role")
        r, data = request(port, "POST", "/fhir/Observation", ingest_token, good,
                          {"Content-Type": "text/plain"})
        outcome_of(r, data, 415)
        r, data = request(port, "GET", "/fhir", ingest_token)
        outcome_of(r, data, 405)
        r, data = request(port, "POST", "/fhir/Patient", ingest_token, good, fhir_json)
        outcome_of(r, data, 404)
        for body, status, expect in [
                (b"{\"resourceType\": \"Observation\",", 400, "not valid JSON"),
                (b"\xff\xfe{}", 400, "not valid JSON"),
                (b"[" * 100, 400, "nested deeper than 64"),
                (json.dumps({"resourceType": "Observation", "status": "final",
                             "code": {"coding": [{"system": "http://loinc.org", "code": "1834-1"}]},
                             "subject": {"identifier": {"value": "ERR-1\u0007"}},
                             "effectiveDateTime": "2021-01-01",
                             "valueQuantity": {"value": 5, "code": "ng/mL"}}).encode(),
                 422, "control characters"),
                (json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": [
                    {"resource": json.loads(good), "request": {"method": "POST", "url": "Observation"}},
                    {"request": {"method": "DELETE", "url": "Observation/1"}}]}).encode(),
                 400, "DELETE is not supported")]:
            r, data = request(port, "POST", "/fhir", ingest_token, body, fhir_json)
            h.check(expect in outcome_of(r, data, status), "%r -> %s" % (body[:40], expect))
        # Over max_body_bytes (10 MiB): refused from the header, before the body is read.
        answer = raw(port, b"POST /fhir/ HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer %s\r\n"
                           b"Content-Type: application/fhir+json\r\nContent-Length: %d\r\n\r\n{"
                     % (ingest_token.encode(), 11 * 1024 * 1024))
        head, _, payload = answer.partition(b"\r\n\r\n")
        h.check(head.startswith(b"HTTP/1.1 413") and b"application/fhir+json" in head
                and json.loads(payload)["resourceType"] == "OperationOutcome",
                "413 on /fhir is an OperationOutcome: %r" % answer[:300])

        r, data = request(port, "POST", "/api/v1/results", ingest_token,
                          b'[{"patient_id": "ERR-2", "marker": "AFP", "collected_at": "2021-01-01",'
                          b' "value": 5, "unit": "ng/mL"}, {"patient_id": "ERR-2"}]', as_json)
        body = problem(r, data, 422)
        h.check(body["errors"][0]["index"] == 1 and "required column" in body["errors"][0]["detail"],
                "422 lists the refused rows: %r" % body)
        r, data = request(port, "POST", "/api/v1/results", ingest_token, b"{", as_json)
        problem(r, data, 400)
        r, data = request(port, "POST", "/api/v1/results", read_token, b"[]", as_json)
        problem(r, data, 403)
        r, data = request(port, "POST", "/api/v1/results", ingest_token, b"[]",
                          {"Content-Type": "text/csv"})
        problem(r, data, 415)
        h.check(h.query(d.db, "SELECT count(*), group_concat(value_raw) FROM results") == before,
                "refused requests stored nothing")
        rejected = h.query(d.db, "SELECT count(*) FROM messages WHERE transport = 'http' AND "
                                 "outcome = 'rejected'")[0][0]
        h.check(rejected >= 7, "refused bodies are kept in the message log (%d)" % rejected)
        r, data = request(port, "POST", "/api/v1/results", ingest_token,
                          b'[{"patient_id": "API-1", "marker": "AFP", "collected_at": "2021-01-01",'
                          b' "value": "<2.0", "unit": "ng/mL"}]', as_json)
        h.check(r.status == 200 and json.loads(data)["stored"] == 1, "POST /api/v1/results stores")
    finally:
        h.check(d.stop() == 0, "clean stop")
    out = os.path.join(tmp, "afp.svg")
    h.cli(a.bin, "chart", "--db", d.db, "--patient", "case-001", "--marker", "AFP", "-o", out)
    with open(out, "rb") as f:
        h.check(f.read() == chart_svg, "markerwatch chart draws the same SVG as the HTTP endpoint")
    res = h.cli(a.bin, "chart", "--db", d.db, "--patient", "nobody", check_rc=False)
    h.check(res.returncode == 2 and b"no such patient" in res.stderr, "chart: unknown patient, exit 2")
    res = h.cli(a.bin, "chart", "--db", d.db, "--patient", "case-001", "--marker", "glucose",
                check_rc=False)
    h.check(res.returncode == 2 and b"unknown marker" in res.stderr, "chart: unknown marker, exit 2")
    res = h.cli(a.bin, "chart", "--db", d.db, "--patient", "case-001", "-o",
                os.path.join(tmp, "no-such-dir", "afp.svg"), check_rc=False)
    h.check(res.returncode == 2 and b"cannot write" in res.stderr
            and not os.path.exists(os.path.join(tmp, "no-such-dir")),
            "chart: an unwritable path, exit 2 and nothing written")
    lines = [l for l in d.log_text().splitlines() if "event=fhir_request" in l]
    h.check(len(lines) >= 36 and not [l for l in lines if "KIT-" in l or "case-001" in l],
            "one log line per FHIR request, without patient identifiers")


if __name__ == "__main__":
    h.run(main)
