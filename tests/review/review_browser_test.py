"""`meterbench review` in a real browser: headless Chromium (Debian's chromium and chromium-driver) driven by Selenium
(python3-selenium). Loads the inventory, filters it, opens an incident and checks its chart is drawn (yellow band,
green stars, red dots), marks it, reloads, and finds the verdict in the action log and in the feedback file. A
customer named <script>alert(1)</script> is shown as text and runs nothing."""
import os
import sys
import unittest

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import review_fixture as fx  # noqa: E402

CHROMIUM = os.environ.get("METERBENCH_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("METERBENCH_CHROMEDRIVER", "/usr/bin/chromedriver")

# Counts the chart canvas's pixels near each of the service's colours: the band's yellow, the stars' green and the
# dots' red (see review.js).
COUNT_COLOURS = """
const canvas = document.querySelector('#chart canvas');
if (!canvas) return null;
const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
const counts = {yellow: 0, green: 0, red: 0};
for (let i = 0; i < data.length; i += 4) {
  const r = data[i], g = data[i + 1], b = data[i + 2], a = data[i + 3];
  if (a < 40) continue;
  if (r > 200 && g > 200 && b < 190 && r - b > 60) counts.yellow++;
  else if (g > 120 && r < 80 && b < 80) counts.green++;
  else if (r > 180 && g < 60 && b < 60) counts.red++;
}
return counts;
"""


def start_browser():
    options = Options()
    options.binary_location = CHROMIUM
    for argument in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1400,1000",
                     "--force-device-scale-factor=1"]:
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


class ReviewBrowserTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = fx.temporary_directory()
        cls.data, cls.incidents = fx.make_dataset(cls.tmp.name)
        cls.browser = start_browser()

    @classmethod
    def tearDownClass(cls):
        cls.browser.quit()
        cls.tmp.cleanup()

    def setUp(self):
        self.feedback = os.path.join(self.tmp.name, f"{self._testMethodName}.jsonl")
        self.server = fx.ReviewServer(self.data, self.incidents, self.feedback)
        self.addCleanup(lambda: self.server.stop())

    def open(self, fragment=""):
        self.browser.get(self.server.url + fragment)
        fx.wait_for(lambda: self.browser.execute_script("return window.inventoryReadyMs !== undefined || !!document.querySelector('#view-incident:not([hidden])') || !!document.querySelector('#view-actions:not([hidden])')"),
                    what="the page to start")

    def table(self):
        """The inventory's rows as (id, [cell texts]), read in one script call: no element can go stale meanwhile."""
        return self.browser.execute_script(
            "return [...document.querySelectorAll('#inventory-rows tr')].map(tr => [tr.dataset.id, [...tr.cells].map(td => td.textContent)])")

    def cell_texts(self, column):
        return [cells[column] for _, cells in self.table()]

    def wait_rows(self, predicate, what):
        return fx.wait_for(lambda: predicate(self.cell_texts(1)) and self.table(), what=what)

    def click_row(self, predicate):
        """Opens the first inventory row whose cells satisfy `predicate`; returns its incident id."""
        incident = next(i for i, cells in self.table() if predicate(cells))
        self.browser.find_element(By.CSS_SELECTOR, f'#inventory-rows tr[data-id="{incident}"]').click()
        fx.wait_for(lambda: self.browser.execute_script("return document.getElementById('chart').dataset.drawn"), what="the chart")
        return incident

    def assert_no_alert(self):
        with self.assertRaises(NoAlertPresentException):
            self.browser.switch_to.alert.text  # noqa: B018

    def page_errors(self):
        return [e for e in self.browser.get_log("browser") if e["level"] == "SEVERE" and "favicon" not in e["message"]]

    def test_inventory_filter_detail_mark_reload_action_log(self):
        self.open()
        # The default: |impact| > 100 USD, not yet reviewed; contoso's incidents are below 100 USD.
        self.wait_rows(lambda names: len(names) == 8, "the default inventory")
        customers = self.cell_texts(1)
        self.assertNotIn("contoso", customers)
        self.assertIn(fx.HOSTILE, customers)  # shown literally, as text
        self.assert_no_alert()
        impacts = [float(t.split()[0].replace(",", "")) for t in self.cell_texts(0)]
        self.assertEqual(impacts, sorted(impacts, reverse=True))

        Select(self.browser.find_element(By.ID, "f-impact")).select_by_value("all")
        self.wait_rows(lambda names: "contoso" in names, "All to show contoso")
        self.assertEqual(self.browser.find_element(By.ID, "inventory-count").text, "12 incidents")
        customer = self.browser.find_element(By.ID, "f-customer")
        customer.send_keys("contoso")
        self.browser.find_element(By.ID, "f-apply").click()
        self.wait_rows(lambda names: names and set(names) == {"contoso"}, "the customer filter")
        Select(self.browser.find_element(By.ID, "f-kind")).select_by_value("spike")
        self.wait_rows(lambda names: len(names) == 2, "the kind filter")
        self.assertEqual(set(self.cell_texts(4)), {"spike"})

        # Open the contoso storage spike: its chart is drawn with the band, stars and dots.
        incident_id = self.click_row(lambda cells: cells[2] == "storage-gb")
        chart = self.browser.find_element(By.ID, "chart")
        self.assertGreater(int(chart.get_attribute("data-inside")), 300)
        self.assertGreater(int(chart.get_attribute("data-outside")), 0)
        self.assertIn("to be acted on within 30 days", self.browser.find_element(By.ID, "incident-window").text)
        neighbours = self.browser.find_elements(By.CSS_SELECTOR, "#neighbour-rows tr")
        self.assertEqual(len(neighbours), 2)  # this spike and the series' surge
        self.browser.find_element(By.ID, "zoom-incident").click()  # zooming redraws
        fx.wait_for(lambda: int(chart.get_attribute("data-drawn")) < 100, what="the zoomed chart")
        colours = self.browser.execute_script(COUNT_COLOURS)
        self.assertGreater(colours["yellow"], 5000, colours)
        self.assertGreater(colours["green"], 200, colours)
        self.assertGreater(colours["red"], 20, colours)

        # Mark as anomaly, with the corrected usage.
        self.browser.find_element(By.ID, "mark-anomaly").click()
        usage = self.browser.find_element(By.ID, "corrected-usage")
        usage.clear()
        usage.send_keys("4158.25")
        self.browser.find_element(By.ID, "anomaly-confirm").click()
        fx.wait_for(lambda: "Marked as anomaly" in self.browser.find_element(By.ID, "incident-status").text, what="the verdict shown")
        self.assertFalse(self.browser.find_element(By.ID, "mark-not-anomaly").is_enabled())  # the service's rule

        # Reload: the verdict is still there, in the page, the action log and the feedback file.
        self.browser.refresh()
        fx.wait_for(lambda: "Marked as anomaly" in self.browser.find_element(By.ID, "incident-status").text, what="the verdict after a reload")
        self.assertIn("by tester", self.browser.find_element(By.ID, "incident-status").text)
        self.browser.find_element(By.ID, "nav-actions").click()
        log = fx.wait_for(lambda: self.browser.find_elements(By.CSS_SELECTOR, "#action-rows tr"), what="the action log")
        cells = [c.text for c in log[0].find_elements(By.TAG_NAME, "td")]
        self.assertEqual(cells[2:6], ["tester", "Marked as anomaly", "contoso", "storage-gb"])
        self.assertEqual(cells[8], "4,158.25")
        records = fx.feedback_records(self.feedback)
        self.assertEqual(len(records), 1)
        self.assertEqual((records[0]["verdict"], records[0]["customer"], records[0]["meter"], records[0]["corrected_usage"]),
                         ("anomaly", "contoso", "storage-gb", 4158.25))
        detail = fx.request(f"{self.server.url}api/incidents/{incident_id}")[2]
        self.assertIn('"verdict":"anomaly"', detail)
        self.assertEqual(self.page_errors(), [])

    def test_not_an_anomaly_needs_a_reason_and_hostile_names_stay_text(self):
        self.open()
        Select(self.browser.find_element(By.ID, "f-impact")).select_by_value("all")
        self.wait_rows(lambda names: len(names) == 12, "All")
        self.click_row(lambda cells: cells[1] == fx.HOSTILE)
        self.assertTrue(self.browser.find_element(By.ID, "incident-title").text.startswith(fx.HOSTILE))
        self.assert_no_alert()
        # Only the page's own two scripts exist: the name did not become a <script> element.
        self.assertEqual(len(self.browser.find_elements(By.TAG_NAME, "script")), 2)
        self.browser.find_element(By.ID, "mark-not-anomaly").click()
        self.browser.find_element(By.ID, "not-anomaly-confirm").click()  # no reason: the dialog refuses
        self.assertTrue(self.browser.find_element(By.ID, "dialog-not-anomaly").is_displayed())
        self.browser.find_element(By.ID, "not-anomaly-reason").send_keys("a <b>planned</b> load test")
        self.browser.find_element(By.ID, "not-anomaly-confirm").click()
        fx.wait_for(lambda: "Not an anomaly: a <b>planned</b> load test" in self.browser.find_element(By.ID, "incident-status").text,
                    what="the reason shown as text")
        self.browser.get(self.server.url + "#actions")
        log = fx.wait_for(lambda: self.browser.find_elements(By.CSS_SELECTOR, "#action-rows tr"), what="the action log")
        cells = [c.text for c in log[0].find_elements(By.TAG_NAME, "td")]
        self.assertEqual((cells[3], cells[4], cells[9]), ("Not an anomaly", fx.HOSTILE, "a <b>planned</b> load test"))
        self.assert_no_alert()
        self.assertEqual(fx.feedback_records(self.feedback)[0]["customer"], fx.HOSTILE)
        self.assertEqual(self.page_errors(), [])


if __name__ == "__main__":
    unittest.main()
