"""Input checks: every bad input becomes one ValueError line saying what to change."""

from __future__ import annotations

import numbers

import numpy as np
from scipy import sparse

from emgmm.params import COVARIANCE_TYPES

INIT_METHODS = ("auto", "hierarchical", "kmeans", "k-means++", "random", "random_from_data")
# The starts init_params="auto" tries, best kept (emgmm.fit.fit_em).
AUTO_STARTS = ("hierarchical", "k-means++", "kmeans")


class NotFittedError(ValueError, AttributeError):
    """Raised when a method needs a fitted model and ``fit`` has not been called."""


def check_data(X, *, name: str = "X", min_samples: int = 1) -> np.ndarray:
    """``X`` as a finite 2-D float array of shape (n_samples, n_features), a copy if needed."""
    if sparse.issparse(X):
        raise TypeError(f"sparse input is not supported: pass a dense array ({name}.toarray())")
    if np.iscomplexobj(X):
        raise ValueError(f"Complex data not supported: {name} must be real")
    X = np.asarray(X, dtype=float)
    if X.ndim != 2:
        hint = ": Reshape your data with X.reshape(-1, 1) for one feature" if X.ndim == 1 else ""
        raise ValueError(f"{name} must be 2-D of shape (n_samples, n_features), got {X.ndim}-D{hint}")
    if X.shape[0] < min_samples:
        raise ValueError(
            f"{name} has {X.shape[0]} sample(s) but at least {min_samples} are needed: pass more data"
        )
    if X.shape[1] < 1:
        raise ValueError(
            f"{name} has 0 feature(s) (shape={X.shape}) while a minimum of 1 is required: "
            "pass at least one column"
        )
    if not np.all(np.isfinite(X)):
        raise ValueError(f"{name} contains NaN or infinity: remove or impute those entries")
    return X


def check_n_features(X: np.ndarray, n_features: int, owner: str = "GaussianMixtureEM") -> None:
    """Same number of columns as the data the model was fitted on."""
    if X.shape[1] != n_features:
        raise ValueError(
            f"X has {X.shape[1]} features, but {owner} is expecting {n_features} features as "
            "input: pass data with the columns used for fitting"
        )


def check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


def check_float(value, name: str, minimum: float = 0.0) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value >= minimum:
        raise ValueError(f"{name} must be a number >= {minimum}, got {value!r}")
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value!r}")
    return float(value)


def check_choice(value, name: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}, got {value!r}")
    return value


def check_fit_settings(
    *, n_components, covariance_type, tol, reg_covar, max_iter, n_init, init_params
) -> None:
    """Hyper-parameters of a fit, checked once on entry."""
    check_int(n_components, "n_components", 1)
    check_choice(covariance_type, "covariance_type", COVARIANCE_TYPES)
    check_float(tol, "tol")
    check_float(reg_covar, "reg_covar")
    check_int(max_iter, "max_iter", 0)
    check_int(n_init, "n_init", 1)
    check_choice(init_params, "init_params", INIT_METHODS)


def _n_distinct_rows(X: np.ndarray) -> int:
    return np.unique(X, axis=0).shape[0]


def check_data_for_fit(X: np.ndarray, n_components: int, reg_covar: float) -> None:
    """Data problems that make a K-component fit impossible, with what to change."""
    n_samples = X.shape[0]
    if n_samples < n_components:
        raise ValueError(
            f"n_samples={n_samples} is smaller than n_components={n_components}: "
            "lower n_components or pass more data"
        )
    if n_components > 1 and _n_distinct_rows(X[: 10 * n_components]) < n_components:
        # The full (sorting) count only when the first rows do not already show K distinct ones.
        n_distinct = _n_distinct_rows(X)
        if n_distinct < n_components:
            raise ValueError(
                f"X has only {n_distinct} distinct point(s) but n_components={n_components}: "
                "lower n_components (duplicate rows cannot support separate components)"
            )
    if reg_covar == 0.0:
        constant = np.flatnonzero(np.ptp(X, axis=0) == 0.0)
        if constant.size:
            raise ValueError(
                f"column(s) {constant.tolist()} of X have zero variance and reg_covar=0: "
                "drop those columns or set reg_covar > 0"
            )


def as_generator(random_state) -> np.random.Generator:
    """A numpy Generator from None, an int, a SeedSequence, a Generator or a RandomState."""
    if isinstance(random_state, np.random.RandomState):
        # Draw a seed from the legacy state so that it advances, as scikit-learn does.
        return np.random.default_rng(random_state.randint(np.iinfo(np.int32).max))
    if random_state is None or isinstance(
        random_state, (numbers.Integral, np.random.SeedSequence, np.random.Generator)
    ):
        return np.random.default_rng(random_state)
    raise ValueError(
        f"random_state must be None, an int, a SeedSequence or a numpy Generator, got {random_state!r}"
    )
