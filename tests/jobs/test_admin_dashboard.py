"""The queue dashboard, and the job and worker admin, without a browser."""

import pytest
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.urls import reverse

from jobs import dashboard, queue
from jobs.models import Job, Worker
from tests import states

pytestmark = pytest.mark.django_db

DASHBOARD = reverse("ilios-dashboard")
JOBS = reverse("admin:jobs_job_changelist")


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def test_the_dashboard_is_linked_from_the_admin_index_and_needs_a_login(admin_client, client):
    assert DASHBOARD.encode() in admin_client.get(reverse("admin:index")).content
    assert reverse("ilios-billing").encode() in admin_client.get(reverse("admin:index")).content
    assert client.get(DASHBOARD).status_code == 302


def test_the_dashboard_counts_jobs_by_status_and_the_oldest_pending(
    admin_client, make_document, clock
):
    states.fail(make_document())
    make_document()
    make_document()
    clock.advance(90)
    page = admin_client.get(DASHBOARD)
    assert page.context["depth"]["pending"] == 2
    assert page.context["depth"]["failed"] == 1
    assert page.context["depth"]["processing"] == 0
    assert page.context["oldest_pending_age"] == pytest.approx(90, abs=2)
    assert b'id="oldest-pending"' in page.content


def test_a_worker_silent_past_worker_dead_after_stands_out(admin_client, clock, settings):
    settings.WORKER_DEAD_AFTER = 30
    silent = queue.register_worker(concurrency=2)
    clock.advance(31)
    alive = queue.register_worker(concurrency=2)
    queue.heartbeat(alive.id, queue.Counters())
    rows = {row.worker.id: row for row in admin_client.get(DASHBOARD).context["workers"]}
    assert rows[silent.id].dead and rows[silent.id].heartbeat_age == pytest.approx(31, abs=1)
    assert not rows[alive.id].dead
    page = admin_client.get(DASHBOARD).content.decode()
    assert f'class="worker-dead" data-pid="{silent.pid}"' in page


def test_a_worker_declared_dead_stands_out_whatever_its_heartbeat(admin_client):
    worker = queue.register_worker(concurrency=1)
    Worker.objects.filter(id=worker.id).update(status=Worker.Status.DEAD)
    (row,) = admin_client.get(DASHBOARD).context["workers"]
    assert row.dead


def test_throughput_counts_completed_and_failed_jobs_of_the_last_hour_and_day(
    admin_client, make_document, clock
):
    states.complete(make_document())
    clock.advance(3 * 3600)
    states.complete(make_document())
    states.fail(make_document())
    charts = dict(admin_client.get(DASHBOARD).context["charts"])
    assert (charts["Last hour"]["completed"], charts["Last hour"]["failed"]) == (1, 1)
    assert (charts["Last day"]["completed"], charts["Last day"]["failed"]) == (2, 1)
    assert len(charts["Last hour"]["columns"]) == 12
    assert len(charts["Last day"]["columns"]) == 24


def test_the_chart_scales_bars_to_the_busiest_bucket():
    chart = dashboard.chart([dashboard.Bar("a", 4, 0), dashboard.Bar("b", 1, 1)])
    tallest, other = chart["columns"]
    assert tallest["completed_height"] == dashboard.CHART_HEIGHT
    assert other["completed_height"] == other["failed_height"] == dashboard.CHART_HEIGHT / 4


def test_requeue_orphans_from_the_dashboard_is_safe_twice(
    admin_client, make_document, clock, settings
):
    document = make_document()
    states.claimed(document)
    clock.advance(settings.WORKER_DEAD_AFTER + 1)
    first = admin_client.post(DASHBOARD, follow=True)
    second = admin_client.post(DASHBOARD, follow=True)
    assert messages_of(first) == ["Requeued 1 orphaned job(s)."]
    assert messages_of(second) == ["Requeued 0 orphaned job(s)."]
    job = Job.objects.get(document=document)
    assert (job.status, job.attempts) == ("pending", 1)


def test_job_actions_retry_and_cancel_report_counts_and_are_safe_twice(admin_client, make_document):
    failed_job = Job.objects.get(document=states.fail(make_document()))
    pending_job = Job.objects.get(document=make_document())
    selected = [failed_job.id, pending_job.id]
    retry = {"action": "retry_failed", ACTION_CHECKBOX_NAME: [failed_job.id]}
    assert messages_of(admin_client.post(JOBS, retry, follow=True)) == ["Requeued 1 failed job(s)."]
    assert messages_of(admin_client.post(JOBS, retry, follow=True))[0].startswith(
        "Requeued 0 failed job(s). 1 selected job(s) had not failed"
    )
    cancel = {"action": "cancel_pending", ACTION_CHECKBOX_NAME: selected}
    assert messages_of(admin_client.post(JOBS, cancel, follow=True)) == [
        "Cancelled 2 pending job(s)."
    ]
    assert messages_of(admin_client.post(JOBS, cancel, follow=True))[0].startswith(
        "Cancelled 0 pending job(s). 2 selected"
    )
    assert set(Job.objects.values_list("status", flat=True)) == {"cancelled"}


def test_the_requeue_orphans_action_recovers_a_dead_workers_job(
    admin_client, make_document, clock, settings
):
    document = make_document()
    job, _ = states.claimed(document)
    clock.advance(settings.JOB_TIMEOUT + 1)
    response = admin_client.post(
        JOBS, {"action": "requeue_orphans", ACTION_CHECKBOX_NAME: [job.id]}, follow=True
    )
    assert messages_of(response) == ["Requeued 1 orphaned job(s)."]


@pytest.mark.parametrize(
    "model", ["documents.document", "jobs.job", "jobs.worker", "batches.batch", "usage.usagerecord"]
)
def test_queue_models_are_listed_and_shown_but_not_editable(admin_client, make_document, model):
    from batches.models import Batch

    batch = Batch.objects.create(total_documents=1)
    document = states.complete(make_document(batch=batch))
    objects = {
        "documents.document": document,
        "jobs.job": Job.objects.get(document=document),
        "jobs.worker": Worker.objects.get(),
        "batches.batch": batch,
        "usage.usagerecord": document.usage_records.get(),
    }
    app, name = model.split(".")
    assert admin_client.get(reverse(f"admin:{app}_{name}_changelist")).status_code == 200
    change_url = reverse(f"admin:{app}_{name}_change", args=[objects[model].pk])
    page = admin_client.get(change_url)
    assert page.status_code == 200
    assert b'type="submit" value="Save"' not in page.content
    assert admin_client.get(reverse(f"admin:{app}_{name}_add")).status_code == 403
