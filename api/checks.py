"""System checks of the partner API's settings (`manage.py check`, also run by runserver and migrate)."""
from __future__ import annotations

import os

from django.conf import settings
from django.core.checks import CheckMessage, Info

ENVIRONMENT_PROXIES = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")


def webhooks_do_not_use_environment_proxies(app_configs, **kwargs) -> list[CheckMessage]:
    """Say so when the process has a proxy in its environment that webhook deliveries will not use. They connect
    directly unless API_WEBHOOK_PROXY_URL names a proxy (a proxy resolves the host itself, past our check against
    server-side request forgery), and an operator who set HTTPS_PROXY for the process would otherwise learn it
    only from failed deliveries, or from traffic that left past the proxy."""
    names = [name for name in ENVIRONMENT_PROXIES if os.environ.get(name)]
    if not names or settings.API_WEBHOOK_PROXY_URL:
        return []
    return [Info(f"{', '.join(names)} set, but webhook deliveries never use proxies from the environment: they "
                 f"connect directly to partners' servers",
                 hint="set API_WEBHOOK_PROXY_URL to deliver them through a proxy that refuses non-public "
                      "destinations (docs/security.md)",
                 id="api.I001")]
