"""The pool views at any size: a host of 32 instances × 10 app groups × 50 processes (16,000
processes; fake cores answering a grown copy of a real pool.xml, tests/e2e/bigpool.py) and the
small real host, in the read-only and the full Location, loaded in headless Chromium at a desktop's
and a phone's width (the screenshots: build/e2e-artifacts/).

The large views are streamed: written to the client as they are made (chunked), never whole in a
child's memory.
"""

import re
import socket
import struct

import pytest

import bigpool
import browser
import fakecore
from conf import location
from exposition import promtool_check, samples

REGISTRIES = ("big",)
INSTANCES, GROUPS, PROCESSES = 32, 10, 50
TOTAL = INSTANCES * GROUPS * PROCESSES
BIG, BIG_FULL = "/papi-big", "/papi-big-full"
SMALL, SMALL_FULL = "/passenger-api", "/papi-small-full"
# Rows the dashboard lists at the most (PAPI_DASHBOARD_ROWS): the groups past them are folded.
ROWS = 500

pytestmark = pytest.mark.usefixtures("module_built")


@pytest.fixture(scope="module")
def big_host(regs):
    """32 fake cores, each a pool of 10 app groups of 50 processes, one session each."""
    made = []
    try:
        for i in range(INSTANCES):
            body = bigpool.pool_xml(GROUPS, PROCESSES, first_pid=100000 + i * GROUPS * PROCESSES)
            made.append(fakecore.FakeCore(regs["big"], responses={
                "/pool.xml": bigpool.response(body)}).start())
        yield made
    finally:
        for fc in made:
            fc.cleanup()


@pytest.fixture(scope="module")
def httpd_conf(regs):
    return lambda h: (location(BIG, regs["big"])
                      + location(BIG_FULL, regs["big"], PassengerApiAccess="full")
                      + location(SMALL, h.registry_dir)
                      + location(SMALL_FULL, h.registry_dir, PassengerApiAccess="full"))


def tile(page, label):
    """The number a tile of the page's header shows."""
    return int(re.search(rf"<dt>{label}</dt><dd>(\d+)", page)[1])


def test_the_dashboard_of_16000_processes_leads_with_totals_and_stays_under_1_mb(httpd, big_host):
    r = httpd.get(BIG + "/", timeout=60)
    assert r.status_code == 200
    page = r.text
    assert len(r.content) < 1024 * 1024, len(r.content)
    header = page[:page.index("<main>")]
    assert re.search(rf"<dd>{INSTANCES} <small>good of {INSTANCES}</small>", header)
    assert tile(header, "App groups") == INSTANCES * GROUPS
    assert tile(header, "Processes") == TOTAL
    assert tile(header, "Sessions") == TOTAL
    # The first 500 processes are listed; every later group is folded with its totals in its
    # summary, its processes left to processes.json.
    assert len(re.findall(r'<td data-label="PID"', page)) == ROWS
    folded = re.findall(r'<details class="group">\n<summary class="head">.*?'
                        r'<span class="totals">(.*?)</span></summary>', page)
    assert len(folded) == INSTANCES * GROUPS - ROWS // PROCESSES
    assert all(t.startswith(f"{PROCESSES} processes \u00b7 {PROCESSES} sessions") for t in folded)
    assert page.count("<details") == page.count("</details>") == len(folded)
    assert "<details open" not in page


def test_processes_json_and_metrics_of_16000_processes_are_streamed(httpd, big_host):
    r = httpd.get(BIG + "/processes.json", timeout=60)
    assert r.status_code == 200
    assert r.headers.get("Transfer-Encoding") == "chunked" and "Content-Length" not in r.headers
    pids = [p["pid"] for e in r.json() for g in e["pool"]["app_groups"] for p in g["processes"]]
    assert len(pids) == len(set(pids)) == TOTAL

    r = httpd.get(BIG + "/metrics", timeout=60)
    assert r.status_code == 200
    assert r.headers.get("Transfer-Encoding") == "chunked"
    assert promtool_check(r.text) == (0, "")
    sessions = [labels for name, labels, _ in samples(r.text) if name == "passenger_process_sessions"]
    assert len(sessions) == TOTAL
    assert len({(s["passenger_instance"], s["app_group"], s["slot"]) for s in sessions}) == TOTAL

    # HEAD: the headers of the GET, with the length the body would have had, and no body.
    for view in ("/processes.json", "/metrics", "/"):
        r = httpd.request("HEAD", BIG + view, timeout=60)
        assert r.status_code == 200 and r.content == b""
        assert int(r.headers["Content-Length"]) > 64 * 1024, view


def test_a_client_gone_mid_stream_leaves_the_child_serving(httpd, big_host):
    """A scraper that hangs up after the first piece: the rest of the answer is made and dropped,
    no error is logged, and the next scrape is whole."""
    for view in ("/metrics", "/processes.json"):
        with socket.create_connection(("127.0.0.1", httpd.port), timeout=60) as s:
            s.sendall(f"GET {BIG}{view} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
            head = s.recv(65536)
            assert head.startswith(b"HTTP/1.1 200 ") and b"Transfer-Encoding: chunked" in head
            s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    r = httpd.get(BIG + "/processes.json", timeout=60)
    assert r.status_code == 200
    assert sum(len(g["processes"]) for e in r.json() for g in e["pool"]["app_groups"]) == TOTAL


@pytest.mark.parametrize("host", ["small", "big"])
def test_dashboards_in_chromium_readonly_and_full_desktop_and_phone(httpd, big_host, mpm, host):
    """Screenshots for people to look at; the DOM Chromium built says the page held together."""
    bases = (SMALL, SMALL_FULL) if host == "small" else (BIG, BIG_FULL)
    for base, access in zip(bases, ("readonly", "full")):
        url = httpd.url(base + "/")
        dom = browser.dump_dom(url, timeout=120)
        assert dom.rstrip().endswith("</html>")
        assert "<h1>Passenger</h1>" in dom and "</main>" in dom
        for width, height, name in ((1280, 900, "wide"), (390, 844, "phone")):
            png = browser.screenshot(url, f"dashboard-{host}-{access}-{mpm}-{name}", width, height,
                                     timeout=120)
            assert browser.png_size(png) == (width, height)
