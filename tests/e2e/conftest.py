"""pytest fixtures for end-to-end tests against a real httpd + real Passenger.

Run:  cd /work/main && /usr/bin/python3 -m pytest -q tests/e2e
      ... --mpm event            (or PAPI_E2E_MPMS=prefork,event) to choose MPMs

Fixtures (details in each docstring):
  mpm               'prefork' | 'worker' | 'event'; every test using it (or
                    server/httpd) runs once per selected MPM
  server            session-wide Httpd per MPM: Passenger with apps 'app' and
                    'café-ünï' (2 processes each), our module if built
  httpd_conf        module-scoped, override in a test module: extra config
                    text (or callable(Httpd) -> text) for the shared server
  httpd_log_level   module-scoped, override: e.g. 'passenger_api:trace3'
  httpd_log_expect  module-scoped, override: regexes of warn/error lines the
                    module's config is expected to log
  httpd             `server` reconfigured for this test module (graceful
                    restart only if the config changed)
  httpd_factory     make(**Httpd kwargs, start=True) -> a fresh Httpd of your own
  standalone_factory make(app_name=..., registry_dir=None, start=True) -> Standalone
  fake_core         make(registry_dir=None, **FakeCore kwargs) -> started FakeCore
  tmp_registry      an empty registry dir (root, 0755) for this test
  regs              {name: path} of empty registry dirs for the module, one per
                    name in its REGISTRIES tuple (for its httpd_conf)
  expect_log        expect_log(regex, required=False): warn/error lines
                    matching regex are allowed in any log during this test
  module_built      path of the built module; skips the test if not built (the
                    httpd fixture uses it; a module whose other tests need the
                    module says pytestmark = pytest.mark.usefixtures("module_built"))

Error-log check: after each test body, any warn/error/crit/alert/emerg line
(httpd or Passenger format) in a watched log that was not expected fails the
test; lines logged during fixture setup/teardown fail the setup/teardown.
"""

import os
import sys
import time

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
if HERE not in sys.path:
    sys.path.insert(0, HERE)

import apache      # noqa: E402
import crashes     # noqa: E402
import errorlog    # noqa: E402
import fakecore    # noqa: E402
import passenger   # noqa: E402
import procs       # noqa: E402

def pytest_addoption(parser):
    parser.addoption("--mpm", default=os.environ.get("PAPI_E2E_MPMS", ",".join(apache.MPMS)),
                     help="comma-separated MPMs to run server tests under "
                          "(default: prefork,worker,event; env PAPI_E2E_MPMS)")


def selected_mpms(config):
    """The MPM names chosen, as the very string objects of apache.MPMS:
    pytest compares a cached session param with `is`, so fresh strings
    (from split) would restart the shared server for every test."""
    wanted = [m.strip() for m in config.getoption("--mpm").split(",") if m.strip()]
    bad = [m for m in wanted if m not in apache.MPMS]
    if bad:
        raise pytest.UsageError(f"unknown MPM(s) {bad}; choose from {apache.MPMS}")
    return [m for m in apache.MPMS if m in wanted]


def pytest_generate_tests(metafunc):
    """Parametrise `mpm` at session scope, so pytest groups the tests by MPM
    and keeps one shared server per MPM alive at a time."""
    if "mpm" in metafunc.fixturenames:
        metafunc.parametrize("mpm", selected_mpms(metafunc.config), scope="session",
                             indirect=True)


@pytest.fixture(scope="session")
def mpm(request):
    """The MPM ('prefork', 'worker' or 'event') this test runs under."""
    return request.param


# ---------------------------------------------------------------- logs

def _fail_on_problems(problems, when):
    if problems:
        pytest.fail(f"error log check ({when}):\n  " + "\n  ".join(problems), pytrace=False)


@pytest.hookimpl(trylast=True)
def pytest_runtest_call(item):
    """Runs after the test body passed: unexpected log lines fail the test."""
    _fail_on_problems(errorlog.WATCH.check_all(final=False), "after test")


@pytest.fixture(autouse=True)
def _error_log_check():
    """Lines logged before the test (fixture setup, e.g. a restart) fail the
    setup; lines logged while fixtures are torn down (e.g. a server of the
    test stopping) fail the teardown. So does a server whose parent died
    during the test (unless it was Passenger's own crash): it is started
    afresh first, so the tests after it meet a live server."""
    _fail_on_problems(errorlog.WATCH.check_all(), "before test")
    yield
    dead = [problem for h in list(apache.LIVE) if (problem := h.check_alive())]
    _fail_on_problems(dead + errorlog.WATCH.check_all(), "teardown")


@pytest.fixture
def expect_log():
    """expect_log(regex, required=False): allow warn/error lines matching
    regex in any watched log for this test; required: one must appear."""
    return errorlog.WATCH.expect


# ---------------------------------------------------------------- servers

@pytest.fixture(scope="session")
def server(mpm):
    """The shared Httpd for this MPM, started once (Passenger + both apps,
    our module if built). Tests must not stop it; use `httpd` to give it
    your module's config."""
    h = apache.Httpd(mpm, module="auto", apps=passenger.default_apps())
    try:
        h.start()
        yield h
    finally:
        h.cleanup()
    _fail_on_problems(errorlog.WATCH.check_all(), f"shared {mpm} server stop")


@pytest.fixture(scope="module")
def httpd_conf():
    """Extra config for the shared server in this test module (override)."""
    return ""


@pytest.fixture(scope="module")
def httpd_log_level():
    """Extra LogLevel words for this test module (override), e.g.
    'passenger_api:trace3'."""
    return ""


@pytest.fixture(scope="module")
def httpd_log_expect():
    """Regexes of warn/error lines this module's config makes httpd log at
    (re)start and during its tests (override)."""
    return []


@pytest.fixture(scope="module")
def httpd(server, module_built, httpd_conf, httpd_log_level, httpd_log_expect):
    """The shared server with this module's config (graceful restart only
    when the config differs from what it runs); skipped when the module is
    not built, since that config is the module's."""
    exps = [server.log.expect(rx, persistent=True) for rx in httpd_log_expect]
    try:
        server.reconfigure(httpd_conf, log_level=httpd_log_level)
        yield server
    finally:
        for e in exps:
            server.log.unexpect(e)


@pytest.fixture
def httpd_factory():
    """make(start=True, **kwargs) -> Httpd (kwargs as apache.Httpd: mpm,
    module, passenger, apps, extra_conf, log_level, mpm_conf, prestart).
    Every server made is stopped and removed after the test."""
    made = []

    def make(start=True, **kwargs):
        h = apache.Httpd(**kwargs)
        made.append(h)
        if start:
            h.start()
        return h

    yield make
    for h in made:
        h.cleanup()


@pytest.fixture
def standalone_factory():
    """make(app_name='standalone-app', registry_dir=None, start=True) ->
    passenger.Standalone in its own short temp dir; stopped after the test."""
    made = []
    base = procs.make_tempdir()

    def make(app_name="standalone-app", registry_dir=None, start=True, **kwargs):
        s = passenger.Standalone(base, app_name=app_name, registry_dir=registry_dir, **kwargs)
        made.append(s)
        if start:
            s.start()
        return s

    yield make
    try:
        for s in made:
            s.cleanup()
    finally:
        import shutil
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture
def tmp_registry():
    """A fresh, empty registry dir (root, 0755) in a short temp dir."""
    with procs.registry_dirs("reg") as dirs:
        yield dirs["reg"]


@pytest.fixture(scope="module")
def regs(request):
    """{name: path} of empty registry dirs (root, 0755), one for each name in the test module's
    REGISTRIES tuple: made before the module's config (its httpd_conf takes them), removed after
    its last test."""
    with procs.registry_dirs(*request.module.REGISTRIES) as dirs:
        yield dirs


@pytest.fixture
def fake_core(tmp_registry):
    """make(registry_dir=None, **kwargs) -> started fakecore.FakeCore.

    Default registry: this test's tmp_registry. For the shared server use
    registry_dir=httpd.fake_registry_dir. All are removed after the test."""
    made = []

    def make(registry_dir=None, start=True, **kwargs):
        fc = fakecore.FakeCore(registry_dir or tmp_registry, **kwargs)
        made.append(fc)
        if start:
            fc.start()
        return fc

    yield make
    for fc in made:
        fc.cleanup()


@pytest.fixture(scope="session")
def module_built():
    """Path of the built module (.libs/mod_passenger_api.so); skip if absent."""
    if not apache.module_built():
        pytest.skip(f"module not built: {apache.MODULE_SO} (make -f Makefile.apxs)")
    return apache.MODULE_SO


# ---------------------------------------------------------------- summary

_session_t0 = time.monotonic()


def pytest_terminal_summary(terminalreporter):
    """Print how long servers took to start, restart and stop."""
    tr = terminalreporter
    if procs.TIMINGS:
        tr.write_sep("-", "e2e server timings (seconds)")
        for label, history in procs.TIMINGS:
            parts = ", ".join(f"{op} {secs:.2f}" for op, secs in history)
            tr.write_line(f"{label}: {parts}")
    if crashes.UPSTREAM:
        tr.write_sep("-", "crashes of Passenger's own module the run recovered from")
        for where, evidence in crashes.UPSTREAM:
            tr.write_line(f"{where}: " + " | ".join(evidence.splitlines()[:3]))
    tr.write_line(f"e2e total wall time: {time.monotonic() - _session_t0:.1f} s")
