"""Hand-written Expectation-Maximization for Gaussian mixtures, with the latent Z explicit."""

from emgmm._validation import NotFittedError
from emgmm.collapse import CollapsedComponentWarning
from emgmm.degenerate import DegenerateFitWarning, degeneracy
from emgmm.criteria import aic, bic, icl, n_parameters
from emgmm.densities import (
    estimate_log_gaussian_prob,
    gaussian_ml_estimate,
    log_multivariate_normal_pdf,
    log_normal_pdf,
)
from emgmm.estimator import GaussianMixtureEM
from emgmm.fit import (
    ConvergenceWarning,
    EMResult,
    LikelihoodDecreaseWarning,
    available_engines,
    fit_em,
)
from emgmm.init import initial_params, kmeans, kmeans_plusplus
from emgmm.io import load_model, save_model
from emgmm.latent import (
    complete_data_log_likelihood,
    expected_complete_log_likelihood,
    log_likelihood_decomposition,
    map_labels,
    responsibilities,
    responsibility_entropy,
    sample_latent,
)
from emgmm.params import (
    COVARIANCE_TYPES,
    GaussianMixtureParams,
    compute_precision_cholesky,
    covariances_from_precision_cholesky,
    full_covariances,
)
from emgmm.selection import ModelSelection, SelectionRow, select_model
from emgmm.map_em import map_em_iteration, map_m_step, map_objective
from emgmm.map_prior import (
    ConjugatePrior,
    default_conjugate_prior,
    flat_conjugate_prior,
    log_prior_density,
    matched_shrinkage,
)
from emgmm.variational import (
    BayesianGaussianMixtureVB,
    VariationalPosterior,
    VariationalPrior,
    default_variational_prior,
    fit_vb,
)
from emgmm.uncertainty import (
    ParameterUncertainty,
    align_to_reference,
    bootstrap_standard_errors,
    information_standard_errors,
)
from emgmm.steps import (
    e_step,
    estimate_gaussian_parameters,
    m_step,
    mixture_log_likelihood,
    reference_em_iteration,
)

__all__ = [
    "BayesianGaussianMixtureVB",
    "VariationalPosterior",
    "VariationalPrior",
    "default_variational_prior",
    "fit_vb",
    "DegenerateFitWarning",
    "degeneracy",
    "ConjugatePrior",
    "ParameterUncertainty",
    "align_to_reference",
    "bootstrap_standard_errors",
    "default_conjugate_prior",
    "map_em_iteration",
    "flat_conjugate_prior",
    "information_standard_errors",
    "log_prior_density",
    "map_m_step",
    "map_objective",
    "matched_shrinkage",
    "COVARIANCE_TYPES",
    "CollapsedComponentWarning",
    "ConvergenceWarning",
    "EMResult",
    "GaussianMixtureEM",
    "GaussianMixtureParams",
    "LikelihoodDecreaseWarning",
    "ModelSelection",
    "NotFittedError",
    "aic",
    "available_engines",
    "bic",
    "complete_data_log_likelihood",
    "compute_precision_cholesky",
    "covariances_from_precision_cholesky",
    "e_step",
    "estimate_gaussian_parameters",
    "estimate_log_gaussian_prob",
    "expected_complete_log_likelihood",
    "fit_em",
    "full_covariances",
    "gaussian_ml_estimate",
    "icl",
    "initial_params",
    "kmeans",
    "kmeans_plusplus",
    "load_model",
    "log_likelihood_decomposition",
    "log_multivariate_normal_pdf",
    "log_normal_pdf",
    "m_step",
    "map_labels",
    "mixture_log_likelihood",
    "n_parameters",
    "reference_em_iteration",
    "responsibilities",
    "responsibility_entropy",
    "sample_latent",
    "save_model",
    "select_model",
    "SelectionRow",
]
