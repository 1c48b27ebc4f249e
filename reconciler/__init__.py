"""telnyx-reconciler: infrastructure as code for Telnyx AI assistants."""

__version__ = "0.1.0"
__all__ = ["__version__"]
