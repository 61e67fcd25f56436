from django.urls import path

from products import views

# Mounted by bank.urls inside the "portal" namespace.
urlpatterns = [
    path("products/", views.product_list, name="products"),
    path("products/<slug:code>/", views.product_detail, name="product_detail"),
]
