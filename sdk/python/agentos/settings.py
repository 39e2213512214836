"""The user's settings for this skill: ``skills.<id>.settings`` in config.yaml.

::

    from agentos import settings

    base = settings.get("base_url", "https://api.openai.com/v1")

The engine sends them with each call (docs/worker-protocol.md), so reading them is
not a request and needs no permission. Values are what the YAML held, as JSON
(strings, numbers, booleans, lists, maps). Outside the engine there are none and
``get`` returns the default.
"""

import json

_values: dict = {}


def get(key: str, default: object = None) -> object:
    """The setting ``key``, or ``default`` when the user did not set it.

    A list or map comes back as a copy: changing it changes nothing for later reads."""
    if not isinstance(key, str):
        raise TypeError(f"settings.get: key must be a str, not {type(key).__name__}")
    if key not in _values:
        return default
    value = _values[key]
    return json.loads(json.dumps(value)) if isinstance(value, (dict, list)) else value


def all() -> dict:  # noqa: A001 - settings.all() reads as meant
    """Every setting, as a fresh dict."""
    return json.loads(json.dumps(_values))


def _install(values: object) -> None:
    """Called by the worker shim with the call message's ``settings``.

    (json, not copy, makes the copies: the worker has it loaded already.)"""
    global _values
    _values = dict(values) if isinstance(values, dict) else {}
