from django.urls import path

from advisor import views
from advisor.applications import views as applications
from advisor.engagement import views as inbox
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
    path("apply/<slug:code>/", applications.apply, name="apply"),
    path("applications/", applications.application_list, name="applications"),
    path("applications/<str:public_id>/", applications.application_detail, name="application_detail"),
    path("applications/<str:public_id>/<str:action>/", applications.application_action, name="application_action"),
    path("inbox/", inbox.inbox, name="inbox"),
    path("inbox/<str:public_id>/", inbox.message_detail, name="inbox_message"),
    path("inbox/<str:public_id>/go/", inbox.message_link, name="inbox_link"),
]
