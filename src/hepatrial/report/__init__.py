"""The trial report: one self-contained HTML file (figures embedded) and results as JSON.

Owns the figures (:mod:`.figures`), the CONSORT flow (:mod:`.consort`), the tables
(:mod:`.tables`), subgroup estimates (:mod:`.subgroups`) and the page (:mod:`.html`). May import
:mod:`hepatrial.analysis`, :mod:`hepatrial.stats` and matplotlib; never the store or a front end.
"""
