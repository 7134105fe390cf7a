"""Options beyond the paper: presets, the models' CMA-ES, the population diagnostics, and
run folders of earlier versions continuing unchanged."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch

import turing
from turing.contracts.config import RunConfig
from turing.contracts.presets import PRESETS
from turing.envs import SensorSelfId
from turing.methods.cma import CMAStrategy
from turing.methods.diagnostics import population_columns, spread
from turing.methods.evolution import ESSettings, EvolutionStrategy
from turing.runs.runner import Runner

SMALL = {"models": 10, "interrogators": 8, "steps": 30, "c2st_trials": 0}


def rows(path: Path) -> list[dict[str, str]]:
    """metrics.csv rows without wall-time columns."""
    with (path / "metrics.csv").open() as handle:
        return [{k: v for k, v in r.items() if "seconds" not in k} for r in csv.DictReader(handle)]


def run(out, mode="interrogate", generations=6, **settings):
    return turing.learn(
        "agent-inference", mode=mode, generations=generations, seed=2, out=out,
        progress=False, checkpoint_every=2, **{**SMALL, **settings},
    )  # fmt: skip


# ----------------------------------------------------------------------------- presets
def test_the_default_preset_is_the_papers_algorithm_and_robust_sets_what_it_documents():
    paper = RunConfig(system="agent-inference").with_preset()
    assert (paper.model_fitness, paper.periodic_genes, paper.model_strategy) == (
        "verdict", "bounded", "es",
    )  # fmt: skip
    robust = RunConfig(system="agent-inference", preset="robust").with_preset()
    for name, value in PRESETS["robust"].items():
        assert getattr(robust, name) == value
    for name in PRESETS["robust"]:
        assert f"--{name.replace('_', '-')}" in RunConfig.describe("preset")


def test_explicit_options_override_the_preset_and_the_folder_stores_what_ran(tmp_path):
    result = run(tmp_path / "r", generations=2, preset="robust", model_fitness="verdict")
    stored = json.loads((result.path / "config.json").read_text())
    assert stored["preset"] == "robust"
    assert stored["model_fitness"] == "verdict"
    assert stored["model_strategy"] == PRESETS["robust"]["model_strategy"]
    assert (stored["init"], stored["model_sigma_init"]) == ("uniform", 0.05)
    # The models started spread over their ranges, with the preset's step sizes.
    first = result.history
    assert first["model_sigma_median"][0] > 0 and first["model_spread_median"][0] > 0.1


def test_an_unknown_preset_is_one_clear_error(tmp_path):
    with pytest.raises(turing.UserError, match="--preset must be one of paper, robust"):
        run(tmp_path / "r", preset="fast")


def test_a_folder_written_before_the_new_options_resumes_with_the_papers(tmp_path):
    """A run folder of an earlier version (no preset or strategy in config.json, fewer
    metrics columns) continues with its own header and the rows it would have written."""
    reference = run(tmp_path / "reference")
    config = RunConfig(system="agent-inference", generations=6, seed=2, checkpoint_every=2,
                       **SMALL)  # fmt: skip
    runner = Runner.create(config, out=tmp_path / "old", progress=False)
    for _ in range(4):
        runner.advance(runner.method.generation(), 0.0)
    runner.release()
    old = tmp_path / "old"
    stored = json.loads((old / "config.json").read_text())
    for name in ("preset", "model_strategy"):
        del stored[name]
    (old / "config.json").write_text(json.dumps(stored, indent=2))
    # The earlier version's columns: those without the diagnostics.
    header, *body = list(csv.reader((old / "metrics.csv").open()))
    keep = [k for k, name in enumerate(header) if not name.startswith(("sigma_", "spread_"))]
    keep = [k for k in keep if not header[k].startswith("model_s")]
    with (old / "metrics.csv").open("w", newline="") as handle:
        csv.writer(handle).writerows([[row[k] for k in keep] for row in [header, *body]])
    # Its checkpoints record the old config and header: rewrite them as that version would.
    from turing.runs.integrity import RECORD, record
    from turing.runs.rundir import RunDir
    from turing.runs.setup import normalised

    run_dir = RunDir(old)
    for path in run_dir.checkpoints():
        arrays, meta = run_dir.load_checkpoint(path)
        generation = meta["generation"]
        meta[RECORD] = record(normalised(stored), generation, [header[k] for k in keep])
        run_dir.save_checkpoint(generation, arrays, meta)
    resumed = turing.resume(old, progress=False)
    expected = [{k: r[k] for k in (header[j] for j in keep) if "seconds" not in k}
                for r in rows(reference.path)]  # fmt: skip
    assert rows(resumed.path) == expected
    assert resumed.estimates == reference.estimates


# ----------------------------------------------------------------------------- CMA-ES
@pytest.mark.parametrize("mode", ["interrogate", "metric"])
def test_cma_runs_are_seeded_and_resume_bit_identically(tmp_path, monkeypatch, mode):
    reference = run(tmp_path / "reference", mode, model_strategy="cma")
    again = run(tmp_path / "again", mode, model_strategy="cma")
    assert rows(again.path) == rows(reference.path)
    assert rows(run(tmp_path / "es", mode).path) != rows(reference.path)

    config = RunConfig(system="agent-inference", mode=mode, generations=6, seed=2,
                       checkpoint_every=2, model_strategy="cma", **SMALL)  # fmt: skip
    runner = Runner.create(config, out=tmp_path / "interrupted", progress=False)
    original = runner.method.generation
    calls = {"n": 0}

    def interrupt_at_three():
        if calls["n"] == 3:
            raise KeyboardInterrupt
        calls["n"] += 1
        return original()

    monkeypatch.setattr(runner.method, "generation", interrupt_at_three)
    with pytest.raises(turing.UserError, match="interrupted at generation 3"):
        runner.run()
    resumed = turing.resume(tmp_path / "interrupted", progress=False)
    assert rows(resumed.path) == rows(reference.path)
    assert resumed.estimates == reference.estimates


def cma(low, high, periodic=None, seed=0, size=20, sigma=0.3):
    return CMAStrategy(
        np.asarray(low, float), np.asarray(high, float),
        ESSettings(size=size, sigma_init=sigma, init="uniform"),
        np.random.default_rng(seed), periodic=None if periodic is None else np.asarray(periodic),
    )  # fmt: skip


def test_cma_maps_draws_into_the_bounds_wrapping_angles_and_mirroring_the_rest():
    strategy = cma([-math.pi, 1.0], [math.pi, 3.0], periodic=[True, False])
    points = np.array([[0.5, 0.5], [1.25, 1.25], [-0.25, -0.25], [2.1, 2.1]])
    values = strategy.to_parameters(points)
    np.testing.assert_allclose(values[:, 0], [0.0, -math.pi / 2, math.pi / 2, -0.8 * math.pi])
    np.testing.assert_allclose(values[:, 1], [2.0, 2.5, 1.5, 1.2])


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_cma_finds_an_optimum_across_the_seam_and_at_a_bound(seed):
    """A fitness with its optimum at 179 degrees (one step from -179 across the seam) and at
    a bound: CMA-ES gets within a degree and 1 % of the range in 60 generations."""
    low, high = np.array([-math.pi, 0.0, 0.0]), np.array([math.pi, 1.0, 1.0])
    target = np.array([math.radians(179.0), 1.0, 0.3])
    strategy = cma(low, high, periodic=[True, False, False], seed=seed)
    population = strategy.population()
    for _ in range(60):
        genes = EvolutionStrategy.genes(population)
        miss = np.angle(np.exp(1j * (genes[:, 0] - target[0])))
        fitness = -(miss**2) - ((genes[:, 1:] - target[1:]) ** 2).sum(1)
        EvolutionStrategy.set_fitness(population, fitness)
        population, clipped = strategy.next_population(strategy.rank(population))
        assert clipped == 0
    mean = strategy.to_parameters(strategy.strategy.centroid.reshape(1, -1))[0]
    assert abs(np.angle(np.exp(1j * (mean[0] - target[0])))) < math.radians(1.0)
    np.testing.assert_allclose(mean[1:], target[1:], atol=0.01)


# ----------------------------------------------------------------------------- diagnostics
def test_the_spread_of_angles_is_taken_on_the_circle():
    system = SensorSelfId()
    genes = np.tile(system.genuine, (4, 1))
    genes[:, 0] = np.radians([179.0, -179.0, 178.0, -178.0])
    genes[:, 8] = [1.0, 1.2, 1.4, 1.6]
    result = spread(system, genes)
    assert math.degrees(result[0]) == pytest.approx(np.std([1.0, -1.0, 2.0, -2.0]), rel=1e-6)
    assert result[8] == pytest.approx(np.std([1.0, 1.2, 1.4, 1.6]))
    assert result[1] == pytest.approx(0.0, abs=1e-9)


def test_diagnostic_columns_describe_the_parents_only():
    system = SensorSelfId()
    rng = np.random.default_rng(0)
    genes = np.tile(system.genuine, (10, 1))
    genes[5:] += rng.normal(0, 0.5, (5, 16))  # the worse half is scattered
    sigma = np.full((10, 16), 0.01)
    sigma[5:] = 1.0
    columns = population_columns(system, genes, sigma, parents=5)
    assert columns["model_sigma_median"] == pytest.approx(
        np.median(0.01 / (system.highs - system.lows))
    )
    assert columns["model_spread_median"] == pytest.approx(0.0, abs=1e-9)
    assert columns["sigma_theta_3"] == pytest.approx(0.01)
    assert set(columns) >= {f"spread_{n}" for n in system.parameter_names}


# ----------------------------------------------------------------------------- convergence
def history(system, generations=300, drift=None, gap=0.0, seed=0, spread=0.02):
    """A synthetic metrics history: the genuine values with small noise, optionally one
    parameter moving linearly by ``drift`` (a fraction of its range) over the run, and the
    model parents spread over ``spread`` of each range."""
    rng = np.random.default_rng(seed)
    columns = {}
    for k, parameter in enumerate(system.parameters):
        values = parameter.genuine + rng.normal(0, 0.002 * parameter.width, generations)
        if drift is not None and k == drift[0]:
            values = values + np.linspace(0, drift[1] * parameter.width, generations)
        if parameter.periodic:
            values = np.mod(values - parameter.low, parameter.width) + parameter.low
        columns[f"top10_{parameter.name}"] = values
    columns["accuracy_genuine"] = np.full(generations, 0.6)
    columns["models_fooled_best"] = np.full(generations, 0.6 - gap)
    columns["model_spread_median"] = np.full(generations, spread)
    return columns


def test_a_steady_estimate_that_fools_the_interrogators_looks_converged():
    from turing.runs.convergence import MAX_DRIFT, assess

    system = SensorSelfId()
    verdict = assess(system, history(system))
    assert verdict["converged"] and verdict["reasons"] == []
    assert verdict["drift"] < MAX_DRIFT / 2 and verdict["gap"] == pytest.approx(0.0)


def test_an_angle_steady_on_the_seam_does_not_count_as_drift():
    from turing.runs.convergence import MAX_DRIFT, assess

    system = SensorSelfId()
    columns = history(system)
    noise = np.random.default_rng(1).normal(0, 0.01, len(columns["top10_theta_3"]))
    columns["top10_theta_3"] = np.mod(noise, 2 * math.pi) - math.pi  # around +-pi
    assert np.ptp(columns["top10_theta_3"]) > math.pi  # its values straddle +-pi
    assert assess(system, columns)["drift"] < MAX_DRIFT / 2


def test_a_moving_estimate_and_a_best_model_the_interrogators_catch_are_flagged():
    from turing.runs.convergence import MAX_GAP, assess, verdict_text

    system = SensorSelfId()
    moving = assess(system, history(system, drift=(9, 1.0)))
    assert not moving["converged"] and moving["drift_parameter"] == "r_1"
    assert "r_1" in moving["reasons"][0]
    caught = assess(system, history(system, gap=2 * MAX_GAP))
    assert not caught["converged"] and "interrogators" in caught["reasons"][0]
    assert "NOT CONVERGED" in verdict_text(caught)
    assert assess(system, history(system, generations=20)) is None


def test_drift_the_interrogators_cannot_see_is_told_apart_from_drift_they_can():
    # A parameter that moves while the best model fools the interrogators is one the trials
    # barely constrain: more generations may not settle it (random layouts' inner radii).
    from turing.runs.convergence import MAX_GAP, assess, verdict_text

    system = SensorSelfId()
    unseen = assess(system, history(system, drift=(9, 1.0), gap=0.0))
    assert not unseen["converged"] and unseen["unconstrained"]
    assert "barely depends on r_1" in unseen["reasons"][0]
    assert "run more generations" not in verdict_text(unseen)
    seen = assess(system, history(system, drift=(9, 1.0), gap=2 * MAX_GAP))
    assert not seen["converged"] and not seen["unconstrained"]
    assert "barely depends" not in seen["reasons"][0]
    assert "run more generations" in verdict_text(seen)
    assert not assess(system, history(system))["unconstrained"]


def test_a_population_still_spread_over_its_ranges_is_flagged_even_when_quiet():
    # Scarce genuine trials: the interrogators barely tell models apart, so the estimate
    # and the gap are quiet while the parents still cover much of each range.
    from turing.runs.convergence import MAX_SPREAD, assess, verdict_text

    system = SensorSelfId()
    wide = assess(system, history(system, spread=2 * MAX_SPREAD))
    assert not wide["converged"] and wide["spread"] == pytest.approx(2 * MAX_SPREAD)
    assert len(wide["reasons"]) == 1 and "narrowed down" in wide["reasons"][0]
    assert "spread 20% of a range" in verdict_text(wide)
    narrow = assess(system, history(system, spread=MAX_SPREAD / 2))
    assert narrow["converged"]
    # Runs without the population columns (other methods, earlier versions) are judged
    # on the other two signals.
    columns = history(system, spread=2 * MAX_SPREAD)
    del columns["model_spread_median"]
    assert assess(system, columns)["spread"] is None and assess(system, columns)["converged"]


def test_runs_report_their_verdict_and_a_summary_lists_the_unconverged(tmp_path):
    from turing.reports.summaries import summarise_results

    result = run(tmp_path / "r", generations=40)
    assert result.data["convergence"] == result.convergence
    assert "convergence:" in result.summary()
    summary = summarise_results([result], methods=["interrogate"])
    cell = summary.cells[0]
    cell.convergence = {"converged": False, "reasons": ["its estimate still moves"]}
    assert summary.unconverged() == [cell]
    assert "seed 2: its estimate still moves" in "\n".join(summary.convergence_lines())
    assert "## Convergence" in summary.markdown()


def test_weighted_model_fitness_listens_only_to_interrogators_above_chance():
    from turing.methods.coevolution import score_models

    # Interrogator 0 guesses (accuracy 0.5), 1 is good (0.9), 2 is fair (0.7).
    output = torch.tensor([[1.0, 0.0, 0.5], [0.2, 0.8, 0.4], [0.4, 0.6, 0.1]])
    accuracy = np.array([0.5, 0.9, 0.7])
    fooled = np.array([1 / 3, 2 / 3, 0.0])
    weighted = score_models("weighted", output, fooled, accuracy)
    expected = (0.4 * output[1] + 0.2 * output[2]).double().numpy() / 0.6
    np.testing.assert_allclose(weighted, expected)
    # The guessing interrogator's love of model 0 does not make it the best any more.
    assert np.argmax(score_models("graded", output, fooled, accuracy)) == 0
    assert np.argmax(weighted) == 1
    # With no interrogator above chance it is the graded fitness; verdict is the paper's.
    np.testing.assert_allclose(
        score_models("weighted", output, fooled, np.full(3, 0.4)), output.double().mean(0).numpy()
    )
    assert score_models("verdict", output, fooled, accuracy) is fooled
