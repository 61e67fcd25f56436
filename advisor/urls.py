from django.urls import path

from advisor import views

# Mounted by bank.urls inside the "portal" namespace.
urlpatterns = [
    path("recommendations/", views.recommendations, name="recommendations"),
    path("recommendations/feedback/", views.feedback, name="recommendation_feedback"),
]
