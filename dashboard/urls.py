from django.contrib.auth import views as auth_views
from django.urls import include, path

from dashboard import views

urlpatterns = [
    path("", views.home, name="dash-home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="dash-login"),
    path("logout/", auth_views.LogoutView.as_view(), name="dash-logout"),
    path("", include("dashboard.inbox.urls")),
    path("", include("dashboard.conversations.urls")),
    path("", include("dashboard.contacts.urls")),
    path("", include("dashboard.tags.urls")),
    path("", include("dashboard.companies.urls")),
    path("", include("dashboard.team.urls")),
    path("", include("dashboard.search.urls")),
]
