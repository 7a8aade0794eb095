"""GaussianMixtureEM: scikit-learn's estimator checks and the estimator API."""

import inspect
import pickle
import subprocess
import sys

import numpy as np
import pytest
from sklearn.base import clone
from sklearn.utils.estimator_checks import check_estimator

from emgmm import GaussianMixtureEM, GaussianMixtureParams, NotFittedError, fit_em

# Checks deliberately not passed, with the reason (also listed in the README).
SKIPPED_CHECKS = {
    # The check insists on sklearn.exceptions.NotFittedError; emgmm raises its own
    # emgmm.NotFittedError (a ValueError and AttributeError, like sklearn's) so that the
    # core never imports scikit-learn.
    "check_estimators_unfitted": "sklearn's NotFittedError class is required",
}


@pytest.mark.filterwarnings("ignore:Estimator GaussianMixtureEM does not inherit")  # on purpose
@pytest.mark.filterwarnings("ignore::sklearn.exceptions.SkipTestWarning")  # array API check
@pytest.mark.parametrize("engine", ["reference", "auto"])
def test_passes_sklearn_estimator_checks(engine):
    results = check_estimator(GaussianMixtureEM(engine=engine), on_fail=None)
    failed = {r["check_name"]: r["exception"] for r in results if r["status"] == "failed"}
    assert set(failed) == set(SKIPPED_CHECKS), failed
    passed = [r for r in results if r["status"] == "passed"]
    assert len(passed) >= 35


def test_unfitted_model_raises_a_value_and_attribute_error(blobs):
    model = GaussianMixtureEM(2)
    for method in (model.predict, model.predict_proba, model.score_samples, model.bic):
        with pytest.raises(NotFittedError, match="call fit"):
            method(blobs)
    assert issubclass(NotFittedError, ValueError) and issubclass(NotFittedError, AttributeError)


def test_fitted_attributes_and_fit_predict_consistency(blobs):
    model = GaussianMixtureEM(3, random_state=0, engine="reference")
    labels = model.fit_predict(blobs)
    np.testing.assert_array_equal(labels, model.predict(blobs))
    assert isinstance(model.params_, GaussianMixtureParams)
    assert model.history_.params is model.params_
    assert model.lower_bounds_ == list(model.history_.log_likelihood_history)
    assert model.n_features_in_ == 2 and model.converged_
    for k in range(3):  # precisions_ is the inverse of covariances_
        np.testing.assert_allclose(model.precisions_[k] @ model.covariances_[k], np.eye(2), atol=1e-10)
    np.testing.assert_allclose(model.predict_proba(blobs).sum(axis=1), 1.0)


def test_sample_is_grouped_by_component_seeded_and_follows_the_model(blobs):
    model = GaussianMixtureEM(3, random_state=0, engine="reference").fit(blobs)
    X, y = model.sample(30_000)
    assert X.shape == (30_000, 2) and np.all(np.diff(y) >= 0)
    np.testing.assert_allclose(np.bincount(y) / y.size, model.weights_, atol=0.01)
    for k in range(3):
        np.testing.assert_allclose(X[y == k].mean(axis=0), model.means_[k], atol=0.05)
        np.testing.assert_allclose(np.cov(X[y == k].T), model.covariances_[k], atol=0.06)
    np.testing.assert_array_equal(model.sample(5)[0], model.sample(5)[0])  # int random_state
    assert not np.array_equal(model.sample(5, random_state=1)[0], model.sample(5, random_state=2)[0])
    with pytest.raises(ValueError, match="n_samples must be an integer >= 1"):
        model.sample(0)


def test_clone_get_params_set_params_and_pickle(blobs):
    model = GaussianMixtureEM(3, covariance_type="diag", n_init=2, random_state=1)
    copy = clone(model)
    assert copy.get_params() == model.get_params()
    assert "covariance_type='diag'" in repr(model)
    with pytest.raises(ValueError, match="invalid parameter 'n_clusters'"):
        model.set_params(n_clusters=3)
    fitted = model.fit(blobs)
    restored = pickle.loads(pickle.dumps(fitted))
    np.testing.assert_array_equal(restored.predict(blobs), fitted.predict(blobs))


def test_from_result_keeps_the_fit_record_with_permuted_components(blobs):
    from dataclasses import replace

    result = fit_em(blobs, 3, random_state=0, engine="reference")
    permuted = replace(result, params=result.params.permuted([2, 0, 1]))
    model = GaussianMixtureEM.from_result(permuted, max_iter=50)
    assert (model.n_iter_, model.converged_, model.max_iter) == (result.n_iter, result.converged, 50)
    np.testing.assert_array_equal(model.means_, result.params.means[[2, 0, 1]])
    np.testing.assert_array_equal(model.lower_bounds_, result.log_likelihood_history)


def test_from_params_builds_a_usable_model(blobs):
    params = GaussianMixtureEM(3, random_state=0, engine="reference").fit(blobs).params_
    model = GaussianMixtureEM.from_params(params)
    assert model.n_iter_ == 0 and model.n_components == 3
    assert np.isfinite(model.score(blobs))


def test_core_never_imports_sklearn():
    code = (
        "import sys, numpy as np, emgmm\n"
        "X = np.random.default_rng(0).normal(size=(60, 2))\n"
        "m = emgmm.GaussianMixtureEM(2, random_state=0, engine='reference').fit(X)\n"
        "emgmm.select_model(X, [1, 2], ['diag'], random_state=0, engine='reference')\n"
        "assert 'sklearn' not in sys.modules, 'sklearn was imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


def test_verbose_reports_starts_and_iterations(blobs, capsys):
    GaussianMixtureEM(2, n_init=2, init_params="kmeans", verbose=2, random_state=0, engine="reference").fit(blobs)
    out = capsys.readouterr().out
    assert out.count("start ") == 2 and "iteration 1: mean log-likelihood" in out


@pytest.mark.parametrize("engine", ["auto", "reference"])
def test_per_row_results_in_blocks_equal_one_e_step(blobs, monkeypatch, engine):
    from emgmm import estimator
    from emgmm.steps import e_step

    model = GaussianMixtureEM(3, random_state=0, engine=engine).fit(blobs)
    log_norm, log_resp = e_step(blobs, model.params_)
    monkeypatch.setattr(estimator, "PREDICT_BLOCK_ROWS", 7)  # many blocks, a partial last one
    np.testing.assert_array_equal(model.predict(blobs), np.argmax(log_resp, axis=1))
    np.testing.assert_allclose(model.score_samples(blobs), log_norm, rtol=1e-10)
    np.testing.assert_allclose(model.predict_proba(blobs), np.exp(log_resp), rtol=1e-9, atol=1e-12)


def test_estimator_defaults_are_fit_em_defaults():
    # the signatures show their defaults literally (scikit-learn's convention); they must agree
    fit_defaults = inspect.signature(fit_em).parameters
    given = GaussianMixtureEM().get_params()
    shared = [name for name in given if name in fit_defaults and name != "n_components"]
    assert {"tol", "reg_covar", "max_iter", "init_params", "engine"} <= set(shared)
    assert {name: given[name] for name in shared} == {
        name: fit_defaults[name].default for name in shared}
