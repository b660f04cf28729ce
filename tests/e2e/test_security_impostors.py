"""Impostors in a registry: what a local user who can write to a registry directory (anyone can write
to /tmp) must not achieve through the module or its root credential helper.

The attacker is a real unprivileged user (papi-attacker, created for this module). They can plant
instance directories of their own, symbolic links named like instances, and sockets they listen on.
Neither the module (httpd children, www-data) nor the helper (root) may then read, show or send
anything that user could not read themselves; no real password may reach a socket the attacker
listens on; a planted FIFO or an endless answer must not hang a request. Files an attacker cannot
plant in a root-owned instance directory (a password file linked to a secret) stand for a race the
attacker might win, and for mistakes of an administrator.

"Never contacted" is checked with a Tap in place of a fake core's socket: a raw listener that counts
every connection, even one that sends nothing (a FakeCore records only whole requests). The `api`
fixture keeps every answer of the module and fails the test if any showed a password of a fake or
of the real instance, or the secret file's content, or if the error log did.
"""

import errno
import json
import os
import pwd
import re
import shutil
import socket
import stat
import subprocess
import tempfile
import time
import uuid
from types import SimpleNamespace

import pytest

from conf import location
import procs

API = "/papi-sec"
TIMEOUT = 2                          # PassengerApiTimeout in this module's Location
ANSWER_LIMIT = 8 * 1024 * 1024       # the module's default limit on one core's answer body
PROMPT = 5                           # seconds: what "answered at once" means here
ATTACKER = "papi-attacker"
PYTHON = "/usr/bin/python3"
PING_BODY = '{ "status": "ok" }'


# ---------------------------------------------------------------- setup

@pytest.fixture(scope="module")
def attacker():
    """The attacker's account (a pwd entry): created if missing, removed again at the end."""
    created = False
    try:
        pwd.getpwnam(ATTACKER)
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        ATTACKER], check=True, capture_output=True)
        created = True
    yield pwd.getpwnam(ATTACKER)
    if created:
        subprocess.run(["userdel", ATTACKER], check=True, capture_output=True)


@pytest.fixture(scope="module")
def dirs():
    """Registries for this module, and a root-only secret file.

    open: 0777 without sticky bit (anyone may plant or swap instance dirs); sticky: 1777 like
    /tmp; reg: root 0755. secret_path holds `secret`, readable by root only."""
    base = procs.make_tempdir()
    d = SimpleNamespace(base=base, open=os.path.join(base, "open"),
                        sticky=os.path.join(base, "sticky"), reg=os.path.join(base, "reg"),
                        secret_path=os.path.join(base, "secret"),
                        secret="papi-secret-" + uuid.uuid4().hex)
    for path, mode in ((d.open, 0o777), (d.sticky, 0o1777), (d.reg, 0o755)):
        os.mkdir(path)
        os.chmod(path, mode)
    fd = os.open(d.secret_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(d.secret + "\n")
    yield d
    shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def httpd_conf(dirs):
    return lambda h: location(API, h.registry_dir, dirs.open, dirs.sticky, dirs.reg,
                              PassengerApiTimeout=TIMEOUT)


@pytest.fixture(scope="module")
def httpd_log_expect(dirs):
    return [rf"PAPI014: registry directory {re.escape(dirs.open)} \(mode 0777\) is writable by "
            r"others without the sticky bit"]


class Api:
    """The module's Location as a client sees it; every answer is kept for the leak check."""

    def __init__(self, httpd):
        self.httpd = httpd
        self.answers = []

    def get(self, path, timeout=20):
        t0 = time.monotonic()
        r = self.httpd.get(API + path, timeout=timeout)
        r.seconds = time.monotonic() - t0
        self.answers.append(r)
        return r

    def aggregate(self, path="/ping.json"):
        """({instance dir path: element}, seconds taken) of an aggregate request."""
        r = self.get(path)
        assert r.status_code == 200, r.text
        return {e["instance"]["instance_dir"]["path"]: e for e in r.json()}, r.seconds

    def instances(self):
        """{instance dir path: entry} of instances.json."""
        r = self.get("/instances.json")
        assert r.status_code == 200, r.text
        return {e["instance_dir"]["path"]: e for e in r.json()}

    def refused(self, path, state, why):
        """path is listed by instances.json as state, with a reason that says why and nothing read
        from it (no name), and left out of the aggregate: (its entry, the aggregate's answer)."""
        entry = self.instances()[path]
        assert entry["state"] == state, entry
        assert why in entry["reason"], entry
        assert "name" not in entry, entry
        answer, _ = self.aggregate()
        assert path not in answer
        return entry, answer

    def showed(self, needle):
        """URLs of the answers (body or headers) in which needle appeared."""
        return [r.url for r in self.answers if needle in r.text or needle in str(r.headers)]


@pytest.fixture
def secrets(httpd, dirs):
    """What no answer and no log line may ever contain; tests and `fake` add to it."""
    inst = httpd.instance
    return {inst.ro_password, inst.full_password, dirs.secret}


@pytest.fixture
def api(httpd, secrets):
    """An Api on the shared server; afterwards, no answer and no new log line holds a secret."""
    a = Api(httpd)
    log_from = httpd.log.size()
    yield a
    shown = {s: a.showed(s) for s in secrets if a.showed(s)}
    logged = [line for line in httpd.log.read_from(log_from) if any(s in line for s in secrets)]
    assert not shown, f"secrets shown in answers: {shown}"
    assert not logged, f"secrets in the error log: {logged}"


@pytest.fixture
def fake(fake_core, secrets):
    """make(registry_dir, **FakeCore kwargs) -> started FakeCore whose passwords are secrets."""
    def make(registry_dir, **kwargs):
        fc = fake_core(registry_dir=registry_dir, **kwargs)
        secrets.update({fc.ro_password, fc.full_password})
        return fc
    return make


# ---------------------------------------------------------------- the tap

TAP_SERVER = r"""
import os, socket, sys
path, uid, gid, record = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
out = os.open(record, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
if os.path.lexists(path):
    os.unlink(path)
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.bind(path)
os.chmod(path, 0o666)
os.chown(path, uid, gid)
if (uid, gid) != (os.getuid(), os.getgid()):
    os.setgroups([])
    os.setgid(gid)
    os.setuid(uid)
s.listen(16)        # from here on SO_PEERCRED shows uid to whoever connects
print("ready", flush=True)
while True:
    c, _ = s.accept()
    os.write(out, b"C\n")
    c.settimeout(10)
    try:
        while True:
            data = c.recv(65536)
            if not data:
                break
            os.write(out, b"D" + data.hex().encode() + b"\n")
    except OSError:
        pass
    c.close()
"""

SYNC = b"tap-sync-"


class Tap:
    """A raw listener in place of a fake core's socket, run as `uid`: it records every connection
    and every byte received, and never answers."""

    def __init__(self, socket_path, uid, gid):
        self.path = socket_path
        self.state = tempfile.mkdtemp(prefix="pe-tap-", dir="/tmp")
        self.record = os.path.join(self.state, "record")
        self.proc = subprocess.Popen([PYTHON, "-c", TAP_SERVER, socket_path, str(uid), str(gid),
                                      self.record], stdout=subprocess.PIPE, cwd="/")
        line = self.proc.stdout.readline()
        assert line == b"ready\n", f"tap did not start: {line!r}"

    def _parse(self):
        conns = []
        try:
            with open(self.record, "rb") as f:
                for line in f:
                    if line == b"C\n":
                        conns.append(b"")
                    else:
                        conns[-1] += bytes.fromhex(line[1:].decode())
        except FileNotFoundError:
            pass
        return conns

    def connections(self):
        """The bytes received on each connection made so far (connections still waiting in the
        backlog included: a marker connection is made and waited for first)."""
        marker = SYNC + uuid.uuid4().hex.encode()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
            s.connect(self.path)
            s.sendall(marker)
        procs.wait_until(lambda: marker in self._parse(), 15, "the tap to take every connection")
        return [c for c in self._parse() if not c.startswith(SYNC)]

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(10)
        self.proc.stdout.close()
        shutil.rmtree(self.state, ignore_errors=True)


@pytest.fixture
def tap():
    """make(fake, user=None) -> Tap on fake's core socket, listening as user (default: the fake's
    listener). The fake's own server keeps its lock, so the instance stays good."""
    made = []

    def make(fc, user=None):
        uid, gid = fc.listener if user is None else (user.pw_uid, user.pw_gid)
        t = Tap(fc.socket_path, uid, gid)
        made.append(t)
        return t

    yield make
    for t in made:
        t.stop()


# ---------------------------------------------------------------- helpers

def helper_socket(httpd):
    return os.path.join(httpd.run_dir, f"passenger_api.{httpd.pid}.sock")


HELPER_CLIENT = r"""
import json, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.settimeout(5)
try:
    s.connect(sys.argv[1])
except OSError as e:
    print(json.dumps({"connect_errno": e.errno}))
    sys.exit()
data, err = b"", None
try:
    s.sendall(sys.argv[2].encode())
    while not data.endswith(b"\n"):
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
except socket.timeout:
    err = "timeout"
except OSError as e:
    err = e.errno
print(json.dumps({"answer": data.decode("latin-1"), "error": err}))
"""


def ask_helper(httpd, line, user=None):
    """Send one request line to the credential helper from a fresh process running as user (a pwd
    entry; None: root). {'connect_errno': n}, or {'answer': text, 'error': None|errno|'timeout'}."""
    kw = {} if user is None else dict(user=user.pw_uid, group=user.pw_gid, extra_groups=[])
    r = subprocess.run([PYTHON, "-c", HELPER_CLIENT, helper_socket(httpd), line],
                       capture_output=True, text=True, timeout=20, cwd="/", **kw)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def cred_line(level, registry, dirname):
    return f"PAPI-CRED/1 {level} {registry} {dirname}\n"


def expect_failure_logged(expect_log, name, failure_rx):
    """Instance name's failure (failure_rx: status and why) must be logged by the aggregate
    (PAPI030) and by /instances/<name>/ (PAPI031)."""
    for tag in ("PAPI030", "PAPI031"):
        expect_log(rf"{tag}: instance {name} \(.*\): {failure_rx}", required=True)


def random_alnum(n=6):
    return uuid.uuid4().hex[:n]


# ---------------------------------------------------------------- a world-writable registry

def test_world_writable_registry_is_warned_about_at_startup(httpd, dirs):
    warned = httpd.log.grep(r"PAPI014: ")
    assert [ln for ln in warned if f"registry directory {dirs.open} (mode 0777)" in ln], warned
    # The sticky 1777 one (like /tmp) and the 0755 ones are fine.
    for quiet in (dirs.sticky, dirs.reg, httpd.registry_dir):
        assert not [ln for ln in warned if f"registry directory {quiet} " in ln], warned


def test_attacker_dir_in_world_writable_registry_is_untrusted(httpd, api, fake, tap, dirs,
                                                              attacker):
    evil = fake(dirs.open, owner=ATTACKER)
    evil_tap = tap(evil)
    good = fake(dirs.open)
    entry = api.instances()[evil.path]
    assert entry["state"] == "untrusted"
    assert "not a trusted owner" in entry["reason"]
    answer, _ = api.aggregate()
    assert evil.path not in answer
    assert answer[good.path]["status"] == 200 and answer[good.path]["body"] == PING_BODY
    assert answer[httpd.instance.path]["status"] == 200
    assert evil_tap.connections() == []


def test_symlink_named_like_an_instance_is_untrusted(httpd, api, fake, dirs, attacker):
    """A link to a good instance elsewhere is not that instance: it is not read nor asked."""
    good = fake(dirs.reg)
    link = os.path.join(dirs.open, "passenger.lnk" + random_alnum(4))
    os.symlink(good.path, link)
    os.lchown(link, attacker.pw_uid, attacker.pw_gid)
    try:
        _, answer = api.refused(link, "untrusted", "symbolic link")
        assert answer[good.path]["status"] == 200
        assert good.connections() == 1       # for its own element only
    finally:
        os.unlink(link)


# ---------------------------------------------------------------- untrusted instance dirs

def test_attacker_owned_instance_is_never_read_nor_asked(httpd, api, fake, tap, dirs, attacker,
                                                         secrets):
    """It even claims the real instance's name: /instances/<name> still reaches the real one."""
    marker = "Marker" + uuid.uuid4().hex
    secrets.add(marker)
    evil = fake(dirs.reg, owner=ATTACKER, name=httpd.instance.name,
                properties={"server_software": marker})
    evil_tap = tap(evil)
    entry, answer = api.refused(evil.path, "untrusted", "not a trusted owner")
    assert "server_software" not in entry
    assert answer[httpd.instance.path]["status"] == 200
    r = api.get(f"/instances/{httpd.instance.name}/ping.json")
    assert r.status_code == 200 and r.json() == {"status": "ok"}
    assert evil_tap.connections() == []
    assert api.showed(marker) == []


@pytest.mark.parametrize("mode", [0o775, 0o757], ids=["group-writable", "world-writable"])
def test_writable_instance_dir_is_untrusted(api, fake, tap, dirs, mode):
    victim = fake(dirs.reg)
    victim_tap = tap(victim)
    os.chmod(victim.path, mode)
    api.refused(victim.path, "untrusted", "writable by group or others")
    assert victim_tap.connections() == []


# ---------------------------------------------------------------- planted files

PASSWORD_TRICKS = {               # how read_only_admin_password.txt is replaced: expected reason
    "symlink-to-secret": "a symbolic link",
    "hardlink-to-secret": "hard-linked",
    "fifo": "not a regular file",
    "mode-0644": "too open",
}


def plant_password(fc, trick, secret_path):
    path = os.path.join(fc.path, "read_only_admin_password.txt")
    if trick == "mode-0644":
        os.chmod(path, 0o644)
        return
    os.unlink(path)
    if trick == "symlink-to-secret":
        os.symlink(secret_path, path)
    elif trick == "hardlink-to-secret":
        os.link(secret_path, path)
    else:
        os.mkfifo(path, 0o600)


@pytest.mark.parametrize("trick", list(PASSWORD_TRICKS))
def test_password_file_trick_gives_no_credential(httpd, api, fake, tap, dirs, trick, expect_log):
    """502 "credential unavailable" at once; the core is never contacted; the secret is shown
    nowhere and sent nowhere."""
    victim = fake(dirs.reg)
    victim_tap = tap(victim)
    plant_password(victim, trick, dirs.secret_path)
    expect_failure_logged(expect_log, victim.name, "502 credential unavailable: ")
    answer, seconds = api.aggregate()
    element = answer[victim.path]
    assert element["status"] == 502
    assert element["error"].startswith("credential unavailable:")
    assert PASSWORD_TRICKS[trick] in element["error"]
    assert seconds < PROMPT
    assert answer[httpd.instance.path]["status"] == 200
    r = api.get(f"/instances/{victim.name}/ping.json")
    assert r.status_code == 502
    assert r.json()["error"].startswith("credential unavailable:")
    assert r.seconds < PROMPT
    api.instances()
    assert victim_tap.connections() == []
    assert api.showed(dirs.secret) == []


def test_properties_fifo_is_corrupted_at_once(api, fake, tap, dirs):
    victim = fake(dirs.reg)
    victim_tap = tap(victim)
    props = os.path.join(victim.path, "properties.json")
    os.unlink(props)
    os.mkfifo(props, 0o644)
    listed = api.instances()
    assert api.answers[-1].seconds < PROMPT
    entry = listed[victim.path]
    assert entry["state"] == "corrupted"
    assert "not a regular file" in entry["reason"]
    answer, seconds = api.aggregate()
    assert victim.path not in answer
    assert seconds < PROMPT
    assert victim_tap.connections() == []


def test_properties_symlink_is_corrupted_and_not_followed(api, fake, dirs, secrets):
    """The link points at a file www-data may read but the attacker may not (0640 root:www-data in
    a 0750 dir): were it followed, its name would show in instances.json."""
    www = pwd.getpwnam("www-data")
    victim = fake(dirs.reg)
    token = "Leak" + uuid.uuid4().hex
    secrets.add(token)
    private = tempfile.mkdtemp(prefix="pe-priv-", dir="/tmp")
    try:
        os.chown(private, 0, www.pw_gid)
        os.chmod(private, 0o750)
        target = os.path.join(private, "properties.json")
        with open(target, "w") as f:
            json.dump(dict(victim.properties, name=token), f)
        os.chown(target, 0, www.pw_gid)
        os.chmod(target, 0o640)
        props = os.path.join(victim.path, "properties.json")
        os.unlink(props)
        os.symlink(target, props)
        api.refused(victim.path, "corrupted", "symbolic link")
        assert api.showed(token) == []
    finally:
        shutil.rmtree(private, ignore_errors=True)


# ---------------------------------------------------------------- impostor sockets

@pytest.mark.parametrize("listener", [ATTACKER, "www-data"])
def test_core_socket_of_another_user_gets_no_password(httpd, api, fake, tap, dirs, attacker,
                                                      listener, expect_log):
    """The instance dir is root's, but whoever listens on its core socket is not root: it is
    connected to (SO_PEERCRED needs that) and told nothing. www-data is a trusted owner, but not
    this instance's owner."""
    victim = fake(dirs.reg)
    impostor = tap(victim, user=pwd.getpwnam(listener))
    expect_failure_logged(expect_log, victim.name, "502 .*not sending credentials")
    answer, _ = api.aggregate()
    element = answer[victim.path]
    assert element["status"] == 502
    assert "not sending credentials" in element["error"]
    assert answer[httpd.instance.path]["status"] == 200
    r = api.get(f"/instances/{victim.name}/ping.json")
    assert r.status_code == 502 and "not sending credentials" in r.json()["error"]
    conns = impostor.connections()
    assert len(conns) >= 2, "the module never reached the impostor's socket"
    assert conns == [b""] * len(conns), conns
    assert not any(victim.ro_password.encode() in c for c in conns)


# ---------------------------------------------------------------- misbehaving cores

def test_oversize_and_endless_answers_fail_alone(httpd, api, fake, dirs, expect_log):
    huge = fake(dirs.reg, behaviour="huge", huge_bytes=ANSWER_LIMIT + 1)
    endless = fake(dirs.reg, behaviour="endless")
    for name in (huge.name, endless.name):
        expect_failure_logged(expect_log, name, "50[24] ")
    answer, seconds = api.aggregate()
    assert seconds < 2 * TIMEOUT + 3          # each core is bounded by PassengerApiTimeout
    assert len(api.answers[-1].content) < 64 * 1024
    assert answer[httpd.instance.path]["status"] == 200
    assert answer[huge.path]["status"] == 502
    assert "limit" in answer[huge.path]["error"]               # says why, and which limit
    assert str(ANSWER_LIMIT) in answer[huge.path]["error"]
    assert answer[huge.path]["body"] == ""
    assert answer[endless.path]["status"] in (502, 504), answer[endless.path]
    assert answer[endless.path]["error"] and answer[endless.path]["body"] == ""
    for fc, statuses in ((huge, (502,)), (endless, (502, 504))):
        r = api.get(f"/instances/{fc.name}/ping.json")
        assert r.status_code in statuses, r.text
        assert r.seconds < TIMEOUT + 3
        assert len(r.content) < 64 * 1024


# ---------------------------------------------------------------- the credential helper

def test_helper_socket_is_only_for_the_httpd_user(httpd):
    st = os.lstat(helper_socket(httpd))
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == pwd.getpwnam("www-data").pw_uid


def test_helper_does_not_answer_root(httpd):
    """Root can connect past the file mode; the helper hangs up without a word, even for the very
    request www-data gets the password for."""
    line = cred_line("ro", httpd.registry_dir, httpd.instance.dirname)
    got = ask_helper(httpd, line)
    assert got["answer"] == ""
    assert got["error"] in (None, errno.ECONNRESET, errno.EPIPE), got
    assert httpd.instance.ro_password not in json.dumps(got)


def test_helper_is_unreachable_for_other_users(httpd, attacker):
    line = cred_line("ro", httpd.registry_dir, httpd.instance.dirname)
    assert ask_helper(httpd, line, user=attacker) == {"connect_errno": errno.EACCES}


def test_helper_refuses_what_its_configuration_does_not_yield(httpd, fake, tmp_registry, dirs,
                                                              attacker):
    www = pwd.getpwnam("www-data")
    outside = fake(tmp_registry)                      # good, root's, but not configured
    evil = fake(dirs.reg, owner=ATTACKER)
    to_outside = os.path.relpath(tmp_registry, dirs.reg)
    not_configured = "NO not an instance in a configured registry\n"
    cases = [
        (cred_line("ro", tmp_registry, outside.dirname), not_configured),
        (cred_line("ro", f"{dirs.reg}/{to_outside}", outside.dirname), not_configured),
        (cred_line("ro", dirs.reg, f"{evil.dirname}/../{to_outside}/{outside.dirname}"),
         not_configured),
        (cred_line("full", httpd.registry_dir, httpd.instance.dirname),
         "NO that access level is not configured\n"),
        (cred_line("ro", dirs.reg, evil.dirname), "NO instance is untrusted\n"),
        ("PAPI-CRED/1 ro\n", "NO malformed request\n"),
    ]
    for line, expected in cases:
        got = ask_helper(httpd, line, user=www)
        assert got == {"answer": expected, "error": None}, (line, got)


def test_helper_gives_www_data_the_real_ro_password(httpd):
    line = cred_line("ro", httpd.registry_dir, httpd.instance.dirname)
    got = ask_helper(httpd, line, user=pwd.getpwnam("www-data"))
    assert got == {"answer": f"OK {httpd.instance.ro_password}\n", "error": None}
