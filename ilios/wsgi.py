import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ilios.settings")
application = get_wsgi_application()

from ilios.auth import warn_when_open  # noqa: E402  (needs the app registry ready)

warn_when_open()
