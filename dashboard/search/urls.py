from django.urls import path

from dashboard.search import views

urlpatterns = [
    path("search/", views.search, name="dash-search"),
]
