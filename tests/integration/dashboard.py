#!/usr/bin/python3
"""dashboard - drives the dashboard in headless Chromium (python3-selenium) for test_dashboard.sh

usage: dashboard.py open URL ARTIFACTS DATA DONE_JOB LONG_JOB
       dashboard.py tokens URL ARTIFACTS SECRET JOB
Exits 0 when every check passed, 1 on the first failure (saying which), 77 when Chromium
or its driver cannot run here (saying why), so a skipped check never passes silently.
"""
import os
import sys
import tempfile
import time

SKIP = 77
WAIT_S = 30             # how long one page may take to show what it should


def fail(what):
    print("FAIL: " + what, file=sys.stderr)
    sys.exit(1)


def ok(what):
    print("ok: " + what, flush=True)


def start_browser(artifacts):
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError as error:
        print("skip: python3-selenium is missing (%s)" % error, file=sys.stderr)
        sys.exit(SKIP)
    driver_path = "/usr/bin/chromedriver"
    if not os.access(driver_path, os.X_OK):
        print("skip: %s is missing (install chromium-driver)" % driver_path, file=sys.stderr)
        sys.exit(SKIP)
    options = webdriver.ChromeOptions()
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                 "--window-size=1400,1000", "--no-first-run", "--disable-extensions",
                 "--user-data-dir=" + tempfile.mkdtemp(prefix="chromium.")):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    try:
        service = Service(executable_path=driver_path,
                          log_path=os.path.join(artifacts, "chromedriver.log"))
        return webdriver.Chrome(service=service, options=options)
    except Exception as error:      # the driver's start-up fails in many ways
        print("skip: headless Chromium could not start: %s" % str(error).splitlines()[0],
              file=sys.stderr)
        sys.exit(SKIP)


class Page:
    def __init__(self, driver, artifacts):
        self.driver = driver
        self.artifacts = artifacts

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def wait(self, what, predicate, seconds=WAIT_S):
        deadline = time.time() + seconds
        last = None
        while time.time() < deadline:
            try:
                value = predicate()
                if value:
                    return value
            except Exception as error:  # the element is not there yet
                last = error
            time.sleep(0.2)
        self.shot("failed")
        fail("timed out waiting for %s%s" % (what, " (%s)" % last if last else ""))

    def text(self, css):
        return self.js("const e = document.querySelector(arguments[0]);"
                       "return e ? e.textContent : null;", css)

    def shot(self, name):
        path = os.path.join(self.artifacts, "dashboard-%s.png" % name)
        self.driver.save_screenshot(path)
        return path

    def go(self, url):
        self.driver.get(url)

    def console_errors(self):
        try:
            logs = self.driver.get_log("browser")
        except Exception:
            return []
        return [entry["message"] for entry in logs if entry.get("level") == "SEVERE"
                and "favicon" not in entry["message"]]


def job_row_state(page, job):
    return page.text('#jobs-table tr[data-job="%d"] .state' % job)


def chart_points(page):
    return page.js("const c = document.getElementById('loss-chart');"
                   "const chart = c && window.Chart && Chart.getChart(c);"
                   "return chart ? chart.data.datasets[0].data.length : -1;")


def run_open(page, url, data, done_job, long_job):
    # The jobs table lists the submitted jobs with their states
    page.go(url + "/#/jobs")
    page.wait("the jobs table to list jobs %d and %d" % (done_job, long_job),
              lambda: job_row_state(page, done_job) == "succeeded"
              and job_row_state(page, long_job) == "running")
    page.wait("the event stream to be live", lambda: page.text("#live") == "live")
    page.shot("jobs")
    ok("jobs table: job %d succeeded, job %d running, event stream live" % (done_job, long_job))

    # The state filter asks the gateway for that state only
    page.js("const s = document.getElementById('filter-state'); s.value = 'succeeded';"
            "s.dispatchEvent(new Event('change'));")
    page.wait("the filter to leave only succeeded jobs",
              lambda: job_row_state(page, long_job) is None
              and job_row_state(page, done_job) == "succeeded")
    ok("state filter: only succeeded jobs shown")

    # A running job's curve gains points without a reload
    page.go(url + "/#/jobs/%d" % long_job)
    page.js("window.mtNoReload = true;")
    first = page.wait("the loss chart to have points", lambda: chart_points(page) > 0 and
                      chart_points(page))
    more = page.wait("the loss chart to gain points (it has %d)" % first,
                     lambda: chart_points(page) > first + 3 and chart_points(page))
    if not page.js("return window.mtNoReload === true;"):
        fail("the job page reloaded")
    page.shot("job")
    ok("job %d's curve went from %d to %d points without a reload" % (long_job, first, more))

    # The workers page lists the worker, busy with that job
    page.go(url + "/#/workers")
    page.wait("the workers table to show the worker busy",
              lambda: page.text("#workers-table tbody .state") == "busy")
    if page.text("#workers-table tbody a") != str(long_job):
        fail("the busy worker's job is '%s', not %d" % (page.text("#workers-table tbody a"),
                                                         long_job))
    page.shot("workers")
    ok("workers: one worker, busy with job %d" % long_job)
    page.go(url + "/#/jobs/%d" % long_job)
    page.wait("the job page again", lambda: page.text("#job-state") == "running")

    # Stop works: the button, then the state the broker reports
    page.js("document.getElementById('stop-job').click();")
    page.wait("job %d to show stopped" % long_job,
              lambda: page.text("#job-state") == "stopped")
    outcomes = page.wait("the attempts table to show the outcome",
                         lambda: page.text("#attempts tbody"))
    if "stopped" not in outcomes:
        fail("the attempts table says '%s', not stopped" % outcomes)
    ok("stop: job %d stopped, its attempt's outcome shown" % long_job)

    # A finished job's page: its checkpoint, spec and a model link
    page.go(url + "/#/jobs/%d" % done_job)
    page.wait("the model link", lambda: page.js(
        "const a = document.getElementById('model-link'); return a && a.href;"))
    spec = page.text("#spec")
    if not spec or "target" not in spec:
        fail("the spec is not shown: %s" % spec)
    page.shot("job-done")
    ok("finished job %d: model link and spec shown" % done_job)

    # The submit form reads the file's header, uploads it and submits a job
    page.go(url + "/#/submit")
    page.wait("the submit form", lambda: page.driver.find_element("id", "file"))
    page.driver.find_element("id", "file").send_keys(data)
    columns = page.wait("the target column list to fill", lambda: page.js(
        "return Array.from(document.getElementById('target').options)"
        ".map(o => o.value).join(',');") or None)
    if "y" not in columns.split(","):
        fail("the target choices are '%s', without y" % columns)
    page.js("document.getElementById('target').value = 'y';"
            "document.getElementById('epochs').value = '2';"
            "document.getElementById('name').value = 'from-the-form';")
    page.shot("submit")
    page.js("document.getElementById('submit-button').click();")
    page.wait("the new job's page", lambda: "/jobs/" in page.driver.current_url)
    new_job = int(page.driver.current_url.rsplit("/", 1)[1])
    page.wait("the new job to succeed", lambda: page.text("#job-state") == "succeeded", 60)
    ok("submit form: columns %s, job %d submitted and succeeded" % (columns, new_job))

    errors = page.console_errors()
    if errors:
        fail("the browser console shows errors: %s" % errors)
    ok("no errors in the browser's console")


def run_tokens(page, url, secret, job):
    page.go(url + "/#/jobs")
    page.wait("the sign-in form", lambda: page.driver.find_element("id", "token"))
    if page.text("#jobs-table") is not None:
        fail("the jobs table shows before sign-in")
    page.shot("signin")
    ok("with tokens the dashboard asks for sign-in")

    field = page.driver.find_element("id", "token")
    field.send_keys("not-the-secret")
    page.js("document.getElementById('signin-button').click();")
    page.wait("a refused token to be said so",
              lambda: "refused" in (page.text("#signin-error") or ""))
    ok("a wrong token is refused: %s" % page.text("#signin-error"))

    field = page.driver.find_element("id", "token")
    field.clear()
    field.send_keys(secret)
    page.js("document.getElementById('signin-button').click();")
    page.wait("the jobs table after sign-in",
              lambda: job_row_state(page, job) is not None)
    page.wait("the event stream to be live with the token",
              lambda: page.text("#live") == "live")
    who = page.text("#who-name")
    ok("signed in as %s: job %d listed, event stream live" % (who, job))


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("open", "tokens"):
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    mode, url, artifacts = sys.argv[1], sys.argv[2], sys.argv[3]
    os.makedirs(artifacts, exist_ok=True)
    driver = start_browser(artifacts)
    try:
        page = Page(driver, artifacts)
        driver.set_page_load_timeout(WAIT_S)
        if mode == "open":
            run_open(page, url, sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
        else:
            run_tokens(page, url, sys.argv[4], int(sys.argv[5]))
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
