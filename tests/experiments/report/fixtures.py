"""A small run directory in the documented layout (docs/architecture.md), built from real fits.

EM arrays come from ``emgmm.fit_em(..., record_params=True)``, so that the snapshots at
iterations 0, 1, 2, 5, 20 and the last one are the parameters EM really visited. The MCMC
DataTree comes from ``bayes.sample`` on the 2-D, K=3, full-covariance mixture (the model
shape the other tests compile, so the PyTensor cache is shared), saved with
``to_netcdf(engine="h5netcdf")``. EM components are aligned to the true order (Hungarian
matching on the means) before saving, as the runner does; the posterior's ordering
constraint on the first coordinate already matches the truth, whose means are sorted.
It also records per-replicate failures the way the runner does, so that the report's
EM-only path is exercised.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import linear_sum_assignment

from experiments.measure.em import SNAPSHOT_ITERATIONS
from experiments.run.rundir import (
    DataArrays,
    EMFitArrays,
    ReplicateFiles,
    ReplicateRecord,
    RunDirectory,
)

TRUE_WEIGHTS = np.array([0.3, 0.3, 0.4])
TRUE_MEANS = np.array([[-4.0, 0.0], [0.0, 3.0], [4.0, -1.0]])
TRUE_COVARIANCES = np.array(
    [[[1.0, 0.5], [0.5, 1.0]], [[1.5, -0.4], [-0.4, 0.6]], [[0.7, 0.0], [0.0, 1.6]]]
)

CONFIG_TOML = """\
[experiment]
name = "report-fixture"
seed = 2026
replicates = 1

[data]
n_samples = {n_samples}
n_features = 2
n_components = 3
covariance_shape = "full"
overlap = {overlaps}

[em]
covariance_type = "full"
max_iter = 100
tol = 1e-3

[mcmc]
enabled = true
sampler = "pymc"
draws = 200
tune = 200
chains = 2

[report]
max_detailed_cells = {max_detailed}
"""


def sample_truth(n_samples: int, scale: float, rng: np.random.Generator):
    """Draw (X, labels) from the fixed 3-component truth with covariances times ``scale``."""
    labels = rng.choice(3, size=n_samples, p=TRUE_WEIGHTS)
    chol = np.linalg.cholesky(TRUE_COVARIANCES * scale)
    noise = rng.standard_normal((n_samples, 2))
    X = TRUE_MEANS[labels] + np.einsum("nij,nj->ni", chol[labels], noise)
    return X, labels


def em_history(X: np.ndarray, seed: int, max_iter: int = 100):
    """EM with ``emgmm.fit_em`` from random data points, recording every iteration.

    Returns the parameters visited, as (weights, means, full covariances) tuples starting at
    iteration 0, and the mean log-likelihood history.
    """
    import emgmm

    result = emgmm.fit_em(X, 3, covariance_type="full", init_params="random_from_data",
                          max_iter=max_iter, random_state=seed, record_params=True)
    params = [(p.weights, p.means, p.full_covariances()) for p in result.params_history]
    return params, np.asarray(result.log_likelihood_history)


def sample_posterior(X: np.ndarray, seed: int, draws: int = 200):
    """``bayes.sample`` on the 2-D, K=3, full-covariance model (EM starts, ordered means)."""
    import bayes

    return bayes.sample(X, 3, "full", draws=draws, tune=draws, chains=2, cores=1,
                        random_seed=seed)


def align_to_truth(means: np.ndarray) -> np.ndarray:
    """Permutation ``order`` such that ``means[order]`` matches TRUE_MEANS (Hungarian)."""
    cost = ((means[:, None, :] - TRUE_MEANS[None, :, :]) ** 2).sum(-1)
    rows, cols = linear_sum_assignment(cost)
    order = np.empty(3, dtype=int)
    order[cols] = rows
    return order


def write_replicate(files: ReplicateFiles, cell_index: int, X, labels, em_params, history, dt,
                    mcmc_error=None) -> ReplicateRecord:
    """Write one cell x replicate directory; returns its metrics.json record."""
    files.path.mkdir(parents=True, exist_ok=True)
    np.savez(files.data, **DataArrays(X, labels, TRUE_WEIGHTS, TRUE_MEANS,
                                      TRUE_COVARIANCES).as_dict())
    order = align_to_truth(em_params[-1][1])
    last = len(em_params) - 1
    iters = [i for i in SNAPSHOT_ITERATIONS if i < last] + [last]
    w, m, c = (np.stack([em_params[i][j][order] for i in iters]) for j in range(3))
    import emgmm

    resp = emgmm.responsibilities(X, emgmm.GaussianMixtureParams(w[-1], m[-1], c[-1], "full"))
    np.savez(files.em_fit, **EMFitArrays(resp, resp.argmax(1), history, np.array(iters), w, m,
                                         c).as_dict())
    np.savez(files.em_model, weights=w[-1], means=m[-1], covariances=c[-1])
    em_row = {"method": "em", "ari": _ari(labels, resp.argmax(1)), "converged": True,
              "n_iter": last, "log_likelihood": float(history[-1])}
    rows = [em_row]
    if dt is not None:
        import xarray as xr

        from emgmm.datatree import point_estimate_dataset

        dt = dt.copy()  # the em group, as experiments.measure.mcmc saves it
        dt["em"] = xr.DataTree(point_estimate_dataset(
            emgmm.GaussianMixtureParams(w[-1], m[-1], c[-1], "full")))
        dt.to_netcdf(files.mcmc, engine="h5netcdf")
        import arviz as az

        summary = az.summary(dt, var_names=["weights", "means"], kind="diagnostics")
        divergences = int(dt["sample_stats"]["diverging"].values.sum())
        membership = dt["latent"]["membership"].values
        rows.append({"method": "mcmc", "ari": _ari(labels, membership.argmax(1)),
                     "max_rhat": float(summary["r_hat"].max()),
                     "min_ess_bulk": float(summary["ess_bulk"].min()),
                     "min_ess_tail": float(summary["ess_tail"].min()),
                     "divergences": divergences, "coverage": 0.9,
                     "em_mcmc_ari": _ari(resp.argmax(1), membership.argmax(1)),
                     "responsibility_mad": float(np.abs(resp - membership).mean())})
    elif mcmc_error:
        rows.append({"method": "mcmc", "error": mcmc_error})
    rows = [{"cell_id": files.cell_id, "replicate": files.replicate, **row} for row in rows]
    record = ReplicateRecord(
        files.cell_id, cell_index, files.replicate, seeds={}, rows=rows,
        permutations={"em": order.tolist(), "mcmc": [0, 1, 2]},
        warnings=() if mcmc_error is None else (f"MCMC failed: {mcmc_error}",),
        error=mcmc_error)
    files.metrics.write_text(record.to_json())
    return record


def _ari(a, b) -> float:
    from sklearn.metrics import adjusted_rand_score

    return float(adjusted_rand_score(a, b))


def write_run_dir(
    run_dir: Path,
    overlaps=(0.01, 0.05),
    n_samples: int = 200,
    with_mcmc: bool = True,
    seed: int = 2026,
    max_detailed: int = 6,
) -> Path:
    """Write a run directory with one cell per overlap level and one replicate each.

    The first cell gets a real MCMC fit when ``with_mcmc``; the second cell's MCMC is
    recorded as failed, so that the report's EM-only path is exercised too.
    """
    paths = RunDirectory(run_dir)
    paths.path.mkdir(parents=True, exist_ok=True)
    paths.config.write_text(CONFIG_TOML.format(
        n_samples=n_samples, overlaps=list(overlaps), max_detailed=max_detailed))
    paths.versions.write_text(json.dumps(
        {"python": "3.12", "numpy": np.__version__, "pandas": pd.__version__}, indent=2))
    rng = np.random.default_rng(seed)
    all_rows = []
    for index, overlap in enumerate(overlaps):
        cell_id = f"overlap={overlap}"
        X, labels = sample_truth(n_samples, 1.0 + 20 * overlap, rng)
        em_params, history = em_history(X, seed + index)
        dt = sample_posterior(X, seed) if with_mcmc and index == 0 else None
        error = None if dt is not None else "sampling disabled in this fixture"
        record = write_replicate(paths.replicate(cell_id, 0), index, X, labels, em_params,
                                 history, dt, error)
        all_rows += [{**row, "overlap": overlap} for row in record.rows]
    results = pd.DataFrame(all_rows)
    results.to_csv(paths.results, index=False)
    numeric = results.select_dtypes("number").columns.difference(["replicate", "overlap"])
    summary = results.groupby(["cell_id", "overlap", "method"])[list(numeric)].agg(["mean", "std"])
    summary.columns = [f"{a}_{b}" for a, b in summary.columns]
    summary.reset_index().to_csv(paths.summary, index=False)
    return paths.path


def replicate_cells(run_dir: Path, n_copies: int) -> Path:
    """Copy the first cell ``n_copies`` times (a large sweep's layout, without refitting)."""
    paths = RunDirectory(run_dir)
    results = pd.read_csv(paths.results)
    first = results["cell_id"].iloc[0]
    source = paths.cells / first
    rows = [results]
    for i in range(n_copies):
        cell_id = f"copy-{i:03d}"
        shutil.copytree(source, paths.cells / cell_id)
        rows.append(results[results["cell_id"] == first].assign(cell_id=cell_id, overlap=0.1 + i))
    pd.concat(rows).to_csv(paths.results, index=False)
    return run_dir


FILE_CONFIG_TOML = """\
[experiment]
name = "file-fixture"
seed = 5

[data]
file = "table.csv"
label_column = "kind"
n_components = {n_components}
test_fraction = 0.2

[em]
init_params = "auto"
tol = 1e-7
max_iter = 1000

[mcmc]
enabled = {with_mcmc}
draws = 100
tune = 100
chains = 2
"""


def write_file_run(root: Path, n_features: int = 2, with_mcmc: bool = True,
                   n_components="3") -> Path:
    """A real ``gmm-compare run`` on a data file drawn from the fixed truth (with a label
    column "kind"; a third feature of noise when ``n_features`` is 3). With MCMC it
    samples the 2-D, K = 3, full model the other report tests compile."""
    from rich.console import Console

    from experiments.config import load_config
    from experiments.run.runner import run_experiment

    rng = np.random.default_rng(8)
    X, labels = sample_truth(150, 0.5, rng)
    frame = pd.DataFrame(X, columns=["length", "width"])
    if n_features == 3:
        frame["depth"] = rng.normal(size=len(frame))
    frame["kind"] = np.array(["a", "b", "c"])[labels]
    frame.to_csv(root / "table.csv", index=False)
    config_path = root / "file.toml"
    config_path.write_text(FILE_CONFIG_TOML.format(with_mcmc=str(with_mcmc).lower(),
                                                   n_components=n_components))
    out = root / "run"
    run_experiment(load_config(config_path), out, console=Console(quiet=True))
    return out


def report_files(run_dir: Path) -> tuple[bytes, dict]:
    """The page and every figure file of ``run_dir``'s report."""
    report = run_dir / "report"
    return ((report / "index.html").read_bytes(),
            {p.name: p.read_bytes() for p in (report / "figures").glob("*.png")})
