"""Hand-written Expectation-Maximization for Gaussian mixtures, with the latent Z explicit."""

from emgmm._validation import NotFittedError
from emgmm.collapse import CollapsedComponentWarning
from emgmm.criteria import aic, bic, icl, n_parameters
from emgmm.degenerate import DegenerateFitWarning, degeneracy
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
from emgmm.map_em import map_em_iteration, map_m_step, map_objective
from emgmm.map_prior import (
    ConjugatePrior,
    default_conjugate_prior,
    flat_conjugate_prior,
    log_prior_density,
    matched_shrinkage,
)
from emgmm.params import (
    COVARIANCE_TYPES,
    GaussianMixtureParams,
    compute_precision_cholesky,
    covariances_from_precision_cholesky,
    full_covariances,
)
from emgmm.selection import ModelSelection, SelectionRow, select_model
from emgmm.steps import (
    e_step,
    estimate_gaussian_parameters,
    m_step,
    mixture_log_likelihood,
    reference_em_iteration,
)
from emgmm.uncertainty import (
    ParameterUncertainty,
    align_to_reference,
    bootstrap_standard_errors,
    information_standard_errors,
)
from emgmm.variational import (
    BayesianGaussianMixtureVB,
    VariationalPosterior,
    VariationalPrior,
    default_variational_prior,
    fit_vb,
)

__all__ = [
    "COVARIANCE_TYPES",
    "BayesianGaussianMixtureVB",
    "CollapsedComponentWarning",
    "ConjugatePrior",
    "ConvergenceWarning",
    "DegenerateFitWarning",
    "EMResult",
    "GaussianMixtureEM",
    "GaussianMixtureParams",
    "LikelihoodDecreaseWarning",
    "ModelSelection",
    "NotFittedError",
    "ParameterUncertainty",
    "SelectionRow",
    "VariationalPosterior",
    "VariationalPrior",
    "aic",
    "align_to_reference",
    "available_engines",
    "bic",
    "bootstrap_standard_errors",
    "complete_data_log_likelihood",
    "compute_precision_cholesky",
    "covariances_from_precision_cholesky",
    "default_conjugate_prior",
    "default_variational_prior",
    "degeneracy",
    "e_step",
    "estimate_gaussian_parameters",
    "estimate_log_gaussian_prob",
    "expected_complete_log_likelihood",
    "fit_em",
    "fit_vb",
    "flat_conjugate_prior",
    "full_covariances",
    "gaussian_ml_estimate",
    "icl",
    "information_standard_errors",
    "initial_params",
    "kmeans",
    "kmeans_plusplus",
    "load_model",
    "log_likelihood_decomposition",
    "log_multivariate_normal_pdf",
    "log_normal_pdf",
    "log_prior_density",
    "m_step",
    "map_em_iteration",
    "map_labels",
    "map_m_step",
    "map_objective",
    "matched_shrinkage",
    "mixture_log_likelihood",
    "n_parameters",
    "reference_em_iteration",
    "responsibilities",
    "responsibility_entropy",
    "sample_latent",
    "save_model",
    "select_model",
]
