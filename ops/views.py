"""Liveness (/healthz), readiness (/readyz) and metrics (/metrics) for load balancers and Prometheus."""
from django.conf import settings
from django.http import HttpResponse, JsonResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.http import require_GET

from . import checks, metrics


@require_GET
def healthz(request):
    """The process is up and can serve a request; dependencies are /readyz's business."""
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request):
    results = checks.run_readiness()
    ready = all(r.ok for r in results)
    body = {"status": "ready" if ready else "not_ready",
            "checks": {r.name: {"ok": r.ok, "detail": r.detail, "seconds": r.seconds} for r in results}}
    return JsonResponse(body, status=200 if ready else 503)


@require_GET
def prometheus(request):
    token = settings.METRICS_TOKEN
    if token and not constant_time_compare(request.headers.get("Authorization", ""), f"Bearer {token}"):
        return HttpResponse("metrics need the bearer token\n", status=401, content_type="text/plain")
    return HttpResponse(metrics.render(), content_type="text/plain; version=0.0.4; charset=utf-8")
