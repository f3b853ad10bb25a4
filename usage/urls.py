from django.urls import path

from usage import views

urlpatterns = [
    path("v1/usage/summary", views.UsageSummaryView.as_view()),
    path("v1/usage/breakdown", views.UsageBreakdownView.as_view()),
    path("api/usage/summary", views.UsageSummaryView.as_view()),
    path("api/usage/breakdown", views.UsageBreakdownView.as_view()),
]
