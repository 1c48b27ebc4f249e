"""Reading what the user wrote: manifest YAML with line numbers, interpolation, environments,
references by name, the JSON Schemas that check it, and the project file ``reconciler.yaml``.

Nothing here talks to the network; ``reconciler validate`` is this package alone.
"""
