from django.urls import path

from chat.api import views

urlpatterns = [
    path("chat/sessions/", views.SessionsView.as_view(), name="api-chat-sessions"),
    path("chat/sessions/<str:public_id>/", views.SessionView.as_view(), name="api-chat-session"),
    path("chat/sessions/<str:public_id>/messages/", views.MessagesView.as_view(), name="api-chat-messages"),
]
