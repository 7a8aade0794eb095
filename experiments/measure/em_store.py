"""The ``em`` method on a store too big for memory: EM by passes over a Dask array.

The replicate's :class:`~experiments.simulate.dataset.Dataset` holds the store as a Dask
array (``out_of_core``) and a uniform sample of its rows (``X``).
:func:`emgmm.dask.fit_em_dask` fits all rows, one pass over the blocks per iteration; one
more pass gives the log-likelihood, BIC and ICL of the estimate
(:func:`emgmm.dask.likelihood_sums`). ``em_fit.npz`` holds the responsibilities and MAP
labels of the sampled rows (the ones in ``data.npz``), with the log-likelihood history and
the snapshots of the whole fit; ``em_model.npz`` is the fitted estimator, as in memory.
Held-out density and known classes need rows in memory and stay empty (the config refuses
``test_fraction`` and ``label_column`` for a store).

Run by the ``dask`` executor, the replicate's task hands its passes to the cluster it runs
on (:func:`distributed.worker_client`, the task leaving the worker's thread pool while it
waits); elsewhere the passes run on Dask's threaded scheduler in the task's process.
"""

from __future__ import annotations

import contextlib
import time

import numpy as np

from emgmm.steps import e_step
from experiments.measure import no_truth
from experiments.measure.base import MethodResult, ReplicateInput
from experiments.run.files import save_npz_atomic

__all__ = ["cluster_of_this_task", "run_em_store"]


@contextlib.contextmanager
def cluster_of_this_task():
    """Inside a Dask worker's task: the worker's client, so that ``dask.compute`` runs on the
    cluster (the task seceded, so its thread does not block a worker); elsewhere nothing."""
    try:
        from distributed import get_worker, worker_client

        get_worker()
    except (ImportError, ValueError):
        yield
        return
    with worker_client():
        yield


def run_em_store(inputs: ReplicateInput, options) -> MethodResult:
    """Fit EM to every row of the store, save ``em_fit.npz`` and ``em_model.npz``, measure."""
    # Imported here: experiments.measure.em imports this module for its dispatch.
    from emgmm.dask import fit_em_dask, likelihood_sums
    from experiments.measure.em import EMStage, fit_arrays, save_em_model, warm_up_kernels

    dataset, seed = inputs.dataset, inputs.seeds.em
    X, n_components = dataset.out_of_core, dataset.n_components
    compile_time = warm_up_kernels(n_components, X.shape[1], options)
    with cluster_of_this_task():
        start = time.perf_counter()
        result = fit_em_dask(X, n_components, covariance_type=options.covariance_type,
                             random_state=seed, record_params=True, **options.fit)
        runtime = time.perf_counter() - start
        order = no_truth.reference_order(result.params)
        aligned = result.params.permuted(order)
        sums = likelihood_sums(X, aligned)
    _, log_resp = e_step(dataset.X, aligned)  # the sampled rows of data.npz
    responsibilities = np.exp(log_resp)
    stage = EMStage(result, order, aligned, runtime, responsibilities,
                    responsibilities.argmax(axis=1), compile_time)
    save_npz_atomic(inputs.files.em_fit, **fit_arrays(stage).as_dict())
    save_em_model(inputs.files.em_model, stage, options, seed)
    columns = {
        "log_likelihood": sums.log_likelihood / sums.n_samples,
        "bic": sums.bic,
        "icl": sums.icl,
        "runtime_s": runtime,
        "compile_s": compile_time,
        "n_iter": int(result.n_iter),
        "converged": bool(result.converged),
    }
    return MethodResult(columns, stage, tuple(int(i) for i in order))
