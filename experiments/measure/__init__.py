"""What is measured: the registered methods (:mod:`.methods`) with their stages (:mod:`.em`,
:mod:`.mcmc`, :mod:`.selection`), the metrics, EM interval coverage and SBC."""
