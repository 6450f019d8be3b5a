"""``--db split`` (``make test``) runs each application test on one database, the same one on
every run, and about half of them on each (decision 054)."""

from __future__ import annotations

from tests.support.databases import split_backend


def test_both_variants_of_a_test_go_to_one_database_the_same_every_time() -> None:
    for test in ("tests/app/x.py::test_a", "tests/app/y.py::test_b"):
        sqlite, postgres = split_backend(f"{test}[sqlite]"), split_backend(f"{test}[postgres]")
        assert sqlite == postgres
        assert split_backend(f"{test}[sqlite]") == sqlite
    # Other parameters stay part of the name, wherever the backend stands among them.
    assert split_backend("t.py::test_c[postgres-local]") == split_backend(
        "t.py::test_c[sqlite-local]"
    )
    assert split_backend("t.py::test_c[job-postgres]") == split_backend("t.py::test_c[job-sqlite]")


def test_about_half_the_tests_go_to_each_database() -> None:
    chosen = [split_backend(f"tests/app/m.py::test_{n}[sqlite]") for n in range(2000)]
    assert 900 <= chosen.count("postgres") <= 1100
    assert set(chosen) == {"sqlite", "postgres"}
