from django.urls import path

from dashboard.team import views

urlpatterns = [
    path("team/", views.team, name="dash-team"),
    path("team/away/", views.away, name="dash-team-away"),
]
