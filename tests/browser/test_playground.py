"""The playground in a real browser: a corpus PDF in, its text rendered out."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from documents import playground
from documents.models import Document
from ilios.models import ApiKey
from tests.browser.conftest import screenshot, wait_for
from tests.conftest import FIXTURES

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

MINIMAL_PDF = FIXTURES / "minimal-document.pdf"
EXPECTED_TEXT = "Lorem ipsum dolor sit amet"


def convert_in_playground(browser, api_key: str = ""):
    browser.open("/playground")
    browser.find_element(By.ID, "file-input").send_keys(str(MINIMAL_PDF))
    Select(browser.find_element(By.ID, "engine")).select_by_value("local")
    if api_key:
        browser.find_element(By.ID, "api-key").send_keys(api_key)
    browser.find_element(By.ID, "convert-button").click()
    return wait_for(
        browser,
        lambda b: (
            b.find_element(By.ID, "rendered").is_displayed()
            and EXPECTED_TEXT in b.find_element(By.ID, "rendered").text
        ),
        timeout=90,
    )


def test_a_small_pdf_is_converted_at_once_and_rendered(browser):
    _, raw_key = ApiKey.generate("playground")
    convert_in_playground(browser, raw_key)
    rendered = browser.find_element(By.ID, "rendered")
    assert rendered.find_elements(By.TAG_NAME, "p"), "the Markdown is rendered as HTML"
    assert "minimal-document.pdf" in browser.find_element(By.ID, "result-meta").text
    screenshot(browser, "playground.png")
    browser.find_element(By.ID, "show-raw").click()
    raw = browser.find_element(By.ID, "raw")
    assert raw.is_displayed() and EXPECTED_TEXT in raw.text
    document = Document.objects.get()
    assert (document.status, document.jobs.count()) == ("completed", 0), "converted synchronously"


def test_without_the_key_the_playground_says_one_is_needed(browser):
    ApiKey.generate("playground")
    browser.open("/playground")
    browser.find_element(By.ID, "file-input").send_keys(str(MINIMAL_PDF))
    browser.execute_script("document.getElementById('api-key').required = false")
    browser.find_element(By.ID, "convert-button").click()
    error = wait_for(browser, lambda b: b.find_element(By.ID, "error").is_displayed() and b)
    assert "needs an API key" in error.find_element(By.ID, "error").text


def test_a_large_file_is_queued_and_followed_until_rendered(browser, workers, monkeypatch):
    monkeypatch.setattr(playground, "SYNC_LIMIT_BYTES", 0)
    workers(processes=1, concurrency=1)
    convert_in_playground(browser)
    document = Document.objects.get()
    assert document.jobs.get().status == "completed", "went through the queue"
