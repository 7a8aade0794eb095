"""compile_ahead: each enabled method's compile-ahead hook, failures left to the fits."""

from dataclasses import replace

from experiments.config import load_config
from experiments.measure.methods import METHODS
from experiments.run.tasks import compile_ahead


def test_compile_ahead_calls_the_enabled_methods_hooks_and_survives_a_failure(tiny_config):
    config = load_config(tiny_config)  # EM only
    calls = []

    def failing(config):
        calls.append("em")
        raise RuntimeError("no compiler")

    methods = {name: replace(method, compile_ahead=None) for name, method in METHODS.items()}
    methods["em"] = replace(METHODS["em"], compile_ahead=failing)
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
