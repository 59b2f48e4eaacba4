from django.urls import path, re_path

from dashboard.inbox import views

urlpatterns = [
    path("inbox/", views.inbox, name="dash-inbox"),
    path("inbox/preferences/", views.preferences, name="dash-inbox-preferences"),
    path("inbox/bulk/", views.bulk, name="dash-inbox-bulk"),
    re_path(r"^inbox/bulk/(?P<run>[0-9a-f]{32})/$", views.bulk_progress, name="dash-inbox-bulk-progress"),
    re_path(r"^inbox/(?P<slug>[A-Za-z0-9_-]{1,80})/$", views.folder, name="dash-inbox-folder"),
]
