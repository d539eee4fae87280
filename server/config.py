"""Configuration: one TOML file, every key with a default, `VOC_*` environment and flags on top."""

from __future__ import annotations

import dataclasses
import os
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping


class ConfigError(ValueError):
    """A configuration value is missing, of the wrong type or out of range."""


@dataclass(frozen=True, slots=True)
class ServerConfig:
    listen: str = "127.0.0.1:50051"
    # server processes on the port; 0 = one per core (1 runs everything in this process)
    workers: int = 0
    threads: int = 16
    grace_s: float = 5.0
    max_message_bytes: int = 1 << 20
    max_text_chars: int = 4000
    max_id_chars: int = 128
    default_locale: str = "zh"
    log_format: str = "json"
    log_level: str = "INFO"
    # serve on a non-loopback address without [auth] tokens (a trusted network only)
    insecure: bool = False
    # a stream whose client sends nothing this long is ended with DEADLINE_EXCEEDED (0: never)
    stream_idle_s: float = 900.0
    # HTTP/2 pings find vanished clients of idle streams: every keepalive_s, dead after the timeout
    keepalive_s: float = 60.0
    keepalive_timeout_s: float = 20.0


@dataclass(frozen=True, slots=True)
class StoreConfig:
    path: str = "var/store"
    map_size_mb: int = 1024
    # growth on a full map stops here; 0 = up to the store's own 1 TiB cap
    max_map_size_mb: int = 0
    max_readers: int = 1024
    history_days: int = 90
    history_max_events: int = 200
    agent_history_days: int = 30
    agent_history_max: int = 1000
    # feedback_id / interaction idempotency keys are kept this long after they were recorded
    idempotency_days: int = 30
    sync: bool = True


@dataclass(frozen=True, slots=True)
class CardConfig:
    topic_days: int = 30
    fresh_days: int = 7
    max_topics: int = 8
    # priority[tier][severity 0..3]
    priority: Mapping[str, tuple[str, ...]] = field(
        default_factory=lambda: {
            "STANDARD": ("GREEN", "GREEN", "YELLOW", "ORANGE"),
            "VIP": ("GREEN", "YELLOW", "ORANGE", "RED"),
            "VVIP": ("YELLOW", "ORANGE", "RED", "RED"),
        }
    )
    angry_intensity: float = 0.6


@dataclass(frozen=True, slots=True)
class LexiconConfig:
    # optional packs shipped in lexicons/_packs/ (e.g. "reviews": weights derived from reviews)
    packs: tuple[str, ...] = ()
    extra_dirs: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class TlsConfig:
    """TLS is on when cert_file is set; client_ca_file verifies client certificates (mTLS)."""

    cert_file: str = ""
    key_file: str = ""
    client_ca_file: str = ""
    require_client_cert: bool = False


@dataclass(frozen=True, slots=True)
class MetricsConfig:
    # HOST:PORT of the HTTP /metrics and /healthz endpoint; "" turns it off
    listen: str = "127.0.0.1:9464"


@dataclass(frozen=True, slots=True)
class Config:
    server: ServerConfig = field(default_factory=ServerConfig)
    store: StoreConfig = field(default_factory=StoreConfig)
    card: CardConfig = field(default_factory=CardConfig)
    lexicons: LexiconConfig = field(default_factory=LexiconConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    tls: TlsConfig = field(default_factory=TlsConfig)
    # [[auth.tokens]] entries, checked by server.auth.load_tokens; no tokens = auth off
    auth: Mapping[str, Any] = field(default_factory=dict)
    # Free-form sections handed to the domain modules that own them (emotion, live, reports, ...).
    emotion: Mapping[str, Any] = field(default_factory=dict)
    live: Mapping[str, Any] = field(default_factory=dict)
    reports: Mapping[str, Any] = field(default_factory=dict)
    weak_signals: Mapping[str, Any] = field(default_factory=dict)
    routing: Mapping[str, Any] = field(default_factory=dict)
    # [delivery] and [[delivery.routes]]: where fired triggers are posted (server/delivery.py)
    delivery: Mapping[str, Any] = field(default_factory=dict)
    # [board]: the ops board's HTTP port and SLA deadlines (server/board.py)
    board: Mapping[str, Any] = field(default_factory=dict)
    # [sla]: response deadlines and escalation owners (server/sla.py)
    sla: Mapping[str, Any] = field(default_factory=dict)
    # [gateway]: JSON over HTTP in the Connect protocol (server/gateway.py)
    gateway: Mapping[str, Any] = field(default_factory=dict)
    # [cluster]: redis_url set = one service with every node on that Redis (server/cluster.py)
    cluster: Mapping[str, Any] = field(default_factory=dict)
    source: str = "defaults"


_SECTIONS = {
    "server": ServerConfig,
    "store": StoreConfig,
    "card": CardConfig,
    "lexicons": LexiconConfig,
    "metrics": MetricsConfig,
    "tls": TlsConfig,
}
_FREE_SECTIONS = (
    "emotion",
    "live",
    "reports",
    "weak_signals",
    "routing",
    "auth",
    "delivery",
    "board",
    "sla",
    "gateway",
    "cluster",
)
_PRIORITIES = ("GREEN", "YELLOW", "ORANGE", "RED")


def _coerce(where: str, value: Any, default: Any) -> Any:
    """Converts a TOML or environment value to the type of the field's default."""
    if isinstance(default, bool):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in (
            "1",
            "true",
            "yes",
            "on",
            "0",
            "false",
            "no",
            "off",
        ):
            return value.lower() in ("1", "true", "yes", "on")
        raise ConfigError(f"{where}: expected true or false, got {value!r}")
    if isinstance(default, int):
        try:
            if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
                raise ValueError
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected an integer, got {value!r}") from None
    if isinstance(default, float):
        try:
            if isinstance(value, bool):
                raise ValueError
            return float(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{where}: expected a number, got {value!r}") from None
    if isinstance(default, str):
        if not isinstance(value, str):
            raise ConfigError(f"{where}: expected a string, got {value!r}")
        return value
    if isinstance(default, tuple):
        if isinstance(value, str):
            value = [v for v in value.split(os.pathsep) if v]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: expected a list, got {value!r}")
        return tuple(value)
    return value


def build_section(name: str, cls: type, table: Mapping[str, Any]) -> Any:
    known = {f.name: f for f in dataclasses.fields(cls)}
    defaults = cls()
    kwargs = {}
    for key, value in table.items():
        if key not in known:
            raise ConfigError(f"[{name}] {key}: unknown key (known: {', '.join(sorted(known))})")
        kwargs[key] = _coerce(f"[{name}] {key}", value, getattr(defaults, key))
    return cls(**kwargs)


def _check(cfg: Config) -> None:
    s = cfg.server
    host, sep, port = s.listen.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise ConfigError(f"[server] listen: expected HOST:PORT, got {s.listen!r}")
    if s.workers < 0:
        raise ConfigError("[server] workers: must be 0 (one per core) or more")
    if s.threads < 1:
        raise ConfigError("[server] threads: must be at least 1")
    if s.stream_idle_s < 0:
        raise ConfigError("[server] stream_idle_s: must be 0 (no limit) or more seconds")
    if s.keepalive_s < 1 or s.keepalive_timeout_s < 1:
        raise ConfigError("[server] keepalive_s / keepalive_timeout_s: must be at least 1 second")
    if s.max_text_chars < 1 or s.max_message_bytes < 1024:
        raise ConfigError("[server] max_text_chars / max_message_bytes: too small")
    if s.default_locale not in ("zh", "en"):
        raise ConfigError(f"[server] default_locale: expected zh or en, got {s.default_locale!r}")
    tls = cfg.tls
    if bool(tls.cert_file) != bool(tls.key_file):
        raise ConfigError("[tls] cert_file, key_file: set both or neither")
    if (tls.client_ca_file or tls.require_client_cert) and not tls.cert_file:
        raise ConfigError("[tls] client_ca_file, require_client_cert: need cert_file and key_file")
    if tls.require_client_cert and not tls.client_ca_file:
        raise ConfigError("[tls] require_client_cert: needs client_ca_file to verify clients")
    if cfg.store.map_size_mb < 1:
        raise ConfigError("[store] map_size_mb: must be at least 1")
    if cfg.store.max_map_size_mb < 0:
        raise ConfigError("[store] max_map_size_mb: must be 0 (no limit) or a size in MiB")
    if cfg.metrics.listen:
        host, sep, port = cfg.metrics.listen.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
            raise ConfigError(
                f'[metrics] listen: expected HOST:PORT or "" (off), got {cfg.metrics.listen!r}'
            )
    for tier in ("STANDARD", "VIP", "VVIP"):
        row = cfg.card.priority.get(tier)
        if row is None or len(row) != 4 or any(p not in _PRIORITIES for p in row):
            raise ConfigError(
                f"[card.priority] {tier}: expected 4 of {'/'.join(_PRIORITIES)} (severity 0..3)"
            )


# VOC_ variables that are not server settings: the config path, the clients' own settings and
# the test and bench knobs; any other VOC_ name must be a [section] key or it is a typo
NOT_SETTINGS = frozenset(
    {
        "VOC_CONFIG",
        "VOC_TARGET",
        "VOC_TOKEN",
        "VOC_CA_FILE",
        "VOC_CLIENT_CERT",
        "VOC_CLIENT_KEY",
        "VOC_INTERNAL_TOKEN",
        "VOC_FUZZ_EXAMPLES",
        "VOC_BENCH_PROFILES",
    }
)


def _env_overrides(env: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """VOC_SERVER_LISTEN=... -> {"server": {"listen": ...}}; a VOC_ name that is no setting
    (VOC_SERVR_LISTEN, VOC_SERVER_LISTN) is a ConfigError naming it, never silently ignored."""
    out: dict[str, dict[str, str]] = {}
    for name, value in env.items():
        if not name.startswith("VOC_") or name in NOT_SETTINGS:
            continue
        rest = name[4:].lower()
        for section in (*_SECTIONS, *_FREE_SECTIONS):
            if rest.startswith(section + "_"):
                key = rest[len(section) + 1 :]
                cls = _SECTIONS.get(section)
                if cls is not None:
                    known = {f.name for f in dataclasses.fields(cls)}
                    if key not in known:
                        raise ConfigError(
                            f"{name}: [{section}] has no key {key!r} "
                            f"(known: {', '.join(sorted(known))})"
                        )
                out.setdefault(section, {})[key] = value
                break
        else:
            sections = ", ".join(f"VOC_{s.upper()}_*" for s in (*_SECTIONS, *_FREE_SECTIONS))
            raise ConfigError(
                f"{name}: not a vocscore setting (settings are {sections}; "
                f"also {', '.join(sorted(NOT_SETTINGS))})"
            )
    return out


def load_config(
    path: str | Path | None = None,
    *,
    env: Mapping[str, str] | None = None,
    overrides: Mapping[str, Mapping[str, Any]] | None = None,
) -> Config:
    """Builds the config from defaults, then the TOML file, then `VOC_*` variables, then flags."""
    env = os.environ if env is None else env
    path = path or env.get("VOC_CONFIG")
    raw: dict[str, Any] = {}
    if path:
        try:
            raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError(f"{path}: config file not found") from None
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    unknown = set(raw) - set(_SECTIONS) - set(_FREE_SECTIONS)
    if unknown:
        raise ConfigError(f"{path}: unknown section(s) {sorted(unknown)}")
    merged: dict[str, dict[str, Any]] = {k: dict(v) for k, v in raw.items()}
    for layer in (_env_overrides(env), overrides or {}):
        for section, table in layer.items():
            merged.setdefault(section, {}).update(table)
    kwargs: dict[str, Any] = {"source": str(path) if path else "defaults"}
    for name, cls in _SECTIONS.items():
        table = dict(merged.get(name, {}))
        if name == "card" and "priority" in table:
            prio = CardConfig().priority | {
                str(k).upper(): tuple(str(p).upper() for p in v)
                for k, v in table["priority"].items()
            }
            table["priority"] = prio
        kwargs[name] = build_section(name, cls, table)
    for name in _FREE_SECTIONS:
        kwargs[name] = dict(merged.get(name, {}))
    cfg = Config(**kwargs)
    _check(cfg)
    return cfg
