"""Cell plan: readable stable ids, cartesian product, SeedSequence-derived seeds."""

import pickle
import re

import numpy as np
import pytest

from experiments.config import ConfigError, bundled_configs, load_config, parse_config
from experiments.run.plan import check_reachable, plan_cells, replicate_seeds, seeds_of
from experiments.simulate.generate import simulate_mixture


def grid_config(seed=5, replicates=2, **data):
    base = {"n_samples": 100, "n_features": 2, "n_components": 3}
    return parse_config({"experiment": {"seed": seed, "replicates": replicates},
                         "data": base | data})


def test_cells_are_the_cartesian_product_in_field_order():
    config = grid_config(overlap=[0.01, 0.05, 0.1], n_samples=[50, 200])
    cells = plan_cells(config)
    assert [c.cell_id for c in cells] == [
        "c00-n_samples=50-overlap=0.01", "c01-n_samples=50-overlap=0.05",
        "c02-n_samples=50-overlap=0.1", "c03-n_samples=200-overlap=0.01",
        "c04-n_samples=200-overlap=0.05", "c05-n_samples=200-overlap=0.1",
    ]
    assert [c.index for c in cells] == list(range(6))
    assert cells[4].grid_values == {"n_samples": 200, "overlap": 0.05}
    assert cells[4].data_spec.n_samples == 200 and cells[4].data_spec.overlap == 0.05
    assert all(c.data_spec.n_components == 3 for c in cells)


def test_cell_ids_are_filesystem_safe_and_unique():
    config = grid_config(weights=[[0.2, 0.3, 0.5], [0.5, 0.25, 0.25]],
                         student_t_df=[float("inf"), 3.5], shared_covariance=[True, False],
                         overlap=[1e-5, 0.2])
    ids = [c.cell_id for c in plan_cells(config)]
    assert len(set(ids)) == len(ids) == 16
    assert all(re.fullmatch(r"[A-Za-z0-9._=+-]+", i) for i in ids)
    assert ids[0] == "c00-weights=0.2_0.3_0.5-shared_covariance=true-overlap=1e-05-student_t_df=inf"


def test_close_grid_values_get_distinct_ids():
    ids = [c.cell_id for c in plan_cells(grid_config(overlap=[0.01, 0.01000001]))]
    assert ids == ["c00-overlap=0.01", "c01-overlap=0.01000001"]


def test_no_grid_gives_one_cell():
    (cell,) = plan_cells(grid_config())
    assert cell.cell_id == "c00" and cell.grid_values == {}


def test_seeds_follow_the_seed_sequence_tree():
    # SeedSequence(seed).spawn(n)[i].spawn(r)[j].spawn(3)[s] has spawn_key (i, j, s).
    config = grid_config(seed=42, replicates=3, overlap=[0.01, 0.1])
    cells = plan_cells(config)
    for cell in cells:
        assert len(cell.seeds) == 3
        for seeds in cell.seeds:
            expected = [
                int(np.random.SeedSequence(42, spawn_key=(cell.index, seeds.replicate, stream))
                    .generate_state(1, dtype=np.uint32)[0])
                for stream in range(3)
            ]
            assert [seeds.data, seeds.em, seeds.mcmc] == expected
            assert seeds.cell_index == cell.index


def test_seeds_are_distinct_and_deterministic():
    config = grid_config(overlap=[0.01, 0.05, 0.1], replicates=3)
    first, second = plan_cells(config), plan_cells(config)
    assert first == second
    all_seeds = [s for c in first for r in c.seeds for s in (r.data, r.em, r.mcmc)]
    assert len(set(all_seeds)) == len(all_seeds)
    other = plan_cells(grid_config(seed=6, overlap=[0.01, 0.05, 0.1], replicates=3))
    assert other[0].seeds[0].data != first[0].seeds[0].data


def test_seeds_do_not_depend_on_evaluation_order():
    config = grid_config(overlap=[0.01, 0.05, 0.1], replicates=2)
    cells = plan_cells(config)
    for index in reversed(range(len(cells))):  # any worker can recompute one cell alone
        assert replicate_seeds(config.seed, len(cells), index, 2) == cells[index].seeds


def test_more_replicates_keep_the_existing_seeds():
    two = plan_cells(grid_config(replicates=2, overlap=[0.01, 0.1]))
    four = plan_cells(grid_config(replicates=4, overlap=[0.01, 0.1]))
    for small, large in zip(two, four):
        assert large.seeds[:2] == small.seeds


def test_replicate_seeds_rejects_a_bad_index():
    with pytest.raises(ValueError, match="cell_index"):
        replicate_seeds(0, 3, 3, 1)


def test_data_from_plan_seeds_is_reproducible():
    cell = plan_cells(grid_config(overlap=[0.01, 0.05]))[1]
    first = simulate_mixture(cell.data_spec, cell.seeds[0].data_rng())
    again = simulate_mixture(cell.data_spec, np.random.default_rng(cell.seeds[0].data))
    assert np.array_equal(first.X, again.X)
    other = simulate_mixture(cell.data_spec, cell.seeds[1].data_rng())
    assert not np.array_equal(first.X, other.X)


def test_check_reachable_passes_quickstart_and_names_the_cell():
    check_reachable(load_config(bundled_configs()["quickstart"]))
    config = grid_config(replicates=1, overlap=[0.05, 0.9])
    with pytest.raises(ConfigError, match=r"^data.overlap: .*not reachable.*cell c01-overlap=0.9"):
        check_reachable(config)


def test_config_cells_and_data_survive_pickling():
    # Process pools and Dask ship these objects to workers.
    config = load_config(bundled_configs()["misspecified"])
    cells = plan_cells(config)
    assert pickle.loads(pickle.dumps(config)) == config
    assert pickle.loads(pickle.dumps(cells)) == cells
    data = simulate_mixture(cells[-1].data_spec, cells[-1].seeds[0].data_rng())
    assert np.array_equal(pickle.loads(pickle.dumps(data)).X, data.X)


def test_seeds_of_one_replicate_equal_the_spawned_ones():
    seeds = replicate_seeds(7, n_cells=3, cell_index=2, replicates=5)
    assert [seeds_of(7, 2, r) for r in range(5)] == list(seeds)


def test_check_reachable_within_its_budget_first_replicates_first(monkeypatch):
    from experiments.run import plan
    from experiments.simulate.sources import SYNTHETIC

    config = grid_config(replicates=3, overlap=[0.01, 0.05])
    checked = []
    monkeypatch.setitem(plan.DATA_SOURCES, "synthetic", SYNTHETIC.__class__(
        SYNTHETIC.name, SYNTHETIC.load, lambda spec, rng: checked.append(spec.overlap)))
    cost = plan.reachability_seconds(config.data.cells()[0][1])
    assert check_reachable(config, budget_s=100.0) == plan.Reachability(6, 6)
    checked.clear()
    assert check_reachable(config, budget_s=3.5 * cost) == plan.Reachability(3, 6)
    assert checked == [0.01, 0.05, 0.01]  # replicate 0 of every cell, then replicate 1


def test_model_shapes_are_the_distinct_simulated_shapes_in_cell_order():
    from experiments.run.plan import model_shapes

    config = grid_config(n_features=[3, 2], n_components=[2, 3], n_samples=[50, 100])
    assert model_shapes(config) == [(3, 2), (3, 3), (2, 2), (2, 3)]
    assert model_shapes(load_config(bundled_configs()["faithful"])) == []  # a data file
