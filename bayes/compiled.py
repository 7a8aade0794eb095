"""One compiled model per model shape and process, reused across data sets.

The model graphs of :mod:`bayes.model` hold the data ``X`` and the data-scaled prior
parameters in ``pm.Data`` containers, so two data sets of the same shape give the same
graph. :func:`compiled_model` builds the model once per :class:`ModelKey` and, for later
data sets, swaps the data with ``pm.set_data``. With PyMC's NUTS and ADVI the marginalized
model is not compiled at all: they run on the numba kernels of
:mod:`bayes.posterior_kernel` (one compilation, cached by numba, for every shape; see
:mod:`bayes.posterior_function`). The other samplers and the explicit formulation freeze
the model (``pymc.model.transform.optimization.freeze_model``: the frozen model caches its
compiled logp/gradient and trace functions). The cache is a module-level dict, so it lives
as long as the process: the process and Dask executors, whose workers outlive a task,
reuse it across replicates and cells without doing anything.

Bit-identical results whatever the compile cache holds: PyTensor's numba backend compiles
with LLVM fast-math flags by default (``reassoc``, ``contract``, ...). Under these flags the
code LLVM generates for a kernel depends on what it is compiled together with: a graph
compiled fresh inlines its per-operation kernels and reassociates or fuses (FMA) across
them, while kernels loaded from PyTensor's on-disk cache are linked as they were first
compiled. Cold, warm and partially warm caches then give different floating-point
results, and MCMC amplifies the last-bit differences into different draws. Every model here
is compiled and run under ``numba__fastmath=False`` (:data:`DETERMINISTIC_FLAGS`), which
keeps IEEE semantics, so kernels compute the same numbers however they were compiled; the
kernels of :mod:`bayes.posterior_kernel` are plain ``numba.njit`` functions, without
fast-math too.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor
from pymc.blocking import DictToArrayBijection
from pymc.initial_point import make_initial_point_fn
from pymc.model.transform.optimization import freeze_model
from pymc.sampling.mcmc import STEP_METHODS, assign_step_methods
from pymc.step_methods import NUTS

from bayes.model import DATA_NAME, build_explicit_model, build_model
from bayes.posterior_function import (
    PosteriorFunction,
    ReusableTrace,
    layout_of,
    posterior_trace,
)
from bayes.posterior_op import vi_data
from bayes.priors import Priors, ResolvedPriors, prior_data, resolve_priors
from bayes.validation import check_model_args

MODEL_BUILDERS = {"marginalized": build_model, "explicit": build_explicit_model}
# samplers (cache tags) whose marginalized models run on bayes.posterior_function's kernels:
# PyMC's NUTS, and ADVI on the flat model of bayes.posterior_op (tag of bayes.variational)
KERNEL_SAMPLERS = ("pymc", "vi")
# compile flags of every bayes model (see the module docstring)
DETERMINISTIC_FLAGS = {"numba__fastmath": False}


@dataclass(frozen=True)
class ModelKey:
    """Everything that fixes the compiled graph; data values and data-scaled priors do not.

    ``n_samples`` is part of the key only for the explicit formulation, whose labels ``Z``
    are a free variable of length N; the marginalized models accept any N.
    """

    formulation: str
    covariance_type: str
    n_components: int
    n_features: int
    order_means: bool
    scale_prior: str
    weights_concentration: tuple[float, ...]
    lkj_eta: float
    sampler: str
    n_samples: int | None


@dataclass
class CompiledModel:
    """A frozen model with what its runs reuse.

    Attributes
    ----------
    model : pymc.Model
        The frozen model (its logp/gradient functions cached by PyMC).
    logp_dlogp : pymc.model.core.ValueGradFunction or None
        PyMC sampler: the logp and gradient of the NUTS variables (discrete ones as extra
        inputs, :func:`compile_pymc_functions`), given to every NUTS step of this model. The frozen model hands
        out a copy per call, and copying re-links the numba function (seconds).
    trace : ReusableTrace or None
        PyMC sampler: the trace template (compiled point function).
    step_methods : dict or None
        PyMC sampler: step method class -> value variables, as ``pm.sample`` would choose
        them (``pymc.sampling.mcmc.assign_step_methods``, which differentiates the logp
        for every variable).
    nutpie_model : object or None
        nutpie's compiled model (built on first use).
    jax_model : bayes.numpyro_cached.JaxModel or None
        numpyro: the JAX logp and deterministics with the data as inputs (built on first
        use).
    vi_model : pymc.Model or None
        ADVI: the flat model of :func:`bayes.posterior_op.vi_model` (built on first use).
    """

    model: pm.Model
    logp_dlogp: object | None = None
    trace: ReusableTrace | None = None
    step_methods: dict | None = None
    nutpie_model: object | None = None
    jax_model: object | None = None
    vi_model: pm.Model | None = None


# the per-process cache: ModelKey -> CompiledModel
MODELS: dict[ModelKey, CompiledModel] = {}


def model_key(X: np.ndarray, n_components: int, covariance_type: str,
              resolved: ResolvedPriors, *, formulation: str, order_means: bool,
              sampler: str) -> ModelKey:
    """The cache key of a model for data ``X`` (n_samples, n_features)."""
    return ModelKey(
        formulation=formulation,
        covariance_type=covariance_type,
        n_components=n_components,
        n_features=X.shape[1],
        order_means=bool(order_means),
        scale_prior=resolved.scale_prior,
        weights_concentration=tuple(float(a) for a in resolved.weights_concentration),
        lkj_eta=float(resolved.lkj_eta),
        sampler=sampler,
        n_samples=X.shape[0] if formulation == "explicit" else None,
    )


def placeholder_model_args(n_features: int, n_components: int, covariance_type: str,
                           priors: Priors | None):
    """(X, n_components, covariance_type, priors, resolved priors) of a placeholder data set
    (standard normal rows) for compiling ahead: a compiled model depends on the shape of its
    data (columns), not on their values or rows."""
    X = np.random.default_rng(0).standard_normal((max(20, 4 * n_components), n_features))
    X, n_components, covariance_type = check_model_args(X, n_components, covariance_type)
    priors = Priors() if priors is None else priors
    return X, n_components, covariance_type, priors, resolve_priors(priors, X, n_components,
                                                                    covariance_type)


def set_model_data(entry: CompiledModel, X: np.ndarray, resolved: ResolvedPriors) -> None:
    """Swap the data of a cached model (its containers and, if any, its posterior function)."""
    values = prior_data(resolved) | {DATA_NAME: X}
    # pm.set_data evaluates the containers' dimension lengths (Variable.eval): compiled by
    # the Python VM, not numba (seconds on an empty cache for one integer)
    with pytensor.config.change_flags(mode="FAST_COMPILE"):
        pm.set_data(values, model=entry.model, coords={"obs": np.arange(X.shape[0])})
        if isinstance(entry.logp_dlogp, PosteriorFunction):
            entry.logp_dlogp.set_data(X, resolved)
        if entry.vi_model is not None:  # after the posterior function, whose data it reads
            pm.set_data(vi_data(entry.logp_dlogp), model=entry.vi_model)


def compile_pymc_functions(model: pm.Model, step_methods: dict) -> tuple[object, ReusableTrace]:
    """Compile and call once what ``pm.sample`` uses: (logp and gradient, trace template).

    The logp/gradient function is the one PyMC's NUTS would ask for, with the same
    arguments (the order of the variables changes the rounding): all continuous variables
    (``init_nuts``), or, in a compound step, the NUTS variables in their assigned order with
    the discrete values as extra inputs. The compiled function trusts its inputs (NUTS passes
    float64 arrays of the right shape): PyMC's steps set ``trust_input`` on the
    ``ValueGradFunction``, which does not forward it, so every call validated its inputs
    (about 6 us of a 75 us leapfrog step at N = 300).
    """
    point = model.initial_point(0)
    nuts_vars = step_methods.get(NUTS, [])
    if len(nuts_vars) == len(model.value_vars):
        nuts_vars = model.continuous_value_vars
        logp_dlogp = model.logp_dlogp_function(ravel_inputs=True)
    else:
        logp_dlogp = model.logp_dlogp_function(nuts_vars, dtype=None, ravel_inputs=True,
                                               initial_point=point)
    logp_dlogp._pytensor_function.trust_input = True
    names = {var.name for var in nuts_vars}
    raveled = DictToArrayBijection.map({var.name: point[var.name] for var in nuts_vars})
    logp_dlogp([raveled.data], extra_vars={k: v for k, v in point.items() if k not in names})
    return logp_dlogp, ReusableTrace(model=model, test_point=point)


def compiled_model(X: np.ndarray, n_components: int, covariance_type: str, priors: Priors,
                   resolved: ResolvedPriors, *, formulation: str, order_means: bool,
                   sampler: str) -> tuple[CompiledModel, bool, float]:
    """The cached model of this shape holding data ``X``: (entry, was_cached, seconds).

    On a miss the model is built (its data containers filled with ``X``), frozen and, for
    the PyMC sampler, its functions compiled and run once (numba compiles on first call),
    so that the returned seconds hold all the compilation and sampling none of it.
    """
    key = model_key(X, n_components, covariance_type, resolved, formulation=formulation,
                    order_means=order_means, sampler=sampler)
    entry = MODELS.get(key)
    if entry is not None:
        set_model_data(entry, X, resolved)
        return entry, True, 0.0
    start = time.perf_counter()
    with pytensor.config.change_flags(**DETERMINISTIC_FLAGS):
        model = MODEL_BUILDERS[formulation](X, n_components, covariance_type, priors,
                                           order_means=order_means)
        if sampler in KERNEL_SAMPLERS and formulation == "marginalized":
            # nothing of the model is compiled: no need to freeze it (which would also
            # reverse the order of its free variables)
            entry = CompiledModel(model)
            layout = layout_of(entry.model, n_components, covariance_type, resolved, order_means)
            entry.logp_dlogp = PosteriorFunction(layout, X, resolved)
            entry.trace = posterior_trace(entry.model, entry.logp_dlogp)
            entry.logp_dlogp._pytensor_function(np.zeros(layout.size))  # numba compiles here
            entry.step_methods = {NUTS: entry.model.value_vars}
        else:
            entry = CompiledModel(freeze_model(model))
        if sampler == "pymc" and formulation != "marginalized":
            entry.step_methods = assign_step_methods(entry.model, None, STEP_METHODS)[1]
            entry.logp_dlogp, entry.trace = compile_pymc_functions(entry.model,
                                                                   entry.step_methods)
    MODELS[key] = entry
    return entry, False, time.perf_counter() - start


# --------------------------------------------------------------------------- nutpie


def nutpie_model(entry: CompiledModel, X: np.ndarray, resolved: ResolvedPriors,
                 initvals: dict, jitter: bool):
    """nutpie's compiled model of ``entry`` with data ``X`` and these starting values.

    nutpie compiles its own numba logp (``nutpie.compile_pymc_model``) and keeps the
    shared variables as runtime data: it is compiled once per entry, then
    ``with_data`` swaps the data containers and a new initial-point function the starts.
    """
    import nutpie  # optional extra, imported only when asked for

    if entry.nutpie_model is None:
        with pytensor.config.change_flags(**DETERMINISTIC_FLAGS):
            entry.nutpie_model = nutpie.compile_pymc_model(entry.model, backend="numba")
    compiled = entry.nutpie_model.with_data(**prior_data(resolved), **{DATA_NAME: X})
    return dataclasses.replace(
        compiled, initial_point_func=flat_initial_point_fn(entry.model, initvals, jitter))


def flat_initial_point_fn(model: pm.Model, initvals: dict, jitter: bool):
    """seed -> flat start (nutpie's layout: free variables in model order, raveled).

    ``jitter=False`` starts exactly at ``initvals``; ``True`` jitters every free variable.
    """
    point_fn = make_initial_point_fn(
        model=model, overrides=initvals, return_transformed=True,
        jitter_rvs=set(model.free_RVs) if jitter else set(),
    )
    names = [model.rvs_to_values[rv].name for rv in model.free_RVs]
    lock = threading.Lock()  # nutpie may call it from several threads

    def initial_point(seed):
        with lock:
            point = point_fn(seed)
        return np.concatenate([np.asarray(point[name], dtype=float).ravel() for name in names])

    return initial_point


def clear_model_cache() -> None:
    """Forget every compiled model of this process."""
    MODELS.clear()
