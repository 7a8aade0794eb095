"""Priors: validation of every field and the documented data-scaled defaults."""

from __future__ import annotations

import numpy as np
import pytest

from bayes.priors import Priors, resolve_priors


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("weights_concentration", 0.0),
        ("weights_concentration", -1.0),
        ("weights_concentration", [1.0, np.nan]),
        ("means_loc", np.inf),
        ("means_loc", "zero"),
        ("means_scale", 0.0),
        ("means_scale", [1.0, -2.0]),
        ("scale_prior", "lognormal"),
        ("scale_param", -1.0),
        ("lkj_eta", 0.0),
        ("lkj_eta", [1.0, 2.0]),
    ],
)
def test_invalid_prior_field_raises_value_error_naming_it(field, value):
    with pytest.raises(ValueError, match=field):
        Priors(**{field: value})


def test_priors_are_frozen_hashable_and_round_trip_json():
    priors = Priors(weights_concentration=[5.0, 5.0], means_loc=0.0, means_scale=2.0,
                    scale_prior="exponential", scale_param=[1.0, 2.0], lkj_eta=1.5)
    assert priors.weights_concentration == (5.0, 5.0)
    assert Priors.from_json(priors.to_json()) == priors
    assert hash(priors) == hash(Priors.from_json(priors.to_json()))
    with pytest.raises(AttributeError):
        priors.lkj_eta = 3.0  # type: ignore[misc]


def test_data_scaled_defaults_follow_the_documentation():
    rng = np.random.default_rng(0)
    X = rng.normal(loc=[1.0, -3.0], scale=[2.0, 0.5], size=(400, 2))
    sd = X.std(axis=0, ddof=1)
    resolved = resolve_priors(None, X, 3, "full")
    np.testing.assert_allclose(resolved.weights_concentration, np.ones(3))
    np.testing.assert_allclose(resolved.means_loc, X.mean(axis=0))
    np.testing.assert_allclose(resolved.means_scale, 2.0 * sd)
    np.testing.assert_allclose(resolved.scale_param, sd)
    rate = resolve_priors(Priors(scale_prior="exponential"), X, 3, "diag").scale_param
    np.testing.assert_allclose(rate, 1.0 / sd)
    spherical = resolve_priors(None, X, 3, "spherical").scale_param
    assert spherical.shape == ()
    np.testing.assert_allclose(spherical, np.sqrt(np.mean(sd**2)))


def test_explicit_values_override_defaults_and_broadcast():
    X = np.random.default_rng(1).normal(size=(50, 2))
    resolved = resolve_priors(Priors(weights_concentration=5.0, means_loc=0.0, means_scale=2.0,
                                     scale_param=[1.0, 3.0]), X, 2, "diag")
    np.testing.assert_allclose(resolved.weights_concentration, [5.0, 5.0])
    np.testing.assert_allclose(resolved.means_loc, [0.0, 0.0])
    np.testing.assert_allclose(resolved.means_scale, [2.0, 2.0])
    np.testing.assert_allclose(resolved.scale_param, [1.0, 3.0])


@pytest.mark.parametrize(
    ("priors", "covariance_type", "field"),
    [
        (Priors(weights_concentration=[1.0, 1.0]), "full", "weights_concentration"),
        (Priors(means_loc=[0.0, 0.0, 0.0]), "full", "means_loc"),
        (Priors(means_scale=[1.0]), "diag", "means_scale"),
        (Priors(scale_param=[1.0, 1.0]), "spherical", "scale_param"),
    ],
)
def test_wrong_lengths_for_the_data_raise(priors, covariance_type, field):
    X = np.random.default_rng(2).normal(size=(30, 2))
    with pytest.raises(ValueError, match=field):
        resolve_priors(priors, X, 3, covariance_type)


def test_constant_column_gets_a_unit_scale():
    X = np.column_stack([np.arange(10.0), np.full(10, 4.0)])
    resolved = resolve_priors(None, X, 2, "diag")
    assert np.all(resolved.scale_param > 0)
    assert resolved.scale_param[1] == 1.0
