"""Config: defaults, TOML, VOC_* environment and flags, in that order; clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from server.config import ConfigError, load_config


def test_defaults_listen_on_loopback_with_store_under_var() -> None:
    cfg = load_config(None, env={})
    assert cfg.server.listen == "127.0.0.1:50051"
    assert cfg.store.path == "var/store"
    assert cfg.card.priority["VVIP"][2] == "RED"


def test_file_then_env_then_flags(tmp_path: Path) -> None:
    f = tmp_path / "voc.toml"
    f.write_text(
        '[server]\nlisten = "127.0.0.1:6000"\nthreads = 4\n[store]\nsync = false\n'
        '[card.priority]\nVIP = ["GREEN", "GREEN", "YELLOW", "RED"]\n'
    )
    cfg = load_config(
        f,
        env={"VOC_SERVER_THREADS": "8", "VOC_STORE_PATH": "/tmp/x"},
        overrides={"store": {"path": "/tmp/flag"}},
    )
    assert cfg.server.listen == "127.0.0.1:6000"
    assert cfg.server.threads == 8
    assert cfg.store.path == "/tmp/flag"
    assert cfg.store.sync is False
    assert cfg.card.priority["VIP"] == ("GREEN", "GREEN", "YELLOW", "RED")
    assert cfg.card.priority["VVIP"] == ("YELLOW", "ORANGE", "RED", "RED")


def test_config_file_named_by_environment(tmp_path: Path) -> None:
    f = tmp_path / "voc.toml"
    f.write_text('[server]\ndefault_locale = "en"\n')
    assert load_config(None, env={"VOC_CONFIG": str(f)}).server.default_locale == "en"


@pytest.mark.parametrize(
    ("text", "env", "message"),
    [
        ('[server]\nlisten = "nowhere"\n', {}, "listen"),
        ('[server]\nthreads = "many"\n', {}, "threads"),
        ('[server]\nlistne = "x"\n', {}, "unknown key"),
        ("[bogus]\n", {}, "unknown section"),
        ('[card.priority]\nVIP = ["GREEN"]\n', {}, "VIP"),
        ("[server\n", {}, "invalid TOML"),
        ("", {"VOC_STORE_SYNC": "maybe"}, "sync"),
    ],
)
def test_bad_config_names_the_problem(tmp_path: Path, text: str, env: dict, message: str) -> None:
    f = tmp_path / "voc.toml"
    f.write_text(text)
    with pytest.raises(ConfigError, match=message):
        load_config(f, env=env)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "absent.toml", env={})


def test_example_config_loads_and_names_every_key() -> None:
    import dataclasses
    import re

    from server.config import build_section
    from server.interactions import InteractionLimits
    from server.live import LiveParams
    from server.scoring import EmotionParams
    from server.trigger_rules import TriggerParams

    example = Path(__file__).resolve().parent.parent / "voc.example.toml"
    cfg = load_config(example, env={})
    defaults = load_config(None, env={})
    for name in ("server", "store", "card", "lexicons", "metrics", "tls"):
        assert getattr(cfg, name) == getattr(defaults, name), f"[{name}] differs from the defaults"
    text = example.read_text(encoding="utf-8")
    for section in (cfg.server, cfg.store, cfg.card, cfg.lexicons, cfg.metrics, cfg.tls):
        for f in dataclasses.fields(section):
            found = re.search(rf"^(# )?({f.name} = |\[card\.{f.name}\])", text, re.M)
            assert found, f"voc.example.toml lacks {f.name}"
    TriggerParams.from_config(cfg)  # unknown or mistyped keys raise here
    build_section("emotion", EmotionParams, cfg.emotion)
    live = dict(cfg.live)
    build_section("live", InteractionLimits, {k: live.pop(k) for k in InteractionLimits.__slots__})
    build_section("live", LiveParams, live)
    assert set(cfg.emotion) == {f.name for f in dataclasses.fields(EmotionParams)}
