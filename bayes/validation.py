"""Checks of user input, run before any model is built (so they cost no compilation)."""

from __future__ import annotations

import numbers

import numpy as np

from emgmm._validation import check_scale, real_array
from emgmm.covariance_types import COVARIANCE_TYPES

SAMPLERS = ("pymc", "nutpie", "numpyro")
INITS = ("em", "jitter")
FORMULATIONS = ("marginalized", "explicit")


def check_data(X) -> np.ndarray:
    """``X`` as a finite real float array of shape (n_samples, n_features).

    Types (:func:`emgmm._validation.real_array`): complex, object and non-numeric arrays,
    and frames with non-numeric columns, are rejected (a TypeError naming the dtype or the
    columns) rather than converted. Values whose squares overflow or underflow float64 are
    a ValueError suggesting standardisation (:func:`emgmm._validation.check_scale`); all
    of it before any model is built.
    """
    array = real_array(X)
    if array.ndim != 2:
        raise ValueError(
            f"X must be 2-D (n_samples, n_features), got {array.ndim}-D; "
            "reshape 1-D data with X.reshape(-1, 1)"
        )
    if array.shape[0] < 2 or array.shape[1] < 1:
        raise ValueError(f"X needs at least 2 samples and 1 feature, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError("X contains NaN or infinite values; remove or impute them first")
    check_scale(array)
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
