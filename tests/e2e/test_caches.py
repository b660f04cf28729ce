"""What each httpd child may keep between requests, and when it must let go of it.

A child keeps, for itself: the instances it found (re-checked on every request by a stat of the
registry and instance directories, the instance's `lock` flock and its `core.pid`), each
instance's password (keyed by the instance's identity), and idle keep-alive connections to each
core. GET/HEAD may go out on a kept connection; one found dead before any answer byte is retried
once on a fresh connection; POST/PUT/DELETE always go out on a fresh one and are never retried.

Most tests warm a child up over one client keep-alive connection (`session`: the same child, so the
same caches, under every MPM), change something under it, and check the very next answer, on that
connection and on fresh ones (any child). Nothing here may cost a failed answer or a warn/error line
(the conftest log check), except where a test says so.
"""

import base64
import json
import os
import signal
import socket
import time

import pytest
import requests

from conf import location
import passenger
import procs

API = "/papi-cache"             # the fake-core registry, read-only
FULL = "/papi-cache-full"       # the same registry, PassengerApiAccess full
SA = "/papi-cache-sa"           # a registry for Passenger Standalone instances only
REAL = "/papi-cache-real"       # the shared server's own (integrated) instance
TIMEOUT = 2                     # PassengerApiTimeout of these Locations, seconds
PING_BODY = '{ "status": "ok" }'
JSON = {"Content-Type": "application/json"}
REGISTRIES = ("fake", "sa")      # for fake cores, for Standalone instances (conftest's regs)


@pytest.fixture(scope="module")
def httpd_conf(regs):
    return lambda h: (location(API, regs['fake'], PassengerApiTimeout=TIMEOUT)
                      + location(FULL, regs['fake'], PassengerApiAccess="full",
                                 PassengerApiTimeout=TIMEOUT)
                      + location(SA, regs['sa'], PassengerApiTimeout=TIMEOUT)
                      + location(REAL, h.registry_dir, PassengerApiTimeout=TIMEOUT))


def _new_session():
    s = requests.Session()
    s.trust_env = False         # never through a proxy from the environment
    return s


@pytest.fixture
def session():
    """One client keep-alive connection to httpd: every request on it reaches the same child."""
    with _new_session() as s:
        yield s


class Client:
    """The module's API as a client sees it: on the kept connection, or on a fresh one (which
    may land on any child)."""

    def __init__(self, httpd, session, base):
        self.httpd, self.session, self.base = httpd, session, base

    def get(self, path, fresh=False, timeout=10, **kw):
        url = self.httpd.url(self.base + path)
        if fresh:
            with _new_session() as s:
                return s.get(url, timeout=timeout, headers={"Connection": "close"}, **kw)
        return self.session.get(url, timeout=timeout, **kw)

    def request(self, method, path, **kw):
        kw.setdefault("timeout", 10)
        return self.session.request(method, self.httpd.url(self.base + path), **kw)

    def answer(self, path, fresh=False):
        """The aggregate answer (a list); the request itself must succeed."""
        r = self.get(path, fresh=fresh)
        assert r.status_code == 200, r.text
        answer = r.json()
        assert isinstance(answer, list), answer
        return answer

    def ping(self, fresh=False):
        return self.answer("/ping.json", fresh)

    def instances(self, fresh=False):
        """{instance dir path: entry} of instances.json."""
        return {e["instance_dir"]["path"]: e for e in self.answer("/instances.json", fresh)}

    def warm_up(self, n=20):
        """n ping.json, every third on a fresh connection, the rest on the kept one; returns the
        answers (each must be a 200 for every instance)."""
        answers = []
        for i in range(n):
            answer = self.ping(fresh=(i % 3 == 2))
            assert all(e["status"] == 200 for e in answer), answer
            answers.append(answer)
        return answers


def only_element(answer, path=None):
    """The one element of an aggregate answer (of the instance at `path`, if given)."""
    assert len(answer) == 1, answer
    if path is not None:
        assert answer[0]["instance"]["instance_dir"]["path"] == path, answer
    return answer[0]


def mtimes(*paths):
    return [os.stat(p).st_mtime_ns for p in paths]


# ---------------------------------------------------------------- the fake core itself

def test_fake_keep_alive_behaviours(fake_core):
    """The fake's 'drop_idle' answers with keep-alive and then really closes (at once, or once
    idle for idle_ms); 'say_close' announces the close and lingers: without this the tests below
    would prove nothing."""
    fc = fake_core(behaviour="drop_idle")
    req = b"GET /ping.json HTTP/1.1\r\nHost: localhost\r\n" + fakecore_basic(fc) + b"\r\n"
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(fc.socket_path)
        s.sendall(req)
        data = read_until_eof(s)
    assert data.startswith(b"HTTP/1.1 200 OK\r\n") and b"Connection: keep-alive\r\n" in data
    assert data.endswith(b"\r\n\r\n" + PING_BODY.encode())

    fc.set_behaviour("drop_idle", idle_ms=500)
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(5)
        s.connect(fc.socket_path)
        for _ in range(2):      # a second request within idle_ms is answered on the same one
            s.sendall(req)
            time.sleep(0.1)
        t0 = time.monotonic()
        data = read_until_eof(s)
    assert data.count(b"HTTP/1.1 200 OK\r\n") == 2
    assert 0.2 < time.monotonic() - t0 < 2
    assert len(fc.requests()) == 3 and fc.connections() == 2

    fc.set_behaviour("say_close")
    with socket.socket(socket.AF_UNIX) as s:
        s.settimeout(0.5)
        s.connect(fc.socket_path)
        s.sendall(req)
        head = s.recv(65536)
        assert b"Connection: close\r\n" in head and head.endswith(PING_BODY.encode())
        s.sendall(req)
        with pytest.raises(socket.timeout):
            s.recv(65536)   # neither an answer nor EOF
    assert len(fc.requests()) == 4


def fakecore_basic(fc):
    token = base64.b64encode(f"ro_admin:{fc.ro_password}".encode()).decode()
    return f"Authorization: Basic {token}\r\n".encode()


def read_until_eof(sock):
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


# ---------------------------------------------------------------- kept connections

def test_one_client_connection_uses_one_core_connection(httpd, fake_core, regs, session):
    """30 pings on one client connection reach the core over (at most) two connections, never
    asking it to close; the core's own answer says keep-alive."""
    fc = fake_core(registry_dir=regs["fake"])
    api = Client(httpd, session, API)
    said = []
    for _ in range(30):
        e = only_element(api.ping(), fc.path)
        assert (e["status"], e["body"]) == (200, PING_BODY), e
        said.append(e["header"]["Connection"])
    got = fc.requests()
    assert len(got) == 30
    assert fc.connections() <= 2, f"{fc.connections()} core connections for 30 requests"
    closing = [r for r in got if (r.header("Connection") or "").lower() == "close"]
    assert closing == [], f"{len(closing)} requests asked the core to close"
    assert set(said) == {"keep-alive"}, said


def test_real_core_keeps_the_connection(httpd, session):
    """The real (integrated) core is not asked to close: its answer says keep-alive, every time."""
    api = Client(httpd, session, REAL)
    for i in range(20):
        e = only_element(api.ping(fresh=(i % 4 == 3)), httpd.instance.path)
        assert e["status"] == 200, e
        assert e["instance"]["name"] == httpd.instance.name
        assert e["header"]["Connection"] == "keep-alive", e["header"]


@pytest.mark.parametrize("idle_ms", [0, 20])
def test_core_closing_kept_connections_costs_nothing(httpd, fake_core, regs, session, expect_log,
                                                     idle_ms):
    """A core that closes idle connections (at once, or after idle_ms, racing the next request)
    costs no failed answer; once it closes before answering at all, the answer is one prompt 502
    (one retry at most, no loop), and the next good answer is a 200 again."""
    fc = fake_core(registry_dir=regs["fake"], behaviour="drop_idle", idle_ms=idle_ms)
    api = Client(httpd, session, API)
    pauses = (0, 0.01, 0.02, 0.03, 0.05)
    for i in range(30):
        if idle_ms:
            time.sleep(pauses[i % len(pauses)])
        e = only_element(api.ping(), fc.path)
        assert (e["status"], e["body"]) == (200, PING_BODY), e
    # Each ping reached the core exactly once: a request lost on a dead connection is not
    # recorded, and none was answered twice.
    assert len(fc.requests()) == 30

    expect_log(rf"PAPI030: instance {fc.name} \(.*\): 502 ", required=True)
    before = len(fc.requests())
    fc.set_behaviour("close")
    t0 = time.monotonic()
    e = only_element(api.ping(), fc.path)
    elapsed = time.monotonic() - t0
    assert e["status"] == 502 and e["error"], e
    assert elapsed < TIMEOUT, elapsed
    tried = fc.requests()[before:]
    assert 1 <= len(tried) <= 2, tried
    assert len({r.conn for r in tried}) == len(tried), tried

    fc.set_behaviour("normal")
    e = only_element(api.ping(), fc.path)
    assert e["status"] == 200, e


def test_head_answers_keep_kept_connections_in_step(httpd, fake_core, regs, session):
    """A HEAD answer has no body: HEAD and GET taking turns on kept connections each get their own
    answer, promptly."""
    fc = fake_core(registry_dir=regs["fake"])
    api = Client(httpd, session, API)
    raw = f"/instances/{fc.name}/ping.json"
    for i in range(10):
        t0 = time.monotonic()
        r = api.session.head(httpd.url(API + raw), timeout=10)
        assert r.status_code == 200 and r.content == b"", (r.status_code, r.content)
        r = api.get(raw)
        assert r.status_code == 200 and r.text == PING_BODY, r.text
        r = api.session.head(httpd.url(API + "/ping.json"), timeout=10)
        assert r.status_code == 200 and r.content == b""
        e = only_element(api.ping(fresh=(i % 3 == 2)), fc.path)
        assert (e["status"], e["body"]) == (200, PING_BODY), e
        assert time.monotonic() - t0 < TIMEOUT, "an answer waited for bytes that never came"
    # The module may ask the core with GET for a client's HEAD.
    got = fc.requests()
    assert len(got) == 40 and {r.method for r in got} <= {"GET", "HEAD"}, got


def test_answer_saying_close_ends_that_connection(httpd, fake_core, regs, session):
    """A core answer with `Connection: close` (real Passenger says so after an exception-500)
    ends that connection even if the core has not closed it yet: no request waits on it."""
    fc = fake_core(registry_dir=regs["fake"], behaviour="say_close")
    api = Client(httpd, session, API)
    for i in range(10):
        t0 = time.monotonic()
        e = only_element(api.ping(fresh=(i % 3 == 2)), fc.path)
        assert (e["status"], e["body"]) == (200, PING_BODY), e
        assert e["header"]["Connection"] == "close"
        assert time.monotonic() - t0 < TIMEOUT
    assert fc.connections() == len(fc.requests()) == 10


def test_interim_answer_is_skipped_and_its_connection_never_reused(httpd, fake_core, regs,
                                                                     session):
    """A core that sends `100 Continue` before each answer: the aggregate and /instances/<name>/
    show the final answer, and no request ever gets bytes meant for an earlier one (a connection
    that carried an interim answer is not kept)."""
    fc = fake_core(registry_dir=regs["fake"], behaviour="interim")
    api = Client(httpd, session, API)
    raw = f"/instances/{fc.name}"
    for i in range(3):
        e = only_element(api.answer("/server.json", fresh=(i == 2)), fc.path)
        assert e["status"] == 200, e
        assert json.loads(e["body"])["threads"] == 2
        r = api.get(raw + "/ping.json")
        assert (r.status_code, r.text) == (200, PING_BODY)
    assert fc.connections() == len(fc.requests()) == 6
    # The next request, on whatever the child kept, gets its own answer.
    fc.set_behaviour("normal")
    e = only_element(api.ping(), fc.path)
    assert (e["status"], e["body"]) == (200, PING_BODY), e
    r = api.get(raw + "/info.json")
    assert r.status_code == 200 and r.json()["program_version"] == "6.0.17", r.text
    assert len(fc.requests()) == 8


WRITES = [("PUT", "/gc.json", 200), ("POST", "/reopen_logs.json", 200),
          ("DELETE", "/server/1-1.json", 404)]     # the fake does not know that one: a 404


def test_writes_never_go_out_on_a_kept_connection(httpd, fake_core, regs, session):
    """Every POST/PUT/DELETE reaches the core on a connection no earlier request used."""
    fc = fake_core(registry_dir=regs["fake"])
    api = Client(httpd, session, FULL)
    for method, path, status in WRITES:
        for _ in range(3):
            e = only_element(api.answer("/ping.json"), fc.path)
            assert e["status"] == 200, e
        r = api.request(method, path, data="", headers=JSON)
        assert r.status_code == 200, r.text
        assert only_element(r.json(), fc.path)["status"] == status
        got = fc.requests()
        write = got[-1]
        assert (write.method, write.path) == (method, path), got
        assert [x for x in got if x.method == method] == [write], "the write was sent twice"
        earlier = {x.conn for x in got[:-1]}
        assert write.conn not in earlier, f"{method} {path} went out on a used connection"


def test_write_is_never_retried(httpd, fake_core, regs, session, expect_log):
    """A write whose connection dies before any answer byte is a 502, not a second write."""
    expect_log(r"PAPI030: instance .*: 502 ", required=True)
    fc = fake_core(registry_dir=regs["fake"])
    api = Client(httpd, session, FULL)
    for _ in range(3):
        assert only_element(api.answer("/ping.json"), fc.path)["status"] == 200
    fc.set_behaviour("close")
    r = api.request("PUT", "/gc.json", data="", headers=JSON)
    assert r.status_code == 200, r.text
    e = only_element(r.json(), fc.path)
    assert e["status"] == 502 and e["error"], e
    assert [x.method for x in fc.requests()].count("PUT") == 1


def test_parallel_requests_never_share_a_connection(httpd, fake_core, regs):
    """Threads of one child (worker, event) taking kept connections from one place: each answer
    is the one for its own request."""
    n_threads, n_requests = 8, 15
    fc = fake_core(registry_dir=regs["fake"], behaviour="delay", delay_ms=5, responses={
        f"/r{k}.json": (200, {"Content-Type": "application/json"}, json.dumps({"k": k}))
        for k in range(n_threads)})
    wrong, errors = [], []

    def client(k):
        try:
            with _new_session() as s:
                api = Client(httpd, s, API)
                for _ in range(n_requests):
                    r = api.get(f"/instances/{fc.name}/r{k}.json")
                    if r.status_code != 200 or json.loads(r.text) != {"k": k}:
                        wrong.append((k, r.status_code, r.text[:200]))
        except Exception as e:     # noqa: BLE001 - reported below
            errors.append(repr(e))

    procs.run_threads(client, n_threads)
    assert errors == [] and wrong == [], (errors, wrong[:5])
    assert len(fc.requests()) == n_threads * n_requests


# ---------------------------------------------------------------- instances that change

def test_standalone_replaced_in_its_registry(httpd, standalone_factory, regs, session):
    """A Standalone instance stopped and another started in its registry: every answer after
    that shows the new one only (its name, instance_id and core_pid); once it stops too, []."""
    api = Client(httpd, session, SA)
    sa1 = standalone_factory(registry_dir=regs["sa"])
    first = sa1.instance
    for answer in api.warm_up(20):
        assert only_element(answer, first.path)["instance"]["name"] == first.name
    sa1.stop()                  # returns once the instance dir is gone
    for fresh in (False, True):
        assert api.ping(fresh=fresh) == []

    sa2 = standalone_factory(registry_dir=regs["sa"])
    second = sa2.instance
    assert (second.name, second.path) != (first.name, first.path)
    for i in range(20):
        e = only_element(api.ping(fresh=(i % 3 == 2)), second.path)
        assert e["status"] == 200 and e["body"] == PING_BODY, e
        inst = e["instance"]
        assert (inst["name"], inst["instance_id"], inst["core_pid"]) == \
            (second.name, second.properties["instance_id"], second.core_pid)
    for fresh in (False, True):
        listed = api.instances(fresh=fresh)
        assert list(listed) == [second.path]
        assert listed[second.path]["state"] == "good"
        assert listed[second.path]["core_pid"] == second.core_pid

    sa2.stop()
    assert passenger.instance_dirs(regs["sa"]) == []
    for fresh in (False, True, False):
        assert api.ping(fresh=fresh) == []
        assert api.instances(fresh=fresh) == {}


def test_core_restarted_by_its_watchdog(httpd, standalone_factory, regs, session, expect_log):
    """Passenger 6.0.17's watchdog restarts a core killed with SIGKILL in the same instance dir
    and rewrites core.pid in place (same directory, same passwords). Once the new core answers,
    every answer is a 200 from it, with its core_pid."""
    expect_log(r"Passenger core \(pid=\d+\) crashed with signal SIGKILL, restarting it",
               required=True)
    api = Client(httpd, session, SA)
    sa = standalone_factory(registry_dir=regs["sa"])
    inst = sa.instance
    old_pid = inst.core_pid
    for answer in api.warm_up(20):
        assert only_element(answer, inst.path)["instance"]["core_pid"] == old_pid
    dir_mtimes = mtimes(regs["sa"], inst.path)

    os.kill(old_pid, signal.SIGKILL)

    def restarted():
        pid = procs.read_int_file(os.path.join(inst.path, "core.pid"))
        return pid if pid not in (None, old_pid) and passenger.Instance(inst.path).ping() else None

    new_pid = procs.wait_until(restarted, 30, "the watchdog to restart the core")
    assert procs.is_running(new_pid) and not procs.is_running(old_pid)
    # What makes this a test of the per-request core.pid check: no directory changed.
    assert mtimes(regs["sa"], inst.path) == dir_mtimes
    for i in range(20):
        e = only_element(api.ping(fresh=(i % 3 == 2)), inst.path)
        assert e["status"] == 200 and e["body"] == PING_BODY, e
        assert e["instance"]["core_pid"] == new_pid
        assert e["instance"]["name"] == inst.name
    assert api.instances()[inst.path]["core_pid"] == new_pid


def test_released_lock_is_stale_at_once(httpd, fake_core, regs, session):
    """A watchdog gone without removing its dir (lock released, nothing in any directory
    changed): the very next answer lists it as stale and no longer asks it."""
    fc = fake_core(registry_dir=regs["fake"])
    api = Client(httpd, session, API)
    api.warm_up(12)
    assert api.instances()[fc.path]["state"] == "good"
    dir_mtimes = mtimes(regs["fake"], fc.path)

    fc.stop(remove=False)

    assert mtimes(regs["fake"], fc.path) == dir_mtimes
    for fresh in (False, True, False):
        entry = api.instances(fresh=fresh)[fc.path]
        assert entry["state"] == "stale" and entry["reason"], entry
        assert "core_pid" not in entry
        assert api.ping(fresh=fresh) == []
    r = api.get(f"/instances/{fc.name}/ping.json")
    assert r.status_code == 404, r.text


def _other_pid(pid):
    """A pid of the same number of digits as pid, so core.pid keeps its size."""
    return pid + 1 if len(str(pid + 1)) == len(str(pid)) else pid - 1


def test_core_pid_rewritten_in_place(httpd, fake_core, regs, session):
    """core.pid rewritten in place (same inode, no directory change): the next answer has the
    new core_pid, in ping.json and instances.json."""
    fc = fake_core(registry_dir=regs["fake"])
    api = Client(httpd, session, API)
    for answer in api.warm_up(12):
        assert only_element(answer, fc.path)["instance"]["core_pid"] == fc.pid
    core_pid_file = os.path.join(fc.path, "core.pid")
    before = os.stat(core_pid_file)
    dir_mtimes = mtimes(regs["fake"], fc.path)
    time.sleep(0.02)
    new_pid = _other_pid(fc.pid)
    fc.rewrite_core_pid(new_pid)
    after = os.stat(core_pid_file)
    assert (after.st_ino, after.st_size) == (before.st_ino, before.st_size)
    assert mtimes(regs["fake"], fc.path) == dir_mtimes
    for fresh in (False, True, False):
        e = only_element(api.ping(fresh=fresh), fc.path)
        assert e["status"] == 200 and e["instance"]["core_pid"] == new_pid, e
        assert api.instances(fresh=fresh)[fc.path]["core_pid"] == new_pid


def test_properties_replaced(httpd, fake_core, regs, session):
    """properties.json replaced (a new file renamed into place) with a new name: the next answer
    shows the new name, and the instance is reachable by it, not by the old one."""
    fc = fake_core(registry_dir=regs["fake"])
    api = Client(httpd, session, API)
    api.warm_up(12)
    old_name, new_name = fc.name, "Renamed" + fc.name
    assert api.get(f"/instances/{old_name}/ping.json").status_code == 200
    time.sleep(0.02)
    fc.replace_properties({"name": new_name})
    for fresh in (False, True, False):
        e = only_element(api.ping(fresh=fresh), fc.path)
        assert e["status"] == 200 and e["instance"]["name"] == new_name, e
        assert api.instances(fresh=fresh)[fc.path]["name"] == new_name
    r = api.get(f"/instances/{new_name}/ping.json")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert api.get(f"/instances/{old_name}/ping.json").status_code == 404


def test_instance_finishing_its_start_is_seen_at_once(httpd, fake_core, regs, session):
    """An instance seen while not finalized becomes good the moment creation_finalized appears
    (only its own directory changes, not the registry)."""
    fc = fake_core(registry_dir=regs["fake"], finalized=False)
    api = Client(httpd, session, API)
    for i in range(6):
        assert api.instances(fresh=(i % 3 == 2))[fc.path]["state"] == "not_finalized"
        assert api.ping(fresh=(i % 3 == 2)) == []
    registry_mtime = mtimes(regs["fake"])
    fc.finalize()
    assert mtimes(regs["fake"]) == registry_mtime
    for fresh in (False, True, False):
        e = only_element(api.ping(fresh=fresh), fc.path)
        assert e["status"] == 200 and e["body"] == PING_BODY, e
        assert api.instances(fresh=fresh)[fc.path]["state"] == "good"


def test_new_instance_in_the_same_directory_gets_its_own_password(httpd, fake_core, regs,
                                                                  session):
    """An instance gone and a new one made under the same directory name and instance name (new
    passwords, new instance_id): answers follow at once, with the new password only."""
    api = Client(httpd, session, API)
    old = fake_core(registry_dir=regs["fake"], dirname="passenger.cachesm", name="CacheSame")
    api.warm_up(12)
    old.stop()
    for fresh in (False, True):
        assert api.ping(fresh=fresh) == []

    new = fake_core(registry_dir=regs["fake"], dirname="passenger.cachesm", name="CacheSame")
    assert new.ro_password != old.ro_password
    for i in range(12):
        e = only_element(api.ping(fresh=(i % 3 == 2)), new.path)
        assert e["status"] == 200 and e["body"] == PING_BODY, e
        assert e["instance"]["instance_id"] == new.properties["instance_id"]
    assert not new.received(old.ro_password)
    assert not new.received(old.full_password)


def test_instance_replaced_by_an_untrusted_one_is_never_asked(httpd, fake_core, regs, session):
    """A good instance's directory replaced by one of another owner under the same names: it is
    untrusted at once; no request (and no cached password) ever reaches its socket."""
    api = Client(httpd, session, API)
    old = fake_core(registry_dir=regs["fake"], dirname="passenger.cacheun", name="CacheUntr")
    api.warm_up(12)
    old.stop()
    impostor = fake_core(registry_dir=regs["fake"], dirname="passenger.cacheun",
                         name="CacheUntr", owner="nobody")
    for fresh in (False, True, False):
        entry = api.instances(fresh=fresh)[impostor.path]
        assert entry["state"] == "untrusted", entry
        assert api.ping(fresh=fresh) == []
    assert api.get("/instances/CacheUntr/ping.json").status_code == 404
    assert impostor.requests() == []
