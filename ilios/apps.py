import logging

from django.apps import AppConfig

logger = logging.getLogger("ilios")


class IliosConfig(AppConfig):
    name = "ilios"
    verbose_name = "Ilios"
