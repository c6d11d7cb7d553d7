"""A headless Chromium for the ops page's tests: Debian's chromium and chromedriver through
Selenium, with checks printed as TAP-like lines and a screenshot for every step."""
import os
import time

from selenium import webdriver
from selenium.common.exceptions import StaleElementReferenceException, TimeoutException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait


class Browser:
    def __init__(self, base, shots):
        options = Options()
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                    "--window-size=1280,1000", "--lang=en-US"):
            options.add_argument(arg)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        self.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        self.base = base
        self.shots = shots
        self.failures = 0
        self.step_no = 0
        os.makedirs(shots, exist_ok=True)

    # --- checks -------------------------------------------------------------------------------
    def check(self, name, ok, detail=""):
        if ok:
            print(f"ok - {name}", flush=True)
        else:
            self.failures += 1
            print(f"not ok - {name}{': ' + str(detail) if detail else ''}", flush=True)
        return ok

    def shot(self, name):
        self.step_no += 1
        path = os.path.join(self.shots, f"{self.step_no:02d}-{name}.png")
        self.driver.save_screenshot(path)
        return path

    # --- finding things -----------------------------------------------------------------------
    def wait(self, condition, timeout=15, what="condition"):
        try:
            # The page redraws parts of itself (live updates): an element found a moment ago may be
            # gone; the condition is then asked again.
            return WebDriverWait(self.driver, timeout, poll_frequency=0.1,
                                 ignored_exceptions=(StaleElementReferenceException,)).until(lambda d: condition())
        except TimeoutException:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")

    def find(self, css):
        found = self.driver.find_elements(By.CSS_SELECTOR, css)
        return found[0] if found else None

    def all(self, css):
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def el(self, css, timeout=15):
        def shown():
            e = self.find(css)
            return e if e is not None and e.is_displayed() else None
        return self.wait(shown, timeout, f"element {css}")

    def text_of(self, css, timeout=15, contains=""):
        def text():
            e = self.find(css)
            t = e.text if e is not None else None
            return t if t is not None and contains in t else None
        return self.wait(text, timeout, f"{css} containing {contains!r}")

    def gone(self, css, timeout=15):
        self.wait(lambda: self.find(css) is None, timeout, f"{css} to disappear")

    def fill(self, css, value):
        e = self.el(css)
        e.clear()
        e.send_keys(value)
        return e

    def click(self, css):
        e = self.el(css)
        self.driver.execute_script("arguments[0].scrollIntoView({block: 'center'})", e)
        e.click()
        return e

    def open(self, hash_path):
        """Loads the page at this route; a fresh load even when the browser is there already
        (navigating to the same URL with a fragment would change nothing)."""
        url = f"{self.base}/ui/{hash_path}"
        if self.driver.current_url == url:
            self.driver.refresh()
        else:
            self.driver.get(url)

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def js_errors(self):
        """JavaScript errors in the console (network refusals the tests provoke are not errors
        of the page)."""
        return [e for e in self.driver.get_log("browser")
                if e["level"] == "SEVERE" and e.get("source") != "network"]

    def sleep(self, s):
        time.sleep(s)

    def quit(self):
        self.driver.quit()
