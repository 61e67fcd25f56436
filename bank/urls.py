from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

import advisor.urls
import chat.urls
import customers.urls
import products.urls
import risk.urls

api_v1 = [
    path("", include("customers.api.urls")),
    path("", include("products.api.urls")),
    path("", include("advisor.api.urls")),
    path("", include("advisor.investing.api.urls")),
    path("", include("advisor.applications.api.urls")),
    path("", include("advisor.engagement.api.urls")),
    path("", include("chat.api.urls")),
    path("", include("risk.api.urls")),
]

# The customer portal: server-rendered pages of every app, under one namespace.
portal = (
    customers.urls.urlpatterns + products.urls.urlpatterns + advisor.urls.urlpatterns + chat.urls.urlpatterns
    + risk.urls.urlpatterns,
    "portal",
)

# A database error raised outside a view (a middleware's query) is a 503 too (bank/resilience.py).
handler500 = "bank.resilience.server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/v1/", include(api_v1)),
    path("api/schema/", SpectacularAPIView.as_view(), name="api-schema"),
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="api-schema"), name="api-docs"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("", include(portal)),
]
