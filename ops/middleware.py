from . import metrics


class RequestMetricsMiddleware:
    """Counts every response by method and status class for /metrics."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        metrics.count(metrics.HTTP_KEY, f"{request.method} {response.status_code}")
        return response
