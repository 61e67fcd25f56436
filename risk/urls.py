from django.urls import path

from risk import views

# Mounted by bank.urls inside the "portal" namespace.
urlpatterns = [
    path("notices/", views.notices, name="risk_notices"),
]
