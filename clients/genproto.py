"""Generates clients/pb/*_pb2*.py from proto/voc/v1/*.proto (`make proto`); never edit the output."""

from __future__ import annotations

import re
import shutil
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "proto"
OUT_DIR = ROOT / "clients" / "pb"
_IMPORT = re.compile(r"^from voc\.v1 import ", re.MULTILINE)


def generate(out_dir: Path = OUT_DIR) -> list[Path]:
    """Runs protoc over every proto file and writes flat modules with package-relative imports."""
    from grpc_tools import protoc

    sources = sorted(PROTO_DIR.glob("voc/v1/*.proto"))
    if not sources:
        raise FileNotFoundError(f"no .proto files under {PROTO_DIR}")
    well_known = Path(protoc.__file__).parent / "_proto"
    with tempfile.TemporaryDirectory() as tmp:
        args = [
            "grpc_tools.protoc",
            f"-I{PROTO_DIR}",
            f"-I{well_known}",
            f"--python_out={tmp}",
            f"--pyi_out={tmp}",
            f"--grpc_python_out={tmp}",
            *(str(p.relative_to(PROTO_DIR)) for p in sources),
        ]
        if protoc.main(args) != 0:
            raise RuntimeError("protoc failed: " + " ".join(args))
        out_dir.mkdir(parents=True, exist_ok=True)
        written = []
        for produced in sorted((Path(tmp) / "voc" / "v1").iterdir()):
            text = _IMPORT.sub("from clients.pb import ", produced.read_text())
            target = out_dir / produced.name
            target.write_text(text)
            written.append(target)
    init = out_dir / "__init__.py"
    init.write_text('"""Generated protobuf and gRPC code (make proto); do not edit."""\n')
    return [init, *written]


def main() -> int:
    if OUT_DIR.exists():
        shutil.rmtree(OUT_DIR)
    for path in generate():
        print(path.relative_to(ROOT))
    return 0


if __name__ == "__main__":
    sys.exit(main())
