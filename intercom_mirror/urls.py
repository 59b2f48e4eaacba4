from django.contrib import admin
from django.urls import include, path

from intercom_mirror import views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("webhooks/intercom/", views.intercom_webhook, name="mirror-webhook"),
    path("", include("dashboard.urls")),
]
