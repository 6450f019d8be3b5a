"""Photos (SQL): projects' deployments, their photos, collections, capture times and blobs."""
