"""A small Python client of the trapline API, for scripts and notebooks.

    from trapline.client import Client

    api = Client("http://127.0.0.1:8000", token)
    project = api.create_project("Garden moths 2024")
    api.upload_folder(project["id"], "photos/")
    job = api.start_job(project["id"], "moth-blobs")
    api.wait(job["id"])
    rows = api.results(job["id"])
    counts = api.counts(project["id"], by="night").to_pandas()   # with trapline[analysis]

It needs only what the worker install has (httpx): no web framework or database driver.
"""

from trapline.client.api import Client
from trapline.client.errors import ApiError
from trapline.client.rows import Rows
from trapline.client.uploads import UploadSummary

__all__ = ["ApiError", "Client", "Rows", "UploadSummary"]
