"""The vocabulary of a plan: field differences between a manifest and a live object, the
``Change`` value that records one, and ids of objects that will only exist after apply.

Kinds and the engine both speak it, so it sits below them and imports neither.
"""
