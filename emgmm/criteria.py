"""Information criteria for a fitted mixture: BIC, AIC and ICL (lower is better).

scikit-learn's sign is used throughout: :math:`\\mathrm{BIC} = -2 \\log L + p \\log N`.
mclust reports :math:`2 \\log L - p \\log N` (higher is better), i.e. minus ours.
"""

from __future__ import annotations

import numpy as np

from emgmm.covariance_types import covariance_type as covariance_type_of
from emgmm.engines import engine_e_step
from emgmm.params import GaussianMixtureParams

def n_parameters(covariance_type: str, n_components: int, n_features: int) -> int:
    """Free parameters p: :math:`(K - 1) + K D` + the covariance parameters of the type."""
    covariance = covariance_type_of(covariance_type).n_parameters(n_components, n_features)
    return int(n_components - 1 + n_components * n_features + covariance)


def _parameter_count(params: GaussianMixtureParams) -> int:
    return n_parameters(params.covariance_type, params.n_components, params.n_features)


def bic(X: np.ndarray, params: GaussianMixtureParams, engine: str = "auto") -> float:
    """:math:`\\mathrm{BIC} = -2 \\sum_i \\log p(x_i \\mid \\hat\\theta) + p \\log N`
    (``engine`` computes the E-step, see :func:`emgmm.engines.engine_e_step`)."""
    log_norm, _ = engine_e_step(X, params, engine)
    return float(-2.0 * np.sum(log_norm) + _parameter_count(params) * np.log(X.shape[0]))


def aic(X: np.ndarray, params: GaussianMixtureParams, engine: str = "auto") -> float:
    """:math:`\\mathrm{AIC} = -2 \\sum_i \\log p(x_i \\mid \\hat\\theta) + 2 p`."""
    log_norm, _ = engine_e_step(X, params, engine)
    return float(-2.0 * np.sum(log_norm) + 2.0 * _parameter_count(params))


def icl(X: np.ndarray, params: GaussianMixtureParams, engine: str = "auto") -> float:
    """Integrated completed likelihood, mclust's definition in the lower-is-better sign.

    .. math::

        \\mathrm{ICL} = \\mathrm{BIC} - 2 \\sum_i \\log \\gamma_{i \\hat z_i},
        \\qquad \\hat z_i = \\arg\\max_k \\gamma_{ik}

    mclust's ``icl()`` is ``BIC_mclust + 2 sum_i log z_{i,MAP}`` = minus this value. The
    penalty is the entropy of the MAP classification: ICL prefers well-separated clusters.
    """
    log_norm, log_resp = engine_e_step(X, params, engine)
    n_obs = X.shape[0]
    bic_value = -2.0 * np.sum(log_norm) + _parameter_count(params) * np.log(n_obs)
    # max_k log gamma_ik is log gamma at the MAP label, taken in log space (no exp/log round trip).
    return float(bic_value - 2.0 * np.sum(np.max(log_resp, axis=1)))
