from django.urls import path

from dashboard.conversations import views

urlpatterns = [
    path("conversations/<str:intercom_id>/", views.conversation, name="dash-conversation"),
    path("conversations/<str:intercom_id>/live/", views.live, name="dash-conversation-live"),
    path("conversations/<str:intercom_id>/send/", views.send, name="dash-conversation-send"),
    path("conversations/<str:intercom_id>/act/", views.act, name="dash-conversation-act"),
    path("conversations/<str:intercom_id>/actions/<int:pk>/", views.staff_action, name="dash-conversation-action"),
]
