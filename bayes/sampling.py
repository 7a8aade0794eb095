"""``bayes.sample``: posterior draws of the mixture as an ``xarray.DataTree``.

Groups of the returned tree: ``posterior`` (``weights``, ``means``, full
``covariances``, the free variables), ``sample_stats``, ``observed_data``,
``log_likelihood`` (pointwise, marginal over Z, for ``az.loo``), ``latent``
(``membership`` (obs, component) and ``map_label`` (obs)) and ``posterior_predictive``.
Root attrs record priors, sampler, formulation, init, seed, timings and versions.
"""

from __future__ import annotations

import importlib.util
import json
import time
import warnings

import arviz
import numpy as np
import pymc as pm
import pytensor
import xarray as xr

from pymc.backends.arviz import patch_nutpie_idata
from pymc.blocking import DictToArrayBijection
from pymc.initial_point import make_initial_point_fns_per_chain
from pymc.sampling.mcmc import instantiate_steppers
from pymc.step_methods import CompoundStep
from pymc.step_methods.hmc.quadpotential import QuadPotentialDiagAdapt
from pymc.util import get_random_generator
from pymc.vartypes import discrete_types

from bayes.compiled import DETERMINISTIC_FLAGS, compiled_model, nutpie_model, placeholder_model_args
from bayes.initvals import em_initvals, jitter_initvals
from bayes.latent import latent_dataset, log_likelihood_dataset, membership_and_log_likelihood
from bayes.model import OBSERVED_NAME
from bayes.predictive import posterior_predictive_dataset
from bayes.priors import Priors, ResolvedPriors, resolve_priors
from bayes.validation import check_model_args, check_sampling_args

# sampler -> the optional module it needs (installed by the extra of the same name)
OPTIONAL_MODULES = {"pymc": None, "nutpie": "nutpie", "numpyro": "numpyro"}


def module_available(name: str) -> bool:
    """Whether an optional module can be imported."""
    return importlib.util.find_spec(name) is not None


def require_sampler(sampler: str) -> None:
    """Raise a one-line ValueError if the sampler's optional package is missing."""
    module = OPTIONAL_MODULES[sampler]
    if module is not None and not module_available(module):
        raise ValueError(
            f"sampler={sampler!r} needs {module}, which is not installed: "
            f"pip install 'gmm-compare[{sampler}]'"
        )


def seed_streams(random_seed: int) -> dict[str, int]:
    """Independent integer seeds for EM, the sampler and the predictive draws."""
    children = np.random.SeedSequence(random_seed).spawn(3)
    names = ("em", "sampler", "predictive")
    return {name: int(child.generate_state(1)[0]) for name, child in zip(names, children)}


def pymc_options(initvals: dict, jitter: bool, cores, target_accept: float) -> dict:
    """pm.sample arguments for PyMC's NUTS (per-chain initvals allowed, jitter optional)."""
    return {
        "initvals": initvals,
        "init": "jitter+adapt_diag" if jitter else "adapt_diag",
        "cores": cores,
        "nuts": {"target_accept": target_accept},
    }


# pm.sample arguments per sampler (nutpie and numpyro run on the cached model: run_nutpie,
# bayes.numpyro_cached)
SAMPLER_OPTIONS = {"pymc": pymc_options}


def initial_labels(X: np.ndarray, initvals: dict, resolved: ResolvedPriors) -> np.ndarray:
    """Start of the explicit labels Z: the nearest starting mean, in standardised units."""
    if "means_std" in initvals:
        means = initvals["means_std"]
    elif "means_rest_std" in initvals:
        means = np.column_stack([initvals["means_first_std"], initvals["means_rest_std"]])
    else:
        means = np.asarray(initvals["means_first_std"])[:, None]
    standardised = (X - resolved.means_loc) / resolved.means_scale
    distances = ((standardised[:, None, : means.shape[1]] - means[None]) ** 2).sum(axis=-1)
    return np.argmin(distances, axis=1)


def starting_values(X, n_components, covariance_type, order_means, init, formulation, seed,
                    resolved):
    """Initial values for ``pm.sample``: EM solution or minimal jitter starts."""
    if init == "em":
        initvals = em_initvals(X, n_components, covariance_type, order_means, seed, resolved)
    else:
        initvals = jitter_initvals(X, n_components, order_means, resolved)
    if formulation == "explicit" and initvals:
        initvals["Z"] = initial_labels(X, initvals, resolved)
    return initvals


def compile_model(n_features: int, n_components: int, covariance_type: str = "full",
                  priors: Priors | None = None, *, sampler: str = "pymc",
                  formulation: str = "marginalized", order_means: bool = True) -> float:
    """Compile what :func:`sample` with these arguments compiles before sampling, without
    sampling, on placeholder data (:func:`bayes.compiled.placeholder_model_args`); returns the
    seconds it took. Only PyMC's NUTS on the marginalized model compiles anything ahead
    (its numba posterior kernels, for every shape at once); nutpie and numpyro compile on
    their first fit, and the explicit model's shape includes the number of rows.
    """
    if sampler != "pymc" or formulation != "marginalized":
        return 0.0
    X, n_components, covariance_type, priors, resolved = placeholder_model_args(
        n_features, n_components, covariance_type, priors)
    return compiled_model(X, n_components, covariance_type, priors, resolved,
                          formulation=formulation, order_means=order_means,
                          sampler=sampler)[2]


def chain_seeds(seed: int, chains: int) -> list[int]:
    """The per-chain seeds ``pm.sample`` derives from ``random_seed`` (its initialisation's)."""
    return [rng.integers(2**30) for rng in get_random_generator(seed).spawn(chains)]


def initial_points(model, initvals: dict, seeds: list[int]) -> list[dict]:
    """Per-chain starts at ``initvals`` without jitter (``pm.sample``'s, same seeds)."""
    point_fns = make_initial_point_fns_per_chain(model=model, overrides=initvals,
                                                 jitter_rvs=set(), chains=len(seeds))
    return [point_fn(chain_seed) for point_fn, chain_seed in zip(point_fns, seeds)]


def nuts_step(entry, options: dict, chains: int, seed: int):
    """The NUTS step ``pm.sample(init="adapt_diag")`` would make, on the cached logp.

    As ``pymc.sampling.mcmc.init_nuts``: starts at ``initvals``, a diagonal mass matrix
    adapted from the mean start with unit variances (weight 10), seeded with the first
    chain's seed. Given the step, ``pm.sample`` skips choosing step methods (a symbolic
    gradient of the logp per free variable) and the per-call copy of the logp function.
    """
    seeds = chain_seeds(seed, chains)
    starts = initial_points(entry.model, options["initvals"], seeds)
    mean = np.mean([DictToArrayBijection.map(start).data for start in starts], axis=0)
    potential = QuadPotentialDiagAdapt(len(mean), mean, np.ones_like(mean), 10, rng=seeds[0])
    return pm.NUTS(potential=potential, model=entry.model, rng=seeds[0],
                   initial_point=starts[0], logp_dlogp_func=entry.logp_dlogp,
                   **options["nuts"])


def compound_step(entry, options: dict, chains: int, seed: int):
    """The compound step (explicit formulation) ``pm.sample`` would make.

    The assignment of variables to step methods comes from the cached model
    (``entry.step_methods``) and NUTS runs on the cached logp function.
    """
    starts = initial_points(entry.model, options["initvals"], chain_seeds(seed, chains))
    nuts = options["nuts"] | {"logp_dlogp_func": entry.logp_dlogp}
    steps = instantiate_steppers(entry.model, steps=[], selected_steps=entry.step_methods,
                                 step_kwargs={"nuts": nuts}, initial_point=starts[0])
    return CompoundStep(steps) if isinstance(steps, list) else steps


def prepared_pymc_options(entry, options: dict, chains: int, seed: int) -> dict:
    """pm.sample arguments with the trace template and, unless the starts are jittered,
    the step prepared beforehand.

    ``pm.sample`` given a step makes its starts from ``initvals`` without jitter, exactly
    as its NUTS initialisation does with ``init="adapt_diag"`` and as it does for a compound
    step; jittered NUTS starts are left to ``pm.sample``'s own initialisation.
    """
    prepared = {**options, "trace": entry.trace}
    if all(var.dtype not in discrete_types for var in entry.model.value_vars):
        if options["init"] != "adapt_diag":
            return prepared
        step = nuts_step(entry, options, chains, seed)
    else:
        step = compound_step(entry, options, chains, seed)
    prepared["step"] = step
    del prepared["nuts"], prepared["init"]
    return prepared


def run_sampler(entry, sampler, options, draws, tune, chains, seed, progressbar):
    """pm.sample with an explicit ``nuts_sampler`` (PyMC 6.4 would pick nutpie silently).

    With PyMC's sampler, the step and starts are made beforehand from the cached model
    (:func:`nuts_step`, :func:`compound_step`) and the cached trace template (its
    compiled point function) is reused: the same draws as plain ``pm.sample``, without
    its per-call symbolic gradients and trace compilation.
    """
    with entry.model, warnings.catch_warnings(), \
            pytensor.config.change_flags(**DETERMINISTIC_FLAGS):
        warnings.filterwarnings("ignore", message=".*not enough devices.*")
        if sampler == "pymc":
            options = prepared_pymc_options(entry, options, chains, seed)
        return pm.sample(
            draws=draws,
            tune=tune,
            chains=chains,
            random_seed=seed,
            nuts_sampler=sampler,
            progressbar=progressbar,
            quiet=not progressbar,
            compute_convergence_checks=False,
            **options,
        )


def run_nutpie(entry, X, resolved, initvals, jitter, draws, tune, chains, cores, seed,
               target_accept):
    """nutpie on the cached compiled model (what ``pm.sample(nuts_sampler="nutpie")`` does,
    without recompiling for every data set)."""
    import nutpie  # optional extra, imported only when asked for

    compiled = nutpie_model(entry, X, resolved, initvals, jitter)
    start = time.perf_counter()
    tree = nutpie.sample(compiled, draws=draws, tune=max(tune, 1), chains=chains,
                         cores=cores or chains, seed=seed, save_warmup=False,
                         store_unconstrained=False, progress_bar=False,
                         target_accept=target_accept)
    patch_nutpie_idata(tree, entry.model, sampling_time=time.perf_counter() - start)
    return tree


def provenance(priors: Priors, resolved, **fields) -> dict:
    """Root attrs: priors as JSON, run settings, library versions (netCDF-safe types)."""
    resolved_json = {
        name: np.asarray(getattr(resolved, name)).tolist()
        for name in ("weights_concentration", "means_loc", "means_scale", "scale_param")
    }
    attrs = {
        "priors": priors.to_json(),
        "priors_resolved": json.dumps(resolved_json),
        "pymc_version": pm.__version__,
        "arviz_version": arviz.__version__,
        "inference_library": "pymc",
    }
    attrs.update({k: (int(v) if isinstance(v, bool) else v) for k, v in fields.items()})
    return attrs


def add_derived_groups(tree: xr.DataTree, X: np.ndarray, posterior_predictive: bool, seed: int):
    """Add observed_data, log_likelihood, latent and posterior_predictive groups."""
    posterior = tree["posterior"].to_dataset()
    membership, log_likelihood = membership_and_log_likelihood(X, posterior)
    coords = {"obs": np.arange(X.shape[0]), "dim": np.arange(X.shape[1])}
    tree["observed_data"] = xr.DataTree(
        xr.Dataset({OBSERVED_NAME: (("obs", "dim"), X)}, coords=coords)
    )
    tree["log_likelihood"] = xr.DataTree(log_likelihood_dataset(log_likelihood, OBSERVED_NAME))
    tree["latent"] = xr.DataTree(latent_dataset(membership))
    if posterior_predictive:
        rng = np.random.default_rng(seed)
        tree["posterior_predictive"] = xr.DataTree(
            posterior_predictive_dataset(posterior, X.shape[0], OBSERVED_NAME, rng)
        )
    return tree


def sample(
    X,
    n_components: int,
    covariance_type: str = "full",
    priors: Priors | None = None,
    *,
    sampler: str = "pymc",
    draws: int = 1000,
    tune: int = 1000,
    chains: int = 2,
    cores: int | None = None,
    init: str = "em",
    order_means: bool = True,
    target_accept: float = 0.9,
    random_seed: int | None = None,
    progressbar: bool = False,
    formulation: str = "marginalized",
    posterior_predictive: bool = True,
) -> xr.DataTree:
    """Sample the posterior of a Gaussian mixture.

    Parameters
    ----------
    X : array-like of shape (n_samples, n_features)
    n_components : int
    covariance_type : {'full', 'tied', 'diag', 'spherical'}
    priors : Priors, optional
        ``None`` uses ``Priors()`` (data-scaled defaults, see :mod:`bayes.priors`).
    sampler : {'pymc', 'nutpie', 'numpyro'}
        NUTS implementation; nutpie and numpyro are optional extras.
    draws, tune, chains : int
        Kept draws, tuning steps and chains.
    cores : int, optional
        Parallel chains (``1`` runs them one after the other in this process).
    init : {'em', 'jitter'}
        ``'em'``: every chain starts at the EM solution without jitter (default; avoids
        chains stuck in local modes). ``'jitter'``: the sampler's jittered default.
    order_means : bool
        Order the first coordinate of the means (removes label switching).
    target_accept : float in (0, 1)
    random_seed : int, optional
        Seeds EM, the sampler and the predictive draws; ``None`` draws a fresh seed, which
        is recorded in ``attrs['random_seed']``.
    progressbar : bool
    formulation : {'marginalized', 'explicit'}
        Z summed out (NUTS) or Z ~ Categorical (compound NUTS + Gibbs, PyMC sampler only).
    posterior_predictive : bool
        Add replicated data sets (chain, draw, obs, dim).

    Returns
    -------
    xarray.DataTree
        See the module docstring for the groups; attrs ``sampling_time`` (seconds of
        sampling reported by the sampler) and ``sample_wall_time`` (including compilation).
    """
    check_sampling_args(sampler=sampler, draws=draws, tune=tune, chains=chains, cores=cores,
                        init=init, target_accept=target_accept, formulation=formulation,
                        random_seed=random_seed)
    X, n_components, covariance_type = check_model_args(X, n_components, covariance_type)
    priors = Priors() if priors is None else priors
    resolved = resolve_priors(priors, X, n_components, covariance_type)
    require_sampler(sampler)
    if random_seed is None:
        random_seed = int(np.random.SeedSequence().generate_state(1)[0])
    seeds = seed_streams(random_seed)

    start = time.perf_counter()
    initvals = starting_values(X, n_components, covariance_type, order_means, init,
                               formulation, seeds["em"], resolved)
    init_time = time.perf_counter() - start
    entry, reused, build_time = compiled_model(
        X, n_components, covariance_type, priors, resolved, formulation=formulation,
        order_means=order_means, sampler=sampler)
    start = time.perf_counter()
    if sampler == "nutpie":
        tree = run_nutpie(entry, X, resolved, initvals, init == "jitter", draws, tune, chains,
                          cores, seeds["sampler"], target_accept)
    elif sampler == "numpyro":
        from bayes.numpyro_cached import sample_numpyro  # optional extra

        tree = sample_numpyro(entry, X, resolved, initvals, init == "jitter", draws, tune,
                              chains, seeds["sampler"], target_accept)
    else:
        options = SAMPLER_OPTIONS[sampler](initvals, init == "jitter", cores, target_accept)
        tree = run_sampler(entry, sampler, options, draws, tune, chains,
                           seeds["sampler"], progressbar)
    wall_time = time.perf_counter() - start
    tree = add_derived_groups(tree, X, posterior_predictive, seeds["predictive"])
    reported = tree["posterior"].attrs.get("sampling_time")
    sampling_time = float(reported) if reported is not None else float(wall_time)
    tree.attrs.update(provenance(
        priors, resolved, sampler=sampler, formulation=formulation, init=init,
        random_seed=random_seed, covariance_type=covariance_type, n_components=n_components,
        order_means=order_means, draws=draws, tune=tune, chains=chains,
        target_accept=float(target_accept), sampling_time=sampling_time,
        compile_time=float(build_time + max(wall_time - sampling_time, 0.0)),
        model_reused=reused, sample_wall_time=float(wall_time), init_time=float(init_time),
    ))
    return tree
