"""Checks of user input, run before any model is built (so they cost no compilation)."""

from __future__ import annotations

import numbers

import numpy as np

from emgmm.covariance_types import COVARIANCE_TYPES

SAMPLERS = ("pymc", "nutpie", "numpyro")
INITS = ("em", "jitter")
FORMULATIONS = ("marginalized", "explicit")


# headroom below the largest float for sums of squares of the data (EM's covariances,
# the priors' column sds, the likelihood's quadratic forms)
OVERFLOW_HEADROOM = 1e4
DTYPE_KINDS = {"c": "complex", "O": "object", "U": "string", "S": "bytes", "M": "datetime",
               "m": "timedelta", "V": "structured"}


def check_data(X) -> np.ndarray:
    """``X`` as a finite real float array of shape (n_samples, n_features).

    Complex, object and non-numeric arrays are rejected (a TypeError naming the dtype)
    rather than converted: ``np.asarray(X, float)`` would drop imaginary parts with only a
    ComplexWarning. Values so large that squares overflow are a ValueError suggesting
    standardisation, raised before any model is built.
    """
    array = np.asarray(X)
    if array.dtype.kind not in "biuf":
        raise TypeError(
            f"X must be a real numeric array (bool, integer or float), got dtype "
            f"{array.dtype} ({DTYPE_KINDS.get(array.dtype.kind, 'non-numeric')})"
        )
    array = array.astype(float)
    if array.ndim != 2:
        raise ValueError(
            f"X must be 2-D (n_samples, n_features), got {array.ndim}-D; "
            "reshape 1-D data with X.reshape(-1, 1)"
        )
    if array.shape[0] < 2 or array.shape[1] < 1:
        raise ValueError(f"X needs at least 2 samples and 1 feature, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError("X contains NaN or infinite values; remove or impute them first")
    largest = float(np.max(np.abs(array)))
    # N x D squares of the largest value must stay below the largest float
    limit = float(np.sqrt(np.finfo(float).max / (OVERFLOW_HEADROOM * array.size)))
    if largest > limit:
        raise ValueError(
            f"X has values up to {largest:.3g}: the data's scale is too large for sums of "
            f"squares in float64 (limit {limit:.2g} for this size); standardise the data "
            "first, e.g. (X - X.mean(axis=0)) / X.std(axis=0)"
        )
    return array


def check_positive_int(value, name: str, minimum: int = 1) -> int:
    """An integer >= ``minimum`` (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_choice(value, name: str, choices: tuple[str, ...]) -> str:
    """One of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_model_args(X, n_components, covariance_type) -> tuple[np.ndarray, int, str]:
    """Validated (X, n_components, covariance_type) for the model builders."""
    X = check_data(X)
    n_components = check_positive_int(n_components, "n_components")
    if n_components > X.shape[0]:
        raise ValueError(
            f"n_components={n_components} exceeds the number of samples {X.shape[0]}"
        )
    check_choice(covariance_type, "covariance_type", COVARIANCE_TYPES)
    return X, n_components, covariance_type


def check_sampling_args(
    *, sampler, draws, tune, chains, cores, init, target_accept, formulation, random_seed
) -> None:
    """Validate the options of :func:`bayes.sample`; raise ValueError naming the bad one."""
    check_choice(sampler, "sampler", SAMPLERS)
    check_choice(init, "init", INITS)
    check_choice(formulation, "formulation", FORMULATIONS)
    check_positive_int(draws, "draws")
    check_positive_int(tune, "tune", minimum=0)
    check_positive_int(chains, "chains")
    if cores is not None:
        check_positive_int(cores, "cores")
    if isinstance(target_accept, bool) or not isinstance(target_accept, numbers.Real) or not (
        0.0 < target_accept < 1.0
    ):
        raise ValueError(f"target_accept must be a number in (0, 1), got {target_accept!r}")
    if random_seed is not None:
        check_positive_int(random_seed, "random_seed", minimum=0)
    if formulation == "explicit" and sampler != "pymc":
        raise ValueError(
            "formulation='explicit' samples the discrete Z with a Gibbs step, which only "
            "sampler='pymc' supports"
        )
