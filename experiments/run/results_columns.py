"""The results.csv columns and what each means (README "results.csv columns" lists the
same; a test checks it). Part of the run-directory contract of :mod:`experiments.run.rundir`,
which re-exports every name."""

from __future__ import annotations

ID_COLUMNS = ("cell_id", "replicate", "method")
ERROR_COLUMN = "error"
# Columns whose values depend on wall-clock time (left out when comparing runs).
TIMING_COLUMNS = ("runtime_s", "compile_s", "sampling_s", "ess_per_second")

# Metric columns in results.csv order -> meaning. Which method fills which column is
# declared by the method (experiments.measure.methods); the grid keys come between the
# id columns and these.
METRIC_COLUMNS_MEANING = {
    # the data set (same on every row of a replicate)
    "achieved_overlap": "pairwise overlap (MixSim omega) of the true parameters",
    "log_likelihood": "mean per-sample log-likelihood at the estimate",
    "log_likelihood_truth": "mean per-sample log-likelihood at the true parameters",
    "weights_error": "mean absolute weight error over components",
    "means_error": "mean Euclidean norm of the mean error over components",
    "covariances_error": "mean relative Frobenius error of the covariances",
    "ari": "adjusted Rand index of the MAP labels against the true labels",
    "accuracy": "fraction of aligned MAP labels equal to the true labels",
    "runtime_s": "wall-clock seconds of the fit",
    "compile_s": "seconds of compiling before the timed fit (near 0 when reused)",
    "sampling_s": "seconds of sampling alone",
    "n_iter": "iterations of the best start (EM, VB)",
    "converged": "whether EM (VB) met its tolerance",
    "coverage_bootstrap": "coverage of the truth by EM's bootstrap intervals",
    "coverage_information": "coverage of the truth by EM's observed-information intervals",
    "max_rhat": "largest rank-normalised split R-hat over the free parameters",
    "min_ess_bulk": "smallest bulk effective sample size",
    "min_ess_tail": "smallest tail effective sample size",
    "divergences": "divergent transitions after tuning",
    "ess_per_second": "min_ess_bulk per second of sampling",
    "coverage": "coverage of the truth by the central posterior intervals",
    "label_switching_repaired": "whether any draw was relabelled to the EM solution",
    "relabelled_fraction": "fraction of draws whose permutation differs from the commonest",
    "em_in_interval": "fraction of EM estimates inside the posterior intervals",
    "em_distance_sd_mean": "mean |posterior mean - EM| / posterior sd",
    "em_distance_sd_max": "largest |posterior mean - EM| / posterior sd",
    "em_mcmc_ari": "adjusted Rand index between EM and posterior MAP labels",
    "em_mcmc_accuracy": "fraction of points with the same EM and posterior MAP label",
    "responsibility_mad": "mean |EM responsibility - posterior membership probability|",
    "k_true": "the true number of components",
    "k_bic": "K of lowest BIC",
    "k_icl": "K of lowest ICL",
    "k_loo": "K of highest PSIS-LOO elpd",
    "k_bic_correct": "whether k_bic equals k_true",
    "k_icl_correct": "whether k_icl equals k_true",
    "k_loo_correct": "whether k_loo equals k_true",
    "elpd_loo_best": "PSIS-LOO elpd of k_loo",
    # a variational method against the replicate's MCMC posterior (experiments.measure.vi_compare)
    "sd_ratio_weights": "geometric mean over the weights of the method's posterior sd / MCMC's",
    "sd_ratio_means": "geometric mean over the mean coordinates of posterior sd / MCMC's",
    "sd_ratio_covariances": "geometric mean over the covariance entries of posterior sd / MCMC's",
    "wasserstein_sd_mean": "mean 1-D Wasserstein distance to MCMC's marginals, in MCMC sds",
    "elbo_final": "ELBO at the end (advi: mean of its last 10% of iterations; vb: the lower bound at convergence)",
    "n_effective_components": "vb: components whose expected weight is at least [vb] weight_threshold",
    # data without truth (a data file, NO_TRUTH_COLUMNS); in results.csv only when filled
    "heldout_lpd": "mean log predictive density of the held-out rows",
    "bic": "BIC of the EM fit (lower is better)",
    "icl": "ICL of the EM fit (lower is better)",
    "elpd_loo": "PSIS-LOO expected log pointwise predictive density",
    "elpd_loo_se": "standard error of elpd_loo",
    "pareto_k_max": "largest Pareto k of the PSIS-LOO weights",
    "pareto_k_bad": "points with Pareto k > 0.7",
    "class_ari": "adjusted Rand index of the MAP labels against the known classes",
    "class_accuracy": "fraction of MAP labels equal to the known class after matching",
}
METRIC_COLUMNS = tuple(METRIC_COLUMNS_MEANING)
NO_TRUTH_COLUMNS = METRIC_COLUMNS[METRIC_COLUMNS.index("heldout_lpd"):]
RESULT_COLUMNS = (*ID_COLUMNS, *METRIC_COLUMNS, ERROR_COLUMN)
SUMMARY_COUNT_COLUMNS = ("n_replicates", "n_failed")
