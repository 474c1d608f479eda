"""Paths to handlers: one table for the Alpaca API and the control API, with the auth each path needs."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from email.message import Message
from typing import Any

from .errors import MethodNotAllowed, NotFound

TRADING_AUTH = "trading"  # APCA-API-KEY-ID / APCA-API-SECRET-KEY headers
BROKER_AUTH = "broker"  # HTTP Basic key:secret, or the same APCA headers
NO_AUTH = "none"  # the /_sandbox/ control API, reachable only on the loopback interface the sandbox binds


@dataclass
class Call:
    """One request as a handler sees it: state, the authenticated account, path parameters, query and JSON body."""

    data: dict
    caller: dict | None
    params: dict[str, str]
    query: dict[str, str]
    body: Any
    headers: Message
    server: Any


Reply = tuple[int, Any]
Handler = Callable[[Call], Reply]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern
    handler: Handler
    auth: str
    mutates: bool


class RouteTable:
    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, method: str, template: str, auth: str, mutates: bool = False) -> Callable[[Handler], Handler]:
        """Register a handler for a path template such as "/v2/orders/{order_id}" ({name} matches one segment)."""
        pattern = re.compile(re.sub(r"\\\{(\w+)\\\}", r"(?P<\1>[^/]+)", re.escape(template)))

        def register(handler: Handler) -> Handler:
            self.routes.append(Route(method, pattern, handler, auth, mutates))
            return handler

        return register

    def extend(self, other: RouteTable) -> None:
        self.routes.extend(other.routes)

    def resolve(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        path_matched = False
        for route in self.routes:
            match = route.pattern.fullmatch(path)
            if match is None:
                continue
            if route.method == method:
                return route, match.groupdict()
            path_matched = True
        if path_matched:
            raise MethodNotAllowed("method not allowed")
        raise NotFound("endpoint not found")
