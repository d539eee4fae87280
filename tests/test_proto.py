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


def test_every_proto_names_its_package_in_other_languages() -> None:
    """go_package, java_package, java_multiple_files and csharp_namespace, the same in every
    file, so generated Go, Java and C# code lands in one package per language."""
    from clients.pb import admin_pb2, internal_pb2, voc_pb2

    seen = set()
    for module in (voc_pb2, admin_pb2, internal_pb2):
        opts = module.DESCRIPTOR.GetOptions()
        assert opts.go_package.endswith("/voc/v1;vocv1")
        assert opts.java_package == "com.vocscore.voc.v1" and opts.java_multiple_files
        assert opts.csharp_namespace == "Vocscore.Voc.V1"
        seen.add((opts.go_package, opts.java_package, opts.csharp_namespace))
    assert len(seen) == 1
