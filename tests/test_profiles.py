"""CRM profiles: names and attribute keys with control characters are refused, by field."""

from __future__ import annotations

from pathlib import Path

import pytest

from clients.cli import EXIT_REJECTED, main
from clients.client import VocClient
from clients.pb import admin_pb2, voc_pb2
from server.app import Running
from server.errors import InvalidArgument
from server.profiles import ProfileIn, check_profile

UNSAFE = [
    "\x1b[2J\x1b[H",  # ESC: clear the screen and home the cursor
    "\x1b]0;title\x07",  # OSC sequence ended by BEL
    "\x00",
    "\t",
    "\n",
    "\r",
    "\x08",
    "\x7f",  # DEL
    "\x85",  # C1 next line
    "\x9b2J",  # C1 CSI
    "\u202e",  # right-to-left override
    "\u202a",
    "\u2066",  # left-to-right isolate
    "\u2069",
    "\u200f",  # right-to-left mark
    "\u061c",  # Arabic letter mark
    "\u2028",  # line separator
]


@pytest.mark.parametrize("bad", UNSAFE)
def test_name_with_control_characters_is_refused(bad: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        check_profile(ProfileIn("c-1", "VIP", f"王{bad}芳"))
    assert info.value.field == "name" and info.value.code == "INVALID_ARGUMENT"


@pytest.mark.parametrize("bad", UNSAFE)
def test_attribute_key_with_control_characters_is_refused(bad: str) -> None:
    with pytest.raises(InvalidArgument) as info:
        check_profile(ProfileIn("c-1", "VIP", attributes={f"seg{bad}": "gold"}))
    assert info.value.field.startswith("attributes[")
    assert bad not in str(info.value)  # the message itself is safe to print


def test_ordinary_names_and_keys_are_kept() -> None:
    attrs = {"segment": "gold", "地区": "华东", "o'brien": "x", "emoji 🙂": "y"}
    checked = check_profile(ProfileIn("c-1", "VIP", "  Zoë O'Brien-李 🙂 ", "en", attrs))
    assert checked.name == "Zoë O'Brien-李 🙂" and checked.attributes == attrs


def test_upsert_refuses_control_characters_by_field(server: Running, client: VocClient) -> None:
    profiles = [
        admin_pb2.Profile(customer_id="ctl-1", tier=voc_pb2.VIP, name="\x1b[2JFake output"),
        admin_pb2.Profile(customer_id="ctl-2", tier=voc_pb2.VIP, attributes={"k\u202e": "v"}),
        admin_pb2.Profile(customer_id="ctl-3", tier=voc_pb2.VIP, name="王芳"),
    ]
    summary = client.upsert_profiles(profiles)
    assert (summary.upserted, summary.rejected) == (1, 2)
    assert summary.errors[0].startswith("#0: name: contains control characters")
    assert summary.errors[1].startswith("#1: attributes[")
    assert "\x1b" not in "".join(summary.errors) and "\u202e" not in "".join(summary.errors)
    assert server.store.get("customers", b"ctl-1") is None
    assert server.store.get("customers", b"ctl-2") is None
    assert server.store.get("customers", b"ctl-3")["name"] == "王芳"


def test_import_refuses_control_characters(
    server: Running, client: VocClient, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    jsonl = tmp_path / "crm.jsonl"
    jsonl.write_text(
        '{"customer_id": "ctl-4", "tier": "VIP", "name": "\\u001b[31mRED"}\n'
        '{"customer_id": "ctl-5", "tier": "VIP", "attributes": {"seg\\u2066": "gold"}}\n'
        '{"customer_id": "ctl-6", "tier": "VIP", "name": "Tom"}\n',
        encoding="utf-8",
    )
    code = main(["--target", f"127.0.0.1:{server.port}", "import", str(jsonl), "--quiet"])
    assert code == EXIT_REJECTED
    out = capsys.readouterr().out
    assert "imported 1 profiles" in out and "rejected 2 lines" in out
    assert "line 1: name" in out and "line 2: attributes" in out and "\u2066" not in out
    assert server.store.get("customers", b"ctl-4") is None
    assert server.store.get("customers", b"ctl-6")["name"] == "Tom"
