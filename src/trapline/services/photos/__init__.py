"""Photos (use cases): projects' deployments, their photos, collections, capture times and
blobs.
"""
