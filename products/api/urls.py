from django.urls import path

from products.api import views

# <str:code>, not <slug:code>: an unknown code of any shape gets the API's 404 in the one error shape.
urlpatterns = [
    path("products/", views.ProductListView.as_view(), name="api-products"),
    path("products/<str:code>/", views.ProductDetailView.as_view(), name="api-product"),
]
