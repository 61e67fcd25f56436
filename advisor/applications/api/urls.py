from django.urls import path

from advisor.applications.api import views

urlpatterns = [
    path("customers/<str:public_id>/applications/", views.ApplicationListView.as_view(),
         name="api-customer-applications"),
    path("customers/<str:public_id>/applications/<str:application_id>/", views.ApplicationDetailView.as_view(),
         name="api-customer-application"),
    path("customers/<str:public_id>/applications/<str:application_id>/withdraw/",
         views.ApplicationWithdrawView.as_view(), name="api-customer-application-withdraw"),
    path("customers/<str:public_id>/applications/<str:application_id>/activate/",
         views.ApplicationActivateView.as_view(), name="api-customer-application-activate"),
]
