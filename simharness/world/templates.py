"""The template syntax of tool `routes:`: path parameters and response placeholders.

Kept apart from the service so the scenario format can check templates at load time.
"""

from __future__ import annotations

import re
from typing import Any

PLACEHOLDER = re.compile(r"\{([A-Za-z_][\w.]*)\}")
_PARAM = re.compile(r"\{([A-Za-z_]\w*)\}")
#: Fields of `{customer.*}` and `{ticket.*}` a template may use.
CUSTOMER_FIELDS = ("id", "name", "email", "tier", "account_value")
TICKET_FIELDS = ("id", "conversation_id", "channel", "language", "subject")


def path_regex(pattern: str) -> re.Pattern[str]:
    """'/orders/{order_id}' -> a regex whose named groups are the parameters."""
    out, pos = [], 0
    for match in _PARAM.finditer(pattern):
        out.append(re.escape(pattern[pos:match.start()]))
        out.append(f"(?P<{match.group(1)}>[^/]+)")
        pos = match.end()
    out.append(re.escape(pattern[pos:]))
    return re.compile("".join(out).rstrip("/") + "/?$")


def placeholders(value: Any) -> list[str]:
    """Every `{name}` used in a template (strings inside lists and mappings too)."""
    if isinstance(value, str):
        return PLACEHOLDER.findall(value)
    if isinstance(value, dict):
        return [n for k, v in value.items() for n in (*placeholders(k), *placeholders(v))]
    if isinstance(value, list):
        return [n for v in value for n in placeholders(v)]
    return []


def unknown_placeholders(pattern: str, templates: list[Any]) -> list[str]:
    """Placeholders a route's templates use that nothing fills (checked at load time)."""
    params = set(_PARAM.findall(pattern))
    allowed_prefix = ("query.", "body.")
    bad = []
    for name in (n for t in templates for n in placeholders(t)):
        head, _, rest = name.partition(".")
        if name in params or name.startswith(allowed_prefix) and rest:
            continue
        if (head == "customer" and rest in CUSTOMER_FIELDS) or \
                (head == "ticket" and rest in TICKET_FIELDS):
            continue
        bad.append(name)
    return list(dict.fromkeys(bad))
