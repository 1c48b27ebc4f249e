"""After apply: run the assistant tests the manifests define and report what they found.

``selection`` decides which tests run against which assistant version (and refuses when the account
does not hold what the manifests say), ``runner`` triggers and waits for the runs, and ``results``
is the outcome model every output format reads.
"""

MAIN = "main"
"""``test --version main``: the assistant's main version. Here, not in ``selection``, so that the command
line can show it as the default without importing what selection needs (issue 18)."""
