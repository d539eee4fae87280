"""The committed generated code matches what `make proto` produces from proto/ now."""

from __future__ import annotations

from pathlib import Path

from clients import genproto


def test_generated_code_is_current(tmp_path: Path) -> None:
    fresh = {p.name: p.read_text() for p in genproto.generate(tmp_path)}
    committed = {p.name: p.read_text() for p in genproto.OUT_DIR.iterdir() if p.is_file()}
    assert sorted(fresh) == sorted(committed), "run `make proto`: files differ"
    stale = [name for name in fresh if fresh[name] != committed[name]]
    assert not stale, f"run `make proto`: stale generated files {stale}"


def test_every_message_and_field_is_commented() -> None:
    missing = []
    for proto in sorted(genproto.PROTO_DIR.glob("voc/v1/*.proto")):
        lines = proto.read_text().splitlines()
        for i, line in enumerate(lines):
            text = line.strip()
            is_decl = text.startswith(("message ", "service ", "enum ", "rpc "))
            is_field = (
                text.endswith(";")
                and "=" in text
                and not text.startswith(("option", "syntax", "package", "import", "//"))
            )
            is_enum_value = is_field and text.split()[0].isupper()
            if (is_decl or is_field) and not is_enum_value:
                if not lines[i - 1].strip().startswith("//"):
                    missing.append(f"{proto.name}:{i + 1}: {text}")
    assert not missing, "uncommented:\n" + "\n".join(missing)
