"""From a validated config to the list of replicate tasks the executors run."""

from __future__ import annotations

from pathlib import Path

from experiments.config import ExperimentConfig
from experiments.run.plan import plan_cells
from experiments.run.replicate import ReplicateTask


def resolved_config_text(config: ExperimentConfig) -> str:
    """The resolved config (every default filled in) as written to ``config.toml``."""
    return config.to_toml()


def em_options(config: ExperimentConfig) -> dict:
    """Keyword arguments of :func:`emgmm.fit_em` from the ``[em]`` section."""
    em = config.em
    return {"tol": em.tol, "reg_covar": em.reg_covar, "max_iter": em.max_iter,
            "n_init": em.n_init, "init_params": em.init_params}


def mcmc_options(config: ExperimentConfig) -> dict | None:
    """Keyword arguments of :func:`bayes.sample` from ``[mcmc]``; None when disabled."""
    mcmc = config.mcmc
    if not mcmc.enabled:
        return None
    from bayes import Priors

    return {"priors": Priors(**mcmc.priors.as_kwargs()), "sampler": mcmc.sampler,
            "draws": mcmc.draws, "tune": mcmc.tune, "chains": mcmc.chains, "init": mcmc.init,
            "target_accept": mcmc.target_accept, "formulation": mcmc.formulation,
            "order_means": mcmc.order_means}


def selection_options(config: ExperimentConfig) -> dict | None:
    """Keyword arguments of :func:`experiments.measure.selection.selection_columns`; None when off."""
    selection = config.selection
    if not selection.enabled:
        return None
    mcmc = mcmc_options(config) if selection.loo else None
    sampling = None if mcmc is None else {
        "priors": mcmc["priors"], "sampler": mcmc["sampler"],
        "target_accept": mcmc["target_accept"], "draws": selection.draws,
        "tune": selection.tune, "chains": selection.chains,
        "covariance_type": config.mcmc.covariance_type}
    return {"k_values": selection.k_values, "loo_options": sampling}


def grid_columns(grid_values: dict) -> dict:
    """Grid values as results.csv cells: lists (e.g. weights) become ``"[0.3, 0.7]"``."""
    return {key: str(list(value)) if isinstance(value, (tuple, list)) else value
            for key, value in grid_values.items()}


def build_tasks(config: ExperimentConfig, run_dir: Path, progressbar: bool = False
                ) -> list[ReplicateTask]:
    """One task per cell x replicate, in plan order, each with the plan's seeds."""
    em, mcmc = em_options(config), mcmc_options(config)
    selection = selection_options(config)
    return [
        ReplicateTask(
            run_dir=str(run_dir), cell_id=cell.cell_id, cell_index=cell.index,
            replicate=seeds.replicate, parameters=grid_columns(cell.grid_values),
            data_spec=cell.data_spec, seeds=seeds,
            n_components=cell.data_spec.n_components,
            em_covariance_type=config.em.covariance_type,
            mcmc_covariance_type=config.mcmc.covariance_type,
            em_options=em, mcmc_options=mcmc,
            interval_prob=config.metrics.interval_prob,
            em_method=config.em.method, em_intervals=config.em.interval_methods, n_bootstrap=config.em.n_bootstrap,
            selection=selection, progressbar=progressbar,
        )
        for cell in plan_cells(config)
        for seeds in cell.seeds
    ]
