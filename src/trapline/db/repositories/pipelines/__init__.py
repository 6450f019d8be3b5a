"""Pipelines (SQL): pipelines and their versions, the processing services and workers that serve
them.
"""
