"""The review page (GET /) in a real browser: headless Chromium from Debian, driven through
chromium-driver with Selenium. The seed case's alerts are listed, an alert opens with its chart,
and acknowledging it from the page changes its state in the database. A screenshot is kept in
the build tree (test-artifacts/review-page.png)."""
import json
import os
import shutil

import harness as h
from http_e2e import problem, request, token_lines

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

CONFIG_EXTRA = '[ingest]\ndefault_timezone = "UTC"\n'


def browser():
    options = Options()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--window-size=1280,1800"):
        options.add_argument(arg)
    service = Service(shutil.which("chromedriver") or "/usr/bin/chromedriver")
    return webdriver.Chrome(service=service, options=options)


def rows(driver):
    # Read in one script call: the page may re-render the table between two element lookups.
    return driver.execute_script(
        "return [...document.querySelectorAll('#alerts tbody tr')]"
        ".map(tr => [...tr.cells].map(td => td.innerText.trim()));")


def main(a, tmp):
    reviewer, reviewer_cfg = token_lines(a, "ward-7", "read,review")
    d = h.Daemon(a.bin, tmp, CONFIG_EXTRA + reviewer_cfg).start()
    port = d.http_port
    seed = os.path.join(a.shared, "seed")
    # case-001 complete (its three alerts all resolved by later values); case-002 the same
    # history cut before 2017, so its alerts are still open.
    partial, partial_ms = h.partial_seed(a.shared, tmp, "2017-01-01", "case-002")
    h.cli(a.bin, "import", "--config", d.config, os.path.join(seed, "results.csv"),
          os.path.join(seed, "milestones.csv"), partial, partial_ms)
    api_open = json.loads(request(port, "GET", "/api/v1/alerts", reviewer)[1])["alerts"]
    h.check(len(api_open) >= 1 and all(x["patient_id"] == "case-002" for x in api_open),
            "open alerts belong to case-002: %r" % [(x["alert_id"], x["patient_id"]) for x in api_open])

    # The page's files are public and hold no patient data; they may load and run only themselves.
    r, page = request(port, "GET", "/")
    h.check(r.status == 200 and r.getheader("Content-Type").startswith("text/html")
            and "script-src 'self'" in r.getheader("Content-Security-Policy", "")
            and b"case-00" not in page, "GET / serves the page without a token, with a CSP")
    for asset in ("/review.js", "/review.css"):
        r, body = request(port, "GET", asset)
        h.check(r.status == 200 and r.getheader("X-Content-Type-Options") == "nosniff",
                "%s is served" % asset)
    problem(*request(port, "POST", "/", body=b"x"), 405)
    r, body = request(port, "HEAD", "/")
    h.check(r.status == 200 and body == b"" and int(r.getheader("Content-Length")) == len(page),
            "HEAD / gives the headers and the length, no body")

    driver = browser()
    try:
        wait = WebDriverWait(driver, 20)
        driver.get("http://127.0.0.1:%d/" % port)
        wait.until(EC.visibility_of_element_located((By.ID, "token")))
        # A wrong token is refused and asked for again.
        driver.find_element(By.ID, "token").send_keys("mwt_not-a-token")
        driver.find_element(By.CSS_SELECTOR, "#token-form button").click()
        wait.until(EC.text_to_be_present_in_element((By.ID, "sign-in-message"), "not accepted"))
        h.check(driver.find_element(By.ID, "sign-in").is_displayed()
                and not driver.find_element(By.ID, "review").is_displayed(),
                "a wrong token: the page asks again and shows nothing else")
        driver.find_element(By.ID, "token").send_keys(reviewer)
        driver.find_element(By.CSS_SELECTOR, "#token-form button").click()
        wait.until(lambda dr: len(rows(dr)) == len(api_open))
        listed = rows(driver)
        h.check(all(row[2] == "case-002" and row[7] == "open" for row in listed),
                "open alerts listed by default: %r" % listed)
        h.check(listed[0][0] == "HIGH", "severity visible (high first)")

        # Every state: the seed case's three alerts are there with their fire dates.
        Select(driver.find_element(By.NAME, "state")).select_by_value("all")
        driver.find_element(By.CSS_SELECTOR, "#filters button").click()
        wait.until(lambda dr: any(row[2] == "case-001" for row in rows(dr)))
        seed_rows = [row for row in rows(driver) if row[2] == "case-001" and row[7] != "retracted"]
        h.check(sorted((row[6], row[5]) for row in seed_rows)
                == [("2013-10-02", "R_RISE, R_RENORM"), ("2015-09-09", "R_RISE"),
                    ("2016-12-15", "R_NODECLINE")],
                "the seed case's three alerts are listed: %r" % seed_rows)

        # The token survives a reload of the tab (sessionStorage).
        driver.refresh()
        wait.until(lambda dr: len(rows(dr)) == len(api_open))

        # Open one of case-002's alerts: summary, facts, chart, events.
        # Opened from the keyboard: focus the row, press Enter.
        target = api_open[0]
        row = driver.find_element(By.CSS_SELECTOR, "#alerts tr[data-alert-id='%d']" % target["alert_id"])
        driver.execute_script("arguments[0].focus();", row)
        row.send_keys(Keys.ENTER)
        wait.until(EC.text_to_be_present_in_element((By.ID, "detail-summary"), target["summary"][:40]))
        wait.until(lambda dr: dr.execute_script(
            "const i = document.getElementById('detail-chart');"
            "return i.complete && i.naturalWidth > 0 && i.src.startsWith('blob:');"))
        h.check(driver.find_element(By.ID, "detail-summary").text == target["summary"],
                "the alert opens with its summary")
        h.check(driver.execute_script("return document.getElementById('detail-chart').naturalWidth")
                == 1000, "the alert opens with its chart")
        h.check(len(driver.find_elements(By.CSS_SELECTOR, "#events tbody tr")) >= 1,
                "the alert's log entries are shown")

        # Acknowledge from the page: written to the database.
        form = driver.find_element(By.ID, "action-form")
        form.find_element(By.NAME, "by").send_keys("Nurse Kim")
        form.find_element(By.NAME, "note").send_keys("CT booked for Monday")
        driver.find_element(By.ID, "ack").click()
        wait.until(EC.text_to_be_present_in_element((By.ID, "action-status"), "Acknowledged."))
        state = h.query(d.db, "SELECT state, acknowledged_by FROM alerts WHERE id = ?",
                        (target["alert_id"],))
        h.check(state == [("acknowledged", "Nurse Kim")],
                "acknowledging on the page changes the alert's state in the database: %r" % state)
        logged = h.query(d.db, "SELECT actor FROM alert_events WHERE alert_id = ? AND "
                               "event = 'acknowledge'", (target["alert_id"],))
        h.check(logged == [("Nurse Kim",)], "the action is in the alert log")
        h.check(not driver.find_element(By.ID, "ack").is_enabled(), "acknowledge is done once")

        # The patient's milestone log beside the alert: a milestone removed at the CLI is there,
        # as it was and by whom, once the alert is opened again.
        def milestone_rows(dr):  # read at once: the page rebuilds the table when the alert opens
            return dr.execute_script(
                "return Array.from(document.querySelectorAll('#milestones tbody tr'),"
                " (tr) => Array.from(tr.cells, (td) => td.textContent));")
        changes = json.loads(request(port, "GET", "/api/v1/patients/case-002/milestones", reviewer)[1])["changes"]
        shown = milestone_rows(driver)
        h.check(len(shown) == len(changes) > 5 and all(r[2] == "added" for r in shown) and
                [r[3] for r in shown] == [c["kind"] for c in changes] and
                [r[0] for r in shown] == [str(c["id"]) for c in changes],
                "the patient's milestones are listed with the alert: %r" % shown[:2])
        p = h.cli(a.bin, "milestones", "remove", "--config", d.config, "--patient", "case-002", "--kind",
                  "haic_cycle", "--date", "2010-10-06", "--by", "Dr. Lee", check_rc=False)
        h.check(p.returncode == 0, "a milestone removed at the CLI (%r)" % p.stderr)
        driver.execute_script("showAlert(%d);" % target["alert_id"])
        wait.until(lambda dr: len(milestone_rows(dr)) == len(changes) + 1)
        last = milestone_rows(driver)[-1]
        h.check(last[2:] == ["removed", "haic_cycle", "2010-10-06", "all", "cycle 2", "cli", "Dr. Lee"]
                and int(last[0]) > int(shown[-1][0]),
                "the removal is shown, with its id, its note and who removed it: %r" % last)

        artefacts = os.path.join(os.path.dirname(os.path.abspath(a.bin)), "test-artifacts")
        os.makedirs(artefacts, exist_ok=True)
        shot = os.path.join(artefacts, "review-page.png")
        driver.save_screenshot(shot)
        h.check(os.path.getsize(shot) > 10000, "screenshot kept: %s" % shot)
        errors = [e for e in driver.get_log("browser") if e["level"] == "SEVERE"
                  and "401" not in e["message"]]
        h.check(errors == [], "no errors in the browser console: %r" % errors)
    finally:
        driver.quit()
        h.check(d.stop() == 0, "clean stop")


if __name__ == "__main__":
    h.run(main)
