"""Ecology (use cases): events, the occurrences tracked in them, and the counts of both."""
