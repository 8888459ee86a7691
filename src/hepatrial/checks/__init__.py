"""Edit checks: declarative rules that find every problem in a record before it is stored.

Each check returns :class:`hepatrial.exceptions.Problem` values (field, value, rule, message,
fix) and never raises for bad input, so a front end can show every problem at once.

This package may import :mod:`hepatrial.units`, :mod:`hepatrial.protocol`,
:mod:`hepatrial.scores` and :mod:`hepatrial.exceptions`; never the store, the service or the
front ends. This ``__init__`` imports nothing, so that checks can be added as modules of their
own; import them from their module (``from hepatrial.checks.personal import code_problems``).
"""
