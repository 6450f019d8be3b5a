"""Callbacks (SQL): analyses a caller asks for and receives back (the callback API)."""
