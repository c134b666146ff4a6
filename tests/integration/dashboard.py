#!/usr/bin/python3
"""dashboard - drives the dashboard in headless Chromium (python3-selenium) for test_dashboard.sh

usage: dashboard.py open URL ARTIFACTS DATA DONE_JOB LONG_JOB
       dashboard.py tokens URL ARTIFACTS SECRET JOB
       dashboard.py sweep URL ARTIFACTS SWEEP
       dashboard.py sweepform URL ARTIFACTS DATA TARGET
Exits 0 when every check passed, 1 on the first failure (saying which), 77 when Chromium
or its driver cannot run here (saying why), so a skipped check never passes silently.
"""
import json
import os
import sys
import urllib.request
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

    # A stopped job keeps its checkpoint: a download link, and resume and delete buttons
    link = page.wait("the checkpoint link", lambda: page.js(
        "const a = document.getElementById('checkpoint-link'); return a && a.href;"))
    if not link.endswith("/api/v1/jobs/%d/checkpoint" % long_job):
        fail("the checkpoint link is %s" % link)
    for button in ("resume-job", "delete-job"):
        if not page.js("const b = document.getElementById(arguments[0]);"
                       "return b && !b.disabled;", button):
            fail("the stopped job's page has no %s button" % button)
    ok("stopped job %d: checkpoint link, resume and delete buttons" % long_job)

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


def sweep_curves(page):
    return page.js("const c = document.getElementById('sweep-chart');"
                   "const chart = c && window.Chart && Chart.getChart(c);"
                   "return chart ? chart.data.datasets.filter(d => d.data.length > 0).length"
                   " : -1;")


def run_sweep(page, url, sweep):
    with urllib.request.urlopen(url + "/api/v1/sweeps/%d?full=1" % sweep) as reply:
        board = json.load(reply)
    trials = board["trials"]
    # The sweeps page lists it
    page.go(url + "/#/sweeps")
    page.wait("the sweeps table to list sweep %d" % sweep, lambda: page.text(
        '#sweeps-table tr[data-sweep="%d"] .state' % sweep) == board["state"])
    ok("sweeps page: sweep %d listed, %s" % (sweep, board["state"]))

    # Its page: every trial on the leaderboard, in the broker's order, with why it was pruned
    page.js("document.querySelector('#sweeps-table tr[data-sweep=\"%d\"] a').click();" % sweep)
    page.wait("the leaderboard of %d trials" % len(trials), lambda: page.js(
        "return document.querySelectorAll('#leaderboard tbody tr').length;") == len(trials))
    shown = page.js("return Array.from(document.querySelectorAll('#leaderboard tbody tr'))"
                    ".map(r => r.dataset.job ? Number(r.dataset.job) : null);")
    if shown != [t["job"] for t in trials]:
        fail("the leaderboard shows jobs %s, not %s" % (shown, [t["job"] for t in trials]))
    for t in board["full"]["trials"]:
        why = page.text('#leaderboard tr[data-job="%d"] td.why' % t["job"]) if t["job"] else ""
        if t["state"] == "pruned" and not why:
            fail("pruned trial job %d shows no reason" % t["job"])
    best = board.get("best")
    if best and ("job %d" % best["job"]) not in (page.text("#sweep-best") or ""):
        fail("the best trial is shown as '%s', not job %d" % (page.text("#sweep-best"),
                                                                best["job"]))
    counts = page.text("#sweep-counts") or ""
    for state, count in board["full"]["counts"].items():
        if count and ("%s %d" % (state, count)) not in counts:
            fail("the counts '%s' miss %s %d" % (counts, state, count))
    with_job = len([t for t in trials if t["job"]])
    page.wait("the chart to overlay %d trials' curves" % with_job,
              lambda: sweep_curves(page) == min(with_job, 20))
    stop = page.js("return document.getElementById('stop-sweep').disabled;")
    if stop != (board["state"] != "running"):
        fail("the stop button's disabled is %s for a %s sweep" % (stop, board["state"]))
    page.shot("sweep")
    pruned = len([t for t in trials if t["state"] == "pruned"])
    ok("sweep %d's page: %d trials in order (%d pruned, with why), counts %s, %d curves"
       % (sweep, len(trials), pruned, counts, sweep_curves(page)))

    # The jobs table's sweep filter asks the gateway for that sweep only
    page.go(url + "/#/jobs?sweep=%d" % sweep)
    page.wait("the jobs table of sweep %d" % sweep, lambda: page.js(
        "return document.querySelectorAll('#jobs-table tbody tr').length;") == with_job)
    ok("jobs?sweep=%d: the table shows its %d jobs" % (sweep, with_job))
    errors = page.console_errors()
    if errors:
        fail("the browser console shows errors: %s" % errors)


def run_sweepform(page, url, data, target):
    """The sweeps page's form: an API error shown, then a 2-trial sweep whose trials appear."""
    page.go(url + "/#/sweeps")
    page.wait("the sweep form", lambda: page.driver.find_element("id", "sweep-form"))
    page.js("document.getElementById('sweep-new').open = true;")
    page.driver.find_element("id", "sweep-file").send_keys(data)
    columns = page.wait("the sweep form's target list to fill", lambda: page.js(
        "return Array.from(document.getElementById('sweep-target').options)"
        ".map(o => o.value).join(',');") or None)
    if target not in columns.split(","):
        fail("the sweep form's target choices are '%s', without %s" % (columns, target))
    page.js("const v = (id, x) => { document.getElementById(id).value = x; };"
            "v('sweep-target', arguments[0]); v('sweep-task', 'classification');"
            "v('sweep-epochs', '3'); v('sweep-val_split', '0.25'); v('sweep-name', 'from-form');"
            "v('sweep-search', 'grid'); v('sweep-parallel', '2'); v('sweep-early_stop', 'none');"
            "const row = document.querySelector('#sweep-params .param');"
            "row.querySelector('.param-name').value = 'lr';"
            "row.querySelector('.param-space').value = 'uniform:0.01:0.1';", target)
    # A range in a grid: the broker's 400 is shown, naming the parameter
    page.js("document.getElementById('sweep-submit').click();")
    error = page.wait("the API's error in the form", lambda: (
        page.js("const s = document.getElementById('sweep-form-status');"
                "return s.className === 'error' && s.textContent.startsWith('No sweep:')"
                " ? s.textContent : null;")))
    if "lr" not in error:
        fail("the sweep form's error does not name the parameter: %s" % error)
    ok("sweep form: a range in a grid is refused, shown as '%s'" % error)
    # A row with a name and no space is caught before any upload
    page.js("document.getElementById('sweep-add-param').click();"
            "const rows = document.querySelectorAll('#sweep-params .param');"
            "rows[0].querySelector('.param-space').value = '0.1|0.01';"
            "rows[1].querySelector('.param-name').value = 'hidden';")
    page.js("document.getElementById('sweep-submit').click();")
    page.wait("the half-filled row's error", lambda: "needs both a NAME and a SPACE" in (
        page.text("#sweep-form-status") or ""))
    page.js("document.querySelectorAll('#sweep-params .param')[1]"
            ".querySelector('.param-space').value = '8|16';")
    page.shot("sweep-form")
    page.js("document.getElementById('sweep-submit').click();")
    page.wait("the new sweep's page", lambda: "/sweeps/" in page.driver.current_url)
    sweep = int(page.driver.current_url.rsplit("/", 1)[1])
    with urllib.request.urlopen(url + "/api/v1/sweeps/%d?full=1" % sweep) as reply:
        board = json.load(reply)
    params = sorted(json.dumps(t["params"], sort_keys=True) for t in board["trials"])
    with urllib.request.urlopen(url + "/api/v1/sweeps") as reply:
        names = {s["id"]: s.get("name") for s in json.load(reply)["sweeps"]}
    if len(params) != 4 or names.get(sweep) != "from-form":
        fail("sweep %d has %d trials %s, name %s" % (sweep, len(params), params,
                                                      names.get(sweep)))
    page.wait("the leaderboard's 4 trials with their jobs", lambda: page.js(
        "return Array.from(document.querySelectorAll('#leaderboard tbody tr'))"
        ".filter(r => r.dataset.job).length;") == 4, 60)
    ok("sweep form: sweep %d made with trials %s, all 4 on its leaderboard" % (sweep, params))
    # the one 400 asked for above is logged by the browser as a failed load; nothing else may be
    errors = [e for e in page.console_errors()
              if not ("/api/v1/sweeps " in e and "status of 400" in e)]
    if errors:
        fail("the browser console shows errors: %s" % errors)


def main():
    if len(sys.argv) < 2 or sys.argv[1] not in ("open", "tokens", "sweep",
                                                      "sweepform"):
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
        elif mode == "sweepform":
            run_sweepform(page, url, sys.argv[4], sys.argv[5])
        elif mode == "sweep":
            run_sweep(page, url, int(sys.argv[4]))
        else:
            run_tokens(page, url, sys.argv[4], int(sys.argv[5]))
    finally:
        driver.quit()


if __name__ == "__main__":
    main()
