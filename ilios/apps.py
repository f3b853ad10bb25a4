from django.apps import AppConfig


class IliosConfig(AppConfig):
    name = "ilios"
    verbose_name = "Ilios"

    def ready(self):
        from django.db.models.signals import post_delete, post_save

        from ilios import auth
        from ilios.models import ApiKey

        post_save.connect(auth.forget_keys_check, sender=ApiKey)
        post_delete.connect(auth.forget_keys_check, sender=ApiKey)
