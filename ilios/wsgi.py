import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "ilios.settings")
application = get_wsgi_application()

from documents.storage import warn_when_unavailable  # noqa: E402  (needs the app registry ready)
from ilios.auth import warn_when_open  # noqa: E402

warn_when_open()
warn_when_unavailable()
