"""LogLevel passenger_api:trace1 writes down one request's way through the library: the registry
glob's expansion and the registry listing (each kept or read afresh), the password (kept or
fetched), the connection to the core (kept or new)."""

import os
import time

import pytest
import requests

from conf import location

API = "/papi-trace"


@pytest.fixture(scope="module")
def httpd_conf():
    return lambda h: location(API, glob_of(h))


def glob_of(h):
    """A glob that matches the server's registry directory alone."""
    return os.path.join(os.path.dirname(h.registry_dir), "[r]eg")


@pytest.fixture(scope="module")
def httpd_log_level():
    return "passenger_api:trace1"


def test_a_request_is_traced_through_the_caches(httpd):
    name, reg = httpd.instance.name, httpd.registry_dir
    since = httpd.log.size()
    with requests.Session() as s:   # one connection: the same httpd child answers both
        s.trust_env = False
        # Change times younger than a second are not trusted; idle core connections are kept
        # for a second.
        for pause in (1.2, 0, 0):
            r = s.get(httpd.url(API + "/ping.json"), timeout=10)
            assert r.status_code == 200 and r.json()[0]["status"] == 200, r.text
            time.sleep(pause)
    text = "\n".join(httpd.log.grep(r"\[passenger_api:trace1\]", since))
    assert f"registry glob {glob_of(httpd)}: expansion kept (unchanged)" in text, text
    assert f"registry {reg}: listing kept (unchanged)" in text, text
    assert f"instance {name}: its ro_admin password is kept" in text, text
    assert f"instance {name}: GET /ping.json on a kept connection" in text, text
