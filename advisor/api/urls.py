from django.urls import path

from advisor.api import views

urlpatterns = [
    path(
        "customers/<str:public_id>/recommendations/",
        views.RecommendationsView.as_view(),
        name="api-customer-recommendations",
    ),
    path(
        "customers/<str:public_id>/recommendations/query/",
        views.RecommendationQueryView.as_view(),
        name="api-customer-recommendations-query",
    ),
    path(
        "customers/<str:public_id>/recommendations/feedback/",
        views.FeedbackView.as_view(),
        name="api-customer-recommendations-feedback",
    ),
]
