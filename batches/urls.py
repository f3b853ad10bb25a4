from django.urls import path

from batches import views
from ilios import ids  # noqa: F401 - registers <id:...>

urlpatterns = [
    path("v1/batch/submit", views.BatchSubmitView.as_view()),
    path("v1/batch/status/<id:batch_id>", views.BatchStatusView.as_view()),
    path("v1/batch/download/<id:batch_id>", views.BatchDownloadView.as_view()),
    path("v1/batch/<id:batch_id>", views.BatchView.as_view()),
]
