"""`meterbench review` over plain HTTP: the API's answers, its refusals (bad input, rules), and the security rules:
other Host names refused unless --bind, no path traversal, state changes only by POST with the session's CSRF
token, names returned as data (the page escapes them; review_browser_test.py checks the page)."""
import json
import os
import signal
import socket
import subprocess
import threading
import sys
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import review_fixture as fx  # noqa: E402


class ReviewHttpTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = fx.temporary_directory()
        cls.data, cls.incidents = fx.make_dataset(cls.tmp.name)

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def setUp(self):
        self.feedback = os.path.join(self.tmp.name, f"{self._testMethodName}.jsonl")
        self.server = fx.ReviewServer(self.data, self.incidents, self.feedback)
        self.addCleanup(lambda: self.server.stop())  # whichever server the test left running

    def get(self, path, headers=None):
        return fx.request(self.server.url.rstrip("/") + path, headers=headers)

    def get_json(self, path):
        status, _, body = self.get(path)
        self.assertEqual(status, 200, body)
        return json.loads(body)

    def session(self):
        """(cookie header, CSRF token) of a new session."""
        status, headers, body = self.get("/api/session")
        self.assertEqual(status, 200, body)
        cookie = headers["Set-Cookie"].split(";")[0]
        return cookie, json.loads(body)["csrf_token"]

    def post_verdict(self, incident, body, cookie=None, token=None, content_type="application/json"):
        headers = {"Content-Type": content_type}
        if cookie:
            headers["Cookie"] = cookie
        if token:
            headers["X-CSRF-Token"] = token
        return fx.request(f"{self.server.url}api/incidents/{incident}/verdict", "POST", json.dumps(body) if not isinstance(body, str) else body, headers)

    def first_id(self, customer):
        rows = self.get_json("/api/incidents?min_impact=all&status=&page_size=100&customer=" + urllib.parse.quote(customer))["rows"]
        return next(r["id"] for r in rows if r["customer"] == customer)

    # ------------------------------------------------------------------------------------------------ the API

    def test_inventory_sorted_by_impact_with_the_100_usd_default_and_filters(self):
        default = self.get_json("/api/incidents")
        impacts = [abs(r["impact"]) for r in default["rows"]]
        self.assertEqual(impacts, sorted(impacts, reverse=True))
        self.assertTrue(all(i > 100 for i in impacts))
        self.assertNotIn("contoso", {r["customer"] for r in default["rows"]})  # its incidents are below 100 USD
        everything = self.get_json("/api/incidents?min_impact=all")
        self.assertEqual(everything["total"], 12)
        self.assertIn("contoso", {r["customer"] for r in everything["rows"]})
        spikes = self.get_json("/api/incidents?min_impact=all&kind=spike&meter=STORAGE")
        self.assertEqual(spikes["total"], 3)
        self.assertTrue(all(r["kind"] == "spike" and r["meter"] == "storage-gb" for r in spikes["rows"]))
        recent = self.get_json("/api/incidents?min_impact=all&days=60")  # the data end on 2025-02-03: surges in Nov are out
        self.assertEqual(recent["total"], 0)
        recent = self.get_json("/api/incidents?min_impact=all&days=90")
        self.assertEqual({r["kind"] for r in recent["rows"]}, {"level_shift"})
        paged = [self.get_json(f"/api/incidents?min_impact=all&page_size=5&page={p}")["rows"] for p in range(3)]
        self.assertEqual([len(p) for p in paged], [5, 5, 2])
        self.assertEqual(sorted(r["id"] for p in paged for r in p), list(range(12)))

    def test_detail_has_the_expected_range_and_the_neighbours(self):
        incident = self.first_id(fx.HOSTILE)
        detail = self.get_json(f"/api/incidents/{incident}")
        self.assertEqual(detail["incident"]["customer"], fx.HOSTILE)
        r = detail["range"]
        self.assertEqual(len(r["observed"]), 400)
        self.assertEqual({len(r[k]) for k in ("expected", "lower", "upper")}, {400})
        self.assertTrue(all(lo <= hi for lo, hi in zip(r["lower"], r["upper"])))
        self.assertEqual(r["fit_status"], "ok")
        neighbours = detail["neighbours"]
        self.assertEqual(len(neighbours), 1)  # one other incident of the same series
        self.assertEqual((neighbours[0]["customer"], neighbours[0]["meter"]), (fx.HOSTILE, detail["incident"]["meter"]))

    def test_refuses_bad_queries_with_a_reason(self):
        for query, reason in [("page=-1", "page"), ("page=abc", "page"), ("page_size=0", "page_size"), ("min_impact=lots", "min_impact"),
                              ("days=-30", "days"), ("direction=sideways", "direction"), ("status=maybe", "status")]:
            status, _, body = self.get(f"/api/incidents?{query}")
            self.assertEqual(status, 400, query)
            self.assertIn(reason, json.loads(body)["error"], query)
        self.assertEqual(self.get("/api/incidents/999")[0], 404)
        self.assertEqual(self.get("/api/incidents/99999999999999999999999")[0], 404)

    def test_refuses_bad_verdicts_with_a_reason(self):
        cookie, token = self.session()
        incident = self.first_id("contoso")
        for body, reason in [("not json", "not JSON"), ([1, 2], "object"), ({}, "verdict"), ({"verdict": "maybe"}, "verdict"),
                             ({"verdict": "anomaly"}, "corrected usage"), ({"verdict": "anomaly", "corrected_usage": -1}, "corrected_usage"),
                             ({"verdict": "anomaly", "corrected_usage": "12"}, "corrected_usage"), ({"verdict": "not_anomaly"}, "reason"),
                             ({"verdict": "not_anomaly", "reason": "  "}, "reason"), ({"verdict": "not_anomaly", "reason": 5}, "reason"),
                             ({"verdict": "not_anomaly", "reason": "x" * 3000}, "reason"),
                             ({"verdict": "anomaly", "corrected_usage": 1, "admin": True}, "admin")]:
            status, _, answer = self.post_verdict(incident, body, cookie, token)
            self.assertEqual(status, 400, body)
            self.assertIn(reason, json.loads(answer)["error"], body)
        self.assertEqual(fx.feedback_records(self.feedback), [])

    def test_verdicts_reach_the_feedback_file_and_the_action_log_and_keep_the_rule(self):
        cookie, token = self.session()
        incident = self.first_id("contoso")
        status, _, body = self.post_verdict(incident, {"verdict": "not_anomaly", "reason": "planned migration"}, cookie, token)
        self.assertEqual(status, 200, body)
        status, _, body = self.post_verdict(incident, {"verdict": "anomaly", "corrected_usage": 123.5}, cookie, token)
        self.assertEqual(status, 200, body)
        # Once an anomaly, never "not an anomaly" (the service's rule): 409, and nothing is appended.
        status, _, body = self.post_verdict(incident, {"verdict": "not_anomaly", "reason": "changed my mind"}, cookie, token)
        self.assertEqual(status, 409, body)
        records = fx.feedback_records(self.feedback)
        self.assertEqual([(r["verdict"], r["customer"], r["user"]) for r in records],
                         [("not_anomaly", "contoso", "tester"), ("anomaly", "contoso", "tester")])
        self.assertEqual(records[1]["corrected_usage"], 123.5)
        log = self.get_json("/api/actions")
        self.assertEqual([r["seq"] for r in log["rows"]], [2, 1])  # newest first
        detail = self.get_json(f"/api/incidents/{incident}")
        self.assertEqual(detail["incident"]["verdict"]["verdict"], "anomaly")
        self.assertEqual(self.get_json("/api/incidents?min_impact=all&status=reviewed")["total"], 1)
        self.assertEqual(self.get_json("/api/incidents?min_impact=all&status=open")["total"], 11)

    def test_a_damaged_feedback_line_is_reported_not_skipped_silently(self):
        cookie, token = self.session()
        self.assertEqual(self.post_verdict(self.first_id("contoso"), {"verdict": "anomaly", "corrected_usage": 1}, cookie, token)[0], 200)
        with open(self.feedback, "a") as f:
            f.write('{"seq": 2, "verdict": "anomaly", broken\n')
        self.server.stop()
        self.server = fx.ReviewServer(self.data, self.incidents, self.feedback)
        problems = self.get_json("/api/session")["feedback_problems"]
        self.assertEqual([p["line"] for p in problems], [3])
        self.assertEqual([p["line"] for p in self.get_json("/api/actions")["problems"]], [3])
        self.assertEqual(len(self.get_json("/api/actions")["rows"]), 1)
        self.assertIn("line 3", self.server.stop())  # logged as a warning too

    def test_two_tabs_acting_at_once_lose_nothing(self):
        sessions = [self.session() for _ in range(2)]
        ids = [r["id"] for r in self.get_json("/api/incidents?min_impact=all&page_size=100")["rows"]]
        answers = []

        def act(tab, incident):
            cookie, token = sessions[tab]
            answers.append(self.post_verdict(incident, {"verdict": "anomaly", "corrected_usage": incident}, cookie, token)[0])

        threads = [threading.Thread(target=act, args=(k % 2, incident)) for k, incident in enumerate(ids)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        self.assertEqual(answers, [200] * len(ids))
        records = fx.feedback_records(self.feedback)
        self.assertEqual(sorted(r["seq"] for r in records), list(range(1, len(ids) + 1)))
        self.assertEqual(sorted(r["corrected_usage"] for r in records), sorted(float(i) for i in ids))

    def test_a_verdict_survives_kill_9_of_the_server(self):
        cookie, token = self.session()
        self.assertEqual(self.post_verdict(self.first_id("contoso"), {"verdict": "anomaly", "corrected_usage": 7}, cookie, token)[0], 200)
        self.server.process.send_signal(signal.SIGKILL)
        self.server.stop()
        self.server = fx.ReviewServer(self.data, self.incidents, self.feedback)
        rows = self.get_json("/api/actions")["rows"]
        self.assertEqual([(r["customer"], r["corrected_usage"]) for r in rows], [("contoso", 7.0)])

    def test_the_json_incidents_file_reads_as_the_csv_one(self):
        incidents = os.path.join(self.tmp.name, "incidents.json")
        if not os.path.exists(incidents):
            subprocess.run([fx.cli(), "detect", "--data", self.data, "--out", incidents, "--min-impact", "0"], check=True, capture_output=True)
        other = fx.ReviewServer(self.data, incidents, self.feedback)
        try:
            from_json = json.loads(fx.request(other.url + "api/incidents?min_impact=all&page_size=100")[2])["rows"]
        finally:
            other.stop()
        from_csv = self.get_json("/api/incidents?min_impact=all&page_size=100")["rows"]
        key = ("customer", "meter", "kind", "start", "end", "direction")
        self.assertEqual([[r[k] for k in key] for r in from_json], [[r[k] for k in key] for r in from_csv])
        for a, b in zip(from_json, from_csv):
            self.assertAlmostEqual(a["impact"], b["impact"], delta=abs(b["impact"]) * 1e-5)

    def test_bad_starts_are_errors_naming_the_problem(self):
        def review(*args):
            return subprocess.run([fx.cli(), "review", "--data", self.data, "--port", "0", *args], capture_output=True, text=True, timeout=60)

        missing = review("--incidents", os.path.join(self.tmp.name, "missing.csv"))
        self.assertEqual(missing.returncode, 1)
        self.assertIn("missing.csv: no such incidents file", missing.stderr)
        bad = os.path.join(self.tmp.name, "bad.csv")
        with open(self.incidents) as f:
            lines = f.read().splitlines()
        with open(bad, "w") as f:
            f.write("\n".join(lines[:3] + [lines[3].replace(",over,", ",sideways,")]) + "\n")
        answer = review("--incidents", bad)
        self.assertEqual(answer.returncode, 1)
        self.assertIn("bad.csv line 4: column 'direction' is 'sideways'", answer.stderr)
        with open(bad, "w") as f:
            f.write("customer,meter\nx,y\n")
        answer = review("--incidents", bad)
        self.assertIn("bad.csv line 1: no 'kind' column", answer.stderr)
        unknown_model = review("--incidents", self.incidents, "--model", "nope")
        self.assertEqual(unknown_model.returncode, 1)
        self.assertIn("unknown model 'nope'", unknown_model.stderr)
        with socket.socket() as busy:
            busy.bind(("127.0.0.1", 0))
            busy.listen()
            taken = subprocess.run([fx.cli(), "review", "--data", self.data, "--incidents", self.incidents, "--port", str(busy.getsockname()[1])],
                                   capture_output=True, text=True, timeout=60)
        self.assertEqual(taken.returncode, 1)
        self.assertIn("cannot listen on 127.0.0.1", taken.stderr)

    # ------------------------------------------------------------------------------------------------ security

    def test_other_host_names_are_refused(self):
        for host in ["evil.example", f"evil.example:{self.server.port}", "127.0.0.1:1", "attacker.127.0.0.1.nip.io"]:
            status, _, body = self.get("/api/session", {"Host": host})
            self.assertEqual(status, 403, host)
            self.assertIn("not this server", body)
        self.assertEqual(self.get("/api/session", {"Host": f"localhost:{self.server.port}"})[0], 200)
        self.assertEqual(self.get("/", {"Host": f"127.0.0.1:{self.server.port}"})[0], 200)

    def test_bind_answers_any_host(self):
        other = fx.ReviewServer(self.data, self.incidents, self.feedback, ["--bind", "127.0.0.1"])
        try:
            status, _, _ = fx.request(other.url + "api/session", headers={"Host": "review.example"})
            self.assertEqual(status, 200)
        finally:
            other.stop()

    def test_no_path_traversal(self):
        for path in ["/static/../../../../etc/passwd", "/static/..%2f..%2f..%2f..%2fetc%2fpasswd", "/..%2f..%2fetc/passwd",
                     "/static/%2e%2e/%2e%2e/CMakeLists.txt", "/static/review.js/../../review_server.cpp", "/etc/passwd",
                     "/static/index.html/..", "/review.js", "/static/package.json", "/static/", "/static/../CMakeCache.txt"]:
            status, _, body = self.get(path)
            self.assertEqual(status, 404, path)
            self.assertNotIn("root:", body, path)
        for path in ["/", "/static/review.js", "/static/review.css", "/static/uPlot.iife.min.js", "/static/uPlot.min.css"]:
            self.assertEqual(self.get(path)[0], 200, path)

    def test_state_changes_only_by_post_with_the_session_token(self):
        cookie, token = self.session()
        other_cookie, other_token = self.session()
        incident = self.first_id("contoso")
        good = {"verdict": "anomaly", "corrected_usage": 10}
        self.assertEqual(self.post_verdict(incident, good)[0], 403)                           # no session, no token
        self.assertEqual(self.post_verdict(incident, good, cookie)[0], 403)                   # session cookie alone
        self.assertEqual(self.post_verdict(incident, good, token=token)[0], 403)              # token without its session
        self.assertEqual(self.post_verdict(incident, good, cookie, other_token)[0], 403)      # another session's token
        self.assertEqual(self.post_verdict(incident, good, other_cookie, "0" * 32)[0], 403)   # a made-up token
        self.assertEqual(self.post_verdict(incident, json.dumps(good), cookie, token, "text/plain")[0], 415)  # a cross-site form's type
        status, _, _ = self.get(f"/api/incidents/{incident}/verdict?verdict=anomaly&corrected_usage=10")
        self.assertEqual(status, 404)  # no GET route changes anything
        self.assertEqual(fx.feedback_records(self.feedback), [])
        self.assertEqual(self.post_verdict(incident, good, cookie, token)[0], 200)
        self.assertEqual(len(fx.feedback_records(self.feedback)), 1)

    def test_responses_carry_the_security_headers(self):
        status, headers, body = self.get("/")
        self.assertEqual(status, 200)
        self.assertIn("script-src 'self'", headers["Content-Security-Policy"])
        self.assertEqual(headers["X-Content-Type-Options"], "nosniff")
        self.assertEqual(headers["X-Frame-Options"], "DENY")
        _, headers, _ = self.get("/api/session")
        self.assertIn("HttpOnly", headers["Set-Cookie"])
        self.assertIn("SameSite=Strict", headers["Set-Cookie"])
        # Names go out as JSON data (the page puts them in as text; the browser test checks it shows them literally).
        rows = self.get_json("/api/incidents?min_impact=all&customer=" + urllib.parse.quote("<script>"))["rows"]
        self.assertTrue(rows and all(r["customer"] == fx.HOSTILE for r in rows))


if __name__ == "__main__":
    unittest.main()
