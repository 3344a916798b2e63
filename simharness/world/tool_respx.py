"""A tool served by a respx router the user already has from their unit tests.

The router is used through respx's own public API: each simulated request becomes an
`httpx.Request` addressed to the host the routes were written for, and
`Router.resolve` picks the route and runs its side effect, exactly as it does under
`respx.mock`. A side effect that raises an httpx transport error (`ConnectError`,
`ReadTimeout`...) reaches the agent as that error; a request no route matches is the
tool's listing 404. The router is never started, so nothing is patched globally.
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

import httpx

from .http import SimResponse
from .tools import ToolRequest, ToolService, ToolSetupError, json_response

#: httpx exception class -> how the simulated transport delivers it.
_FAILURES = {"ConnectError": "connect", "ConnectTimeout": "connect_timeout",
             "ReadTimeout": "read_timeout", "WriteTimeout": "read_timeout",
             "PoolTimeout": "connect_timeout", "RemoteProtocolError": "reset",
             "ReadError": "read_error", "WriteError": "read_error"}


def load_router(ref: str, tool: str) -> Any:
    """Import 'module:attr' and check it is a respx router."""
    import respx

    module_name, _, attr = ref.partition(":")
    where = ("respx",)
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:  # the user's module may fail in any way while importing
        raise ToolSetupError(tool, where, f"cannot import {module_name!r}: "
                                          f"{type(exc).__name__}: {exc}") from None
    router: Any = module
    for part in attr.split("."):
        router = getattr(router, part, None)
        if router is None:
            raise ToolSetupError(tool, where, f"module {module_name!r} has no {attr!r}")
    if not isinstance(router, respx.Router):
        raise ToolSetupError(tool, where, f"{ref} is a {type(router).__name__}, not a respx "
                                          "router (respx.MockRouter or respx.Router)")
    return router


def _route_hosts(router: Any) -> tuple[set[str], set[str]]:
    """Hosts and schemes the routes name exactly (from their respx patterns)."""
    hosts, schemes = set(), set()
    for route in router.routes:
        for pattern in route.pattern:
            if pattern.key == "host" and pattern.lookup.value == "eq":
                hosts.add(pattern.value)
            elif pattern.key == "scheme" and pattern.lookup.value == "eq":
                schemes.add(pattern.value)
    return hosts, schemes


def _describe(route: Any) -> str:
    """'GET /orders/...' for the 404 listing, from the route's patterns."""
    method, where = "*", ""
    for pattern in route.pattern:
        value = getattr(pattern.value, "pattern", pattern.value)
        if pattern.key == "method":
            method = str(value)
        elif pattern.key in ("path", "url") and not where:
            lookup = pattern.lookup.value
            where = str(value) if lookup == "eq" else f"{value} ({lookup})"
    return f"{method} {where or '*'}"


class RespxService(ToolService):
    """Requests are resolved by the user's respx router."""

    def __init__(self, name: str, config: Any, seed: int) -> None:
        super().__init__(name, config, seed)
        spec = config.respx
        self.router = load_router(spec.router, name)
        hosts, schemes = _route_hosts(self.router)
        if spec.base_url is not None:
            base = httpx.URL(spec.base_url)
        elif len(hosts) > 1:
            raise ToolSetupError(name, ("respx",), f"the router's routes name several hosts "
                                                  f"({', '.join(sorted(hosts))}); set "
                                                  "respx.base_url to the one this tool "
                                                  "stands for")
        else:
            scheme = next(iter(schemes)) if len(schemes) == 1 else "https"
            base = httpx.URL(f"{scheme}://{next(iter(hosts), f'{name}.sim')}")
        self.base = base

    def handle(self, request: ToolRequest) -> SimResponse | None:
        import respx

        url = self.base.copy_with(path=request.path, query=request.query.encode() or None)
        outgoing = httpx.Request(request.method, url, headers=list(request.headers.items()),
                                 content=request.body)
        try:
            resolved = self.router.resolve(outgoing)
        except respx.models.AllMockedAssertionError:
            return None
        except httpx.TransportError as exc:
            failure = _FAILURES.get(type(exc).__name__, "read_error")
            return SimResponse(failure=failure, detail=str(exc))
        except Exception as exc:  # a side effect raising something else: a server error
            return json_response(500, {"error": f"{type(exc).__name__}: {exc}"})
        finally:
            self.router.calls.clear()  # respx records every call: keep memory flat
        if resolved.route is None:
            return None
        response = resolved.response
        if inspect.isawaitable(response) or not isinstance(response, httpx.Response):
            return json_response(500, {"error": "the respx side effect did not return an "
                                                "httpx.Response (async side effects are not "
                                                "supported)"})
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in response.headers.raw]
        return SimResponse(response.status_code, response.content, headers)

    def known_routes(self) -> list[str]:
        return [_describe(route) for route in self.router.routes]
