from django.urls import path

from batches import views

urlpatterns = [
    path("v1/batch/submit", views.BatchSubmitView.as_view()),
    path("v1/batch/status/<str:batch_id>", views.BatchStatusView.as_view()),
    path("v1/batch/download/<str:batch_id>", views.BatchDownloadView.as_view()),
    path("v1/batch/<str:batch_id>", views.BatchView.as_view()),
]
