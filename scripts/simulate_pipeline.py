#!/usr/bin/env python3
"""Simulate an external pipeline against a trapline server, over HTTP and HMAC only.

    TRAPLINE_TOKEN=tl_... ML_CALLBACK_HMAC_SECRET=... \\
        python scripts/simulate_pipeline.py --image-id 13 [--url http://127.0.0.1:8000]

The same as ``trapline simulate-pipeline``; the calls are in ``trapline/client/simulation.py``.
"""

import sys

from trapline.cli import app

if __name__ == "__main__":
    app(["simulate-pipeline", *sys.argv[1:]])
