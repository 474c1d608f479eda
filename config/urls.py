from django.contrib import admin
from django.urls import path

from ops import views as ops_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", ops_views.healthz, name="healthz"),
    path("readyz", ops_views.readyz, name="readyz"),
    path("metrics", ops_views.prometheus, name="metrics"),
]
