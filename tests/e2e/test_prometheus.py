"""The Prometheus rules and the Grafana dashboard, checked against the real thing: Debian's
`prometheus` scrapes the module on loopback (through a file_sd target list, as a fleet is watched),
loads conf/prometheus/*.rules.yml, and every PromQL expression of the rules and of the dashboard is
evaluated through its HTTP API.

What "an expression works" means here, said once:
- it returns a non-empty result on a healthy host (Passenger with two apps of two processes each,
  every process just probed by health.json);
- every metric name and every label name it uses exists in what Prometheus scraped or recorded, so
  a misspelt label in `by (...)` or in a `=~".*"` matcher, which would still return a result, fails;
- an alert is `<what is measured> <comparison> <threshold>`: exactly one comparison at its top
  level, whose right side is a scalar; the left side, what is measured, must return a result (the
  full expression returns nothing while all is well, which proves nothing);
- Prometheus itself evaluated every rule without an error (`health` "ok" in /api/v1/rules);
- a dashboard's template variables are resolved as Grafana would: each `label_values(...)` query
  in order, the first value it yields substituted (regex-escaped, as Grafana does for a
  multi-value variable) into the later variables and the panels; `$__rate_interval` is 1m.
test_the_check_rejects_broken_expressions shows the check failing on the mistakes it must catch.
"""

import datetime
import glob
import json
import os
import re

import pytest
import yaml

import procs
import promserver
from conf import location

API = "/passenger-api"
HEALTH = "/papi-prom-health"
JOB = "passenger"           # the job name the rules expect (README)
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RULE_FILES = sorted(glob.glob(os.path.join(ROOT, "conf", "prometheus", "*.rules.yml")))
DASHBOARD = os.path.join(ROOT, "conf", "grafana", "passenger_api.json")
SCRAPES = 5                 # samples per series before anything is evaluated (rate() needs two)
GRAFANA_INTERVALS = {"$__rate_interval": "1m", "$__interval": "15s"}


@pytest.fixture(scope="module")
def httpd_conf():
    return lambda h: (location(API, h.registry_dir)
                      + location(HEALTH, h.registry_dir, PassengerApiHealthPath="/health",
                                 PassengerApiTimeout=1))


pytestmark = pytest.mark.usefixtures("module_built")


# ---------------------------------------------------------------- PromQL, read as text

def _blank_strings(expr):
    """expr with every quoted string's content blanked (same length), so that label values never
    look like syntax."""
    return re.sub(r'"(?:[^"\\]|\\.)*"|\'(?:[^\'\\]|\\.)*\'|`[^`]*`',
                  lambda m: m[0][0] + " " * (len(m[0]) - 2) + m[0][0], expr)


def split_comparison(expr):
    """(left, operator, right) of the one comparison at the top level of expr (outside any
    parentheses, braces, brackets or strings); fails unless there is exactly one."""
    text, depth, found, i = _blank_strings(expr), 0, [], 0
    while i < len(text):
        c = text[i]
        if c in "({[":
            depth += 1
        elif c in ")}]":
            depth -= 1
        elif depth == 0 and c in "=!<>":
            op = text[i:i + 2] if text[i:i + 2] in ("==", "!=", ">=", "<=") else c
            assert op != "=" and op != "!", f"not a comparison at {i} of {expr!r}"
            found.append((i, op))
            i += len(op)
            continue
        i += 1
    assert len(found) == 1, f"{expr!r}: {len(found)} top-level comparisons, an alert needs one"
    (at, op), = found
    return expr[:at].strip(), op, expr[at + len(op):].strip()


GROUPING = re.compile(r"\b(?:by|without|on|ignoring|group_left|group_right)\s*\(([^)]*)\)")
NOT_METRICS = {"bool", "and", "or", "unless", "offset", "inf", "nan"}


def names_used(expr):
    """({metric names}, {label names}) that expr refers to."""
    text = _blank_strings(expr)
    labels = {n.strip() for group in GROUPING.findall(text) for n in group.split(",") if n.strip()}
    for selector in re.findall(r"\{([^}]*)\}", text):
        labels |= set(re.findall(r"([A-Za-z_]\w*)\s*(?:=~|!~|!=|=)", selector))
    rest = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\"\s*\"", " ", GROUPING.sub(" ", text))
    metrics = {m for m in re.findall(r"(?<![\w.])([A-Za-z_:][\w:]*)(?![\w:]|\s*\()", rest)
               if m not in NOT_METRICS}
    return metrics, labels


def grafana_regex_escape(value):
    """A value of a multi-value variable as Grafana's Prometheus data source writes it into a
    `=~"..."` matcher: regex metacharacters escaped, backslashes doubled for the string."""
    return re.sub(r"([\\^$*+?.()|{}\[\]'])", r"\\\\\1", value)


# ---------------------------------------------------------------- a real Prometheus

def wait_for_samples(prom, timeout=40):
    """Until the target is up with SCRAPES samples of each series, then until every rule group
    has been evaluated since: what the checks see is rules run on a full window."""
    procs.wait_until(
        lambda: prom.query(f'count_over_time(up{{job="{JOB}"}}[1m]) >= {SCRAPES} '
                           f'and up{{job="{JOB}"}} == 1')[1],
        timeout, f"{SCRAPES} good scrapes of the module", abort=prom.exited)
    since = datetime.datetime.now(datetime.timezone.utc)
    procs.wait_until(
        lambda: all(promserver.rfc3339(g["lastEvaluation"]) > since
                    for g in prom.api("rules")["groups"]),
        timeout, "a rule evaluation after the samples", abort=prom.exited)


@pytest.fixture(scope="module")
def prometheus(httpd):
    """Prometheus scraping the shared server's module, once the module has every kind of series:
    Passenger has measured every process, and health.json has just probed them all."""
    procs.wait_until(
        lambda: "passenger_process_real_memory_bytes{" in httpd.get(API + "/metrics").text,
        30, "Passenger's first measurement of its processes")
    r = httpd.get(API + "/health.json")
    assert r.status_code == 200 and r.json()["status"] == "healthy", r.text
    prom = promserver.Prometheus(JOB, [f"127.0.0.1:{httpd.port}"], API + "/metrics", RULE_FILES)
    try:
        prom.start()
        wait_for_samples(prom)
        yield prom
    finally:
        prom.cleanup()


# ---------------------------------------------------------------- the check

def check_expr(prom, expr, known=None):
    """Fails unless expr returns a non-empty result and names only metrics and labels that exist
    (known: (metric names, label names) of the TSDB, asked once by the caller)."""
    metrics, labels = known or (prom.series_names(), prom.label_names())
    used_metrics, used_labels = names_used(expr)
    assert used_metrics, f"{expr!r}: no metric found in it"
    assert used_metrics <= metrics, f"{expr!r}: unknown metrics {sorted(used_metrics - metrics)}"
    assert used_labels <= labels | {"__name__"}, \
        f"{expr!r}: unknown labels {sorted(used_labels - labels)}"
    kind, result = prom.query(expr)
    assert kind == "vector" and result, f"{expr!r} returned no result ({kind})"
    return result


def measured(prom, alert):
    """An alert's expression without its threshold; the threshold must be a scalar."""
    left, op, right = split_comparison(alert["expr"])
    kind, _ = prom.query(right)
    assert kind == "scalar", f"{alert['alert']}: the right side of {op} is a {kind}, not a threshold"
    return left


def rules():
    out = []
    for path in RULE_FILES:
        with open(path, encoding="utf-8") as f:
            for group in yaml.safe_load(f)["groups"]:
                out += group["rules"]
    return out


def dashboard_queries(prom, dashboard, known):
    """[(where, expr)] of every panel target, the template variables resolved as Grafana would,
    each variable's own query checked on the way."""
    values = dict(GRAFANA_INTERVALS)
    for var in dashboard["templating"]["list"]:
        if var["type"] != "query":
            continue
        query = var["query"]["query"] if isinstance(var["query"], dict) else var["query"]
        m = re.fullmatch(r"label_values\((.+),\s*(\w+)\)", query.strip())
        assert m, f"variable {var['name']}: not a label_values(...) query: {query!r}"
        selector, label = substitute(m[1], values), m[2]
        result = check_expr(prom, f"count by ({label}) ({selector})", known)
        found = sorted(s["metric"][label] for s in result if label in s["metric"])
        assert found, f"variable {var['name']}: no value of {label} in {selector}"
        values["$" + var["name"]] = grafana_regex_escape(found[0])
    out = []
    for panel in dashboard["panels"]:
        for t in panel.get("targets", []):
            out.append((f"panel {panel['title']!r} {t['refId']}", substitute(t["expr"], values)))
    return out


def substitute(expr, values):
    for name in sorted(values, key=len, reverse=True):
        expr = expr.replace(name, values[name])
    assert "$" not in expr, f"unresolved variable in {expr!r}"
    return expr


# ---------------------------------------------------------------- tests

def test_prometheus_scrapes_the_module_through_file_sd(prometheus, httpd):
    (target,) = prometheus.api("targets")["activeTargets"]
    assert target["health"] == "up" and target["lastError"] == "", target
    assert target["labels"] == {"job": JOB, "instance": f"127.0.0.1:{httpd.port}"}
    assert target["scrapeUrl"] == f"http://127.0.0.1:{httpd.port}{API}/metrics"


def test_every_rule_loads_and_evaluates_without_error(prometheus):
    loaded = [r for g in prometheus.api("rules")["groups"] for r in g["rules"]]
    assert sorted(r["name"] for r in loaded) == \
        sorted(r.get("record") or r["alert"] for r in rules())
    for r in loaded:
        assert r["health"] == "ok", f"{r['name']}: {r.get('lastError')}"


def test_every_recording_rule_returns_a_result(prometheus):
    known = (prometheus.series_names(), prometheus.label_names())
    records = [r for r in rules() if "record" in r]
    assert records
    for rule in records:
        check_expr(prometheus, rule["expr"], known)
        # ... and Prometheus has recorded it, labels and all.
        check_expr(prometheus, rule["record"], known)


def test_every_alert_measures_something(prometheus):
    known = (prometheus.series_names(), prometheus.label_names())
    alerts = [r for r in rules() if "alert" in r]
    assert {"PassengerApiTargetDown", "PassengerApiScrapeErrors", "PassengerInstanceDown",
            "PassengerRequestsQueued", "PassengerProcessMemoryHigh",
            "PassengerProcessMemoryGrowing", "PassengerHealthProbeFailing"} <= \
        {a["alert"] for a in alerts}
    for alert in alerts:
        check_expr(prometheus, measured(prometheus, alert), known)


def test_no_alert_holds_on_a_healthy_host(prometheus):
    """The thresholds point the right way: all is well, so no alert's condition holds. Except a
    young process's memory slope: over the few seconds scraped, a warm-up can exceed it."""
    young = {"PassengerProcessMemoryGrowing"}
    checked = [a for a in rules() if "alert" in a and a["alert"] not in young]
    assert len(checked) >= 8
    for alert in checked:
        assert prometheus.query(alert["expr"])[1] == [], alert["alert"]


def test_every_dashboard_query_returns_a_result(prometheus):
    with open(DASHBOARD, encoding="utf-8") as f:
        dashboard = json.load(f)
    known = (prometheus.series_names(), prometheus.label_names())
    queries = dashboard_queries(prometheus, dashboard, known)
    assert len(queries) >= 20
    for where, expr in queries:
        try:
            check_expr(prometheus, expr, known)
        except AssertionError as e:
            raise AssertionError(f"{where}: {e}") from None


def test_the_dashboard_is_importable_as_it_is():
    """What Grafana's import needs: a schema version, no fixed id, a uid, a Prometheus data source
    chosen by variable, unique panel ids, and every panel on the grid."""
    with open(DASHBOARD, encoding="utf-8") as f:
        d = json.load(f)
    assert isinstance(d["schemaVersion"], int) and d["schemaVersion"] >= 36
    assert d["id"] is None and re.fullmatch(r"[\w-]{1,40}", d["uid"])
    variables = {v["name"]: v for v in d["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["passenger_instance"]["type"] == "query"
    ids = [p["id"] for p in d["panels"]]
    assert len(ids) == len(set(ids))
    for p in d["panels"]:
        grid = p["gridPos"]
        assert set(grid) == {"h", "w", "x", "y"} and grid["x"] + grid["w"] <= 24, p["title"]
        if p["type"] != "row":
            assert p["datasource"] == {"type": "prometheus", "uid": "${datasource}"}, p["title"]
            assert p["targets"] and all(t["datasource"] == p["datasource"] for t in p["targets"])


def test_a_failing_probe_shows_in_prometheus_and_its_alert_is_pending(prometheus, httpd):
    app = httpd.app("app")
    sick = httpd.instance.live_pids(app.group_name)[0]
    app.make_sick(sick)
    try:
        r = httpd.get(HEALTH + "/health.json")
    finally:
        app.make_sick(sick, False)
    assert r.status_code == 503, r.text
    failed = procs.wait_until(lambda: prometheus.query("passenger_process_health_probe_ok == 0")[1],
                              10, "the failed probe scraped")
    (series,) = failed
    assert series["metric"]["app_group"] == app.group_name
    alert = procs.wait_until(
        lambda: [a for a in prometheus.api("alerts")["alerts"]
                 if a["labels"]["alertname"] == "PassengerHealthProbeFailing"],
        10, "PassengerHealthProbeFailing pending")
    assert [a["state"] for a in alert] == ["pending"]
    assert alert[0]["labels"]["slot"] == series["metric"]["slot"]
    # Probed again, healthy: the series is 1 again at the next scrape.
    assert httpd.get(API + "/health.json").status_code == 200
    procs.wait_until(lambda: not prometheus.query("passenger_process_health_probe_ok == 0")[1],
                     10, "the passed probe scraped")


def test_the_check_rejects_broken_expressions(prometheus):
    """Each of these is a mistake the check above must catch."""
    known = (prometheus.series_names(), prometheus.label_names())
    broken = [
        "passenger_proces_rss_bytes",                                   # a misspelt metric
        'passenger_up{passenger_instance="no such instance"}',          # a wrong label value
        'passenger_up{passenger_instanse=~".*"}',                       # a misspelt label...
        "sum by (pasenger_instance) (passenger_up)",                    # ... anywhere
        "passenger_up * on (instance_nam) group_left () passenger_info",
        "passenger_pool_queued_requests > 0",                           # nothing queued: empty
    ]
    for expr in broken:
        with pytest.raises(AssertionError):
            check_expr(prometheus, expr, known)
    # An alert whose expression is not "measured <op> threshold".
    for expr in ("passenger_up", "passenger_up == 0 and passenger_api_scrape_errors > 0",
                 "passenger_up == passenger_up"):
        with pytest.raises(AssertionError):
            measured(prometheus, {"alert": "Broken", "expr": expr})
