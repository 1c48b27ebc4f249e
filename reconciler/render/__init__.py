"""Views of plans and apply results: one module per output format, none of them computes."""
