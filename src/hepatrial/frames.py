"""Small DataFrame operations that behave the same on every supported pandas (2.2 to 3.x).

pandas 3.0 and 3.1 raise ``TypeError: Cannot cast DatetimeArray to dtype float64`` from
``keys.map(table)`` when ``table`` is an *empty* Series of dates or durations (a trial where
nobody has died, or no dose has been given yet). :func:`lookup` is the same look-up by
re-indexing, which keeps the table's dtype whether or not it has rows. :func:`as_text` reads a
text column whose values may all be missing.

It imports nothing from the rest of hepatrial.

Examples
--------
>>> import pandas as pd
>>> deaths = pd.Series(pd.to_datetime([]), index=pd.Index([], dtype=object), dtype="datetime64[ns]")
>>> lookup(pd.Series(["P001", "P002"]), deaths).isna().tolist()
[True, True]
"""

from __future__ import annotations

import pandas as pd

__all__ = ["as_text", "lookup"]


def as_text(values: pd.Series) -> pd.Series:
    """``values`` as Python strings, a missing value as ``""``, indexed like ``values``.

    ``fillna("")`` on a column that holds only missing values (float64 then) is deprecated in
    pandas 3 and will raise in pandas 4; this gives the same strings on every version.

    >>> as_text(pd.Series([None, float("nan"), "x"])).tolist()
    ['', '', 'x']
    """
    present = values.notna()
    text = [str(v) if ok else "" for v, ok in zip(values.tolist(), present.tolist(), strict=True)]
    return pd.Series(text, index=values.index, dtype=str, name=values.name)


def lookup(keys: pd.Series, table: pd.Series) -> pd.Series:
    """Values of ``table`` at ``keys`` (missing where a key is absent), indexed like ``keys``.

    The same as ``keys.map(table)`` for a table whose index is unique, and also for an empty
    table of dates or durations.

    Parameters
    ----------
    keys : pandas.Series
        The keys to look up (for example participant codes).
    table : pandas.Series
        Values indexed by key; the index must be unique.

    Raises
    ------
    ValueError
        When ``table`` has a repeated key, which would make the look-up ambiguous.
    """
    if not table.index.is_unique:
        repeated = table.index[table.index.duplicated()].unique().tolist()[:5]
        raise ValueError(f"lookup table {table.name!r} repeats the key(s) {repeated}")
    found = table.reindex(keys.to_numpy())
    return pd.Series(found.array, index=keys.index, name=table.name)
