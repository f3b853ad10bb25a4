from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import (
    SpectacularJSONAPIView,
    SpectacularRedocView,
    SpectacularSwaggerView,
)

from documents import playground
from documents.urls import legacy_urlpatterns as legacy_document_urls
from ilios.health import HealthView, IndexView, MetricsView
from jobs.admin_views import dashboard
from usage.admin_views import billing

handler400 = "ilios.errors.bad_request"
handler403 = "ilios.errors.permission_denied"
handler404 = "ilios.errors.not_found"
handler500 = "ilios.errors.server_error"

public = {"authentication_classes": [], "permission_classes": [], "throttle_classes": []}

urlpatterns = [
    path("", IndexView.as_view()),
    path("health", HealthView.as_view()),
    path("metrics", MetricsView.as_view()),
    path("openapi.json", SpectacularJSONAPIView.as_view(**public), name="schema"),
    path("docs", SpectacularSwaggerView.as_view(url_name="schema", **public)),
    path("redoc", SpectacularRedocView.as_view(url_name="schema", **public)),
    path("admin/dashboard/", admin.site.admin_view(dashboard), name="ilios-dashboard"),
    path("admin/billing/", admin.site.admin_view(billing), name="ilios-billing"),
    path("admin/", admin.site.urls),
    path("playground", playground.playground, name="playground"),
    path("", include("documents.urls")),
    path("", include(legacy_document_urls)),
    path("", include("batches.urls")),
    path("", include("usage.urls")),
]
