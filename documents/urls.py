from django.urls import path

from documents import views
from ilios import ids  # noqa: F401 - registers <id:...>

urlpatterns = [
    path("v1/convert", views.ConvertView.as_view()),
    path("v1/documents", views.DocumentCollectionView.as_view()),
    path("v1/documents/upload-url", views.UploadUrlView.as_view()),
    path(
        "v1/documents/<id:document_id>/upload-complete",
        views.UploadCompleteView.as_view(),
    ),
    path("v1/documents/<id:document_id>/status", views.DocumentStatusView.as_view()),
    path("v1/documents/<id:document_id>/original", views.DocumentOriginalView.as_view()),
    path("v1/documents/<id:document_id>", views.DocumentView.as_view()),
]

legacy_urlpatterns = [
    path("v1/convert", views.ConvertView.as_view()),
    path("api/documents/submit", views.LegacySubmitView.as_view()),
    path("api/documents/upload-url", views.LegacyUploadUrlView.as_view()),
    path(
        "api/documents/upload-complete/<id:document_id>",
        views.LegacyUploadCompleteView.as_view(),
    ),
    path("api/documents/status/<id:document_id>", views.DocumentStatusView.as_view()),
    path("api/documents/<id:document_id>/original", views.DocumentOriginalView.as_view()),
    path("api/documents/<id:document_id>", views.DocumentView.as_view()),
]
