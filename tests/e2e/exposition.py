"""/metrics read as Prometheus reads it: the text parsed by prometheus_client's own parser
(Debian's python3-prometheus-client), promtool's verdict on it, and the core's pool once Passenger
has measured every process."""

import subprocess
import time

from prometheus_client.parser import text_string_to_metric_families


def samples(text):
    """[(sample name, {label: value}, float)] of every sample; the parser raises on a line that
    is not one."""
    return [(s.name, s.labels, s.value) for family in text_string_to_metric_families(text)
            for s in family.samples]


def types(text):
    """{sample name: its family's TYPE} (a counter's samples end in _total)."""
    return {s.name: family.type for family in text_string_to_metric_families(text)
            for s in family.samples}


def series(text, metric, /, **match):
    """[(labels, value)] of the samples of metric whose labels include match (a label may be
    called name)."""
    return [(labels, value) for n, labels, value in samples(text)
            if n == metric and all(labels.get(k) == v for k, v in match.items())]


def label_sets(text, exclude=()):
    """{(sample name, frozenset of label items)} of every sample but those named in exclude."""
    return {(n, frozenset(labels.items())) for n, labels, _ in samples(text) if n not in exclude}


def promtool_check(text):
    """(exit status, output) of promtool check metrics on text."""
    done = subprocess.run(["promtool", "check", "metrics"], input=text.encode(),
                          stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=60)
    return done.returncode, done.stdout.decode()


def pool_with_metrics(inst, timeout=30):
    """The core's pool once Passenger has measured every process (it does so every few seconds;
    until then pool.xml has no memory or CPU figures)."""
    deadline = time.monotonic() + timeout
    while True:
        pool = inst.pool()
        if all(p.get("has_metrics") == "true" and p.get("rss") for plist in pool.values()
               for p in plist):
            return pool
        assert time.monotonic() < deadline, f"no process metrics after {timeout} s: {pool}"
        time.sleep(0.25)


def identity_of(text, name):
    """The passenger_instance that passenger_info gives Passenger's instance called name."""
    ((labels, _),) = series(text, "passenger_info", instance_name=name)
    return labels["passenger_instance"]
