from django.urls import path

from risk.api import views

urlpatterns = [
    path("customers/<str:public_id>/risk/", views.CustomerRiskView.as_view(), name="api-customer-risk"),
    path("risk/transactions/", views.TransactionIngestView.as_view(), name="api-risk-transactions"),
    path("risk/alerts/", views.AlertListView.as_view(), name="api-risk-alerts"),
]
