"""A throwaway real httpd (Debian's apache2 2.4) for the e2e tests.

Each Httpd lives in its own short temp dir (/tmp/pe-XXXXXXXX) with its own
config, ServerRoot, DefaultRuntimeDir, PidFile, logs and Passenger registry;
it never reads /etc/apache2. It is started as root with User/Group www-data,
like a packaged Apache, with `/usr/sbin/apache2 -f CONF -k start` (not
apachectl, which sources /etc/apache2/envvars).

Layout of <dir>:
    httpd.conf           generated config
    run/                 DefaultRuntimeDir, httpd.pid
    logs/error_log       ErrorLog (also where Passenger's agents log)
    logs/access_log
    asan/                AddressSanitizer reports (asan.<pid>), with PAPI_E2E_ASAN
    cores/               CoreDumpDirectory: where a crashed parent leaves its core
    htdocs/              main server DocumentRoot (static, no app)
    reg/                 PassengerInstanceRegistryDir (root, 0755)
    freg/                empty registry for fake cores (root, 0755)
    apps/<name>/         Rack apps, one vhost + port each
"""

import collections
import glob
import os
import pwd
import resource
import shutil
import signal
import subprocess
import time

import requests

import crashes
import errorlog
import passenger
import procs
from passenger import check_registry_path

APACHE2 = "/usr/sbin/apache2"
MODULES_DIR = "/usr/lib/apache2/modules"
REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_MODULE_SO = os.path.join(REPO_ROOT, ".libs", "mod_passenger_api.so")
# PAPI_MODULE_SO: another build of the module to load, e.g. make asan's.
MODULE_SO = os.path.abspath(os.environ.get("PAPI_MODULE_SO") or DEFAULT_MODULE_SO)
# PAPI_E2E_ASAN=1: the module is built with AddressSanitizer. httpd is not,
# so the ASan runtime must be preloaded (it has to come first), and every
# report it writes fails the test that was running unless it is Passenger's
# (crashes.py). libstdc++ is preloaded right after it: httpd (C) would load it
# only with mod_passenger (C++), after the runtime looked for the real
# __cxa_throw, and the first exception a Passenger thread throws would then
# stop httpd with "CHECK failed ... real___cxa_throw" (google/sanitizers#934).
# ASAN_UNPRELOAD, preloaded last, keeps all of them out of the programs httpd
# runs (tests/e2e/asan_unpreload.c).
ASAN = os.environ.get("PAPI_E2E_ASAN", "") not in ("", "0")
ASAN_UNPRELOAD = os.path.join(REPO_ROOT, "build", "asan", "asan_unpreload.so")
MPMS = ("prefork", "worker", "event")

# The environment Debian's apache2ctl gives httpd (/etc/apache2/envvars sets
# LANG=C); a clean one keeps the test runner's variables out of Passenger.
HTTPD_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
             "LANG": "C"}

# Small pools: enough threads for a few hung requests, cheap on 2 cores. worker and event
# (threaded) take the same settings.
THREADED_CONF = """
    StartServers 2
    ServerLimit 4
    ThreadsPerChild 10
    MinSpareThreads 10
    MaxSpareThreads 30
    MaxRequestWorkers 40
"""
MPM_CONF = {
    "prefork": """<IfModule mpm_prefork_module>
    StartServers 3
    MinSpareServers 2
    MaxSpareServers 5
    MaxRequestWorkers 20
</IfModule>""",
    "worker": f"<IfModule mpm_worker_module>{THREADED_CONF}</IfModule>",
    "event": f"<IfModule mpm_event_module>{THREADED_CONF}</IfModule>",
}

ConfigTest = collections.namedtuple("ConfigTest", "rc output")

# Every Httpd started and not yet cleaned up: conftest checks after each test that their parents
# live (Httpd.check_alive).
LIVE = set()

_asan_runtime = None


def _gcc_library(name):
    """The real path of a library of the compiler apxs builds with."""
    path = subprocess.run(["gcc", f"-print-file-name={name}"], capture_output=True,
                          text=True, check=True).stdout.strip()
    # gcc prints the bare name back when it has no such library.
    if not os.path.isabs(path) or not os.path.exists(path):
        raise RuntimeError(f"no {name} for PAPI_E2E_ASAN (gcc says {path!r})")
    return os.path.realpath(path)


def asan_runtimes():
    """What a C program that loads C++ modules must preload to run with ASan: the
    ASan runtime, then libstdc++."""
    global _asan_runtime
    if _asan_runtime is None:
        _asan_runtime = f"{_gcc_library('libasan.so')}:{_gcc_library('libstdc++.so')}"
    return _asan_runtime


def asan_preload():
    """LD_PRELOAD for httpd with the ASan build: asan_runtimes(), then
    ASAN_UNPRELOAD."""
    if not os.path.exists(ASAN_UNPRELOAD):
        raise RuntimeError(f"{ASAN_UNPRELOAD} not built (make -f Makefile.apxs asan)")
    return f"{asan_runtimes()}:{ASAN_UNPRELOAD}"


def _allow_core_files():
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def module_built():
    """True if the module has been built (make -f Makefile.apxs)."""
    return os.path.exists(MODULE_SO)


def _session():
    s = requests.Session()
    s.trust_env = False  # never go through a proxy from the environment
    return s


class Httpd:
    """One throwaway httpd. See the module docstring for its files.

    Parameters:
      mpm         'prefork', 'worker' or 'event'
      module      True: load mod_passenger_api (must be built); False: don't;
                  'auto': load it if .libs/mod_passenger_api.so exists
      passenger   load real mod_passenger with a registry in <dir>/reg
      apps        list of passenger.RackApp (each gets a vhost on its own port)
      extra_conf  config text appended to the main server (or a callable
                  taking this Httpd and returning the text)
      log_level   extra LogLevel words, e.g. 'passenger_api:trace3'
      prestart    how app processes get started before any test traffic:
                  'harness' - the harness sends one HEAD / to each app as
                  soon as Passenger is up, as Passenger's prespawn script
                  does (fast); 'passenger' - PassengerPreStart in the config
                  (Passenger sleeps a fixed 2 s before prestarting, then
                  prestarts the apps one after the other).
                  Either way PassengerMinInstances keeps `processes` alive.
    """

    def __init__(self, mpm="event", module="auto", passenger=True, apps=(),
                 extra_conf="", log_level="", mpm_conf=None, prestart="harness"):
        if mpm not in MPMS:
            raise ValueError(f"unknown MPM {mpm!r}")
        if module == "auto":
            module = module_built()
        elif module and not module_built():
            raise RuntimeError(f"{MODULE_SO} not built (make -f Makefile.apxs)")
        self.mpm = mpm
        self.module = bool(module)
        # Only a server that loads the module needs (and gets) the ASan runtime.
        self.asan = ASAN and self.module
        self.passenger = passenger
        self.apps = list(apps)
        self.extra_conf = extra_conf
        self.log_level = log_level
        self.mpm_conf = MPM_CONF[mpm] if mpm_conf is None else mpm_conf
        if prestart not in ("harness", "passenger"):
            raise ValueError(f"prestart must be 'harness' or 'passenger', not {prestart!r}")
        self.prestart = prestart

        self.dir = procs.make_tempdir()
        try:
            self._make_tree()
        except BaseException:
            shutil.rmtree(self.dir, ignore_errors=True)
            raise
        self.port = procs.free_port()
        self.log = errorlog.WATCH.add(errorlog.ErrorLog(self.error_log_path, f"httpd-{mpm}"))
        self.asan_reports = None
        if self.asan:
            self.asan_reports = errorlog.WATCH.add(
                errorlog.ReportDir(self.asan_dir, "asan", f"httpd-{mpm} AddressSanitizer"))
        self.pid = None             # parent pid while running
        self.instance = None        # current passenger.Instance
        self.app_pids = {}          # {app name: pids} when the apps came up
        self.sessions = set()       # watchdog pids seen (session ids)
        # Seconds taken by the last start/graceful/stop, by phase:
        #   start (httpd answers), passenger (instance good), apps (all app
        #   processes up) - measured from `-k start` or `-k graceful`;
        #   graceful (all ready again), stop (all processes gone).
        self.timings = {}
        self.history = []           # [(operation, seconds until ready)]
        self.http = _session()

    def _make_tree(self):
        """Create the dirs, the static docroot and the apps in self.dir."""
        self.conf_path = os.path.join(self.dir, "httpd.conf")
        self.run_dir = os.path.join(self.dir, "run")
        self.pid_file = os.path.join(self.run_dir, "httpd.pid")
        self.logs_dir = os.path.join(self.dir, "logs")
        self.error_log_path = os.path.join(self.logs_dir, "error_log")
        self.access_log_path = os.path.join(self.logs_dir, "access_log")
        self.docroot = os.path.join(self.dir, "htdocs")
        self.registry_dir = os.path.join(self.dir, "reg")
        self.fake_registry_dir = os.path.join(self.dir, "freg")
        self.asan_dir = os.path.join(self.dir, "asan")
        self.cores_dir = os.path.join(self.dir, "cores")
        check_registry_path(self.registry_dir)
        for d in (self.run_dir, self.logs_dir, self.docroot, self.registry_dir,
                  self.fake_registry_dir, self.cores_dir):
            os.makedirs(d)
            os.chmod(d, 0o755)
        if self.asan:
            # httpd's children (User www-data) write their reports here too.
            os.makedirs(self.asan_dir)
            www = pwd.getpwnam("www-data")
            os.chown(self.asan_dir, www.pw_uid, www.pw_gid)
            os.chmod(self.asan_dir, 0o755)
        with open(os.path.join(self.docroot, "index.html"), "w") as f:
            f.write("<p>e2e</p>\n")
        for app in self.apps:
            app.create(os.path.join(self.dir, "apps"))
            app.port = procs.free_port()

    # ------------------------------------------------------------ config

    def app(self, name="app"):
        """The RackApp called `name`."""
        for a in self.apps:
            if a.name == name:
                return a
        raise KeyError(name)

    def url(self, path="/"):
        """URL of path on the main server (where the module's Location goes)."""
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path, **kw):
        """requests GET on the main server (no proxy, 10 s timeout)."""
        kw.setdefault("timeout", 10)
        return self.http.get(self.url(path), **kw)

    def request(self, method, path, **kw):
        kw.setdefault("timeout", 10)
        return self.http.request(method, self.url(path), **kw)

    def render_config(self, extra_conf=None, log_level=None):
        """The full httpd.conf text."""
        extra = self.extra_conf if extra_conf is None else extra_conf
        if callable(extra):
            extra = extra(self)
        level = self.log_level if log_level is None else log_level
        d = self.dir
        lines = [
            "# Generated by tests/e2e/apache.py - throwaway test server.",
            f'ServerRoot "{d}"',
            "ServerName localhost",
            f"Listen 127.0.0.1:{self.port}",
            f'PidFile "{self.pid_file}"',
            f'CoreDumpDirectory "{self.cores_dir}"',
            f'DefaultRuntimeDir "{self.run_dir}"',
            f'ErrorLog "{self.error_log_path}"',
            f"LogLevel info {level}".rstrip(),
            'LogFormat "%h %l %u %t \\"%r\\" %>s %b %D" e2e',
            f'CustomLog "{self.access_log_path}" e2e',
            f"LoadModule mpm_{self.mpm}_module {MODULES_DIR}/mod_mpm_{self.mpm}.so",
            f"LoadModule authz_core_module {MODULES_DIR}/mod_authz_core.so",
            f"LoadModule authz_host_module {MODULES_DIR}/mod_authz_host.so",
            f"LoadModule mime_module {MODULES_DIR}/mod_mime.so",
            f"LoadModule dir_module {MODULES_DIR}/mod_dir.so",
            f"LoadModule status_module {MODULES_DIR}/mod_status.so",
            "TypesConfig /etc/mime.types",
            "User www-data",
            "Group www-data",
            "Timeout 30",
            self.mpm_conf,
            f'DocumentRoot "{self.docroot}"',
            f'<Directory "{self.docroot}">',
            "    Require all granted",
            "</Directory>",
            "# Used by the harness to see which config generation serves.",
            "<Location /server-status>",
            "    SetHandler server-status",
            "    Require local",
            "</Location>",
        ]
        if self.passenger:
            lines += self._passenger_config()
        if self.module:
            lines.append(f"LoadModule passenger_api_module {MODULE_SO}")
        lines += ["# ---- extra config from the test", extra or "", "# ----"]
        for app in self.apps:
            lines += self._app_vhost(app)
        return "\n".join(lines) + "\n"

    def _passenger_config(self):
        return [
            f"LoadModule passenger_module {MODULES_DIR}/mod_passenger.so",
            f"PassengerRoot {passenger.PASSENGER_ROOT}",
            f"PassengerDefaultRuby {passenger.DEFAULT_RUBY}",
            f'PassengerInstanceRegistryDir "{self.registry_dir}"',
            "PassengerDisableSecurityUpdateCheck on",
            "PassengerDisableAnonymousTelemetry on",
        ]

    def _app_vhost(self, app):
        """A vhost on the app's own port. MinInstances keeps the processes
        alive; PreStart (prestart='passenger') spawns them at startup."""
        pub = os.path.join(app.root, "public")
        lines = [
            f"Listen 127.0.0.1:{app.port}",
            f"<VirtualHost 127.0.0.1:{app.port}>",
            "    ServerName localhost",
            f'    DocumentRoot "{pub}"',
            f'    PassengerAppRoot "{app.root}"',
            f"    PassengerAppEnv {app.environment}",
            f"    PassengerMinInstances {app.processes}",
        ]
        if app.app_group_name is not None:
            quoted = app.app_group_name.replace("\\", "\\\\").replace('"', '\\"')
            lines.append(f'    PassengerAppGroupName "{quoted}"')
        lines += [
            f'    <Directory "{pub}">',
            "        Require all granted",
            "    </Directory>",
            "</VirtualHost>",
        ]
        if self.prestart == "passenger":
            lines.append(f"PassengerPreStart http://127.0.0.1:{app.port}/")
        return lines

    def write_config(self):
        with open(self.conf_path, "w") as f:
            f.write(self.render_config())

    # ------------------------------------------------------------ control

    def _env(self):
        """The environment apache2 runs in: HTTPD_ENV, plus the ASan
        runtime and where its reports go when this server uses the ASan
        build (leak checks off: httpd frees little at exit, by design)."""
        env = dict(HTTPD_ENV)
        if self.asan:
            env["LD_PRELOAD"] = asan_preload()
            env["ASAN_OPTIONS"] = ("detect_leaks=0:abort_on_error=0:"
                                   f"log_path={os.path.join(self.asan_dir, 'asan')}")
        return env

    def _apache2(self, *args, conf=None, timeout=60):
        """apache2 with this server's config; started in cores/ with core files allowed (the
        plain build's evidence of a crash: a process that dies before httpd's own handler
        moves it to CoreDumpDirectory dumps in its working directory). ASan makes none."""
        return procs.run([APACHE2, "-f", conf or self.conf_path, *args],
                         env=self._env(), timeout=timeout, cwd=self.cores_dir,
                         preexec_fn=None if self.asan else _allow_core_files)

    def configtest(self, extra_conf=None):
        """apache2 -t on the config (with extra_conf instead of the current
        extra config, if given). Returns ConfigTest(rc, output): output is
        stdout+stderr, e.g. 'Syntax OK' or the config error message."""
        conf = self.conf_path
        if extra_conf is not None:
            conf = os.path.join(self.dir, "httpd-configtest.conf")
            with open(conf, "w") as f:
                f.write(self.render_config(extra_conf=extra_conf))
        elif not os.path.exists(conf):
            self.write_config()
        r = self._apache2("-t", conf=conf)
        return ConfigTest(r.returncode, r.stdout + r.stderr)

    def running(self):
        return self.pid is not None and procs.is_running(self.pid)

    def generation(self):
        """ParentServerConfigGeneration reported by the child that answered.

        A child keeps the generation it was forked in, so a higher number
        means a child of the new generation served the request."""
        r = self.http.get(self.url("/server-status?auto"), timeout=2,
                          headers={"Connection": "close"})
        r.raise_for_status()
        for line in r.text.splitlines():
            if line.startswith("ParentServerConfigGeneration:"):
                return int(line.split(":", 1)[1])
        raise AssertionError("no ParentServerConfigGeneration in server-status")

    def _died(self):
        """For wait_until(abort=...): why waiting is pointless, or None."""
        if self.pid is not None and not procs.is_running(self.pid):
            return f"httpd parent {self.pid} exited"
        return None

    def _newer_generation(self, old_gen):
        gen = self.generation()
        return gen if gen > old_gen else None

    def start(self, timeout=60, retry=True):
        """Start and wait until it serves, Passenger's instance is good and
        every app has its processes. Raises with the log on failure. Started
        once more (retry) if Passenger's own module crashed it (see
        crash_evidence)."""
        if self.running():
            raise RuntimeError("already running")
        for app in self.apps:
            app.release_hangs(False)
        self.write_config()
        t0 = time.monotonic()
        # A parent that died left its pid file: never wait on that pid.
        if os.path.exists(self.pid_file):
            os.unlink(self.pid_file)
        r = self._apache2("-k", "start")
        if r.returncode != 0:
            # A crash before httpd detaches: a signal, or ASan's exit code 1 after its report.
            kind, evidence = self.crash_evidence()
            if kind == crashes.UPSTREAM and retry:
                crashes.note_upstream(f"{self!r} apache2 -k start", evidence)
                return self.start(timeout, retry=False)
            raise RuntimeError(f"apache2 -k start failed ({r.returncode}):\n"
                               f"{r.stdout}{r.stderr}\n{evidence}\n{self.log_tail()}")
        try:
            self.pid = procs.wait_until(lambda: procs.read_int_file(self.pid_file),
                                        10, "httpd pid file")
            self.gen = procs.wait_until(self.generation, timeout, "httpd to answer",
                                        abort=self._died)
            self.timings = {"start": time.monotonic() - t0}
            self._wait_passenger(t0, timeout)
        except Exception as e:
            return self._recover("start", e, retry)
        LIVE.add(self)
        self.history.append(("start", time.monotonic() - t0))
        return self

    def _wait_passenger(self, t0, timeout, exclude_names=()):
        """Wait for the new Passenger instance and the apps' processes."""
        if not self.passenger:
            return
        self.instance = passenger.wait_for_instance(
            self.registry_dir, timeout=timeout, exclude_names=exclude_names,
            watchdog_parent=self.pid, seen_watchdogs=self.sessions, abort=self._died)
        self._wait_registry_steady(timeout, exclude_names)
        self.sessions.add(self.instance.watchdog_pid)
        self.timings["passenger"] = time.monotonic() - t0
        if self.apps:
            if self.prestart == "harness":
                passenger.prestart_apps(self.apps, timeout)
            self.app_pids = passenger.wait_for_apps(self.instance, self.apps, timeout)
            self.timings["apps"] = time.monotonic() - t0

    def _wait_registry_steady(self, timeout, exclude_names, settle=0.5):
        """Around a restart Passenger's instances come and go; tests must start only once the
        registry holds this one instance and nothing else for `settle` seconds (a transient
        instance that is still locked but no longer answering would show up in the module's
        answers as a 502)."""
        deadline = time.monotonic() + timeout
        steady_since = time.monotonic()
        while time.monotonic() - steady_since < settle:
            if time.monotonic() > deadline:
                raise procs.WaitTimeout(f"registry {self.registry_dir} never settled: "
                                        f"{passenger.instance_dirs(self.registry_dir)}")
            if passenger.instance_dirs(self.registry_dir) != [self.instance.path]:
                self.instance = passenger.wait_for_instance(
                    self.registry_dir, timeout=timeout, exclude_names=exclude_names,
                    watchdog_parent=self.pid, seen_watchdogs=self.sessions, abort=self._died)
                steady_since = time.monotonic()
            time.sleep(0.05)

    def graceful(self, extra_conf=None, log_level=None, timeout=60):
        """apachectl-style graceful restart (-k graceful), optionally with new
        extra config; wait until a new-generation child answers, Passenger's
        new instance (a new name: Passenger restarts with httpd) is good and
        the apps are up again."""
        if extra_conf is not None:
            self.extra_conf = extra_conf
        if log_level is not None:
            self.log_level = log_level
        self.write_config()
        old_gen = self.generation()
        old_names = {self.instance.name} if self.instance else set()
        t0 = time.monotonic()
        self.timings = {}
        r = self._apache2("-k", "graceful")
        if r.returncode != 0:
            raise RuntimeError(f"apache2 -k graceful failed ({r.returncode}):\n"
                               f"{r.stdout}{r.stderr}\n{self.log_tail()}")
        try:
            self.gen = procs.wait_until(lambda: self._newer_generation(old_gen),
                                        timeout, "a new generation to answer",
                                        abort=self._died)
            self.timings["start"] = time.monotonic() - t0
            self._wait_passenger(t0, timeout, exclude_names=old_names)
        except Exception as e:
            self._recover("graceful restart", e)
        self.timings["graceful"] = time.monotonic() - t0
        self.history.append(("graceful", self.timings["graceful"]))
        return self

    def parent_died(self):
        """True if the parent this server was started with is gone without stop()."""
        return self.pid is not None and not procs.is_running(self.pid)

    def crash_evidence(self, pid=None):
        """(kind, evidence) for a process of this server that crashed, kind as
        crashes.classify_report says: with the ASan build its report (asan.<pid>; without a
        pid the newest not yet seen), else the crashing thread's stack from the newest core
        file in cores/ (read once, then removed). UNKNOWN when there is neither."""
        if self.asan:
            if pid:
                paths = [os.path.join(self.asan_dir, f"asan.{pid}")]
            else:
                paths = sorted(glob.glob(os.path.join(self.asan_dir, "asan.*")),
                               key=os.path.getmtime)
            paths = [p for p in paths if os.path.exists(p)
                     and os.path.basename(p) not in self.asan_reports.seen]
            if not paths:
                return crashes.UNKNOWN, "no AddressSanitizer report"
            text = "\n".join(errorlog.ReportDir.read(paths[-1]))
            kind = crashes.classify_report(text)
            if kind == crashes.UPSTREAM:   # excused here: the report check must not fail on it
                self.asan_reports.seen.add(os.path.basename(paths[-1]))
            return kind, text
        cores = sorted(glob.glob(os.path.join(self.cores_dir, "core*")), key=os.path.getmtime)
        if not cores:
            return crashes.UNKNOWN, f"no core file in {self.cores_dir}"
        stack = crashes.core_stack(APACHE2, cores[-1])
        os.unlink(cores[-1])
        return crashes.classify_report(stack), stack or f"gdb read no stack from {cores[-1]}"

    def _recover(self, during, error, retry=True):
        """After `error` while starting or restarting: if the parent died of Passenger's own
        crash, start afresh (once); anything else is raised, with the evidence."""
        kind, evidence = self.crash_evidence(self.pid) if self.parent_died() else (None, "")
        if kind != crashes.UPSTREAM or not retry:
            raise type(error)(f"{error}\n{evidence}\n{self.log_tail()}") from error
        crashes.note_upstream(f"{self!r} {during}", evidence)
        self._stop_after_crash()
        return self.start(retry=False)

    def check_alive(self):
        """After a test: None while the parent lives. If it died, the server is started
        afresh, so that no later test meets a dead server, and a problem is returned unless
        the evidence says it was Passenger's own crash."""
        if not self.parent_died():
            return None
        pid = self.pid
        kind, evidence = self.crash_evidence(pid)
        self._stop_after_crash()
        try:
            self.start()
        except Exception as e:  # noqa: BLE001 - reported, with the crash, as this test's problem
            evidence += f"\nand it could not be started again: {e}"
            kind = crashes.UNKNOWN
        if kind == crashes.UPSTREAM:
            crashes.note_upstream(f"{self!r} parent {pid}", evidence)
            return None
        return f"{self!r}: httpd parent {pid} died ({kind}):\n{evidence[:4000]}"

    def _stop_after_crash(self):
        """Passenger's processes leave on their own once the parent is gone; its children may
        not: a few seconds for them, then they are killed."""
        try:
            self.stop(timeout=5)
        except RuntimeError as e:
            print(f"{self!r}: after the crash: {e}", flush=True)

    def reconfigure(self, extra_conf, log_level=None):
        """Graceful restart only if the rendered config would change."""
        old = self.render_config()
        new = self.render_config(extra_conf=extra_conf, log_level=log_level)
        if old != new or not self.running():
            if self.running():
                self.graceful(extra_conf=extra_conf, log_level=log_level)
            else:
                self.extra_conf = extra_conf
                if log_level is not None:
                    self.log_level = log_level
                self.start()
        return self

    def stop(self, timeout=30):
        """SIGTERM to the parent pid saved at start (as -k stop does), then
        wait until the parent, its children and every Passenger process of
        this server (found by session id) are gone. Whatever is still there
        after `timeout` is SIGKILLed by pid and reported as an error."""
        if self.pid is None:
            return
        sessions = self.sessions | {self.pid}
        watched = procs.related_pids(roots={self.pid}, sessions=sessions)
        t0 = time.monotonic()
        # Passenger's shutdown waits for requests in flight: end /hang ones.
        for app in self.apps:
            app.release_hangs()
        # What `apache2 -k stop` does, but to the pid saved at start rather
        # than whatever the PidFile says by now.
        if procs.is_running(self.pid):
            os.kill(self.pid, signal.SIGTERM)
        left = procs.wait_pids_gone(watched, timeout, sessions=sessions)
        self.timings["stop"] = time.monotonic() - t0
        self.history.append(("stop", self.timings["stop"]))
        self.pid = None
        self.instance = None
        if left:
            desc = ", ".join(f"{p} {procs.cmdline(p)!r}" for p in sorted(left))
            procs.kill_pids(left, signal.SIGKILL)
            raise RuntimeError(f"httpd stop left processes (killed): {desc}")

    def cleanup(self):
        """Stop, check the log one last time, remove the temp dir. A parent that died is
        reported like a log problem unless it was Passenger's own crash."""
        LIVE.discard(self)
        if self.parent_died():
            kind, evidence = self.crash_evidence(self.pid)
            if kind == crashes.UPSTREAM:
                crashes.note_upstream(f"{self!r} parent {self.pid}", evidence)
            else:
                errorlog.WATCH.pending.append(f"{self!r}: httpd parent {self.pid} died "
                                              f"({kind}):\n{evidence[:4000]}")
        try:
            self.stop()
        finally:
            if self.history:
                procs.TIMINGS.append((f"httpd {self.mpm} {os.path.basename(self.dir)}",
                                      list(self.history)))
            self.http.close()
            errorlog.WATCH.remove(self.log)
            if self.asan_reports:
                errorlog.WATCH.remove(self.asan_reports)
            shutil.rmtree(self.dir, ignore_errors=True)

    # ------------------------------------------------------------ logs

    def expect_log(self, pattern, required=False):
        """Declare warn/error lines matching `pattern` expected in this test."""
        return self.log.expect(pattern, required)

    def log_tail(self, n=40):
        lines = self.log.read_from(0)
        return "---- error_log tail:\n" + "\n".join(lines[-n:])

    def __repr__(self):
        return f"<Httpd {self.mpm} :{self.port} {self.dir}>"
