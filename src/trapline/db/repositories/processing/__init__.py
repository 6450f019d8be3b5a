"""Processing (SQL): jobs, tasks, and the results workers and services post (which of them
are current: ``db/current.py``).
"""
