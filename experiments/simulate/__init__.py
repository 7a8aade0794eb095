"""Data with known truth: synthetic mixtures (:mod:`.generate`), their MixSim overlap
(:mod:`.overlap`, :mod:`.quadform`) and the registry of data sources (:mod:`.sources`)."""
