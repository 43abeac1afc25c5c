"""agentwarrant.testing and the pytest plugin, as a user's test suite uses them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import agentwarrant as aw
from agentwarrant.testing import assert_scenario, run_scenario, run_scenario_source

SCENARIOS = sorted((Path(__file__).resolve().parents[3] / "tests" / "scenarios").glob("*.json"))

pytest_plugins = ["pytester"]


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_the_shared_scenario_corpus_passes_from_python(path: Path):
    report = assert_scenario(path)
    assert report.steps and all(step.passed for step in report.steps)


def test_a_failing_step_is_reported_not_raised(tmp_path: Path):
    scenario = json.loads(SCENARIOS[0].read_text())
    scenario["steps"][0]["expect"] = "allowed" if scenario["steps"][0]["expect"] != "allowed" else "denied"
    path = tmp_path / "wrong.json"
    path.write_text(json.dumps(scenario))
    report = run_scenario(path)
    assert not report.passed and report.failures[0].index == 0
    assert "step 0" in report.summary()
    with pytest.raises(AssertionError, match="step 0"):
        assert_scenario(path)


def test_malformed_scenario_names_the_field():
    with pytest.raises(aw.ScenarioError) as error:
        run_scenario_source('{"format": "agentwarrant-scenario/v1", "nmae": "typo"}', name="typo.json")
    assert isinstance(error.value, ValueError) and error.value.file == "typo.json"


def test_plugin_fixtures_and_assertions(pytester: pytest.Pytester):
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile(
        """
        import agentwarrant as aw
        from agentwarrant.testing import assert_denied

        def test_guard_and_task(aw_guard, aw_task, aw_approver):
            assert aw_task.guard is aw_guard
            assert aw.current_task() is aw_task

        def test_user_guard(aw_task):
            assert aw_task.authorize is not None

        def test_assert_denied(aw_guard, aw_identity, aw_intent):
            aw_guard.add_tool(aw.ToolSpec("read_secret", impact="low", reads=["secret"]))
            aw_guard.add_tool(aw.ToolSpec("send", impact="medium", external=True, sink=True))
            with aw_guard.task(aw_identity, aw_intent) as task:
                task.authorize("read_secret").complete()
                assert_denied(lambda: task.authorize("send"), reason="exfiltration")
        """
    )
    result = pytester.runpytest("-q")  # the plugin comes through its pytest11 entry point
    result.assert_outcomes(passed=3)


def test_plugin_fixtures_are_prefixed_so_they_cannot_shadow_a_suites_guard_or_task(pytester: pytest.Pytester):
    pytester.makeini("[pytest]\nasyncio_default_fixture_loop_scope = function\n")
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest("--fixtures")
    listed = result.stdout.str()
    # `--fixtures` lists each plugin's fixtures under a header naming the plugin.
    after = listed.split("fixtures defined from agentwarrant.pytest_plugin", 1)[1].splitlines()[1:]
    section = [line for line in after[: next((i for i, l in enumerate(after) if l.startswith("-") or l.startswith("=")), len(after))]]
    names = {line.split()[0] for line in section if line.strip() and not line.startswith(" ")}
    assert names == {"aw_identity", "aw_intent", "aw_approver", "aw_guard", "aw_task"}
