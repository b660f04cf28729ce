"""The dashboard's actions in full mode, against real Passenger and in headless Chromium:
"Restart" per app group and "Detach" per process, plain HTML forms that post to <Location>/actions
with the nonce the page carried. Pressing Restart gives the group all new processes, pressing
Detach takes that process out of the pool, and the page comes back saying so. A post without the
nonce, with a wrong or an old one (from before a restart), or from another origin changes nothing
and gets a 403; a read-only dashboard has no buttons and its action URL answers 403.

These tests change the pool, so they run on a server of their own (one per MPM).
"""

import html
import http.server
import re
import threading
import urllib.parse

import pytest

import apache
import browser
import passenger
import procs
from conf import location

FULL = "/papi-console"
RO = "/papi-look"
FORM = {"Content-Type": "application/x-www-form-urlencoded"}

pytestmark = pytest.mark.usefixtures("module_built")


@pytest.fixture(scope="module")
def console(mpm, module_built):
    h = apache.Httpd(mpm, apps=[passenger.RackApp("act"), passenger.RackApp("keep")],
                     extra_conf=lambda h: (location(FULL, h.registry_dir, PassengerApiAccess="full")
                                           + location(RO, h.registry_dir)))
    try:
        h.start()
        yield h
    finally:
        h.cleanup()


def page_form(text, action, target):
    """The fields of the page's form for action ("restart" or "detach") on target (a group's name
    or a pid), as the browser would post them."""
    for form in re.findall(r'<form class="act".*?</form>', text):
        fields = {html.unescape(n): html.unescape(v)
                  for n, v in re.findall(r'name="([^"]*)" value="([^"]*)"', form)}
        if fields["action"] == action and fields.get("group", fields.get("pid")) == str(target):
            return fields
    raise LookupError(f"no {action} form for {target}")


def all_pids(h):
    """Every pid in the pool: processes alive and enabled, and any still shutting down."""
    return sorted(p["pid"] for plist in h.instance.pool().values() for p in plist)


def assert_detached(h, pid):
    """pid is out of the pool's working processes at once (Passenger's answer comes after it is
    detached), and gone from the pool once it has shut down."""
    assert pid not in h.instance.live_pids()
    procs.wait_until(lambda: pid not in all_pids(h), 30, f"process {pid} shut down")


def logged(h, rx):
    """Whether a line of h's error log matches rx (the action's line is written before its answer
    is sent)."""
    with open(h.error_log_path, encoding="utf-8", errors="replace") as f:
        return any(re.search(rx, line) for line in f)


def post(h, path, fields, headers=FORM):
    return h.request("POST", path, data=urllib.parse.urlencode(fields), headers=headers,
                     allow_redirects=False)


def test_buttons_in_full_mode_only(console):
    full = console.get(FULL + "/")
    assert full.status_code == 200
    assert "form-action 'self'" in full.headers["Content-Security-Policy"]
    assert "script-src" not in full.headers["Content-Security-Policy"]
    assert full.text.count(">Restart</button>") == 2
    assert full.text.count(">Detach</button>") == len(all_pids(console)) == 4
    ro = console.get(RO + "/")
    assert ro.status_code == 200
    assert "<form" not in ro.text and "<button" not in ro.text
    assert "form-action 'none'" in ro.headers["Content-Security-Policy"]
    # The read-only Location takes no action, not even with the full one's good nonce.
    fields = page_form(full.text, "detach", all_pids(console)[0])
    before = all_pids(console)
    r = post(console, RO + "/actions", fields)
    assert r.status_code == 403 and "full mode" in r.json()["error"]
    assert all_pids(console) == before
    r = console.get(FULL + "/actions")
    assert r.status_code == 405 and r.headers["Allow"] == "POST"


class OtherSite(http.server.BaseHTTPRequestHandler):
    """Another origin (another port of 127.0.0.1) with a copy of the dashboard's form, nonce
    included: the worst case, a nonce that leaked."""
    form = ""

    def do_GET(self):
        body = self.form.encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_another_origins_form_in_a_browser(console):
    full = console.get(FULL + "/")
    pid = all_pids(console)[0]
    fields = page_form(full.text, "detach", pid)
    OtherSite.form = (f'<form method="post" action="{console.url(FULL + "/actions")}">'
                      + "".join(f'<input type="hidden" name="{html.escape(n)}" '
                                f'value="{html.escape(v)}">' for n, v in fields.items())
                      + '<button id="go">Detach</button></form>')
    site = http.server.HTTPServer(("127.0.0.1", procs.free_port()), OtherSite)
    threading.Thread(target=site.serve_forever, daemon=True).start()
    before = all_pids(console)
    try:
        with browser.Tab() as tab:
            tab.load(f"http://127.0.0.1:{site.server_port}/")
            tab.press("#go")
            assert tab.url() == console.url(FULL + "/actions")
            assert "Origin" in tab.html()
    finally:
        site.shutdown()
        site.server_close()
    assert all_pids(console) == before


def test_forged_posts_change_nothing(console):
    full = console.get(FULL + "/")
    pid = all_pids(console)[0]
    good = page_form(full.text, "detach", pid)
    wrong = dict(good, nonce=good["nonce"][:-1] + ("0" if good["nonce"][-1] != "0" else "1"))
    without = {k: v for k, v in good.items() if k != "nonce"}
    own = console.url("").rstrip("/")
    cases = [
        (without, FORM, "nonce"),
        (wrong, FORM, "nonce"),
        (dict(good, nonce=""), FORM, "nonce"),
        (good, dict(FORM, Origin="http://evil.example"), "Origin"),
        (good, dict(FORM, Origin=own.replace(str(console.port), str(console.port + 1))), "Origin"),
        (good, dict(FORM, Origin="null"), "Origin"),
        (good, dict(FORM, Origin=own, **{"Sec-Fetch-Site": "cross-site"}), "Sec-Fetch-Site"),
        (good, dict(FORM, **{"Sec-Fetch-Site": "same-site"}), "Sec-Fetch-Site"),
        (good, {"Content-Type": "text/plain"}, "Content-Type"),
        (good, {"Content-Type": "application/json"}, "Content-Type"),
    ]
    before = all_pids(console)
    for fields, headers, word in cases:
        r = post(console, FULL + "/actions", fields, headers)
        assert r.status_code == 403, (fields, headers, r.text)
        assert word in r.json()["error"], (word, r.text)
    assert all_pids(console) == before
    # Malformed forms: a 400 with the reason.
    for body in ("action=detach&pid=1", "action=reboot&instance=x&pid=1", "a=%zz", "pid=1&pid=2"):
        r = console.request("POST", FULL + "/actions", data=body, headers=FORM)
        assert r.status_code == 400 and r.json()["error"].startswith("the form"), (body, r.text)
    assert all_pids(console) == before


def test_restart_in_a_browser(console):
    group = console.app("act").group_name
    old = console.instance.live_pids(group)
    kept = console.instance.live_pids(console.app("keep").group_name)
    assert len(old) == 2
    with browser.Tab() as tab:
        tab.load(console.url(FULL + "/?refresh=0"))
        tab.press(f'button[aria-label="Restart {group}"]')
        tab_url = tab.url()
        text = tab.html()
    assert tab_url == console.url(FULL + "/?done=restarted&group="
                                  + urllib.parse.quote_plus(group, safe=""))
    assert "Restarted app group" in text and html.escape(group, quote=False) in text
    browser.screenshot(tab_url, f"dashboard-actions-{console.mpm}")
    # Passenger restarts the group's processes after it answers: every one is new, then.
    procs.wait_until(lambda: (len(console.instance.live_pids(group)) == 2
                              and not set(console.instance.live_pids(group)) & set(old)),
                     60, "the group's processes all replaced")
    assert console.instance.live_pids(console.app("keep").group_name) == kept
    assert logged(console, r"\[passenger_api:notice\] .*PAPI042: dashboard: restart of app group "
                  + re.escape(group) + " in instance " + console.instance.name + " .*: done")


def test_detach_in_a_browser(console):
    pid = console.instance.live_pids(console.app("keep").group_name)[0]
    with browser.Tab() as tab:
        tab.load(console.url(FULL + "/?refresh=0"))
        tab.press(f'button[aria-label="Detach process {pid}"]')
        assert tab.url() == console.url(f"{FULL}/?done=detached&pid={pid}")
        text = tab.html()
    assert f"Detached process {pid}." in text
    # Passenger lists it until it has shut down, but there is nothing left to detach.
    assert f'aria-label="Detach process {pid}"' not in text
    assert_detached(console, pid)
    assert logged(console, r"\[passenger_api:notice\] .*PAPI042: dashboard: detach of process "
                  r"%d in instance %s .*: done" % (pid, console.instance.name))


def test_an_old_pages_nonce_is_refused_after_a_restart(console):
    old = page_form(console.get(FULL + "/").text, "detach", all_pids(console)[0])
    console.graceful()
    new_page = console.get(FULL + "/").text
    pid = all_pids(console)[0]
    fresh = page_form(new_page, "detach", pid)
    assert fresh["nonce"] != old["nonce"]
    before = all_pids(console)
    r = post(console, FULL + "/actions", dict(fresh, nonce=old["nonce"]))
    assert r.status_code == 403 and "reload the dashboard" in r.json()["error"]
    assert all_pids(console) == before
    # The new page's own form works.
    r = post(console, FULL + "/actions", fresh, dict(FORM, Origin=console.url("").rstrip("/")))
    assert r.status_code == 303 and r.headers["Location"] == f"{FULL}/?done=detached&pid={pid}"
    assert_detached(console, pid)
