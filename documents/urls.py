from django.urls import path

from documents import views

urlpatterns = [
    path("v1/convert", views.ConvertView.as_view()),
    path("v1/documents", views.DocumentCollectionView.as_view()),
    path("v1/documents/<str:document_id>/status", views.DocumentStatusView.as_view()),
    path("v1/documents/<str:document_id>/original", views.DocumentOriginalView.as_view()),
    path("v1/documents/<str:document_id>", views.DocumentView.as_view()),
]

legacy_urlpatterns = [
    path("v1/convert", views.ConvertView.as_view()),
    path("api/documents/submit", views.LegacySubmitView.as_view()),
    path("api/documents/status/<str:document_id>", views.DocumentStatusView.as_view()),
    path("api/documents/<str:document_id>/original", views.DocumentOriginalView.as_view()),
    path("api/documents/<str:document_id>", views.DocumentView.as_view()),
]
