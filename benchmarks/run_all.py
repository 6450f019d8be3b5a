"""Run every benchmark and print its table: quick sizes by default, ``--full`` for the real ones.

A smoke run, not an assertion: it exits 0 when the benchmarks ran, whatever the figures.
"""

from __future__ import annotations

import argparse
import sys
import time

import dispatch
import listing
import upload
import worker


def main(argv: list[str] | None = None) -> None:
    """Run the upload, listing, dispatch and worker benchmarks (PostgreSQL too when asked)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="full sizes (about 10 minutes)")
    parser.add_argument(
        "--postgres", action="store_true", help="also run listing and dispatch on PostgreSQL"
    )
    args = parser.parse_args(argv)
    mode = [] if args.full else ["--quick"]
    started = time.perf_counter()
    upload.main(mode)
    listing.main(mode)
    dispatch.main(mode)
    worker.main(mode)
    if args.postgres:
        listing.main([*mode, "--backend", "postgres"])
        dispatch.main([*mode, "--backend", "postgres"])
    print(f"\nall benchmarks ran in {time.perf_counter() - started:.0f}s", file=sys.stderr)


if __name__ == "__main__":
    main()
