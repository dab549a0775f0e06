"""What the tests of `meterbench review` share: a small ingested dataset whose customers include hostile names,
its incidents (`meterbench detect` at its defaults: the spike and surge are large enough for any sensible band), and a review server started on a free port and stopped afterwards."""
import csv
import datetime
import json
import math
import os
import re
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

HOSTILE = "<script>alert(1)</script>"
CUSTOMERS = [HOSTILE, "contoso", 'fabrikam & "co"']


def cli():
    return os.environ["METERBENCH_CLI"]


def make_dataset(directory):
    """Three customers x two meters, 400 days of daily usage with a weekly cycle, a spike and a 5-day surge each;
    contoso's price is so low that its incidents are below the 100 USD default filter."""
    usage = os.path.join(directory, "usage.csv")
    start = datetime.date(2024, 1, 1)
    with open(usage, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["customer", "meter", "date", "quantity", "price"])
        for c, customer in enumerate(CUSTOMERS):
            for m, meter in enumerate(["compute-hours", "storage-gb"]):
                base = 1000.0 * (c + 1) * (m + 1)
                price = "0.0005" if customer == "contoso" else "0.5"  # its incidents are below the 100 USD default
                for day in range(400):
                    noise = (day * 7919 + 31 * c + 17 * m) % 101 / 100.0 - 0.5  # deterministic, +-0.5
                    q = base * (1.0 + 0.2 * math.sin(2 * math.pi * day / 7) + 0.25 * noise)
                    if 300 + 10 * c + 5 * m <= day < 305 + 10 * c + 5 * m:
                        q *= 6.0
                    if day == 200 + 3 * c:
                        q *= 8.0
                    w.writerow([customer, meter, (start + datetime.timedelta(days=day)).isoformat(), f"{q:.3f}", price])
    data = os.path.join(directory, "usage.h5")
    subprocess.run([cli(), "ingest", "--csv", usage, "--out", data], check=True, capture_output=True)
    incidents = os.path.join(directory, "incidents.csv")
    subprocess.run([cli(), "detect", "--data", data, "--out", incidents, "--min-impact", "0"], check=True, capture_output=True)
    return data, incidents


class ReviewServer:
    """`meterbench review` on a free port; stop() ends the process this started (by its own handle)."""

    def __init__(self, data, incidents, feedback, extra=()):
        self.process = subprocess.Popen([cli(), "review", "--data", data, "--incidents", incidents, "--feedback", feedback,
                                         "--port", "0", "--user", "tester", *extra],
                                        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        match = re.search(r"(http://\S+)", line)
        if not match:
            self.process.kill()
            raise RuntimeError(f"review did not print its URL: {line!r} {self.process.stderr.read()}")
        self.url = match.group(1)
        self.port = int(re.search(r":(\d+)/", self.url).group(1))

    def stop(self):
        """Ends the server (idempotent); returns what it wrote on standard error."""
        if self.process.returncode is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if not self.process.stderr.closed:
            self.stderr = self.process.stderr.read()
            self.process.stderr.close()
            self.process.stdout.close()
        return self.stderr


def request(url, method="GET", body=None, headers=None):
    """(status, headers, body text) of one HTTP request; error statuses are returned, not raised."""
    req = urllib.request.Request(url, method=method, data=body.encode() if isinstance(body, str) else body, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, response.headers, response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read().decode()


def feedback_records(path):
    """The verdict lines of a feedback file (after its header line)."""
    if not os.path.exists(path):
        return []
    with open(path) as f:
        lines = f.read().splitlines()
    return [json.loads(line) for line in lines[1:] if line.strip()]


def temporary_directory():
    return tempfile.TemporaryDirectory(prefix="meterbench-review-")


def wait_for(predicate, timeout=15.0, what="condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")
