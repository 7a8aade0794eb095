"""Model building for every covariance type and dimension, checked against scipy (no sampling).

The model graphs are evaluated with PyTensor's FAST_COMPILE mode at the EM starting point:
the deterministic ``covariances``/``means``/``weights`` must equal the EM estimate, the
observed log-density must equal the mixture log-density computed with scipy, and the prior
log-density must equal the scipy densities of the documented priors.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from pymc.initial_point import make_initial_point_fn
from scipy import stats

import bayes
from bayes.initvals import em_initvals, fit_em_solution, jitter_initvals
from bayes.priors import prior_data, resolve_priors
from emgmm.covariance_types import COVARIANCE_TYPES


def two_cluster_data(n_features: int) -> np.ndarray:
    rng = np.random.default_rng(n_features)
    centres = np.repeat(np.array([[0.0], [6.0]]) * np.ones(n_features), 25, axis=0)
    return centres + rng.normal(scale=[1.0, 0.7][:n_features] if n_features <= 2 else 1.0,
                                size=(50, n_features))


def sklearn_layout_to_full(covariances, covariance_type, n_components, n_features):
    """Full (K, D, D) matrices from an sklearn-layout covariance array."""
    return {
        "full": lambda c: c,
        "tied": lambda c: np.broadcast_to(c, (n_components, n_features, n_features)),
        "diag": lambda c: np.stack([np.diag(v) for v in c]),
        "spherical": lambda c: np.stack([v * np.eye(n_features) for v in c]),
    }[covariance_type](covariances)


def evaluate_at(model, initvals, outputs):
    point = make_initial_point_fn(model=model, overrides=initvals, jitter_rvs=set())(0)
    # deterministics are graphs of the random variables: evaluate them at the value variables
    outputs = model.replace_rvs_by_values(outputs)
    fn = model.compile_fn(outputs, inputs=model.value_vars, mode="FAST_COMPILE", point_fn=True,
                          on_unused_input="ignore")
    return fn(point)


def scipy_mixture_logpdf(X, weights, means, covariances) -> float:
    densities = np.column_stack([
        w * stats.multivariate_normal(m, c).pdf(X)
        for w, m, c in zip(weights, means, covariances, strict=True)
    ])
    return float(np.log(densities.sum(axis=1)).sum())


@pytest.mark.parametrize("n_features", [1, 2])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_model_at_em_start_matches_em_estimate_and_scipy_likelihood(covariance_type, n_features):
    X = two_cluster_data(n_features)
    model = bayes.build_model(X, 2, covariance_type)
    assert set(model.coords) >= {"component", "dim", "obs"}
    assert model.named_vars_to_dims["covariances"] == ("component", "dim", "dim2")
    initvals = em_initvals(X, 2, covariance_type, order_means=True, random_seed=0,
                           resolved=resolve_priors(None, X, 2, covariance_type))
    assert not any(name.endswith("initval") for name in initvals)
    observed_logp, covariances, means, weights = evaluate_at(
        model, initvals,
        [model.logp(vars=model.observed_RVs), model["covariances"], model["means"],
         model["weights"]],
    )
    em_weights, em_means, em_covs = fit_em_solution(X, 2, covariance_type, random_seed=0)
    order = np.argsort(em_means[:, 0])
    em_full = sklearn_layout_to_full(em_covs, covariance_type, 2, n_features)[order]
    np.testing.assert_allclose(covariances, em_full, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(means, em_means[order], rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(weights, em_weights[order], rtol=1e-6)
    expected = scipy_mixture_logpdf(X, em_weights[order], em_means[order], em_full)
    np.testing.assert_allclose(observed_logp, expected, rtol=1e-9)


@pytest.mark.parametrize("n_features", [1, 2])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_one_component_model_is_the_gaussian(covariance_type, n_features):
    """K = 1: weight fixed at 1 (no free simplex), unordered means, likelihood of one Gaussian."""
    X = two_cluster_data(n_features)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. PyMC's single-component Mixture warning
        model = bayes.build_model(X, 1, covariance_type)
    assert {v.name for v in model.free_RVs}.isdisjoint({"weights", "means_first_std"})
    resolved = resolve_priors(None, X, 1, covariance_type)
    initvals = em_initvals(X, 1, covariance_type, order_means=True, random_seed=0,
                           resolved=resolved)
    assert "weights" not in initvals and "means_first_std" not in initvals
    assert jitter_initvals(X, 1, order_means=True, resolved=resolved) == {}
    observed_logp, covariances, means, weights = evaluate_at(
        model, initvals,
        [model.logp(vars=model.observed_RVs), model["covariances"], model["means"],
         model["weights"]],
    )
    np.testing.assert_array_equal(weights, [1.0])
    # EM with one component is the sample mean and the ML covariance (plus reg_covar).
    np.testing.assert_allclose(means[0], X.mean(axis=0), rtol=1e-10, atol=1e-12)
    expected = stats.multivariate_normal(means[0], covariances[0]).logpdf(X).sum()
    np.testing.assert_allclose(observed_logp, expected, rtol=1e-9)


@pytest.mark.parametrize("covariance_type", ["diag", "spherical"])
@pytest.mark.parametrize("scale_prior", ["halfnormal", "exponential", "halfcauchy"])
def test_prior_log_density_matches_scipy(covariance_type, scale_prior):
    """The standardised free variables carry the documented priors on weights, means, scales.

    The model's density is over (weights, means_std, scales_std); the documented one over
    (weights, means, scales) with means = loc + scale means_std and scales = unit
    scales_std, so the two differ by the log-Jacobian sum log scale + sum log unit.
    """
    X = two_cluster_data(2)
    priors = bayes.Priors(weights_concentration=[2.0, 3.0], scale_prior=scale_prior)
    model = bayes.build_model(X, 2, covariance_type, priors)
    resolved = resolve_priors(priors, X, 2, covariance_type)
    initvals = em_initvals(X, 2, covariance_type, order_means=True, random_seed=0,
                           resolved=resolved)
    prior_logp, means, weights, scales = evaluate_at(
        model, initvals,
        [model.logp(vars=model.free_RVs, jacobian=False), model["means"], model["weights"],
         model["scales"]],
    )
    scale_logpdf = {
        "halfnormal": lambda s, p: stats.halfnorm(scale=p).logpdf(s),
        "exponential": lambda s, p: stats.expon(scale=1.0 / p).logpdf(s),
        "halfcauchy": lambda s, p: stats.halfcauchy(scale=p).logpdf(s),
    }[scale_prior]
    expected = (
        stats.dirichlet([2.0, 3.0]).logpdf(weights)
        + stats.norm(resolved.means_loc, resolved.means_scale).logpdf(means).sum()
        + np.sum(scale_logpdf(scales, resolved.scale_param))
    )
    unit = np.broadcast_to(prior_data(resolved)["scale_unit"], scales.shape)
    log_jacobian = 2 * np.log(resolved.means_scale).sum() + np.log(unit).sum()
    np.testing.assert_allclose(prior_logp - log_jacobian, expected, rtol=1e-9)


@pytest.mark.parametrize("n_features", [1, 2])
@pytest.mark.parametrize("covariance_type", COVARIANCE_TYPES)
def test_unordered_and_explicit_models_build(covariance_type, n_features):
    X = two_cluster_data(n_features)
    unordered = bayes.build_model(X, 3, covariance_type, order_means=False)
    assert "means_std" in {v.name for v in unordered.free_RVs}
    explicit = bayes.build_explicit_model(X, 3, covariance_type)
    assert explicit.named_vars_to_dims["Z"] == ("obs",)
    assert {v.name for v in explicit.observed_RVs} == {"X"}


def test_ordered_transform_acts_on_the_first_coordinate_only():
    X = two_cluster_data(2)
    model = bayes.build_model(X, 3, "diag")
    transformed = {v.name: model.rvs_to_transforms[v] for v in model.free_RVs}
    assert type(transformed["means_first_std"]).__name__ == "Ordered"
    assert transformed["means_rest_std"] is None
    assert model.named_vars_to_dims["means_first_std"] == ("component",)
    resolved = resolve_priors(None, X, 3, "diag")
    start = jitter_initvals(X, 3, order_means=True, resolved=resolved)["means_first_std"]
    assert np.all(np.diff(start) > 0)


@pytest.mark.parametrize(
    ("kwargs", "parameter"),
    [
        ({"X": np.array([[0.0, np.nan], [1.0, 2.0]])}, "X"),
        ({"X": np.arange(5.0)}, "X"),
        ({"n_components": 0}, "n_components"),
        ({"n_components": 2.5}, "n_components"),
        ({"n_components": 100}, "n_components"),
        ({"covariance_type": "banded"}, "covariance_type"),
        ({"priors": {"lkj_eta": 2.0}}, "priors"),
    ],
)
def test_bad_model_input_raises_value_error_naming_the_parameter(kwargs, parameter):
    args = {"X": two_cluster_data(2), "n_components": 2, "covariance_type": "full"} | kwargs
    for builder in (bayes.build_model, bayes.build_explicit_model):
        with pytest.raises(ValueError, match=parameter):
            builder(**args)
