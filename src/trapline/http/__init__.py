"""The HTTP floor under the API and the web app: what both need, borrowed by neither from the other.

Parameters (ids, pages), list envelopes, error answers, body limits, middleware, links and
file names; the server that runs the assembled app (``trapline.app``).
"""
