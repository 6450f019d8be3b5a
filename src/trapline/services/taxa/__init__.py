"""Taxa (use cases): taxa lists, a project's taxa and what its labels stand for."""
