"""Configuration that would crash or silently weaken the guard is a clear ConfigError."""

import math

import pytest

import agentwarrant as aw


@pytest.mark.parametrize("ttl", [1e12, 0.0, -1.0, math.inf, math.nan])
def test_a_grant_lifetime_out_of_range_is_a_config_error_not_a_crash(ttl: float) -> None:
    with pytest.raises(aw.ConfigError) as raised:
        aw.Guard(grant_ttl=ttl)
    assert raised.value.code == "invalid_limits"


@pytest.mark.parametrize("seconds", [math.nan, math.inf, -math.inf])
def test_a_manual_clock_refuses_a_non_finite_move(seconds: float) -> None:
    clock = aw.ManualClock()
    before = clock.now()
    with pytest.raises(aw.ConfigError) as raised:
        clock.advance(seconds)
    assert raised.value.code == "invalid_time"
    assert clock.now() == before


def test_a_manual_clock_moved_past_the_calendar_stops_there() -> None:
    clock = aw.ManualClock()
    clock.advance(1e300)
    clock.advance(1e300)
    assert clock.now() > 0


@pytest.mark.parametrize("env", ["production", "Prod", "prod ", ""])
def test_a_misspelt_environment_is_a_config_error(env: str) -> None:
    with pytest.raises(aw.ConfigError) as raised:
        aw.Guard(env=env)
    assert raised.value.code == "invalid_environment"
    assert "declared: dev, test, staging, prod" in str(raised.value)
