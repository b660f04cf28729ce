"""Read-only by default, full access only when configured: what each mode forwards, that no
secret leaves in read-only mode, that every write works in full mode and cannot be forged by a
web page, and the limits on one request."""

import json
import re
import socket
import time

import pytest

from conf import location

RO = "/passenger-api"
FULL = "/papi-full"
LIMITS = "/papi-limits"
JSON = {"Content-Type": "application/json"}
REGISTRIES = ("fake", "standalone", "limits")

WRITES = [("POST", "/shutdown.json"), ("PUT", "/gc.json"), ("POST", "/reopen_logs.json"),
          ("POST", "/reinherit_logs.json"), ("POST", "/pool/restart_app_group.json"),
          ("POST", "/pool/detach_process.json"), ("DELETE", "/server/1-1.json"),
          ("PUT", "/config.json")]


@pytest.fixture(scope="module")
def httpd_conf(regs):
    return lambda h: (location(RO, h.registry_dir, regs['fake'])
                      + location(FULL, h.registry_dir, regs['standalone'],
                                 PassengerApiAccess="full", PassengerApiLimitRequestBody=1000)
                      + location(LIMITS, regs['limits'], PassengerApiMaxInstances=2,
                                 PassengerApiTimeout=1, PassengerApiRequestTimeout=1.5,
                                 PassengerApiLimitAnswer=1000))


def elements(r):
    assert r.status_code == 200, r.text
    return r.json()


# ---------------------------------------------------------------- read-only

# A GET of a write endpoint is each instance's 405, never sent either (test_passenger_api_gem.py).
@pytest.mark.parametrize("method, path", WRITES + [("GET", "/pool.json"), ("GET", "/config.json"),
                                                  ("GET", "/pool.xml?secrets=true")])
def test_readonly_refuses_without_contacting_a_core(httpd, fake_core, regs, method, path):
    fake = fake_core(registry_dir=regs["fake"])
    pids = httpd.instance.live_pids()
    r = httpd.request(method, RO + path, data="{}", headers=JSON)
    assert r.status_code == 403
    assert r.json()["error"]
    r = httpd.request(method, f"{RO}/instances/{httpd.instance.name}{path}", data="{}", headers=JSON)
    assert r.status_code == 403
    assert fake.connections() == 0
    assert httpd.instance.ping()
    assert httpd.instance.live_pids() == pids


def test_no_secret_leaves_in_readonly(httpd):
    inst = httpd.instance
    secrets = inst.secrets()
    paths = ["/ping.json", "/info.json", "/pool.txt", "/pool.txt?verbose=true", "/pool.xml",
             "/server.json", "/backtraces.txt", "/nope.json"]
    answers = {"/instances.json": httpd.get(RO + "/instances.json").text}
    # The pool views carry no secret in either mode.
    for view in ("/processes.json", "/metrics", "/"):
        for base in (RO, FULL):
            answers[base + view] = httpd.get(base + view).text
            # Not vacuous: the pool is there (metrics show slots, not pids).
            assert "passenger_process_sessions{" in answers[base + view] if view == "/metrics" \
                else str(inst.live_pids()[0]) in answers[base + view], base + view
    for path in paths:
        answers[path] = httpd.get(RO + path).text
        answers["raw " + path] = httpd.get(f"{RO}/instances/{inst.name}{path}").text
    for where, text in answers.items():
        for secret in secrets:
            assert secret not in text, f"a secret in {where}"
    # Not vacuous: the secrets were there to remove.
    assert "<api_key>[REDACTED]</api_key>" in answers["raw /pool.xml"]
    assert re.search(r"Password: \[REDACTED\]", answers["raw /pool.txt?verbose=true"])
    assert re.search(r"URL +: \[REDACTED\]", answers["raw /pool.txt?verbose=true"])
    verbose = elements(httpd.get(RO + "/pool.txt?verbose=true"))[0]["body"]
    assert "Password: [REDACTED]" in verbose


def in_flight_paths(server_json):
    """The paths of the requests in flight that a core's server.json lists."""
    doc = json.loads(server_json)
    return [client["current_request"].get("path")
            for thread in doc.values() if isinstance(thread, dict)
            for clients in (thread["active_clients"], thread["disconnected_clients"])
            for client in clients.values() if "current_request" in client]


def test_end_users_query_strings_and_sticky_ids_not_shown_in_readonly(httpd):
    """While an end user's request with a token in its query is in flight, read-only mode shows
    its path in server.json but not its query, raw and aggregate; a full Location shows it as
    is. pool.xml's sticky session ids likewise."""
    inst, app = httpd.instance, httpd.app()
    target = "/hang?token=SECRET123&s=20"
    # The end user's request, sent and not read: in flight until released.
    user = socket.create_connection(("127.0.0.1", app.port), timeout=30)
    user.sendall(f"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
    try:
        deadline = time.monotonic() + 10
        while target not in in_flight_paths(httpd.get(f"{FULL}/instances/{inst.name}"
                                                      "/server.json").text):
            assert time.monotonic() < deadline, "the request never showed in server.json"
            time.sleep(0.1)
        raw = httpd.get(f"{RO}/instances/{inst.name}/server.json")
        (element,) = elements(httpd.get(RO + "/server.json"))
        (full,) = elements(httpd.get(FULL + "/server.json"))
    finally:
        app.release_hangs()
        with user:
            answer = user.makefile("rb").readline()
        app.release_hangs(False)
    assert answer.startswith(b"HTTP/1.1 200"), answer
    for text in (raw.text, element["body"]):
        assert "SECRET123" not in text
        assert "/hang?[REDACTED]" in in_flight_paths(text)
    assert target in in_flight_paths(full["body"])

    raw = httpd.get(f"{RO}/instances/{inst.name}/pool.xml").text
    full = httpd.get(f"{FULL}/instances/{inst.name}/pool.xml").text
    ids = re.findall(r"<sticky_session_id>([^<]*)</sticky_session_id>", full)
    assert len(ids) == len(inst.live_pids()) and all(i.isdigit() for i in ids), ids
    assert re.findall(r"<sticky_session_id>([^<]*)</sticky_session_id>", raw) == \
        ["[REDACTED]"] * len(ids)
    assert not any(i in raw for i in ids)


# ---------------------------------------------------------------- full

def test_full_shows_configuration_and_secrets(httpd):
    inst = httpd.instance
    (config,) = elements(httpd.get(FULL + "/config.json"))
    assert config["status"] == 200
    assert "log_level" in json.loads(config["body"])
    (pool,) = elements(httpd.get(FULL + "/pool.json"))
    assert pool["status"] == 200
    raw = httpd.get(f"{FULL}/instances/{inst.name}/pool.xml?secrets=true")
    assert inst.group_keys() <= set(re.findall(r"<api_key>([^<]+)</api_key>", raw.text))


@pytest.mark.parametrize("headers, why", [
    ({"Content-Type": "application/x-www-form-urlencoded"}, "application/json"),
    ({"Content-Type": "text/plain"}, "application/json"),
    ({}, "application/json"),
    ({"Content-Type": "application/json", "Origin": "http://evil.example"}, "origin"),
    ({"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"}, "site"),
])
def test_full_refuses_writes_a_web_page_could_send(httpd, headers, why):
    r = httpd.request("PUT", FULL + "/gc.json", data="{}", headers=headers)
    assert r.status_code == 403
    assert why in r.json()["error"]


def test_full_allows_same_origin_writes(httpd):
    own = f"http://127.0.0.1:{httpd.port}"
    r = httpd.request("PUT", FULL + "/gc.json", data="",
                      headers={"Content-Type": "application/json", "Origin": own,
                               "Sec-Fetch-Site": "same-origin"})
    assert [e["status"] for e in elements(r)] == [200]


@pytest.mark.parametrize("method, path, body, expect", [
    ("PUT", "/gc.json", "", {"status": "ok"}),
    ("POST", "/reopen_logs.json", "", {"status": "ok"}),
    ("POST", "/reinherit_logs.json", "", {"status": "ok"}),
    ("DELETE", "/server/1-1.json", None, {"status": "error", "reason": "Invalid thread number"}),
])
def test_full_forwards_each_write_with_the_admin_credential(httpd, method, path, body, expect):
    r = httpd.request(method, FULL + path, data=body, headers=JSON)
    (element,) = elements(r)
    assert json.loads(element["body"]) == expect


def test_full_config_put(httpd):
    (config,) = elements(httpd.get(FULL + "/config.json"))
    level = json.loads(config["body"])["log_level"]["effective_value"]
    r = httpd.request("PUT", FULL + "/config.json", data=json.dumps({"log_level": level}), headers=JSON)
    assert json.loads(elements(r)[0]["body"]) == {"status": "ok"}


def test_full_detach_and_restart_change_the_pool(httpd):
    inst = httpd.instance
    app = httpd.app("app")
    before = inst.live_pids(app.group_name)
    victim = before[0]
    r = httpd.request("POST", f"{FULL}/instances/{inst.name}/pool/detach_process.json",
                      data=json.dumps({"pid": victim}), headers=JSON)
    assert r.status_code == 200 and r.json() == {"detached": True}
    import procs
    procs.wait_until(lambda: victim not in inst.live_pids(app.group_name), 10, "the detached pid gone")
    current = procs.wait_until(lambda: (lambda p: p if len(p) >= 2 else None)(inst.live_pids(app.group_name)),
                               30, "the group back to two processes")
    r = httpd.request("POST", FULL + "/pool/restart_app_group.json",
                      data=json.dumps({"name": app.group_name, "restart_method": "blocking"}),
                      headers=JSON)
    assert json.loads(elements(r)[0]["body"]) == {"restarted": True}
    after = procs.wait_until(lambda: (lambda p: p if len(p) >= 2 and not set(p) & set(current) else None)(
        inst.live_pids(app.group_name)), 30, "new processes after the restart")
    assert not set(after) & set(current)


def test_full_body_limit(httpd):
    r = httpd.request("PUT", FULL + "/config.json", data="x" * 1001, headers=JSON)
    assert r.status_code == 413
    assert "PassengerApiLimitRequestBody" in r.json()["error"]


def test_full_shutdown_stops_one_core_only(httpd, standalone_factory, regs, expect_log):
    """Passenger's shutdown.json ends that instance's core (its watchdog stays): the instance then
    fails alone, the others answer."""
    import procs
    expect_log(r"PAPI030: instance .* 502 ")
    # A connection the module keeps to that core (this request's, or another child's idle one) is
    # open when the core shuts down, as it was told to: Passenger says so in its own log.
    expect_log(r"Disconnecting client with error: server is shutting down")
    sa = standalone_factory(registry_dir=regs["standalone"])
    core_pid = sa.instance.core_pid
    r = httpd.request("POST", f"{FULL}/instances/{sa.instance.name}/shutdown.json", data="",
                      headers=JSON)
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    procs.wait_until(lambda: not procs.is_running(core_pid), 30, "the standalone core gone")
    answer = elements(httpd.get(FULL + "/ping.json"))
    statuses = {e["instance"]["name"]: e["status"] for e in answer}
    assert statuses == {httpd.instance.name: 200, sa.instance.name: 502}


# ---------------------------------------------------------------- limits

def test_instance_cap_and_answer_limit(httpd, fake_core, regs, expect_log):
    expect_log(r"PAPI030: ")
    fakes = [fake_core(registry_dir=regs["limits"], dirname=f"passenger.Lim{i}") for i in range(3)]
    fakes[1].set_behaviour("huge", huge_bytes=5000)
    answer = elements(httpd.get(LIMITS + "/ping.json"))
    assert [e["status"] for e in answer] == [200, 502, 503]
    assert "too large" in answer[1]["error"] and "1000 bytes of body" in answer[1]["error"]
    assert "PassengerApiMaxInstances" in answer[2]["error"]
    assert fakes[2].connections() == 0
    with open(httpd.error_log_path) as f:
        assert sum("instances not asked" in line for line in f) >= 1


def test_request_deadline(httpd, fake_core, regs, expect_log):
    expect_log(r"PAPI030: ")
    for i in range(2):
        fake_core(registry_dir=regs["limits"], dirname=f"passenger.Hang{i}", behaviour="hang")
    t0 = time.monotonic()
    answer = elements(httpd.get(LIMITS + "/ping.json", timeout=20))
    elapsed = time.monotonic() - t0
    assert [e["status"] for e in answer] == [504, 504]
    assert "not asked" in answer[1]["error"] or "deadline" in answer[1]["error"]
    # Two hung instances of 1 s each, but the request as a whole is cut at 1.5 s.
    assert elapsed < 1.5 + 1.0


def test_raw_answers_cannot_run_in_a_browser(httpd, fake_core, regs):
    """Whatever a core says its answer is, the admin's browser never runs it."""
    page = "<script>alert(document.cookie)</script>"
    fake = fake_core(registry_dir=regs["fake"], responses={
        "/evil.json": (200, {"Content-Type": "text/html; charset=UTF-8"}, page),
        "/odd.json": (200, {"Content-Type": "application/javascript"}, "alert(1)")})
    r = httpd.get(f"{RO}/instances/{fake.name}/evil.json")
    assert r.status_code == 200 and r.text == page
    assert r.headers["Content-Type"] == "text/plain"
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert "default-src 'none'" in r.headers["Content-Security-Policy"]
    r = httpd.get(f"{RO}/instances/{fake.name}/odd.json")
    assert r.headers["Content-Type"] == "application/octet-stream"
    assert "default-src 'none'" in httpd.get(RO + "/ping.json").headers["Content-Security-Policy"]
