"""Exports (SQL): exports and imports of the field's formats."""
