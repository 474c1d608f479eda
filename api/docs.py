"""The OpenAPI document (/api/schema/) and Swagger UI (/api/docs/), both public.

Swagger UI's files come from the drf-spectacular-sidecar package and are served here, so the docs page
needs no CDN and no static-file server."""
from __future__ import annotations

import mimetypes
from pathlib import Path

import drf_spectacular_sidecar
from django.http import FileResponse, Http404
from django.views.decorators.cache import cache_control
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

SWAGGER_DIST = Path(drf_spectacular_sidecar.__file__).parent / "static" / "drf_spectacular_sidecar" / "swagger-ui-dist"
SWAGGER_FILES = {"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "favicon-32x32.png",
                 "oauth2-redirect.html"}


OVERVIEW = (Path(__file__).parent / "overview.md").read_text()


class SchemaView(SpectacularAPIView):
    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []
    custom_settings = {"DESCRIPTION": OVERVIEW}  # the partner's guide: auth, idempotency, errors, paging


class SwaggerView(SpectacularSwaggerView):
    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes: list = []
    url_name = "api-schema"


@cache_control(public=True, max_age=86400)
def swagger_asset(request, name: str) -> FileResponse:
    if name not in SWAGGER_FILES:
        raise Http404(name)
    content_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    return FileResponse(open(SWAGGER_DIST / name, "rb"), content_type=content_type)
