"""The no-op task each peer runs (procrastinate's lives in tasks.py, where it autodiscovers)."""

from django.conf import settings


def noop_q2():
    return None


if settings.PEER == "tasks":
    from django_tasks import task

    @task()
    def noop_task():
        return None
