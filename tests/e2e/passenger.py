"""Real Phusion Passenger for the e2e tests: Rack apps, instance dirs, standalone.

Facts this relies on (Debian libapache2-mod-passenger / passenger 6.0.17,
checked here; see also the project's reference notes on the Passenger API):
- an instance dir is <registry>/passenger.XXXXXXX; it is usable once
  `creation_finalized` exists and the watchdog holds flock(LOCK_EX) on `lock`;
- the watchdog calls setsid(), so its pid is also the session id of the core,
  the apps and the "PassengerWatchdog (cleaning up...)" helper that remove the
  dir after it exits;
- apps whose config.ru is owned by root run as `nobody` (PassengerDefaultUser)
  under Apache; Passenger Standalone run as root runs them as root.
"""

import concurrent.futures
import fcntl
import json
import os
import re
import shutil
import signal
import tempfile
import time
import xml.etree.ElementTree as ET

import errorlog
import procs
import unixhttp

PASSENGER_ROOT = "/usr/lib/ruby/vendor_ruby/phusion_passenger/locations.ini"
DEFAULT_RUBY = "/usr/bin/ruby"
PASSENGER_BIN = "/usr/bin/passenger"

# The test app. GET / answers "pid=<pid>\n"; /sleep?ms=N answers after N ms
# (two concurrent ones land on two processes); /hang?s=N hangs for N s
# (default 30) or until the release file exists: the harness creates it
# before stopping a server, so a hung request does not hold Passenger's
# shutdown (it waits for requests in flight). /health hangs, as a wedged
# process does, while <app>/tmp/sick-<pid> exists (and no release file);
# /echo answers the method, query, HTTP_* headers and body it got; /grow?mb=N allocates N MB and
# keeps them for the process's life (a leak, as the console's memory figures should show).
CONFIG_RU = r"""# Rack app of the mod_passenger_api e2e harness (tests/e2e/passenger.py).
release = '@RELEASE@'
sick = '@TMP@/sick-%d'
kept = []
app = lambda do |env|
  query = env['QUERY_STRING'].to_s
  body = "pid=#{Process.pid}\n"
  case env['PATH_INFO']
  when '/hang'
    deadline = Time.now + (query[/(?:^|&)s=(\d+)/, 1] || '30').to_i
    sleep 0.05 while Time.now < deadline && !File.exist?(release)
  when '/sleep'
    sleep((query[/(?:^|&)ms=(\d+)/, 1] || '0').to_i / 1000.0)
  when '/health'
    sleep 0.05 while File.exist?(sick % Process.pid) && !File.exist?(release)
  when '/grow'
    kept << ('x' * ((query[/(?:^|&)mb=(\d+)/, 1] || '0').to_i * 1024 * 1024))
  when '/echo'
    headers = env.keys.grep(/\AHTTP_/).sort.map { |k| "#{k}=#{env[k]}\n" }.join
    body += "method=#{env['REQUEST_METHOD']}\nquery=#{query}\n#{headers}body=#{env['rack.input'].read}\n"
  end
  [200, {'Content-Type' => 'text/plain', 'X-Pid' => Process.pid.to_s,
         'Set-Cookie' => 'app=secret', 'ETag' => '"e1"'}, [body]]
end
run app
"""


class RackApp:
    """A Rack app dir (config.ru + public/) served by Passenger.

    name:      dir name under <server dir>/apps/ (may be non-ASCII UTF-8)
    processes: how many processes Passenger keeps (PassengerMinInstances)
    port:      the 127.0.0.1 port of its vhost (set by the server)
    app_group_name: PassengerAppGroupName, when given (any text)
    """

    def __init__(self, name="app", processes=2, environment="production", app_group_name=None):
        self.name = name
        self.processes = processes
        self.environment = environment
        self.app_group_name = app_group_name
        self.standalone = False
        self.root = None
        self.port = None

    def create(self, parent_dir):
        """Write the app under parent_dir/<name>; world-readable for nobody."""
        self.root = os.path.join(parent_dir, self.name)
        os.makedirs(os.path.join(self.root, "public"), exist_ok=True)
        os.makedirs(os.path.join(self.root, "tmp"), exist_ok=True)
        self.release_file = os.path.join(self.root, "tmp", "release-hangs")
        with open(os.path.join(self.root, "config.ru"), "w") as f:
            f.write(CONFIG_RU.replace("@RELEASE@", self.release_file)
                    .replace("@TMP@", os.path.join(self.root, "tmp")))
        for d in (parent_dir, self.root):
            os.chmod(d, 0o755)
        return self

    @property
    def group_name(self):
        """Passenger's app group name (as in pool.xml / pool.txt): under
        Apache '<root> (<env>)', under Standalone just '<root>'."""
        if self.app_group_name is not None:
            return self.app_group_name
        if self.standalone:
            return self.root
        return f"{self.root} ({self.environment})"

    def url(self, path="/"):
        return f"http://127.0.0.1:{self.port}{path}"

    def make_sick(self, pid, sick=True):
        """Make process pid's /health hang (sick=True) or answer again."""
        path = os.path.join(self.root, "tmp", f"sick-{pid}")
        if sick:
            open(path, "w").close()
        elif os.path.exists(path):
            os.unlink(path)

    def release_hangs(self, released=True):
        """Make /hang requests (current and future) return at once, or
        (released=False) hang again."""
        if released:
            open(self.release_file, "w").close()
        elif os.path.exists(self.release_file):
            os.unlink(self.release_file)

    def __repr__(self):
        return f"<RackApp {self.name} :{self.port} x{self.processes}>"


# Socket paths below a registry: agents.s/* are <registry> + up to 40 bytes
# ("/passenger.XXXXXXX/agents.s/watchdog_api"); an app socket is
# "<registry>/passenger.XXXXXXX/apps.s/ruby.<random>" cut to 98 bytes by
# Passenger (request_handler.rb: UNIX_PATH_MAX - 10), so the longer the
# registry path, the fewer random characters the name keeps (47 with the
# harness's 20-byte /tmp/pe-XXXXXXXX/reg). 48 bytes leaves ~19.
MAX_REGISTRY_PATH = 48


def check_registry_path(path):
    """Refuse a registry path too long for Passenger's socket paths, with a
    clear message instead of an obscure spawn failure later."""
    if len(os.fsencode(path)) > MAX_REGISTRY_PATH:
        raise ValueError(f"registry path {path!r} is longer than {MAX_REGISTRY_PATH} bytes; "
                         "Passenger's Unix socket paths below it would not fit in sun_path")


def default_apps():
    """The apps of the shared test servers: an ASCII one and one whose root
    path has non-ASCII UTF-8 characters (Passenger escapes it per byte in
    pool.xml), two processes each."""
    return [RackApp("app", processes=2), RackApp("café-ünï", processes=2)]


# ---------------------------------------------------------------- instances

def instance_dirs(registry):
    """Paths of every passenger.* entry in registry, sorted."""
    try:
        names = os.listdir(registry)
    except FileNotFoundError:
        return []
    return sorted(os.path.join(registry, n) for n in names if n.startswith("passenger."))


def is_locked(path):
    """True if someone holds a flock on path/lock (how a live watchdog shows).

    Passenger uses flock(2), not fcntl locks; probe with a shared
    non-blocking flock and drop it at once.
    """
    fd = os.open(os.path.join(path, "lock"), os.O_RDONLY | os.O_NOFOLLOW)
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def decode_xml_name(text):
    """Undo Passenger's per-byte escaping of names in pool.xml.

    Passenger writes every byte outside [A-z0-9/ _.:+-] as &#N;, so an
    XML parser yields one Latin-1 character per UTF-8 byte.
    """
    return text.encode("latin-1").decode("utf-8", "replace")


class Instance:
    """One Passenger instance dir (real or fake) and its core API.

    Attributes: path, name (from properties.json), properties (dict),
    watchdog_pid, core_pid (int or None), core_api (socket path).
    """

    def __init__(self, path):
        self.path = path
        with open(os.path.join(path, "properties.json")) as f:
            self.properties = json.load(f)
        self.name = self.properties["name"]
        self.watchdog_pid = self.properties.get("watchdog_pid")
        self.core_pid = procs.read_int_file(os.path.join(path, "core.pid"))
        self.core_api = os.path.join(path, "agents.s", "core_api")

    def __repr__(self):
        return f"<Instance {self.name} {self.path}>"

    @property
    def dirname(self):
        return os.path.basename(self.path)

    def finalized(self):
        return os.path.exists(os.path.join(self.path, "creation_finalized"))

    def locked(self):
        return is_locked(self.path)

    def exists(self):
        return os.path.isdir(self.path)

    def password(self, which="ro"):
        """The ro_admin ('ro') or admin ('full') password (read as root)."""
        fname = "read_only_admin_password.txt" if which == "ro" else "full_admin_password.txt"
        with open(os.path.join(self.path, fname)) as f:
            return f.read().strip()

    @property
    def ro_password(self):
        return self.password("ro")

    @property
    def full_password(self):
        return self.password("full")

    def credentials(self, which="ro"):
        """(user, password) for Basic auth: ro_admin or admin."""
        return ("ro_admin" if which == "ro" else "admin", self.password(which))

    def core_request(self, path, method="GET", auth="ro", headers=None, body=None, timeout=5.0):
        """Request to this instance's core API; auth is 'ro', 'full' or None.

        Note: the harness runs as root, and the core grants uid 0 full
        rights even without a password, so auth=None from here does NOT show
        what www-data would get (401).
        """
        creds = self.credentials(auth) if auth else None
        return unixhttp.request(self.core_api, path, method=method, auth=creds,
                                headers=headers, body=body, timeout=timeout)

    def ping(self):
        """True if the core answers /ping.json with {"status": "ok"}."""
        r = self.core_request("/ping.json", timeout=2.0)
        return r.status == 200 and r.json() == {"status": "ok"}

    def pool(self):
        """The live pool from pool.xml: {group name: [process dicts]}.

        Each process dict has pid (int), life_status, enabled, and the other
        pool.xml process fields as strings.
        """
        r = self.core_request("/pool.xml")
        if r.status != 200:
            raise RuntimeError(f"pool.xml: {r.status} {r.text[:200]}")
        root = ET.fromstring(r.body)
        groups = {}
        # supergroups/supergroup/group: a group also has a child <group>
        # (the OS group name), so do not use iter("group").
        for group in root.findall("./supergroups/supergroup/group"):
            name = decode_xml_name(group.findtext("name"))
            plist = []
            for p in group.findall("./processes/process"):
                d = {child.tag: (child.text or "") for child in p if len(child) == 0}
                d["pid"] = int(d["pid"])
                plist.append(d)
            groups[name] = plist
        return groups

    def group_keys(self):
        """Every app group's API key (the processes' connect password), read as root from
        pool.xml?secrets=true; asserts there is at least one."""
        r = self.core_request("/pool.xml?secrets=true")
        keys = set(re.findall(r"<api_key>([^<]+)</api_key>", r.text))
        assert keys, "no group API key in pool.xml?secrets=true"
        return keys

    def secrets(self):
        """What must never leave the module in read-only mode: the group keys and both admin
        passwords."""
        return self.group_keys() | {self.ro_password, self.full_password}

    def live_pids(self, group=None):
        """Pids of alive, enabled processes (of one group, or all)."""
        pids = []
        for name, plist in self.pool().items():
            if group is not None and name != group:
                continue
            pids += [p["pid"] for p in plist
                     if p.get("life_status") == "ALIVE" and p.get("enabled") == "ENABLED"]
        return sorted(pids)


def find_good_instance(registry, exclude_names=(), watchdog_parent=None, watchdog_pid=None):
    """The one live, finalized, answering instance in registry, or None.

    exclude_names: names that must not count (the instance before a
    graceful restart, which may linger while requests drain).
    watchdog_parent: if given, the watchdog must be a child of this pid; this
    tells httpd's real instance from the short-lived one Passenger starts
    during httpd's first config pass (its watchdog is a child of the
    process that ran `-k start`, before httpd daemonised).
    watchdog_pid: if given, the instance of exactly this watchdog
    (Standalone's pid file holds it).
    Both filters run before the core is pinged, so other instances in the
    same registry (fake cores that hang, say) cost nothing.
    Returns None while no candidate, or more than one, qualifies.
    """
    found = []
    for path in instance_dirs(registry):
        try:
            inst = Instance(path)
        except (OSError, ValueError, KeyError):
            continue            # still being created, or being removed
        if inst.name in exclude_names or not inst.finalized() or not inst.locked():
            continue
        if watchdog_pid is not None and inst.watchdog_pid != watchdog_pid:
            continue
        if watchdog_parent is not None:
            st = procs.proc_stat(inst.watchdog_pid)
            if st is None or st[1] != watchdog_parent:
                continue
        if inst.core_pid is None or not inst.ping():
            continue
        found.append(inst)
    return found[0] if len(found) == 1 else None


def wait_for_instance(registry, timeout=30, exclude_names=(), watchdog_parent=None,
                      watchdog_pid=None, seen_watchdogs=None, abort=None):
    """Poll registry until find_good_instance() finds one; return it.

    seen_watchdogs: a set that collects the watchdog pid of every instance
    dir seen while waiting (their sessions are waited for at stop).
    """
    def probe():
        if seen_watchdogs is not None:
            for d in instance_dirs(registry):
                pid = _watchdog_pid_of(d)
                if pid:
                    seen_watchdogs.add(pid)
        return find_good_instance(registry, exclude_names, watchdog_parent, watchdog_pid)
    return procs.wait_until(probe, timeout, f"a good Passenger instance in {registry}",
                            abort=abort)


def _watchdog_pid_of(path):
    try:
        with open(os.path.join(path, "properties.json")) as f:
            return json.load(f).get("watchdog_pid")
    except (OSError, ValueError):
        return None


def prestart_apps(apps, timeout=60):
    """Send HEAD / to every app at once, as Passenger's prespawn helper
    script does for PassengerPreStart, and wait for the answers. The first
    request makes Passenger spawn the group; PassengerMinInstances then
    brings it up to its process count."""
    import requests

    def head(app):
        with requests.Session() as s:
            s.trust_env = False
            s.head(app.url("/"), timeout=timeout,
                   headers={"User-Agent": "e2e harness prestart", "Connection": "close"})

    with concurrent.futures.ThreadPoolExecutor(max_workers=len(apps)) as pool:
        for fut in [pool.submit(head, app) for app in apps]:
            fut.result()


def wait_for_apps(instance, apps, timeout=60):
    """Wait until every app has its processes alive in instance's pool and
    answers HTTP on its own port; return {app name: sorted pids}.
    """
    import requests  # local: only this helper needs it

    def ready():
        pools = instance.pool()
        result = {}
        for app in apps:
            pids = [p["pid"] for p in pools.get(app.group_name, [])
                    if p.get("life_status") == "ALIVE" and p.get("enabled") == "ENABLED"]
            if len(pids) < app.processes:
                return None
            result[app.name] = sorted(pids)
        return result

    pids = procs.wait_until(ready, timeout, f"{len(apps)} app(s) up in {instance.name}",
                            interval=0.1)
    with requests.Session() as s:
        s.trust_env = False
        for app in apps:
            r = s.get(app.url("/"), timeout=10)
            if r.status_code != 200 or not r.text.startswith("pid="):
                raise AssertionError(f"{app} answered {r.status_code}: {r.text[:200]}")
    return pids


# ---------------------------------------------------------------- standalone

class Standalone:
    """Passenger Standalone (builtin engine), daemonized, in its own registry.

    Started as root: its password files are 0400 root and its app runs as
    root (no user switching in standalone mode).
    Attributes after start(): pid (watchdog, from the pid file), instance,
    registry_dir, port, app, log (ErrorLog of its log file).
    """

    def __init__(self, base_dir, app_name="standalone-app", port=None,
                 registry_dir=None, environment="production"):
        self.base_dir = base_dir
        self.dir = tempfile.mkdtemp(prefix="s", dir=base_dir)   # short: socket paths
        os.chmod(self.dir, 0o755)
        self.app = RackApp(app_name, processes=1, environment=environment)
        self.app.standalone = True
        self.app.create(os.path.join(self.dir, "apps"))
        self.port = port or procs.free_port()
        self.app.port = self.port
        if registry_dir is None:   # a given one is used as it is
            registry_dir = os.path.join(self.dir, "reg")
            os.mkdir(registry_dir, 0o755)
        check_registry_path(registry_dir)
        self.registry_dir = registry_dir
        self.tmp_dir = os.path.join(self.dir, "tmp")
        os.makedirs(self.tmp_dir, exist_ok=True)
        self.pid_file = os.path.join(self.dir, "passenger.pid")
        self.log_file = os.path.join(self.dir, "passenger.log")
        self.environment = environment
        self.log = errorlog.WATCH.add(errorlog.ErrorLog(self.log_file, f"standalone:{app_name}"))
        self.pid = None
        self.instance = None
        self.sessions = set()
        self.history = []           # [(operation, seconds)] as for apache.Httpd

    def url(self, path="/"):
        return self.app.url(path)

    def command(self):
        return [PASSENGER_BIN, "start", "--engine", "builtin",
                "--address", "127.0.0.1", "--port", str(self.port),
                "--environment", self.environment,
                "--instance-registry-dir", self.registry_dir,
                "--disable-security-update-check", "--disable-anonymous-telemetry",
                "--daemonize", "--pid-file", self.pid_file, "--log-file", self.log_file]

    def _env(self):
        """A clean environment (not the test runner's), with TMPDIR in our
        dir: standalone puts its temp dir and a temp-dir-toucher daemon
        there."""
        return {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "LANG": "C", "HOME": os.environ.get("HOME", "/root"), "TMPDIR": self.tmp_dir}

    def start(self, timeout=60):
        """Start it and wait until its instance is good and the app answers."""
        t0 = time.monotonic()
        self.app.release_hangs(False)
        r = procs.run(self.command(), cwd=self.app.root, env=self._env(), timeout=timeout)
        if r.returncode != 0:
            raise RuntimeError(f"passenger start failed ({r.returncode}):\n{r.stdout}\n{r.stderr}")
        self.pid = procs.wait_until(lambda: procs.read_int_file(self.pid_file), 10,
                                    "standalone pid file")
        self.sessions.add(self.pid)   # the watchdog: setsid(), like under Apache
        self.instance = wait_for_instance(self.registry_dir, timeout=timeout,
                                          watchdog_pid=self.pid)
        # Standalone spawns the app on the first request only.
        prestart_apps([self.app], timeout)
        wait_for_apps(self.instance, [self.app], timeout=timeout)
        self.history.append(("start", time.monotonic() - t0))
        return self

    def _extra_daemons(self):
        """Pids of helper daemons standalone started (temp-dir toucher)."""
        pids = set()
        for root, _dirs, files in os.walk(self.tmp_dir):
            for f in files:
                if f.endswith(".pid"):
                    pid = procs.read_int_file(os.path.join(root, f))
                    if pid:
                        pids.add(pid)
        return pids

    def stop(self, timeout=30):
        """passenger stop, then wait until its processes and instance dir are gone."""
        if self.pid is None:
            return
        t0 = time.monotonic()
        self.app.release_hangs()
        watched = procs.related_pids(roots={self.pid} | self._extra_daemons(),
                                     sessions=self.sessions)
        r = procs.run([PASSENGER_BIN, "stop", "--pid-file", self.pid_file],
                      cwd=self.app.root, env=self._env(), timeout=timeout)
        left = procs.wait_pids_gone(watched, timeout, sessions=self.sessions)
        if left:
            procs.kill_pids(left, signal.SIGKILL)
            raise RuntimeError(f"standalone left processes {sorted(left)} "
                               f"(passenger stop rc={r.returncode}: {r.stdout}{r.stderr})")
        if self.instance is not None:
            procs.wait_until(lambda: not os.path.exists(self.instance.path), 10,
                             f"{self.instance.path} removed")
        self.history.append(("stop", time.monotonic() - t0))
        self.pid = None

    def cleanup(self):
        """Stop (if running), do the last log check, remove its files."""
        try:
            self.stop()
        finally:
            if self.history:
                procs.TIMINGS.append((f"standalone {self.app.name}", list(self.history)))
            errorlog.WATCH.remove(self.log)
            shutil.rmtree(self.dir, ignore_errors=True)
