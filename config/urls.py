from django.contrib import admin
from django.urls import include, path, re_path

from api import docs as api_docs
from api import problems as api_problems
from ops import views as ops_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("healthz", ops_views.healthz, name="healthz"),
    path("readyz", ops_views.readyz, name="readyz"),
    path("metrics", ops_views.prometheus, name="metrics"),
    path("api/v1/", include("api.urls")),
    path("api/schema/", api_docs.SchemaView.as_view(), name="api-schema"),
    path("api/docs/", include("api.docs_urls")),
    re_path(r"^api/", api_problems.not_found_view),  # any other path under /api/: a problem+json 404
]
