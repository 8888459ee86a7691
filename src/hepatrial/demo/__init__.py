"""The demonstration: both seed trials rebuilt from their published aggregates and re-analysed.

Owns the synthetic reconstruction of participant-level data (:mod:`.reconstruct`, clearly
labelled as such), the construction of a trial store per seed trial through the operations API
(:mod:`.build`) and the published-versus-reproduced comparison. May import every other
hepatrial package; nothing imports it.
"""
