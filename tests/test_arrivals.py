"""Arrival processes checked against Poisson theory (counts, gaps) and their contract."""

from __future__ import annotations

import math

import numpy as np
import pytest

from simharness.traffic.arrivals import piecewise_arrivals, poisson_arrivals


def rng(seed: int = 0) -> np.random.Generator:
    return np.random.default_rng(seed)


def test_poisson_mean_count_matches_rate_times_window() -> None:
    rate, window, runs = 3.0, 50.0, 400
    g = rng(1)
    counts = [sum(1 for _ in poisson_arrivals(rate, 10.0, 10.0 + window, g)) for _ in range(runs)]
    expected = rate * window
    sd_of_mean = math.sqrt(expected / runs)  # Poisson variance = mean
    assert abs(np.mean(counts) - expected) <= 4 * sd_of_mean
    assert abs(np.var(counts) / expected - 1) < 0.25  # dispersion index of a Poisson count


def test_poisson_count_across_many_batches() -> None:
    rate, window = 5_000.0, 10.0  # ~50,000 arrivals: a dozen numpy batches
    n = sum(1 for _ in poisson_arrivals(rate, 0.0, window, rng(2)))
    assert abs(n - rate * window) <= 4 * math.sqrt(rate * window)


def test_poisson_gaps_have_coefficient_of_variation_one() -> None:
    times = np.fromiter(poisson_arrivals(20.0, 0.0, 1_000.0, rng(3)), dtype=float)
    gaps = np.diff(times)
    # sd of the sample CV of exponential gaps is about sqrt(1/n) ~ 0.007 here
    assert abs(gaps.std() / gaps.mean() - 1) < 0.05
    assert abs(gaps.mean() - 1 / 20.0) < 4 * (1 / 20.0) / math.sqrt(len(gaps))


def test_poisson_times_sorted_and_inside_window() -> None:
    times = list(poisson_arrivals(100.0, 7.5, 19.25, rng(4)))
    assert times == sorted(times)
    assert all(7.5 <= t < 19.25 for t in times)
    assert all(isinstance(t, float) for t in times)


def test_poisson_is_deterministic_for_a_seed() -> None:
    assert list(poisson_arrivals(4.0, 0, 100, rng(5))) == list(poisson_arrivals(4.0, 0, 100,
                                                                                rng(5)))


def test_zero_rate_or_empty_window_yields_nothing() -> None:
    assert list(poisson_arrivals(0.0, 0.0, 100.0, rng())) == []
    assert list(poisson_arrivals(5.0, 10.0, 10.0, rng())) == []


def test_negative_or_infinite_rate_is_rejected() -> None:
    for bad in (-1.0, math.inf, math.nan):
        with pytest.raises(ValueError):
            list(poisson_arrivals(bad, 0.0, 1.0, rng()))


def test_piecewise_counts_per_segment_match_rates() -> None:
    steps = [(10.0, 5.0), (20.0, 0.0), (30.0, 20.0)]
    edges = [0.0, 10.0, 20.0, 30.0, 40.0]
    expected = [0.0, 50.0, 0.0, 200.0]
    runs = 300
    g = rng(6)
    totals = np.zeros(4)
    for _ in range(runs):
        times = list(piecewise_arrivals(steps, 0.0, 40.0, g))
        assert times == sorted(times) and all(0.0 <= t < 40.0 for t in times)
        totals += np.histogram(times, bins=edges)[0]
    for mean, want in zip(totals / runs, expected, strict=True):
        assert abs(mean - want) <= 4 * math.sqrt(want / runs) if want else mean == 0


def test_piecewise_clips_to_start_and_until() -> None:
    steps = [(0.0, 10.0), (50.0, 30.0)]
    g = rng(7)
    runs = 200
    counts = []
    for _ in range(runs):
        times = list(piecewise_arrivals(steps, 45.0, 55.0, g))
        assert all(45.0 <= t < 55.0 for t in times)
        counts.append(sum(t < 50.0 for t in times))
    assert abs(np.mean(counts) - 50.0) <= 4 * math.sqrt(50.0 / runs)


def test_piecewise_last_step_lasts_until_end() -> None:
    n = sum(1 for _ in piecewise_arrivals([(5.0, 2.0)], 0.0, 1_005.0, rng(8)))
    assert abs(n - 2_000) <= 4 * math.sqrt(2_000)


def test_piecewise_unsorted_steps_are_rejected() -> None:
    with pytest.raises(ValueError):
        list(piecewise_arrivals([(10.0, 1.0), (5.0, 2.0)], 0.0, 20.0, rng()))
