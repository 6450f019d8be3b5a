"""Processing (rules): jobs, tasks, the results workers and services post, and what is current
of them.
"""
