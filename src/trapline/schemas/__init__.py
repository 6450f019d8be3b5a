"""The platform API's request and response bodies (pydantic), one module per resource.

Below both the API and the web app: a page validates its form with the same input models the
API declares. The worker's wire contract is ``trapline.protocol``.
"""
