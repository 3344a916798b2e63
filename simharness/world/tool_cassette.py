"""A tool that replays a VCR.py cassette: real recorded responses, simulated latency and
faults on top.

The cassette is read with vcrpy's own deserializer (YAML or JSON, the format vcrpy and
pytest-recording write) and requests are matched with vcrpy's own matchers
(`match_on`, default method + path + query; add `body` to match bodies too). The first
recorded interaction that matches answers, every time (vcrpy's
`allow_playback_repeats`), since a simulation calls the same endpoint many times.
Recorded headers that may carry credentials (cookies, authorization, tokens, keys) are
never served, so they cannot leak into records or reports.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .http import SimResponse
from .tools import ToolRequest, ToolService, ToolSetupError, is_secret_header

#: Largest cassette read, in bytes.
MAX_CASSETTE_BYTES = 64 << 20
#: Headers that describe the recorded connection, not the response.
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


def load_interactions(path: Path, tool: str) -> list[tuple[Any, dict[str, Any]]]:
    """(vcr Request, response dict) pairs from a cassette file."""
    from vcr import serialize
    from vcr.serializers import jsonserializer, yamlserializer

    where = ("cassette",)
    if not path.is_file():
        raise ToolSetupError(tool, where, f"cannot read {path}: no such file")
    size = path.stat().st_size
    if size > MAX_CASSETTE_BYTES:
        raise ToolSetupError(tool, where, f"{path} is {size:,} bytes, over the "
                                          f"{MAX_CASSETTE_BYTES:,} byte limit of a cassette")
    serializer = jsonserializer if path.suffix.lower() == ".json" else yamlserializer
    try:
        loaded = serialize.deserialize(path.read_text(encoding="utf-8"), serializer)
    except Exception as exc:  # vcrpy raises ValueError, yaml errors, KeyError...
        first = (str(exc).splitlines() or [""])[0]
        raise ToolSetupError(tool, where, f"{path} is not a VCR.py cassette: "
                                          f"{type(exc).__name__}: {first}") from None
    requests, responses = loaded[0], loaded[1]
    return list(zip(requests, responses, strict=True))


def _served_headers(recorded: dict[str, Any]) -> list[tuple[str, str]]:
    headers = []
    for name, values in (recorded or {}).items():
        if is_secret_header(name) or name.lower() in _HOP_BY_HOP:
            continue
        for value in values if isinstance(values, list) else [values]:
            headers.append((str(name), str(value)))
    return headers


class CassetteService(ToolService):
    """Recorded responses served by method and path (and whatever else `match_on` says)."""

    def __init__(self, name: str, config: Any, seed: int, base_dir: Path) -> None:
        import vcr.matchers

        super().__init__(name, config, seed)
        spec = config.cassette
        self.interactions = load_interactions(base_dir / spec.path, name)
        self.matchers = [getattr(vcr.matchers, matcher) for matcher in spec.match_on]
        self._responses = [self._response(recorded) for _, recorded in self.interactions]

    @staticmethod
    def _response(recorded: dict[str, Any]) -> SimResponse:
        status = recorded.get("status") or {}
        body = (recorded.get("body") or {}).get("string") or b""
        if isinstance(body, str):
            body = body.encode("utf-8")
        return SimResponse(int(status.get("code", 200)), body,
                           _served_headers(recorded.get("headers") or {}))

    def handle(self, request: ToolRequest) -> SimResponse | None:
        from vcr.matchers import requests_match
        from vcr.request import Request

        suffix = request.path + (f"?{request.query}" if request.query else "")
        for (recorded, _), response in zip(self.interactions, self._responses, strict=True):
            origin = f"{recorded.parsed_uri.scheme}://{recorded.parsed_uri.netloc}"
            incoming = Request(request.method, origin + suffix, request.body or None,
                               dict(request.headers.items()))
            if requests_match(incoming, recorded, self.matchers):
                return SimResponse(response.status, response.body, list(response.headers))
        return None

    def known_routes(self) -> list[str]:
        seen = dict.fromkeys(f"{recorded.method} {recorded.path}"
                             for recorded, _ in self.interactions)
        return list(seen)
