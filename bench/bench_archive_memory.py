"""Peak memory of reading hostile `.nemo` archives: many large members, and a gzip bomb.

Run by hand from the repository root with the project installed
(``pip install -e '.[export,test]'``): ``python bench/bench_archive_memory.py``.
Each case runs in a fresh interpreter, so its peak RSS is its own; the
baseline is the same interpreter importing the exporter and reading a small
valid archive, which is what torch's import alone costs.
"""

from __future__ import annotations

import gzip
import io
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from nemo_fixture import write_fake_nemo

MB = 2**20
READ = """
import resource, sys, time
from manual_export.archive import read_archive
from manual_export.errors import ExportError
started = time.perf_counter()
try:
    read_archive(sys.argv[1], max_member_bytes=int(sys.argv[2]))
    verdict = "read"
except ExportError as error:
    verdict = f"refused: {error}"
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
print(f"{peak} MB peak, {time.perf_counter() - started:.1f} s, {verdict}")
"""


class _Zeros(io.RawIOBase):
    """`size` zero bytes, produced as read: the archive is written without holding them."""

    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        count = min(len(buffer), self.left)
        buffer[:count] = bytes(count)
        self.left -= count
        return count


def _hostile(path: Path, good: Path, extra: list[tuple[str, int]]) -> Path:
    with tarfile.open(good) as source:
        members = {m.name: source.extractfile(m).read() for m in source if m.isfile()}
    with gzip.open(path, "wb", compresslevel=1) as stream, tarfile.open(fileobj=stream,
                                                                         mode="w") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, size in extra:
            info = tarfile.TarInfo(name)
            info.size = size
            tar.addfile(info, _Zeros(size))
    return path


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        good = write_fake_nemo(root / "good.nemo", layers=1)
        cases = [
            ("valid small archive (baseline)", good, 4096 * MB),
            ("30 members of 96 MB, gzip, --max-member-mb 100",
             _hostile(root / "many.nemo", good, [(f"./f{n}.bin", 96 * MB) for n in range(30)]),
             100 * MB),
            ("one 2 GB member of zeros, gzip (a bomb)",
             _hostile(root / "bomb.nemo", good, [("./bomb.bin", 2048 * MB)]), 4096 * MB),
        ]
        for label, path, cap in cases:
            size = path.stat().st_size // MB
            done = subprocess.run([sys.executable, "-c", READ, str(path), str(cap)],
                                  capture_output=True, text=True, check=True)
            print(f"{label} ({size} MB on disk): {done.stdout.strip()}")


if __name__ == "__main__":
    main()
