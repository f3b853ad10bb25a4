"""Webhooks in the admin: a key's secret shown once and stored sealed, its default target
checked, and each delivery listed with "retry now"."""

import re

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from ilios.models import ApiKey
from jobs import queue, webhooks
from jobs.models import Delivery, Job

pytestmark = pytest.mark.django_db

SECRET = re.compile(rb'id="raw-webhook-secret"[^>]*>(whsec_[\w+/=]+)<')
SECRETS = re.compile(rb'class="raw-webhook-secret"[^>]*>(whsec_[\w+/=]+)<')


def test_a_new_key_shows_its_webhook_secret_once_and_stores_it_sealed(admin_client):
    response = admin_client.post(reverse("admin:ilios_apikey_add"), {"name": "hooks"})
    secret = SECRET.search(response.content).group(1).decode()
    key = ApiKey.objects.get(name="hooks")
    assert key.webhook_secret() == secret
    stored = [str(value) for value in ApiKey.objects.values().get(id=key.id).values()]
    assert not any(secret[6:] in value for value in stored)
    page = admin_client.get(reverse("admin:ilios_apikey_change", args=[key.id])).content
    assert secret.encode() not in page
    assert b"its own (shown once, when generated)" in page


def test_generating_new_secrets_shows_each_once_and_replaces_the_old(admin_client):
    key, _ = ApiKey.generate("hooks")
    old = key.new_webhook_secret()
    response = admin_client.post(
        reverse("admin:ilios_apikey_changelist"),
        {"action": "new_webhook_secrets", ACTION_CHECKBOX_NAME: [key.id]},
    )
    [new] = [match.decode() for match in SECRETS.findall(response.content)]
    assert new != old
    assert ApiKey.objects.get(id=key.id).webhook_secret() == new
    assert "no-store" in response["Cache-Control"]


def change_default(admin_client, key, url):
    return admin_client.post(
        reverse("admin:ilios_apikey_change", args=[key.id]),
        {"name": key.name, "active": "on", "webhook_url": url},
    )


def test_a_keys_default_webhook_is_checked_like_a_requests(admin_client, settings):
    key, _ = ApiKey.generate("hooks")
    key.new_webhook_secret()
    response = change_default(admin_client, key, "https://192.168.0.4/hook")
    assert b"private address" in response.content
    assert ApiKey.objects.get(id=key.id).webhook_url == ""
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    assert change_default(admin_client, key, "http://127.0.0.1:9/hook").status_code == 302
    assert ApiKey.objects.get(id=key.id).webhook_url == "http://127.0.0.1:9/hook"


def test_a_default_webhook_needs_a_secret(admin_client, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_NETWORKS = True
    key, _ = ApiKey.generate("hooks")
    response = change_default(admin_client, key, "http://127.0.0.1:9/hook")
    assert b"no webhook secret" in response.content


@pytest.fixture
def deliveries(make_document, receiver):
    """One delivery waiting for its retry (503), one given up (410)."""
    worker = queue.register_worker(concurrency=2)
    for _ in range(2):
        make_document(webhook_url=receiver.url)
    for job in queue.claim(worker.id, limit=2):
        queue.complete(job, worker.id, webhooks_result())
    receiver.answer(503, 410)
    for job in queue.claim(worker.id, limit=2, job_type=Job.Type.WEBHOOK):
        queue.record_delivery(job, worker.id, webhooks.send(job))
    return Delivery.objects.select_related("job").order_by("job__status")


def webhooks_result():
    from documents.engines.base import ConversionResult, Page

    return ConversionResult(pages=[Page(0, "# done")], model="m")


def test_the_delivery_list_shows_event_target_attempts_status_and_next_try(
    admin_client, deliveries
):
    page = admin_client.get(reverse("admin:jobs_delivery_changelist"))
    assert page.status_code == 200
    for column in ("event", "url", "attempts_used", "last_status_code", "next_try"):
        assert f"column-{column}".encode() in page.content
    shown = {row.id: row.outcome for row in page.context["cl"].result_list}
    assert sorted(shown.values()) == ["failed", "retrying"]
    detail = admin_client.get(reverse("admin:jobs_delivery_change", args=[deliveries[0].id]))
    assert b"document.completed" in detail.content


def test_retry_now_retries_the_waiting_at_once_and_the_given_up_afresh(
    admin_client, deliveries, receiver, clock
):
    form = {"action": "retry_now", ACTION_CHECKBOX_NAME: [d.id for d in deliveries]}
    response = admin_client.post(reverse("admin:jobs_delivery_changelist"), form, follow=True)
    assert [str(m) for m in response.context["messages"]] == [
        "Retrying 2 webhook delivery(ies) now."
    ]
    jobs = Job.objects.filter(type=Job.Type.WEBHOOK)
    assert {(job.status, job.scheduled_at <= clock.now) for job in jobs} == {("pending", True)}
    worker = queue.register_worker(concurrency=2)
    for job in queue.claim(worker.id, limit=2, job_type=Job.Type.WEBHOOK):
        queue.record_delivery(job, worker.id, webhooks.send(job))
    assert {d.outcome for d in Delivery.objects.select_related("job")} == {"delivered"}
