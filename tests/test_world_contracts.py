"""The simulated world's documented promises, checked against the world itself: the
defaults the docs and the README state, and what each API answers for the cases the docs
describe."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from simharness.world.config import EmbeddingsConfig, LLMConfig, WorldConfig

REPO = Path(__file__).resolve().parents[1]
README = (REPO / "README.md").read_text()


def test_the_documented_default_tiers_are_the_defaults():
    text = LLMConfig.model_fields["tiers"].description or ""
    documented = re.findall(r"'(\w+)' \(([\d.]+)s/([\d.]+)s, \$([\d.]+)/\$([\d.]+), "
                            r"accuracy ([\d.]+), rpm (\d+)\)", text)
    tiers = LLMConfig().tiers
    assert sorted(name for name, *_ in documented) == sorted(tiers)
    for name, median, p95, price_in, price_out, accuracy, rpm in documented:
        tier = tiers[name]
        assert (tier.latency.median, tier.latency.p95) == (float(median), float(p95))
        assert (tier.price.input_per_mtok, tier.price.output_per_mtok) == \
            (float(price_in), float(price_out))
        assert tier.accuracy.default == float(accuracy) and tier.rpm == int(rpm)


def test_the_readme_example_world_is_the_default_world():
    """The README's scenario says its `world:` is what the defaults give."""
    block = re.search(r"```yaml\n(name: my-scenario\n.*?)```", README, re.S)
    assert block is not None and "documented defaults give" in block.group(1)
    world = yaml.safe_load(block.group(1))["world"]
    default = WorldConfig()
    given = WorldConfig.model_validate(world)
    assert given.llm.tiers["small"] == default.llm.tiers["small"]
    assert given.tools["crm"].latency == default.tools["crm"].latency
    assert given.escalation == default.escalation


def test_the_documented_embedding_models_are_the_defaults():
    text = EmbeddingsConfig.model_fields["models"].description or ""
    documented = re.findall(r"(text-embedding-[\w-]+) \((\d+)(?: dimensions)?, \$([\d.]+)", text)
    models = EmbeddingsConfig().models
    assert sorted(name for name, *_ in documented) == sorted(models)
    for name, dimensions, price in documented:
        assert models[name].dimensions == int(dimensions)
        assert models[name].price_per_mtok == float(price)


def parse_go_duration(text: str) -> float:
    """Seconds from a Go duration string (time.ParseDuration's units h, m, s, ms)."""
    parts = re.fullmatch(r"(?:(\d+)h)?(?:(\d+)m(?!s))?(?:(\d+(?:\.\d+)?)(ms|s))?", text)
    assert parts is not None and text, f"not a Go duration: {text!r}"
    hours, minutes, number, unit = parts.groups()
    seconds = float(number or 0) / (1000 if unit == "ms" else 1)
    return int(hours or 0) * 3600 + int(minutes or 0) * 60 + seconds


def test_rate_limit_reset_headers_are_go_durations_as_openai_writes_them():
    from simharness.world.llm.provider import go_duration

    assert [go_duration(s) for s in (0.12, 17.3, 360.0)] == ["120ms", "17.3s", "6m0s"]
    for seconds in (0.001, 0.5, 1.0, 1.25, 59.999, 60.0, 61.5, 119.0, 754.125):
        assert parse_go_duration(go_duration(seconds)) == pytest.approx(seconds, abs=5e-4)
