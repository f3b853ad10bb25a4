"""Ilios's URLs plus a bare view: the ceiling any Django endpoint on this server can reach."""

from django.http import JsonResponse
from django.urls import include, path

from ilios.urls import handler400, handler403, handler404, handler500  # noqa: F401

BARE_BODY = {"status": "ok", "service": "ilios"}


def bare(request):
    return JsonResponse(BARE_BODY)


urlpatterns = [path("bench/bare", bare), path("", include("ilios.urls"))]
