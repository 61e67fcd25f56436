from django.urls import path

from advisor.investing.api import views

urlpatterns = [
    path("risk-questionnaire/", views.QuestionnaireView.as_view(), name="api-risk-questionnaire"),
    path("customers/<str:public_id>/risk-profile/", views.RiskProfileView.as_view(), name="api-customer-risk-profile"),
    path("customers/<str:public_id>/allocation/", views.AllocationView.as_view(), name="api-customer-allocation"),
    path("customers/<str:public_id>/rebalancing/", views.RebalancingView.as_view(), name="api-customer-rebalancing"),
    path("customers/<str:public_id>/goal-projection/", views.GoalProjectionView.as_view(),
         name="api-customer-goal-projection"),
    path("customers/<str:public_id>/advice/", views.AdviceListView.as_view(), name="api-customer-advice"),
]
