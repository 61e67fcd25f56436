from django.urls import path

from advisor.engagement.api import views

urlpatterns = [
    path("customers/<str:public_id>/messages/", views.InboxView.as_view(), name="api-customer-messages"),
    path("customers/<str:public_id>/messages/<str:message_id>/", views.MessageDetailView.as_view(),
         name="api-customer-message"),
    path("customers/<str:public_id>/messages/<str:message_id>/open/", views.MessageOpenView.as_view(),
         name="api-customer-message-open"),
    path("customers/<str:public_id>/messages/<str:message_id>/click/", views.MessageClickView.as_view(),
         name="api-customer-message-click"),
]
