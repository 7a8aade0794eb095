"""compile_ahead and warm_up: each enabled method's hooks, failures left to the fits."""

from dataclasses import replace

from experiments.config import load_config, parse_config
from experiments.measure.methods import METHODS
from experiments.measure.sbc import build_sbc_tasks
from experiments.run import tasks as tasks_module
from experiments.run.tasks import build_tasks, compile_ahead, warm_up


def methods_with_failing_em_hook(hook: str, calls: list) -> dict:
    """The registry with every ``hook`` removed but EM's, which records "em" and raises."""

    def failing(argument):
        calls.append("em")
        raise RuntimeError("no compiler")

    methods = {name: replace(method, **{hook: None}) for name, method in METHODS.items()}
    methods["em"] = replace(METHODS["em"], **{hook: failing})
    return methods


def test_compile_ahead_calls_the_enabled_methods_hooks_and_survives_a_failure(tiny_config):
    config = load_config(tiny_config)  # EM only
    calls = []
    methods = methods_with_failing_em_hook("compile_ahead", calls)
    methods["mcmc"] = replace(METHODS["mcmc"], compile_ahead=lambda c: calls.append("mcmc"))
    compile_ahead(config, methods)
    assert calls == ["em"]  # MCMC is disabled in this config
    with_mcmc = replace(config, mcmc=replace(config.mcmc, enabled=True))
    calls.clear()
    compile_ahead(with_mcmc, methods)
    assert calls == ["em", "mcmc"]


def test_the_bayesian_methods_compile_ahead_for_every_simulated_shape(tiny_config, monkeypatch):
    import bayes

    config = load_config(tiny_config)
    config = replace(config, mcmc=replace(config.mcmc, enabled=True))
    compiled = []
    monkeypatch.setattr(bayes, "compile_model",
                        lambda *args, **kwargs: compiled.append((args, kwargs)), raising=False)
    METHODS["mcmc"].compile_ahead(config)
    assert [args[:3] for args, _ in compiled] == [(2, 2, config.mcmc.covariance_type)]
    assert compiled[0][1]["sampler"] == config.mcmc.sampler
    assert METHODS["advi"].compile_ahead is not None and METHODS["em"].compile_ahead is None


def test_warm_up_runs_every_methods_hook_and_the_sbc_one_and_survives_failures(
        tiny_config, monkeypatch, tmp_path):
    config = load_config(tiny_config)  # EM only
    calls = []
    methods = methods_with_failing_em_hook("warm_up", calls)
    replicates = build_tasks(config, tmp_path, methods=methods)
    sbc = build_sbc_tasks(parse_config({
        "experiment": {"name": "s", "seed": 1},
        "data": {"n_samples": 50, "n_features": 1, "n_components": 2, "overlap": 0.01},
        "sbc": {"enabled": True, "n_simulations": 2}}), tmp_path)
    monkeypatch.setattr(tasks_module, "warm_up_sbc", lambda task: calls.append("sbc"))
    warm_up(replicates + sbc)
    assert calls == ["em"] * len(replicates) + ["sbc"] * 2  # the hooks skip what they ran
    assert METHODS["vb"].warm_up is not None and METHODS["mcmc"].warm_up is None
