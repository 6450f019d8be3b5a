"""Sources (rules): pull sources: folders and buckets photos are taken in from."""
