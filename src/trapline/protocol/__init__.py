"""Wire models: the JSON contract the platform and the worker share, one module per concept.

The worker protocol (Antenna processing-service API v2 compatible) is ``tasks``, ``results``
and ``pipelines``; push mode is ``service``; the callback API is ``callbacks``; what they are
all made of is ``base``.

The single source of the JSON contract for both the platform and the worker. Incoming models
ignore unknown keys, as AMI workers send extras (``config``, ``deployments``…); ids that AMI
workers read as strings are strings here.
"""
