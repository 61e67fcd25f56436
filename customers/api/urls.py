from django.urls import path

from customers.api import views

# public_id is matched as any string (not <uuid:>) so that a malformed id gets the API's 404 in the one
# error shape from the selectors, instead of Django's HTML 404.
urlpatterns = [
    path("customers/", views.CustomerListView.as_view(), name="api-customers"),
    path("customers/me/", views.MyProfileView.as_view(), name="api-customer-me"),
    path("customers/<str:public_id>/", views.CustomerProfileView.as_view(), name="api-customer"),
    path(
        "customers/<str:public_id>/accounts/",
        views.CustomerAccountsView.as_view(),
        name="api-customer-accounts",
    ),
    path(
        "customers/<str:public_id>/transactions/",
        views.CustomerTransactionsView.as_view(),
        name="api-customer-transactions",
    ),
    path(
        "customers/<str:public_id>/holdings/",
        views.CustomerHoldingsView.as_view(),
        name="api-customer-holdings",
    ),
]
