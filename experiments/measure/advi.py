"""The ``advi`` method: PyMC's ADVI fit of a replicate, aligned to the truth, against MCMC.

Opt-in (``[experiment] methods = [..., "advi"]``), configured by ``[advi]``
(:class:`experiments.config.methods.ADVISettings`) on ``[mcmc]``'s model (covariance
type, priors, ordering constraint). Saves ``advi.nc`` (the DataTree of
:func:`bayes.fit_vi`, ``posterior`` and ``latent`` in the true component order, with the
loss history in ``variational``); its row has the point-estimate metrics at the
approximate posterior mean, the coverage of its central intervals, the final ELBO and,
when the replicate's MCMC fit succeeded, the comparison with it
(:mod:`experiments.measure.vi_compare`).
"""

from __future__ import annotations

import time

import bayes
from bayes.priors import Priors
from experiments.config.methods import method_selected
from experiments.measure import vi_compare
from experiments.measure.base import Method, MethodResult, ReplicateInput
from experiments.measure.metrics import POINT_ESTIMATE_COLUMNS
from experiments.measure.mcmc import relabel_to_em
from experiments.measure.vi_method import (
    VIOptions,
    NO_TRUTH_POSTERIOR_COLUMNS,
    VIStage,
    align_to_truth,
    method_seed,
    reference_params,
    vi_columns,
)
from experiments.run.files import save_datatree_atomic
from experiments.run.plan import model_shapes

NAME = "advi"
COLUMNS = (*POINT_ESTIMATE_COLUMNS, "runtime_s", "compile_s", "coverage",
           *vi_compare.COLUMNS, "elbo_final", *NO_TRUTH_POSTERIOR_COLUMNS)


def advi_options(config, progressbar: bool = False) -> VIOptions | None:
    """:class:`VIOptions` from ``[advi]`` and ``[mcmc]``; None unless ``advi`` is listed."""
    if not method_selected(config, NAME):
        return None
    settings, mcmc = config.method_sections[NAME], config.mcmc
    fit = {"priors": Priors(**mcmc.priors.as_kwargs()), "order_means": mcmc.order_means,
           "method": settings.method, "n_iter": settings.n_iter, "draws": settings.draws,
           "learning_rate": settings.learning_rate, "initial_sd": settings.initial_sd}
    return VIOptions(mcmc.covariance_type, fit, config.metrics.interval_prob)


def run_advi(inputs: ReplicateInput, options: VIOptions) -> MethodResult:
    """Fit, align, save ``advi.nc`` and measure the ``advi`` row."""
    dataset = inputs.dataset
    start = time.perf_counter()
    datatree = bayes.fit_vi(dataset.X, dataset.n_components, options.covariance_type,
                      random_seed=method_seed(inputs.seeds, NAME), **options.fit)
    runtime = time.perf_counter() - start
    if not options.fit["order_means"]:
        datatree, _ = relabel_to_em(datatree, inputs.stages["em"].aligned.means)
    datatree, order, labels = align_to_truth(datatree, reference_params(inputs))
    save_datatree_atomic(inputs.files.posterior(NAME), datatree)
    columns = {**vi_columns(dataset, datatree, labels, inputs.stages.get("mcmc"), options),
               "runtime_s": runtime, "compile_s": float(datatree.attrs["compile_time"]),
               "elbo_final": float(datatree.attrs["elbo_final"])}
    return MethodResult(columns, VIStage(datatree, order, runtime),
                        tuple(int(i) for i in order))


def compile_advi_ahead(config) -> None:
    """Compile the ADVI steps of ``config``'s model shapes (:func:`bayes.compile_vi`)."""
    options = advi_options(config)
    if options is None:
        return
    fit = options.fit
    for n_features, n_components in model_shapes(config):
        bayes.compile_vi(n_features, n_components, options.covariance_type, fit["priors"],
                         method=fit["method"], learning_rate=fit["learning_rate"],
                         order_means=fit["order_means"])


ADVI = Method(NAME, NAME, advi_options, run_advi, COLUMNS, requires=("em",),
              report="experiments.report.vi_figures:advi_section",
              compile_ahead=compile_advi_ahead)
