"""Background work of a server process, on two primitives.

``lease.py`` holds a database lease (take, renew, notice loss, give back) and ``runner.py``
runs work on a small bounded pool (each id once, what was not started handed back at close).
Built on them: the duties (``duties.py``, one replica at a time each), pull-source runs
(``sources.py``), exports (``exports.py``), classifier refits (``classifiers.py``), groupings of
unidentified individuals (``groupings.py``), the push
dispatcher's calls (``push.py``) and job starts (``jobs.py``). What the work does is in
``services/``; this floor decides when, where and under which lease. It sits between
``platform`` (which builds it) and ``services``; it never imports ``api``, ``web``,
``platform`` or ``cli``.
"""
