"""numpyro's NUTS on a JAX logp built once per model shape, with the data as arguments.

``pm.sample(nuts_sampler="numpyro")`` turns the model's data containers into constants of
the JAX function it builds (``pymc.sampling.jax.get_jaxified_graph``), so JAX traces and
XLA compiles the sampler again for every data set. Here the data containers (``X_data`` and
the data-scaled prior parameters) are replaced by graph inputs: the logp and the
deterministics (``weights``, ``means``, ``covariances``) are JAX functions of
(free variables, data), built once per cached model, and numpyro runs a model whose
only content is that logp (``numpyro.factor``) with the data as model arguments
(``MCMC(jit_model_args=True)``): a second data set of the same shape reuses the compiled
sampler. The returned DataTree has the groups, variables, dims and attrs of
``pm.sample(nuts_sampler="numpyro")``'s.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import jax
import numpy as np
import numpyro
from arviz_base import from_dict, make_attrs
from numpyro import distributions
from numpyro.infer import MCMC, NUTS
from pymc.backends.arviz import coords_and_dims_for_inferencedata, find_constants, find_observations
from pymc.sampling.jax import _get_batched_jittered_initial_points, _numpyro_stats_to_dict
from pymc.sampling.jax import get_jaxified_graph
from pymc.util import get_default_varnames
from pytensor.graph.replace import clone_replace

from bayes.mixture_logp import register_jax
from bayes.model import DATA_NAME
from bayes.priors import prior_data

register_jax()  # the mixture's log-density Op in JAX

# sample statistics PyMC's numpyro path records
EXTRA_FIELDS = ("num_steps", "potential_energy", "energy", "adapt_state.step_size",
                "accept_prob", "diverging")


@dataclass
class JaxModel:
    """A model's logp and deterministics as JAX functions of (free values, data).

    Attributes
    ----------
    value_names : list of str
        The free (transformed) variables, in the order of the functions' first inputs.
    value_shapes : list of tuple
    data_names : list of str
        The data containers, in the order of the functions' last inputs.
    logp : callable
        ``logp(*values, *data) -> [scalar]``.
    draws : callable
        Jitted, over (chain, draw): ``draws(values, data) -> list of arrays``.
    draw_names : list of str
        Names of the outputs of ``draws``.
    samplers : dict
        (tune, draws, chains, target_accept) -> numpyro ``MCMC`` reused across data sets.
    """

    value_names: list
    value_shapes: list
    data_names: list
    logp: object
    draws: object
    draw_names: list
    samplers: dict = field(default_factory=dict)


def jax_model(model, resolved) -> JaxModel:
    """The JAX functions of ``model`` with its data containers as inputs."""
    data_names = [DATA_NAME, *prior_data(resolved)]
    shared = [model[name] for name in data_names]
    inputs = [variable.type() for variable in shared]
    replace = dict(zip(shared, inputs))
    values = list(model.value_vars)
    logp = get_jaxified_graph(values + inputs, clone_replace([model.logp()], replace))
    outputs = list(get_default_varnames(model.unobserved_value_vars, include_transformed=False))
    draws = get_jaxified_graph(values + inputs, clone_replace(outputs, replace))

    def draws_of_one(point, data):
        return draws(*point, *data)

    over_draws = jax.vmap(draws_of_one, in_axes=(0, None))
    point = model.initial_point(0)
    return JaxModel(
        value_names=[var.name for var in values],
        value_shapes=[np.shape(point[var.name]) for var in values],
        data_names=data_names,
        logp=logp,
        draws=jax.jit(jax.vmap(over_draws, in_axes=(0, None))),
        draw_names=[var.name for var in outputs],
    )


def potential_model(functions: JaxModel):
    """A numpyro model whose log density is the PyMC model's logp, data as arguments."""

    def model(*data):
        values = [
            numpyro.sample(name, distributions.ImproperUniform(
                distributions.constraints.real, (), event_shape=shape))
            for name, shape in zip(functions.value_names, functions.value_shapes)
        ]
        numpyro.factor("logp", functions.logp(*values, *data)[0])

    return model


def cached_sampler(functions: JaxModel, tune: int, draws: int, chains: int,
                   target_accept: float) -> MCMC:
    """numpyro's MCMC for these settings, built once and reused (its compiled loop too)."""
    key = (tune, draws, chains, float(target_accept))
    if key not in functions.samplers:
        kernel = NUTS(potential_model(functions), target_accept_prob=target_accept,
                      adapt_step_size=True, adapt_mass_matrix=True, dense_mass=False)
        functions.samplers[key] = MCMC(kernel, num_warmup=tune, num_samples=draws,
                                       num_chains=chains, chain_method="sequential",
                                       progress_bar=False, jit_model_args=True)
    return functions.samplers[key]


def sample_numpyro(entry, X: np.ndarray, resolved, initvals: dict, jitter: bool, draws: int,
                   tune: int, chains: int, seed: int, target_accept: float):
    """numpyro's NUTS on the cached model (``entry``) holding data ``X``: a DataTree."""
    model = entry.model
    if entry.jax_model is None:
        entry.jax_model = jax_model(model, resolved)
    functions = entry.jax_model
    data = [np.asarray(model[name].get_value()) for name in functions.data_names]
    starts = _get_batched_jittered_initial_points(model=model, chains=chains, initvals=initvals,
                                                  random_seed=seed, jitter=jitter)
    sampler = cached_sampler(functions, tune, draws, chains, target_accept)
    keys = jax.random.PRNGKey(seed)  # split per chain as PyMC's numpyro path does
    keys = jax.random.split(keys, chains) if chains > 1 else keys
    start = time.perf_counter()
    sampler.run(keys, *data, init_params=dict(zip(functions.value_names, starts)),
                extra_fields=EXTRA_FIELDS)
    samples = sampler.get_samples(group_by_chain=True)
    sampling_time = time.perf_counter() - start
    values = [samples[name] for name in functions.value_names]
    derived = functions.draws(values, data)
    coords, dims = coords_and_dims_for_inferencedata(model)
    groups = {
        "posterior": {name: np.asarray(value) for name, value in zip(functions.draw_names, derived)},
        "sample_stats": _numpyro_stats_to_dict(sampler),
        "observed_data": find_observations(model),
        "constant_data": find_constants(model),
    }
    attrs = {"posterior": make_attrs({"sampling_time": sampling_time, "tuning_steps": tune},
                                     inference_library=numpyro)}
    return from_dict(data=groups, coords=coords, dims=dims, sample_dims=["chain", "draw"],
                     attrs=attrs)
