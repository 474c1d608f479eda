from django.urls import path

from . import docs

urlpatterns = [
    path("", docs.SwaggerView.as_view(), name="api-docs"),
    path("assets/<str:name>", docs.swagger_asset, name="api-docs-asset"),
]
