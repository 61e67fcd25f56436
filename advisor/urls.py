from django.urls import path

from advisor import views
from advisor.investing import views as invest

# Mounted by bank.urls inside the "portal" namespace.
urlpatterns = [
    path("recommendations/", views.recommendations, name="recommendations"),
    path("recommendations/feedback/", views.feedback, name="recommendation_feedback"),
    path("invest/", invest.overview, name="invest"),
    path("invest/questionnaire/", invest.risk_questionnaire, name="invest_questionnaire"),
    path("invest/allocation/", invest.request_allocation, name="invest_allocation"),
    path("invest/rebalance/", invest.request_rebalance, name="invest_rebalance"),
    path("invest/goals/", invest.goals, name="invest_goals"),
    path("invest/reports/<str:public_id>/", invest.report, name="invest_report"),
]
