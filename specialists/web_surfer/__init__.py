"""The web surfer specialist: a real Chromium browser driven by a model's tool calls.

`create(env)` is the entry point (`orchestrator.specialists`: `web_surfer`). Search
providers live in the `search` subpackage; `probe_browser` is what `orchestrator doctor`
calls to find and launch the browser.
"""

from __future__ import annotations

from specialists.web_surfer.browser import BrowserProbe, probe_browser
from specialists.web_surfer.discovery import BrowserUnavailable
from specialists.web_surfer.settings import WebSurferConfigError, WebSurferSettings
from specialists.web_surfer.surfer import WebSurfer, create

__all__ = [
    "BrowserProbe",
    "BrowserUnavailable",
    "WebSurfer",
    "WebSurferConfigError",
    "WebSurferSettings",
    "create",
    "probe_browser",
]
