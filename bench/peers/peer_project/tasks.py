"""procrastinate autodiscovers `tasks` modules of installed apps."""

from django.conf import settings

if settings.PEER == "procrastinate":
    from procrastinate.contrib.django import app

    @app.task(name="noop")
    def noop():
        return None
