"""Talking to the Telnyx AI API: the HTTP client (auth, retries, pagination, errors), its
adaptive concurrency bound, streaming body decoding, and the API's own request schemas.
"""

import sys

# httpx imports its own command line (click, rich, pygments) when they are installed, about 90 ms of
# every command's start-up where they are; reconciler never runs it. Marking the module as absent
# makes httpx fall back to its stub, as it does where rich is not installed. An httpx imported
# before us keeps whatever it has.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]
