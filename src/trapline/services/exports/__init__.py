"""Exports (use cases): exports and imports of the field's formats."""
