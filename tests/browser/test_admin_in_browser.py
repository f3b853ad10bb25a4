"""The operator console in a real browser: actions, the dashboard, API keys."""

import os
import signal
import urllib.error
import urllib.request

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from documents.models import Document
from jobs.models import Job, Worker
from tests import states
from tests.browser.conftest import screenshot, wait_for
from tests.conftest import wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

FAST_RECOVERY = {"HEARTBEAT_INTERVAL": 0.2, "WORKER_DEAD_AFTER": 2, "MAINTENANCE_INTERVAL": 0.5}


def test_retry_action_requeues_a_failed_document(admin_browser, make_document):
    failed = states.fail(make_document())
    admin_browser.open("/admin/documents/document/")
    admin_browser.find_element(
        By.CSS_SELECTOR, f'input[name="_selected_action"][value="{failed.id}"]'
    ).click()
    Select(admin_browser.find_element(By.NAME, "action")).select_by_value("retry_failed")
    admin_browser.find_element(By.CSS_SELECTOR, 'button[name="index"]').click()
    message = wait_for(
        admin_browser, lambda b: b.find_elements(By.CSS_SELECTOR, ".messagelist .success")
    )[0]
    assert message.text == "Requeued 1 failed document(s)."
    row = admin_browser.find_element(By.CSS_SELECTOR, "#result_list tbody tr")
    assert "Pending" in row.text
    assert Document.objects.get(id=failed.id).status == "pending"
    assert Job.objects.get(document=failed).attempts == 0


def test_the_dashboard_marks_a_killed_worker_dead(admin_browser, make_document, workers):
    for number in range(8):
        make_document(b"job %d" % number)
    make_document(b"FAIL=permanent")
    workers(processes=2, concurrency=1, **FAST_RECOVERY)
    wait_until(lambda: Job.objects.filter(status__in=["completed", "failed"]).count() == 9)
    victim = wait_until(lambda: Worker.objects.filter(status="active").first())
    os.kill(victim.pid, signal.SIGKILL)

    def victim_row_dead(browser):
        browser.open("/admin/dashboard/")
        row = browser.find_element(By.CSS_SELECTOR, f'#workers tr[data-pid="{victim.pid}"]')
        return "worker-dead" in row.get_attribute("class") and row

    wait_for(admin_browser, victim_row_dead)
    wait_until(lambda: Worker.objects.get(id=victim.id).status == "dead")
    admin_browser.refresh()
    row = admin_browser.find_element(By.CSS_SELECTOR, f'#workers tr[data-pid="{victim.pid}"]')
    assert "worker-dead" in row.get_attribute("class") and "dead" in row.text
    assert admin_browser.find_elements(By.CSS_SELECTOR, "#workers tr.worker-live")
    depth = admin_browser.find_element(By.ID, "queue-depth").text
    assert "completed" in depth and "failed" in depth
    assert "8 completed, 1 failed" in admin_browser.find_element(By.TAG_NAME, "h3").text
    screenshot(admin_browser, "dashboard.png")


def call_api(url: str, key: str | None = None) -> int:
    request = urllib.request.Request(url)
    if key:
        request.add_header("Authorization", f"Bearer {key}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_an_api_key_created_in_the_admin_opens_the_api(admin_browser, live_server):
    admin_browser.open("/admin/ilios/apikey/add/")
    admin_browser.find_element(By.NAME, "name").send_keys("browser client")
    admin_browser.find_element(By.NAME, "_save").click()
    raw_key = wait_for(admin_browser, lambda b: b.find_element(By.ID, "raw-api-key")).text
    assert raw_key.startswith("ilios_")
    documents = live_server.url + "/v1/documents"
    assert call_api(documents, raw_key) == 200
    assert call_api(documents) == 401
    admin_browser.find_element(By.LINK_TEXT, "All API keys").click()
    assert "browser client" in admin_browser.page_source
    assert raw_key not in admin_browser.page_source
