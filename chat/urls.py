from django.urls import path

from chat import views

# Mounted by bank.urls inside the "portal" namespace.
urlpatterns = [
    path("chat/", views.chat, name="chat"),
    path("help/", views.help_centre, name="help"),
    path("help/<slug:slug>/", views.help_article, name="help_article"),
]
