"""``python -m reconciler``: the same command line as the ``reconciler`` script."""

from reconciler.cli import run

run()
