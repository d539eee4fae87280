"""The demo store of `make run`: C0001/C0002 are detractors with last week's logistics complaint."""

from __future__ import annotations

from pathlib import Path

import pytest

from clients.client import VocClient
from clients.pb import voc_pb2
from server.app import build_server
from server.demo import seed_demo
from tests.conftest import make_config


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    cfg = make_config(Path(tmp_path_factory.mktemp("demo")))
    assert seed_demo(cfg, customers=60) > 4
    assert seed_demo(cfg, customers=60) == 0  # only an empty store is filled
    running = build_server(cfg)
    with VocClient(f"127.0.0.1:{running.port}") as client:
        yield client
    running.stop(grace=0.2)


@pytest.mark.parametrize(("cid", "locale"), [("C0001", "zh"), ("C0002", "en")])
def test_demo_detractor_cards(demo: VocClient, cid: str, locale: str) -> None:
    card = demo.card(cid, locale=locale)
    assert card.nps.category == voc_pb2.DETRACTOR and card.nps.score == 3
    assert "logistics.delay" in [t.topic for t in card.topics]
    label = next(t.label for t in card.topics if t.topic == "logistics.delay")
    assert any(label in a for a in card.alerts)
    assert card.opening_line and card.priority == voc_pb2.RED
    keyword = "物流" if locale == "zh" else "order"
    assert keyword in card.opening_line


def test_demo_has_agents_with_csat(demo: VocClient) -> None:
    stats = demo.stats()
    assert stats.customers == 60 and stats.agents > 0 and stats.feedback > 60


def test_demo_comments_are_whole_sentences(demo: VocClient) -> None:
    """Dashboards of the demo show survey comments as written, never single characters."""
    from server.demo import CSAT_COMMENTS

    known = {c for bands in CSAT_COMMENTS.values() for band in bands for c in band}
    texts = [
        c.text for agent in range(1, 41) for c in demo.dashboard(f"A{agent:03d}").comments if c.text
    ]
    assert texts and set(texts) <= known
