"""Analysis datasets (CDISC ADaM style) and the analysis plan run from the protocol.

Owns the source-table checks (:mod:`.sources`), ADSL/ADLB/ADTTE/ADAE derivations
(:mod:`.adam`, :mod:`.labs`, :mod:`.adtte`) and the plan runner (:mod:`.plan`). May import the
protocol, scores, units and stats packages and read the store through
:func:`hepatrial.analysis.store.load_source_tables`; never the report, the CLI or a web framework.
"""
