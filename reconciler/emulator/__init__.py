"""A local, stateful Telnyx AI API for tests, `--local` and `reconciler emulator` (design.md section 5).

Why: the real API is out of reach here and users want plans without an account; the official SDK with
strict response validation is the judge of its fidelity.
"""

from reconciler.emulator.server import EmulatorServer, run_emulator

__all__ = ["EmulatorServer", "run_emulator"]
