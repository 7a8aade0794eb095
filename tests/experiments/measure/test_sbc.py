"""SBC simulations as run tasks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from experiments.config import parse_config
from experiments.measure.sbc import (
    SBCRecord,
    build_sbc_tasks,
    sbc_priors,
    simulation_path,
    simulation_seeds,
)
from experiments.run.runner import run_experiment

SBC_RUN = {
    "experiment": {"name": "sbc", "seed": 3},
    "data": {"n_samples": 60, "n_features": 1, "n_components": 2},
    "mcmc": {"enabled": False}, "report": {"enabled": False},
    # the model shape of tests/bayes/test_sbc.py (1-D, K = 2, spherical, N = 60)
    "sbc": {"enabled": True, "n_simulations": 3, "bins": 2, "draws": 100, "tune": 200,
            "chains": 1, "thin": 2},
}


def test_simulation_seeds_are_prefix_stable_and_independent_of_replicates():
    assert simulation_seeds(3, 5)[:3] == simulation_seeds(3, 3)
    assert len(set(simulation_seeds(3, 50))) == 50
    assert simulation_seeds(3, 2) != simulation_seeds(4, 2)
    config = parse_config(SBC_RUN)
    tasks = build_sbc_tasks(config, "run")
    assert [t.simulation for t in tasks] == [0, 1, 2]
    assert [t.seed for t in tasks] == simulation_seeds(3, 3)
    assert build_sbc_tasks(parse_config(SBC_RUN | {"sbc": {"enabled": False}}), "run") == []


def test_sbc_priors_are_fully_specified():
    from bayes.sbc_model import check_sbc_priors

    settings = parse_config(SBC_RUN).sbc
    priors = sbc_priors(settings)
    assert (priors.means_loc, priors.means_scale, priors.scale_param) == (0.0, 2.0, 2.0)
    check_sbc_priors(priors, settings.n_components, settings.n_features,
                     settings.covariance_type)  # raises if the model cannot be ranked


def test_sbc_record_round_trip_and_failure_layout(tmp_path):
    import json

    path = tmp_path / "sim-0000.json"
    done = SBCRecord(0, 7, parameter_names=("weights[0]", "means[0,0]"), ranks=(3, 41),
                     n_posterior_draws=50)
    path.write_text(done.to_json())
    assert list(json.loads(path.read_text())) == ["simulation", "seed", "error",
                                                  "parameter_names", "ranks",
                                                  "n_posterior_draws"]
    assert SBCRecord.read(path) == done
    failed = SBCRecord(1, 8, error="RuntimeError: boom")
    path.write_text(failed.to_json())
    assert json.loads(path.read_text()) == {"simulation": 1, "seed": 8,
                                            "error": "RuntimeError: boom"}
    assert SBCRecord.read(path) == failed
    path.write_text("[1, 2]")
    with pytest.raises(ValueError, match="holds no SBC record"):
        SBCRecord.read(path)


@pytest.mark.slow
def test_sbc_tasks_are_deterministic_and_resumable(tmp_path):
    from bayes.sbc_model import run_bayes_sbc

    out = tmp_path / "run"
    config = parse_config(SBC_RUN)
    first = run_experiment(config, out)
    assert first.n_sbc_failed == 0
    ranks = pd.read_csv(out / "sbc_ranks.csv")
    assert list(ranks["simulation"]) == [0, 1, 2]
    names = ["weights[0]", "weights[1]", "means[0,0]", "means[1,0]", "covariances[0]",
             "covariances[1]"]
    assert list(ranks.columns) == ["simulation", "n_posterior_draws", *names]
    assert ranks[names].to_numpy().min() >= 0 and ranks[names].to_numpy().max() <= 50
    summary = pd.read_csv(out / "sbc_summary.csv")
    assert list(summary["parameter"]) == names and summary["pvalue"].between(0, 1).all()

    # simulation 1 equals a direct run of the bayes driver with its seed
    task = build_sbc_tasks(config, out)[1]
    direct = run_bayes_sbc(1, 60, 2, sbc_priors(config.sbc), draws=100, tune=200, chains=1,
                           thin=2, rng=task.seed)
    np.testing.assert_array_equal(direct.ranks[0], ranks.loc[1, names].to_numpy())

    # resume: a lost and a failed record are recomputed (identically), the other skipped
    simulation_path(out, 2).unlink()
    failed = simulation_path(out, 0)
    failed.write_text('{"simulation": 0, "seed": 0, "error": "RuntimeError: boom"}')
    kept = simulation_path(out, 1).stat().st_mtime_ns
    again = run_experiment(config, out)
    assert again.n_sbc_failed == 0 and simulation_path(out, 1).stat().st_mtime_ns == kept
    pd.testing.assert_frame_equal(pd.read_csv(out / "sbc_ranks.csv"), ranks)
