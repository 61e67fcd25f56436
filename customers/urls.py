from django.contrib.auth import views as auth_views
from django.urls import path

from customers import views

# Mounted by bank.urls inside the "portal" namespace.
urlpatterns = [
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="registration/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    # Django's LogoutView accepts POST only, so a link cannot log a customer out behind their back.
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", views.dashboard, name="dashboard"),
    path("transactions/", views.transactions, name="transactions"),
    path("consents/", views.change_consent, name="change_consent"),
]
