"""``bayes.fit_vi``: PyMC's variational approximations of the mixture posterior.

The model is :func:`bayes.build_model`'s (same priors, covariance types and ordering
constraint), compiled once per shape (:mod:`bayes.compiled`). ADVI maximises the evidence
lower bound over a Gaussian :math:`q_\\phi` in the unconstrained space :math:`\\zeta` of
the free variables,

.. math::

    \\operatorname{ELBO}(\\phi) = \\mathbb E_{q_\\phi}\\big[\\log p(X, T^{-1}(\\zeta))
        + \\log |\\det J_{T^{-1}}(\\zeta)|\\big] + \\mathcal H[q_\\phi]
    \\;\\le\\; \\log p(X),

by stochastic gradient steps, each on a one-draw Monte Carlo estimate (the
reparameterisation :math:`\\zeta = \\mu + \\sigma \\odot \\epsilon`, or
:math:`\\mu + L\\epsilon` for full rank). ``method="advi"`` is the mean-field
(diagonal) Gaussian, ``"fullrank_advi"`` the full-covariance one (:mod:`bayes.vi_compiled`).

Start: the mean of :math:`q` at the EM estimate (:func:`bayes.initvals.em_initvals`, mapped
to the unconstrained space by the model's transforms), its sd ``initial_sd`` in every
direction. Label switching is removed as in :func:`bayes.sample`: the ordered transform
on the first coordinate of the means holds in every draw of :math:`q` too.

Groups of the returned tree are those of :func:`bayes.sample` without ``sample_stats``:
``posterior`` (one chain of ``draws`` draws from :math:`q`, same variable names and
dims), ``observed_data``, ``log_likelihood``, ``latent``, ``posterior_predictive``; and
``variational``: ``loss`` (iteration,), PyMC's loss history, the negative ELBO estimate
at each step. Pathfinder is not offered: the maintained implementation (pymc-extras) pins
an older PyMC.
"""

from __future__ import annotations

import numbers
import time

import arviz as az
import numpy as np
import xarray as xr

from bayes.compiled import compiled_model, model_key, placeholder_model_args
from bayes.initvals import em_initvals
from bayes.posterior_function import PosteriorFunction, split_values, transformed_start
from bayes.posterior_op import FREE_NAME, vi_model
from bayes.priors import Priors, resolve_priors
from bayes.sampling import add_derived_groups, provenance, seed_streams
from bayes.validation import check_choice, check_model_args, check_positive_int
from bayes.vi_compiled import (
    INFERENCE_CLASSES,
    VIKey,
    approximation_draws,
    compiled_inference,
    run_inference,
)

VI_METHODS = tuple(INFERENCE_CLASSES)
# Default learning rate (of adagrad_window) and steps per method. Each step moves every
# variational parameter by about the learning rate, so the single-draw noise keeps q's
# scale parameters jittering at that size: at 0.01 full rank's many Cholesky entries make q
# twice as wide as NUTS's posterior in the means, on a noise floor 30 nats of ELBO below
# what 0.001 reaches; 0.001 needs 20000-30000 steps (measured, README "Variational fits").
METHOD_DEFAULTS = {"advi": {"learning_rate": 0.01, "n_iter": 10000},
                   "fullrank_advi": {"learning_rate": 0.001, "n_iter": 30000}}
FORMULATION = "marginalized"
CACHE_TAG = "vi"  # the compiled-model cache entry of VI (no NUTS functions compiled)
# fraction of the last iterations averaged for the final ELBO (single draws are noisy)
FINAL_FRACTION = 0.1


def check_positive_real(value, name: str) -> float:
    """A finite real number > 0 (bools rejected)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (
        np.isfinite(value) and value > 0
    ):
        raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    return float(value)


def check_vi_args(*, method, n_iter, draws, learning_rate, initial_sd, random_seed) -> None:
    """Validate the options of :func:`fit_vi`; raise ValueError naming the bad one."""
    check_choice(method, "method", VI_METHODS)
    check_positive_int(n_iter, "n_iter")
    check_positive_int(draws, "draws")
    check_positive_real(learning_rate, "learning_rate")
    check_positive_real(initial_sd, "initial_sd")
    if random_seed is not None:
        check_positive_int(random_seed, "random_seed", minimum=0)


def final_elbo(loss: np.ndarray) -> float:
    """ELBO at the end: minus the mean loss over the last 10% of the iterations."""
    tail = max(1, round(FINAL_FRACTION * loss.size))
    return float(-np.mean(loss[-tail:]))


def history_dataset(loss: np.ndarray) -> xr.Dataset:
    """The ``variational`` group: ``loss`` (iteration,), the negative ELBO estimates."""
    return xr.Dataset({"loss": (("iteration",), loss)},
                      coords={"iteration": np.arange(loss.size)})


def approximation_posterior(approximation, draws: int, seed: int, model,
                            function: PosteriorFunction) -> xr.Dataset:
    """``draws`` draws from q as a posterior Dataset (chain 0), variables as in pm.sample.

    The approximation is over the flat ``q`` of the VI model; every draw is mapped to the
    model's free variables and deterministics (:meth:`PosteriorFunction.recorded_values`),
    with the dims and coords of ``model``.
    """
    flat = approximation_draws(approximation.groups[0], draws, seed)
    names = [var.name for var in model.free_RVs + model.deterministics]
    recorded = [function.recorded_values(*split_values(function.layout, q)) for q in flat]
    values = {name: np.stack([draw[name] for draw in recorded])[None] for name in names}
    dims = {name: model.named_vars_to_dims.get(name, ()) for name in names}
    used = {dim for var_dims in dims.values() for dim in var_dims}
    coords = {dim: np.asarray(values) for dim, values in model.coords.items() if dim in used}
    tree = az.from_dict({"posterior": values}, coords=coords, dims=dims)
    return tree["posterior"].to_dataset().assign_attrs(inference_library="pymc")


def vi_entry(X: np.ndarray, n_components: int, covariance_type: str, priors: Priors,
             resolved, method: str, learning_rate: float, order_means: bool):
    """(cached model holding ``X``, its VI model built, the step's :class:`VIKey`, seconds
    building the model)."""
    entry, _, build_time = compiled_model(
        X, n_components, covariance_type, priors, resolved, formulation=FORMULATION,
        order_means=order_means, sampler=CACHE_TAG)
    if entry.vi_model is None:
        entry.vi_model = vi_model(entry.logp_dlogp)
    key = VIKey(model_key(X, n_components, covariance_type, resolved, formulation=FORMULATION,
                          order_means=order_means, sampler=CACHE_TAG),
                method, float(learning_rate))
    return entry, key, build_time


def compile_vi(n_features: int, n_components: int, covariance_type: str = "full",
               priors: Priors | None = None, *, method: str = "advi",
               learning_rate: float | None = None, order_means: bool = True) -> float:
    """Compile what :func:`fit_vi` with these arguments compiles, without fitting: the
    posterior kernels and the optimisation step of this model shape, into this process's
    caches and the on-disk compile caches; returns the seconds it took.

    The model's data are a placeholder (:func:`bayes.compiled.placeholder_model_args`).
    ``gmm-compare run`` calls it on a spare core at the start of a serial run
    (:mod:`experiments.run.spare`), so that the run's first ADVI fit loads what an empty
    cache would make it compile.
    """
    check_choice(method, "method", VI_METHODS)
    learning_rate = (METHOD_DEFAULTS[method]["learning_rate"] if learning_rate is None
                     else learning_rate)
    X, n_components, covariance_type, priors, resolved = placeholder_model_args(
        n_features, n_components, covariance_type, priors)
    start = time.perf_counter()
    entry, key, _ = vi_entry(X, n_components, covariance_type, priors, resolved, method,
                             learning_rate, order_means)
    compiled_inference(entry.vi_model, key)
    return time.perf_counter() - start


def fit_vi(
    X,
    n_components: int,
    covariance_type: str = "full",
    priors: Priors | None = None,
    *,
    method: str = "advi",
    n_iter: int | None = None,
    draws: int = 1000,
    learning_rate: float | None = None,
    initial_sd: float = 0.1,
    order_means: bool = True,
    random_seed: int | None = None,
    posterior_predictive: bool = True,
) -> xr.DataTree:
    """Fit a variational approximation of the mixture posterior and draw from it.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_components : int
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
    priors : Priors, optional
        ``None`` uses ``Priors()`` (data-scaled defaults, see :mod:`bayes.priors`).
    method : {'advi', 'fullrank_advi'}
        Mean-field or full-rank Gaussian in the unconstrained space.
    n_iter : int, optional
        Optimisation steps (PyMC's ``adagrad_window``); ``None``: :data:`METHOD_DEFAULTS`
        of ``method`` (10000 for ``advi``, 30000 for ``fullrank_advi``).
    draws : int
        Draws from the fitted approximation (one chain).
    learning_rate : float, optional
        ``None``: :data:`METHOD_DEFAULTS` of ``method`` (0.01 for ``advi``, 0.001 for
        ``fullrank_advi``).
    initial_sd : float
        Start sd of q in every unconstrained direction (its mean starts at EM's estimate).
    order_means : bool
        Order the first coordinate of the means (removes label switching).
    random_seed : int, optional
        Seeds EM, the optimisation, the draws and the predictive draws; ``None`` draws a
        fresh seed, recorded in ``attrs['random_seed']``.
    posterior_predictive : bool

    Returns
    -------
    xarray.DataTree
        See the module docstring for the groups; attrs ``method``, ``n_iter``,
        ``fit_time`` (seconds of the iterations), ``compile_time``, ``elbo_final``
        (minus the mean loss of the last 10% of the iterations), ``init_time``.

    Raises
    ------
    ValueError, TypeError
        Bad input, before any model is compiled.
    FloatingPointError
        The optimisation diverged (non-finite loss).
    """
    check_choice(method, "method", VI_METHODS)
    defaults = METHOD_DEFAULTS[method]
    learning_rate = defaults["learning_rate"] if learning_rate is None else learning_rate
    n_iter = defaults["n_iter"] if n_iter is None else n_iter
    check_vi_args(method=method, n_iter=n_iter, draws=draws, learning_rate=learning_rate,
                  initial_sd=initial_sd, random_seed=random_seed)
    X, n_components, covariance_type = check_model_args(X, n_components, covariance_type)
    priors = Priors() if priors is None else priors
    resolved = resolve_priors(priors, X, n_components, covariance_type)
    if random_seed is None:
        random_seed = int(np.random.SeedSequence().generate_state(1)[0])
    seeds = seed_streams(random_seed)
    fit_seed, draw_seed = (int(s) for s in
                           np.random.SeedSequence(seeds["sampler"]).generate_state(2))

    start = time.perf_counter()
    initvals = em_initvals(X, n_components, covariance_type, order_means, seeds["em"],
                           resolved)
    init_time = time.perf_counter() - start
    entry, key, build_time = vi_entry(X, n_components, covariance_type, priors, resolved,
                                      method, learning_rate, order_means)
    start = {FREE_NAME: transformed_start(entry.logp_dlogp.layout, initvals)}
    run = run_inference(entry.vi_model, key, start, n_iter, initial_sd, fit_seed)
    tree = xr.DataTree.from_dict({"posterior": approximation_posterior(
        run.approximation, draws, draw_seed, entry.model, entry.logp_dlogp)})
    tree = add_derived_groups(tree, X, posterior_predictive, seeds["predictive"])
    tree["variational"] = xr.DataTree(history_dataset(run.loss))
    tree.attrs.update(provenance(
        priors, resolved, method=method, formulation=FORMULATION, init="em",
        random_seed=random_seed, covariance_type=covariance_type, n_components=n_components,
        order_means=order_means, n_iter=n_iter, draws=draws,
        learning_rate=float(learning_rate), initial_sd=float(initial_sd),
        fit_time=float(run.fit_time), compile_time=float(build_time + run.compile_time),
        model_reused=run.reused, elbo_final=final_elbo(run.loss), init_time=float(init_time),
    ))
    return tree
