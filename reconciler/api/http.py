"""httpx, imported without its command line.

Why: importing httpx imports ``httpx._main`` (click, rich, pygments) when they are installed, about
90 ms of every command that talks to the API; reconciler never runs it. While httpx is imported the
module is marked absent, so httpx falls back to its stub; the mark is removed afterwards and
``httpx.main`` imports the real command line when called, so a program that imports httpx after
reconciler (or runs ``httpx.main``) gets what it would have without us. An httpx imported before
us is left as it is.
"""

from __future__ import annotations

import importlib
import sys

_SKIP = "httpx" not in sys.modules and "httpx._main" not in sys.modules
if _SKIP:
    sys.modules["httpx._main"] = None  # type: ignore[assignment]
try:
    import httpx
finally:
    if _SKIP and "httpx._main" in sys.modules and sys.modules["httpx._main"] is None:
        del sys.modules["httpx._main"]

if _SKIP:

    def _main() -> None:
        """httpx's own command line, imported only when it is run."""
        importlib.import_module("httpx._main").main()

    httpx.main = _main  # type: ignore[assignment]

__all__ = ["httpx"]
