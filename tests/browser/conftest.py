"""Headless Chromium (Debian's `chromium` and `chromium-driver`) driven by Selenium against
pytest-django's live server. `scripts/ensure_chromium.sh` installs both; without them these tests
skip, saying so."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--window-size=1280,1000",
)
PAGE_TIMEOUT = 30


@pytest.fixture(scope="session")
def chromium():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (binary and driver):
        pytest.skip("chromium/chromium-driver not installed: run scripts/ensure_chromium.sh")
    with tempfile.TemporaryDirectory(prefix="ilios-chromium-") as profile:
        options = webdriver.ChromeOptions()
        options.binary_location = binary
        for flag in CHROMIUM_FLAGS:
            options.add_argument(flag)
        options.add_argument(f"--user-data-dir={profile}")
        # Naming the driver keeps Selenium Manager from looking for one on the network.
        browser = webdriver.Chrome(options=options, service=webdriver.ChromeService(driver))
        yield browser
        browser.quit()


@pytest.fixture
def browser(chromium, live_server):
    """The shared browser, logged out and with no remembered API key, with `browser.open(path)`
    relative to the live server."""
    chromium.open = lambda path: chromium.get(live_server.url + path)
    chromium.open("/")
    chromium.delete_all_cookies()
    chromium.execute_script("sessionStorage.clear(); localStorage.clear();")
    return chromium


def wait_for(browser, condition, timeout: float = PAGE_TIMEOUT):
    from selenium.webdriver.support.ui import WebDriverWait

    return WebDriverWait(browser, timeout).until(condition)


def screenshot(browser, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    browser.save_screenshot(str(path))
    return path


@pytest.fixture
def admin_browser(browser, admin_user):
    """The browser, logged into the admin as pytest-django's `admin` user."""
    from selenium.webdriver.common.by import By

    browser.open("/admin/login/?next=/admin/")
    browser.find_element(By.NAME, "username").send_keys(admin_user.username)
    browser.find_element(By.NAME, "password").send_keys("password")
    browser.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
    wait_for(browser, lambda b: b.find_elements(By.ID, "ilios-operations"))
    return browser
