"""The operations API: screening, randomization and follow-up over the trial store.

Python functions with a keyword-only ``session``; each writing function is one audited
transaction (nothing is partially written) and raises domain errors from
:mod:`hepatrial.exceptions`. May import the protocol, allocation, units, scores and store
packages; never a front end. The CLI (:mod:`hepatrial.cli.operations`) is a thin layer over it.
"""
