"""Exports (rules): exports and imports of the field's formats."""
