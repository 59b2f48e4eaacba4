from django.urls import path

from dashboard.companies import views

urlpatterns = [
    path("companies/", views.companies, name="dash-companies"),
    path("companies/<str:intercom_id>/", views.company, name="dash-company"),
    path("companies/<str:intercom_id>/tags/", views.tags, name="dash-company-tags"),
]
