from django.urls import path

from dashboard.tags import views

urlpatterns = [
    path("tags/autocomplete/", views.autocomplete, name="dash-tags-autocomplete"),
]
