from . import metrics

# Any client can send any method name: one series per invented name would let anonymous requests grow /metrics
# without bound, so methods outside this set are counted as "other".
COUNTED_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


class RequestMetricsMiddleware:
    """Counts every response by method and status class for /metrics."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        method = request.method if request.method in COUNTED_METHODS else "other"
        metrics.count(metrics.HTTP_KEY, f"{method} {response.status_code}")
        return response
