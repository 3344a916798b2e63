"""Synthetic tickets are as hard for a keyword router as real customer text: paraphrase,
indirect wording, typos and other teams' words, so outage results do not flatter agents
whose fallback is keywords."""

from __future__ import annotations

import importlib.util
import random
import re
import string
import sys
from types import ModuleType

import pytest
from conftest import REPO, SHARED_DATA

from simharness.traffic import texts


def keyword_benchmark() -> ModuleType:
    """benchmarks/keyword_router.py, which holds the intent-to-route mappings."""
    spec = importlib.util.spec_from_file_location("keyword_router",
                                                  REPO / "benchmarks" / "keyword_router.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up while defined
    spec.loader.exec_module(module)
    return module


def test_a_keyword_router_reads_synthetic_tickets_no_better_than_about_half():
    bench = keyword_benchmark()
    baseline = bench.score("synthetic", bench.synthetic(n=3000))
    plain = bench.score("plain", bench.synthetic(n=3000, mix={}))
    assert 0.35 < baseline.accuracy < 0.65, baseline
    assert plain.accuracy < 0.7, plain  # even one-issue tickets are not keyword-easy


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason=f"public data sets not at {SHARED_DATA}")
def test_keyword_router_does_about_as_well_on_synthetic_as_on_real_text():
    bench = keyword_benchmark()
    real = bench.real_scores(SHARED_DATA)
    assert all(s.total > 300 for s in real), real
    pooled = bench.pooled(real)
    synthetic = bench.score("synthetic", bench.synthetic(n=3000))
    assert abs(synthetic.accuracy - pooled.accuracy) < 0.08, (synthetic, real)


def test_every_standard_route_has_indirect_and_cross_route_wording():
    """Some bodies name none of the route's keywords; some name another route's."""
    keywords = keyword_benchmark().ResilientRouter().keywords
    for route, templates in texts.STANDARD_ROUTES.items():
        def hits(text: str, words: list[str]) -> int:
            low = text.lower()
            return sum(len(re.findall(r"\b" + re.escape(w), low)) for w in words)

        own = [hits(body, keywords[route]) for body in templates.bodies]
        others = [max(hits(body, keywords[r]) for r in keywords if r != route)
                  for body in templates.bodies]
        assert sum(n == 0 for n in own) >= 4, route
        assert sum(o >= max(n, 1) for n, o in zip(own, others, strict=True)) >= 3, route


def test_misspelt_variants_change_one_word_and_keep_every_slot():
    rng = random.Random(1)
    for templates in texts.STANDARD_ROUTES.values():
        for body in templates.bodies:
            typo = texts.misspell(body, rng, words=1)
            fields = [f for _, f, _, _ in string.Formatter().parse(body) if f]
            assert [f for _, f, _, _ in string.Formatter().parse(typo) if f] == fields
            before, after = body.split(), typo.split()
            assert len(before) == len(after)
            assert sum(a != b for a, b in zip(before, after, strict=True)) <= 1


def test_standard_routes_render_misspelt_bodies_and_custom_routes_do_not():
    billing = texts.templates_for("billing")
    raw = texts.STANDARD_ROUTES["billing"].bodies
    assert billing.bodies[: len(raw)] == raw and len(billing.bodies) == 2 * len(raw)
    assert sum(a != b for a, b in zip(raw, billing.bodies[len(raw):], strict=True)) >= \
        len(raw) - 1
    assert texts.templates_for("billing") is billing  # computed once
    custom = texts.templates_for("order_status")
    assert all("order status" in body.lower() for body in custom.bodies)
