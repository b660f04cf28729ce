"""Debian's prometheus for the e2e tests: on loopback, in a temp dir of its own, scraping targets
from a file_sd list and evaluating rule files every second; its HTTP API; stopped by its pid."""

import datetime
import os
import re
import shutil
import signal
import subprocess

import requests
import yaml

import procs


class Prometheus:
    """One server: job `job` scrapes `targets` (host:port) at `metrics_path` through a file_sd
    list; start(), then api()/query(), then cleanup()."""

    def __init__(self, job, targets, metrics_path, rule_files):
        self.dir = procs.make_tempdir()
        self.port = procs.free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        with open(os.path.join(self.dir, "targets.yml"), "w") as f:
            yaml.safe_dump([{"targets": list(targets)}], f)
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": list(rule_files),
            "scrape_configs": [{
                "job_name": job, "metrics_path": metrics_path,
                "file_sd_configs": [{"files": [os.path.join(self.dir, "targets.yml")]}]}]}
        self.config = os.path.join(self.dir, "prometheus.yml")
        with open(self.config, "w") as f:
            yaml.safe_dump(config, f)
        self.log_path = os.path.join(self.dir, "prometheus.log")
        self.proc = None

    def start(self, timeout=30):
        with open(self.log_path, "wb") as log:
            self.proc = subprocess.Popen(
                ["prometheus", f"--config.file={self.config}",
                 f"--storage.tsdb.path={os.path.join(self.dir, 'data')}",
                 f"--web.listen-address=127.0.0.1:{self.port}"],
                stdout=log, stderr=subprocess.STDOUT, cwd=self.dir)
        procs.wait_until(lambda: requests.get(self.url + "/-/ready", timeout=2).ok, timeout,
                         "Prometheus ready", abort=self.exited)

    def exited(self):
        if self.proc.poll() is not None:
            return f"prometheus exited with {self.proc.returncode}: {self.log_tail()}"
        return None

    def log_tail(self, n=20):
        with open(self.log_path, encoding="utf-8", errors="replace") as f:
            return "".join(f.readlines()[-n:])

    def api(self, path, **params):
        r = requests.get(f"{self.url}/api/v1/{path}", params=params, timeout=10)
        body = r.json()
        assert r.status_code == 200 and body["status"] == "success", (path, params, r.text)
        return body["data"]

    def query(self, expr):
        """(resultType, result) of an instant query now."""
        data = self.api("query", query=expr)
        return data["resultType"], data["result"]

    def series_names(self):
        return set(self.api("label/__name__/values"))

    def label_names(self):
        return set(self.api("labels"))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def _rfc3339(text):
    """A Prometheus timestamp (nanoseconds, Z) as an aware datetime."""
    text = re.sub(r"(\.\d{6})\d*", r"\1", text).replace("Z", "+00:00")
    return datetime.datetime.fromisoformat(text)


def rfc3339(text):
    """A Prometheus timestamp (nanoseconds, Z) as an aware datetime."""
    text = re.sub(r"(\.\d{6})\d*", r"\1", text).replace("Z", "+00:00")
    return datetime.datetime.fromisoformat(text)
