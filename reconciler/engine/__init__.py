"""From desired to done: read live state, compute and order the plan, guard it (safety,
ownership), save and check it, apply it, and report drift.
"""
