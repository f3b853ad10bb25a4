from django.apps import AppConfig


class DocumentsConfig(AppConfig):
    name = "documents"

    def ready(self):
        from django.conf import settings

        from documents import limits
        from documents.engines import tesseract

        limits.configure_process()
        tesseract.check_setting(settings.OCR_LANGUAGES)
