"""PyMC's ADVI on the cached model: one compiled optimisation step per model shape and process.

``pm.fit`` builds and compiles the step function of the optimisation (the Monte Carlo
ELBO gradient and the optimiser's updates) on every call: on the full model of a 2-D
mixture that took 30 s (warm PyTensor cache) to over 2 min (cold), where 3000 iterations
on 200 points take 0.1 s (:func:`step_mode`). Here the :class:`~pymc.variational.Inference`
object and its compiled step are kept per model and method (:data:`INFERENCES`), next to
the compiled model of :mod:`bayes.compiled`, whose data containers ``pm.set_data`` swaps.
Before each fit every piece of state the step function updates is reset:

- the variational parameters (``mu`` and ``rho`` for mean-field ADVI, ``mu`` and the
  packed Cholesky factor ``L_tril`` for full-rank ADVI) to the start,
- the optimiser's accumulators to their values right after compilation,
- the random generators of the Monte Carlo draws, reseeded from the fit's seed,

so that a fit gives the same numbers whether its step function was compiled for it or
reused (tested in ``tests/bayes/test_variational.py``).

The approximation is a Gaussian in the model's unconstrained space (ordered, simplex,
log and LKJ-Cholesky transforms). Mean-field: :math:`q(\\zeta) = \\mathcal N(\\mu,
\\operatorname{diag}(\\sigma^2))` with :math:`\\sigma = \\log(1 + e^{\\rho})`; full rank:
:math:`q(\\zeta) = \\mathcal N(\\mu, L L^T)`, the diagonal of :math:`L` through the same
softplus.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import pymc as pm
import pytensor
from pymc.pytensorf import reseed_rngs
from pytensor.compile.mode import Mode
from pytensor.tensor.random.type import RandomGeneratorType

from bayes.compiled import DETERMINISTIC_FLAGS, ModelKey

# method name -> PyMC inference class
INFERENCE_CLASSES = {"advi": pm.ADVI, "fullrank_advi": pm.FullRankADVI}
# gcc flags of the step's C operations, after PyTensor's "-O3 -g" (the last one wins)
STEP_OPTIMISATION = "-O1 -g0"


def step_mode() -> Mode:
    """How the optimisation step is compiled: PyTensor's C virtual machine (``cvm``).

    The step is a few dozen small vector operations around the one log-posterior Op
    (:mod:`bayes.posterior_op`, a numba kernel called from Python). Measured on a 2-D,
    K = 2, N = 200 mixture (11 free numbers), 3000 steps, empty caches: the C VM compiled
    in 10 s beside the kernel and ran 37 us per step; the default numba linker compiled in
    17 s and ran 163 us per step (every call converts the random generator); the pure
    Python linker compiled in under 1 s and ran 430 us per step. The C operations are cached
    by PyTensor per operation type, not per model shape, so later shapes and processes
    compile in under 1 s. Without a C++ compiler, the Python VM.
    """
    return Mode(linker="cvm" if pytensor.config.cxx else "vm", optimizer="fast_run")


def step_compile_flags() -> dict:
    """PyTensor flags under which the step is compiled: its C operations at ``-O1`` and
    without debug information (:data:`STEP_OPTIMISATION`).

    The operations work on vectors of a few dozen numbers, so the step runs as fast as at
    PyTensor's ``-O3 -g`` (10000 steps of the 2-D, K = 2 model: 0.97 s with either) while
    gcc compiles its 17 operations in 5.9 s instead of 8.1 s. The flags are part of
    PyTensor's module key, so these modules are never mixed with ones compiled otherwise:
    the step computes the same numbers whoever compiled it.
    """
    return {**DETERMINISTIC_FLAGS,
            "gcc__cxxflags": f"{pytensor.config.gcc__cxxflags} {STEP_OPTIMISATION}".strip()}


@dataclass(frozen=True)
class VIKey:
    """What fixes a compiled optimisation step: the model, the method and the optimiser."""

    model: ModelKey
    method: str
    learning_rate: float


@dataclass
class CompiledVI:
    """An inference object, its compiled step function and the step's initial state.

    Attributes
    ----------
    inference : pymc.variational.Inference
    step : callable
        One optimisation step; returns the loss (the negative ELBO estimate).
    optimiser_state : list of (shared variable, ndarray)
        The optimiser's accumulators right after compilation.
    rngs : list of shared variables
        The random generators of the step's Monte Carlo draws.
    """

    inference: object
    step: object
    optimiser_state: list
    rngs: list


@dataclass(frozen=True)
class VIRun:
    """The result of one optimisation.

    Attributes
    ----------
    approximation : pymc.variational.Approximation
        Holds the fitted parameters until the next fit on the same compiled step.
    loss : ndarray of shape (n_iter,)
        Negative ELBO estimate at every iteration (one Monte Carlo draw each).
    fit_time : float
        Seconds of the iterations.
    compile_time : float
        Seconds of building and compiling the step (0 when it was reused).
    reused : bool
    """

    approximation: object
    loss: np.ndarray
    fit_time: float
    compile_time: float
    reused: bool


# the per-process cache: VIKey -> CompiledVI
INFERENCES: dict[VIKey, CompiledVI] = {}


def shared_inputs(step) -> list:
    """Shared variables read by a compiled pytensor function, with their update flag."""
    return [(inp.variable, inp.update is not None) for inp in step.maker.inputs
            if isinstance(inp.variable, pytensor.compile.SharedVariable)]


def compile_inference(model: pm.Model, method: str, learning_rate: float) -> CompiledVI:
    """Build the inference object on ``model`` and compile its step function.

    The optimiser is PyMC's default for ADVI, ``adagrad_window``, with ``learning_rate``;
    the step is compiled in :func:`step_mode`.
    """
    inference = INFERENCE_CLASSES[method](model=model, random_seed=0)
    optimiser = pm.adagrad_window(learning_rate=learning_rate)
    step = inference.objective.step_function(score=True, obj_optimizer=optimiser,
                                             compile_kwargs={"mode": step_mode()})
    updated = [variable for variable, has_update in shared_inputs(step) if has_update]
    rngs = [v for v in updated if isinstance(v.type, RandomGeneratorType)]
    params = {id(p) for p in inference.approx.params}  # set at every fit
    state = [(v, np.copy(v.get_value())) for v in updated
             if id(v) not in params and not isinstance(v.type, RandomGeneratorType)]
    step()  # numba compiles on the first call; every fit resets what this step changed
    return CompiledVI(inference, step, state, rngs)


def inverse_softplus(sigma: float) -> float:
    """rho with log(1 + exp(rho)) = sigma."""
    return float(np.log(np.expm1(sigma)))


def softplus(rho: np.ndarray) -> np.ndarray:
    """sigma = log(1 + exp(rho)), PyMC's ``rho2sigma``; ``logaddexp`` does not overflow."""
    return np.logaddexp(0.0, rho)


def lower_factor(packed: np.ndarray, size: int) -> np.ndarray:
    """Full-rank ADVI's L from its packed lower triangle ``L_tril`` (row-major, as
    ``np.tril_indices``), the diagonal through :func:`softplus` (PyMC's ``FullRankGroup.L``)."""
    factor = np.zeros((size, size))
    factor[np.tril_indices(size)] = packed
    diagonal = np.arange(size)
    factor[diagonal, diagonal] = softplus(factor[diagonal, diagonal])
    return factor


def approximation_draws(group, draws: int, seed: int) -> np.ndarray:
    """``draws`` draws (draws, n) of q in the flat unconstrained space, from its current
    parameters: :math:`\\mu + \\sigma \\odot \\epsilon` (mean field, :math:`\\sigma` =
    softplus(rho)) or :math:`\\mu + L \\epsilon` (full rank), :math:`\\epsilon \\sim
    \\mathcal N(0, I)` from ``numpy.random.default_rng(seed)``.

    The draws are made here rather than by ``Approximation.sample``, which compiles a
    sampling function and a trace function with PyTensor's numba linker on every new
    shape: about 9 s of compilation on an empty cache for 300 draws that take
    milliseconds. The parameters are checked against PyMC's own ``mean``, ``std`` and
    ``L`` in ``tests/bayes/test_variational.py``.
    """
    params = group.shared_params
    mean = params["mu"].get_value()
    noise = np.random.default_rng(seed).standard_normal((draws, mean.size))
    if "rho" in params:
        return mean + softplus(params["rho"].get_value()) * noise
    return mean + noise @ lower_factor(params["L_tril"].get_value(), mean.size).T


def reset_parameters(group, start: dict, initial_sd: float, seed: int) -> None:
    """Set the group's mean to ``start`` (constrained values, transformed by PyMC) and
    its scale to ``initial_sd`` in every unconstrained direction."""
    group.rng = np.random.RandomState(seed)
    mean = group._prepare_start(start)  # the start mapped to the flat unconstrained space
    params = group.shared_params
    params["mu"].set_value(mean)
    rho = inverse_softplus(initial_sd)
    if "rho" in params:
        params["rho"].set_value(np.full(mean.shape, rho))
    else:
        n = mean.size
        diagonal = np.eye(n, dtype=bool)[np.tril_indices(n)]
        params["L_tril"].set_value(np.where(diagonal, rho, 0.0))


def compiled_inference(model: pm.Model, key: VIKey) -> tuple[CompiledVI, bool, float]:
    """The compiled step of ``key`` on ``model``: (entry, was_cached, seconds compiling)."""
    entry = INFERENCES.get(key)
    if entry is not None:
        return entry, True, 0.0
    start_time = time.perf_counter()
    with pytensor.config.change_flags(**step_compile_flags()):
        entry = compile_inference(model, key.method, key.learning_rate)
    INFERENCES[key] = entry
    return entry, False, time.perf_counter() - start_time


def run_inference(model: pm.Model, key: VIKey, start: dict, n_iter: int,
                  initial_sd: float, seed: int) -> VIRun:
    """Fit the approximation from ``start`` for ``n_iter`` steps (compiling once per key).

    Raises
    ------
    FloatingPointError
        If the loss becomes NaN or infinite (a one-line message naming the iteration).
    """
    entry, reused, compile_time = compiled_inference(model, key)
    with pytensor.config.change_flags(**DETERMINISTIC_FLAGS):
        for variable, value in entry.optimiser_state:
            variable.set_value(np.copy(value))
        seeds = np.random.SeedSequence(seed).generate_state(2)
        reset_parameters(entry.inference.approx.groups[0], start, initial_sd, int(seeds[0]))
        reseed_rngs(entry.rngs, int(seeds[1]))
        fit_start = time.perf_counter()
        loss = np.array([entry.step() for _ in range(n_iter)], dtype=float).reshape(n_iter)
    fit_time = time.perf_counter() - fit_start
    bad = np.flatnonzero(~np.isfinite(loss))
    if bad.size:
        raise FloatingPointError(
            f"{key.method} diverged: the loss is not finite at iteration {int(bad[0])}; "
            "lower learning_rate or initial_sd")
    return VIRun(entry.inference.approx, loss, fit_time, compile_time, reused)


def clear_inference_cache() -> None:
    """Forget every compiled optimisation step of this process."""
    INFERENCES.clear()
