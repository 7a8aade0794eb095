"""The per-process model cache and results that do not depend on PyTensor's compile cache.

The sampled tests use one tiny shape (K = 2, D = 1, spherical: the shape of
test_explicit.py and test_posteriordb.py) with short chains.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pytest

import bayes
from bayes import compiled
from bayes.priors import Priors, resolve_priors
from tests.bayes.conftest import make_separated_data

ROOT = Path(__file__).resolve().parents[2]
TINY = {"draws": 30, "tune": 30, "chains": 1, "cores": 1, "posterior_predictive": False}


def tiny_data(seed: int, n_samples: int = 40) -> np.ndarray:
    """Two 1-D clusters at -2 and 2."""
    rng = np.random.default_rng(seed)
    centres = np.where(rng.random(n_samples) < 0.5, -2.0, 2.0)
    return (centres + rng.normal(size=n_samples))[:, None]


def tiny_draws(seed: int, sampler: str = "pymc") -> np.ndarray:
    """Posterior draws of the means of a tiny fit (also the process-pool task); ``"advi"``:
    draws of a tiny ADVI fit."""
    if sampler == "advi":
        tree = bayes.fit_vi(tiny_data(seed), 2, "spherical", n_iter=300, draws=30,
                            random_seed=seed, posterior_predictive=False)
    else:
        tree = bayes.sample(tiny_data(seed), 2, "spherical", random_seed=seed,
                            sampler=sampler, **TINY)
    return tree["posterior"]["means"].values


def key_of(X, n_components=2, covariance_type="spherical", priors=None, **kwargs):
    resolved = resolve_priors(priors, X, n_components, covariance_type)
    settings = {"formulation": "marginalized", "order_means": True, "sampler": "pymc"} | kwargs
    return compiled.model_key(X, n_components, covariance_type, resolved, **settings)


def test_key_ignores_data_values_and_n_but_not_the_shape():
    assert key_of(tiny_data(0)) == key_of(tiny_data(1, n_samples=90) * 100.0)
    assert key_of(tiny_data(0)) != key_of(np.hstack([tiny_data(0), tiny_data(1)]))
    assert key_of(tiny_data(0)) != key_of(tiny_data(0), n_components=3)
    assert key_of(tiny_data(0)) != key_of(tiny_data(0), covariance_type="diag")
    assert key_of(tiny_data(0)) != key_of(tiny_data(0), sampler="nutpie")
    assert key_of(tiny_data(0)) != key_of(tiny_data(0), priors=Priors(lkj_eta=1.0))
    assert key_of(tiny_data(0)) != key_of(tiny_data(0), priors=Priors(scale_prior="halfcauchy"))
    # user-given prior locations and scales are data of the model, not part of its key
    assert key_of(tiny_data(0)) == key_of(tiny_data(0), priors=Priors(means_loc=3.0))


def test_explicit_labels_make_n_part_of_the_key():
    first = key_of(tiny_data(0), formulation="explicit")
    assert first == key_of(tiny_data(1), formulation="explicit")
    assert first != key_of(tiny_data(0, n_samples=41), formulation="explicit")


@pytest.mark.slow
def test_a_model_compiled_ahead_samples_as_a_fresh_one():
    compiled.clear_model_cache()
    fresh = bayes.sample(tiny_data(2, n_samples=55), 2, "spherical", random_seed=3, **TINY)
    compiled.clear_model_cache()
    assert bayes.compile_model(1, 2, "spherical") > 0
    assert bayes.compile_model(1, 2, "spherical", sampler="nutpie") == 0.0  # compiles on use
    assert bayes.compile_model(1, 2, "spherical", formulation="explicit") == 0.0
    ahead = bayes.sample(tiny_data(2, n_samples=55), 2, "spherical", random_seed=3, **TINY)
    assert ahead.attrs["model_reused"] == 1
    for name in ("means", "weights", "covariances"):
        np.testing.assert_array_equal(ahead["posterior"][name].values,
                                      fresh["posterior"][name].values)


@pytest.mark.slow
def test_reused_model_gives_the_draws_of_a_fresh_one():
    compiled.clear_model_cache()
    first = bayes.sample(tiny_data(0), 2, "spherical", random_seed=1, **TINY)
    # another data set (and N) of the same shape: the compiled model is reused
    reused = bayes.sample(tiny_data(2, n_samples=55), 2, "spherical", random_seed=3, **TINY)
    compiled.clear_model_cache()
    fresh = bayes.sample(tiny_data(2, n_samples=55), 2, "spherical", random_seed=3, **TINY)
    assert (first.attrs["model_reused"], reused.attrs["model_reused"]) == (0, 1)
    assert fresh.attrs["model_reused"] == 0
    for name in ("means", "weights", "covariances"):
        np.testing.assert_array_equal(reused["posterior"][name].values,
                                      fresh["posterior"][name].values)
    np.testing.assert_array_equal(reused["observed_data"]["X"].values,
                                  tiny_data(2, n_samples=55))


def run_in_fresh_process(seeds: list[int], compile_dir: Path,
                         sampler: str = "pymc") -> list[np.ndarray]:
    """``tiny_draws`` for each seed in a new interpreter using ``compile_dir`` as cache."""
    out = compile_dir.parent / "draws.npy"
    code = (
        "import numpy as np; from tests.bayes.test_compiled import tiny_draws; "
        f"np.save({str(out)!r}, np.stack([tiny_draws(s, {sampler!r}) for s in {seeds!r}]))"
    )
    python_path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    env = dict(os.environ, PYTENSOR_FLAGS=f"base_compiledir={compile_dir}",
               PYTHONPATH=python_path)
    subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, check=True, timeout=1200)
    return list(np.load(out))


@pytest.mark.slow
@pytest.mark.parametrize("sampler", ["pymc", "nutpie", "advi"])
def test_draws_do_not_depend_on_the_compile_cache_or_the_executor(tmp_path, monkeypatch,
                                                                  sampler):
    """A process pool on fresh PyTensor and numba caches (cold: its two workers compile at
    once and mix fresh and cached kernels), a new process on the caches it filled (warm)
    and this process (whatever its caches hold) give identical draws, with PyMC's NUTS (on
    the numba kernels of bayes.posterior_kernel, cached by numba), nutpie (whose numba logp
    is compiled under the same flags) and ADVI (the kernel inside PyTensor's compiled step).

    With PyTensor's default fast-math kernels, cold and warm runs differed (freshly
    compiled and cached kernels round differently), and a pool on a cold cache gave a third
    answer.
    """
    if sampler == "nutpie":
        pytest.importorskip(sampler, reason="optional extra: pip install 'gmm-compare[nutpie]'")
    seeds = [5, 6]
    cache = tmp_path / "cache"
    python_path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    monkeypatch.setenv("PYTENSOR_FLAGS", f"base_compiledir={cache}")
    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path / "numba"))
    monkeypatch.setenv("PYTHONPATH", python_path)
    with ProcessPoolExecutor(2, mp_context=get_context("spawn")) as pool:
        pooled = list(pool.map(tiny_draws, seeds, [sampler] * len(seeds)))
    warm = run_in_fresh_process(seeds, cache, sampler)
    here = [tiny_draws(seed, sampler) for seed in seeds]
    for seed, a, b, c in zip(seeds, pooled, warm, here, strict=True):
        np.testing.assert_array_equal(a, b, err_msg=f"cold pool vs warm process, seed {seed}")
        np.testing.assert_array_equal(a, c, err_msg=f"cold pool vs this process, seed {seed}")


# the explicit case uses the shape of test_explicit.py (its priors' concentration is in the
# key), the full one the 2-D shape of conftest.separated_fit (a packed Cholesky transform)
EXPLICIT_PRIORS = Priors(weights_concentration=5.0, means_loc=0.0, means_scale=2.0,
                         scale_param=2.0)
PREPARED_CASES = {
    "marginalized": ("marginalized", "spherical", 2, Priors(), lambda: tiny_data(4)),
    "explicit": ("explicit", "spherical", 2, EXPLICIT_PRIORS, lambda: tiny_data(4, 60)),
    "full": ("marginalized", "full", 3, Priors(), lambda: make_separated_data(300, 1)[0]),
}


@pytest.mark.slow
@pytest.mark.parametrize("case", list(PREPARED_CASES))
def test_prepared_step_and_reused_trace_give_the_draws_of_plain_pm_sample(case, monkeypatch):
    """``bayes.sample`` makes PyMC's step (NUTS, or NUTS + Gibbs for explicit labels)
    beforehand from the cached model and copies its trace template per chain; plain
    ``pm.sample`` (its own step choice, initialisation and freshly compiled trace) on the
    same model, data, starts and seed gives the same draws, also when the entry is reused."""
    import pymc as pm
    import pytensor

    from bayes import sampling

    formulation, covariance_type, n_components, priors, make_data = PREPARED_CASES[case]
    X, seed = make_data(), 7
    settings = TINY | {"chains": 2, "formulation": formulation}
    args = (X, n_components, covariance_type, priors)
    tree = bayes.sample(*args, random_seed=seed, **settings)
    again = bayes.sample(*args, random_seed=seed, **settings)
    resolved = resolve_priors(priors, X, n_components, covariance_type)
    entry, reused, _ = compiled.compiled_model(*args, resolved, formulation=formulation,
                                               order_means=True, sampler="pymc")
    seeds = sampling.seed_streams(seed)
    initvals = sampling.starting_values(X, n_components, covariance_type, True, "em",
                                        formulation, seeds["em"], resolved)
    if formulation == "marginalized":  # PyMC's NUTS initialisation on the same logp
        monkeypatch.setattr(entry.model, "logp_dlogp_function",
                            lambda *args, **kwargs: entry.logp_dlogp)
    with entry.model, pytensor.config.change_flags(**compiled.DETERMINISTIC_FLAGS):
        plain = pm.sample(draws=30, tune=30, chains=2, cores=1, random_seed=seeds["sampler"],
                          nuts_sampler="pymc", initvals=initvals, init="adapt_diag",
                          nuts={"target_accept": 0.9}, progressbar=False, quiet=True,
                          compute_convergence_checks=False)
    assert reused and again.attrs["model_reused"] == 1
    names = ("means", "weights", "covariances") + (("Z",) if formulation == "explicit" else ())
    for name in names:
        expected = plain["posterior"][name].values
        assert not np.array_equal(expected[0], expected[1])  # two chains, not one copied
        # the recorded variables: ours from the numba kernels, plain pm.sample's from the
        # model graph (same draws, rounding of the deterministics may differ)
        np.testing.assert_allclose(tree["posterior"][name].values, expected, rtol=1e-13)
        np.testing.assert_array_equal(again["posterior"][name].values,
                                      tree["posterior"][name].values)
    for name in ("diverging", "step_size", "n_steps"):
        np.testing.assert_array_equal(tree["sample_stats"][name].values,
                                      plain["sample_stats"][name].values)
