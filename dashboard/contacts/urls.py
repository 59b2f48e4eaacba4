from django.urls import path, re_path

from dashboard.contacts import views

urlpatterns = [
    path("contacts/", views.contacts, name="dash-contacts"),
    path("contacts/bulk/", views.bulk, name="dash-contacts-bulk"),
    re_path(r"^contacts/bulk/(?P<run>[0-9a-f]{32})/$", views.bulk_progress, name="dash-contacts-bulk-progress"),
    path("contacts/<str:intercom_id>/", views.contact, name="dash-contact"),
    path("contacts/<str:intercom_id>/tags/", views.tags, name="dash-contact-tags"),
    path("contacts/<str:intercom_id>/notes/", views.notes, name="dash-contact-notes"),
    path("contacts/<str:intercom_id>/events/", views.events, name="dash-contact-events"),
    path("contacts/<str:intercom_id>/convert/", views.convert, name="dash-contact-convert"),
    path("contacts/<str:intercom_id>/merge/", views.merge, name="dash-contact-merge"),
    path("contacts/<str:intercom_id>/actions/<int:pk>/", views.staff_action, name="dash-contact-action"),
]
