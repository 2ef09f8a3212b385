"""Read a `.nemo` archive into memory, refusing anything unsafe or broken.

Nothing is extracted to disk: members are read through `extractfile`, so a
hostile name can never be written anywhere. The weights are unpickled with
`weights_only=True`, which refuses pickles that would run code.

Memory is bounded by what the export needs, not by what the archive holds:
a first pass checks every header (names, types, sizes against a per-member
cap and a total budget) and keeps only the config; a second pass keeps the
weights and the artifacts the config names. Everything else is streamed
past, so thirty large members or a compression bomb never sit in memory.
"""

from __future__ import annotations

import io
import pickle
import re
import tarfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import torch
import yaml

from manual_export.errors import (
    ArchiveError,
    ConfigError,
    LinkMemberError,
    MissingMemberError,
    NotAStateDictError,
    NotATarError,
    OversizeMemberError,
    TruncatedArchiveError,
    UnsafeCheckpointError,
    UnsafeMemberError,
)

__all__ = ["DEFAULT_MAX_MEMBER_BYTES", "DEFAULT_MAX_TOTAL_BYTES", "NemoArchive", "read_archive"]

CONFIG_MEMBER = "model_config.yaml"
WEIGHTS_MEMBER = "model_weights.ckpt"
# Large enough for a 1B-parameter fp32 checkpoint; a bigger member is more likely a bomb.
DEFAULT_MAX_MEMBER_BYTES = 4 * 1024**3
# The weights at the member cap plus room for tokenizer files and the config.
DEFAULT_MAX_TOTAL_BYTES = 5 * 1024**3
_TAR_END_MARKER = 1024
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")


@dataclass(frozen=True)
class NemoArchive:
    """The parts of a `.nemo` the exporter needs, held in memory."""

    path: Path
    config: dict[str, Any]
    state_dict: dict[str, torch.Tensor]
    members: dict[str, bytes]

    def artifact(self, ref: str) -> bytes:
        """Bytes of an artifact named in the config: `nemo:<uuid>_name` or a stale path.

        NeMo resolves both forms by basename inside the archive, so we do too.
        """
        basename = PurePosixPath(ref.removeprefix("nemo:").replace("\\", "/")).name
        for name, data in self.members.items():
            if PurePosixPath(name).name == basename:
                return data
        raise MissingMemberError(f"{self.path.name}: artifact {ref!r} is not in the archive")


def read_archive(
    path: str | Path,
    *,
    max_member_bytes: int = DEFAULT_MAX_MEMBER_BYTES,
    max_total_bytes: int = DEFAULT_MAX_TOTAL_BYTES,
) -> NemoArchive:
    """Open a plain or compressed `.nemo` tar and load its config, weights and artifacts."""
    path = Path(path)
    limits = (max_member_bytes, max_total_bytes)
    first = _read_members(path, limits, keep=lambda name: name == CONFIG_MEMBER)
    if CONFIG_MEMBER not in first.kept:
        raise MissingMemberError(f"{path.name}: no {CONFIG_MEMBER} in the archive")
    if WEIGHTS_MEMBER not in first.names:
        raise MissingMemberError(f"{path.name}: no {WEIGHTS_MEMBER} in the archive")
    config = _parse_config(first.kept[CONFIG_MEMBER], path)
    named = _referenced_basenames(config)
    wanted = {WEIGHTS_MEMBER} | {
        name for name in first.names if PurePosixPath(name).name in named
    } - {CONFIG_MEMBER}
    members = _read_members(path, limits, keep=wanted.__contains__).kept
    if WEIGHTS_MEMBER not in members:
        raise ArchiveError(f"{path.name}: the archive changed while it was being read")
    state_dict = _load_state_dict(members.pop(WEIGHTS_MEMBER), path)
    return NemoArchive(path=path, config=config, state_dict=state_dict, members=members)


@dataclass(frozen=True)
class _Pass:
    names: tuple[str, ...]  # every file member, in archive order
    kept: dict[str, bytes]  # the bytes of the members asked for


def _referenced_basenames(config: Any) -> set[str]:
    """Basenames of every string in the config: artifact references are among them."""
    if isinstance(config, Mapping):
        return set().union(*(_referenced_basenames(v) for v in config.values()))
    if isinstance(config, list):
        return set().union(*(_referenced_basenames(v) for v in config))
    if isinstance(config, str) and config:
        return {PurePosixPath(config.removeprefix("nemo:").replace("\\", "/")).name}
    return set()


def _read_members(path: Path, limits: tuple[int, int], keep: Callable[[str], bool]) -> _Pass:
    """Check every member's header; read into memory only those `keep` accepts."""
    max_member_bytes, max_total_bytes = limits
    try:
        tar = _open_tar(path)
    except FileNotFoundError:
        raise ArchiveError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ArchiveError(f"{path}: is a directory, not a .nemo file") from None
    except (tarfile.ReadError, EOFError, OSError):
        raise NotATarError(f"{path.name}: not a tar archive (plain, gzip, bz2 or xz)") from None
    names: dict[str, None] = {}  # an ordered set: bombs of many tiny members stay linear
    kept: dict[str, bytes] = {}
    total = 0
    with tar:
        try:
            while (info := tar.next()) is not None:
                name = _safe_name(info, path)
                if info.isdir() or not name:
                    continue
                if name in names:
                    raise UnsafeMemberError(f"{path.name}: member {info.name!r} appears twice")
                if info.size > max_member_bytes:
                    raise OversizeMemberError(
                        f"{path.name}: member {info.name!r} is {info.size} bytes, "
                        f"over the {max_member_bytes}-byte cap"
                    )
                total += info.size
                if total > max_total_bytes:
                    raise OversizeMemberError(
                        f"{path.name}: members add up to more than the {max_total_bytes}-byte "
                        f"budget (at {info.name!r})"
                    )
                names[name] = None
                if keep(name):
                    kept[name] = _read_member(tar, info, path)
                tar.members.clear()  # tarfile keeps every header; a bomb of tiny members must not
            _check_end_marker(tar, path)
        except (tarfile.ReadError, EOFError, OSError) as exc:
            raise TruncatedArchiveError(
                f"{path.name}: archive is truncated or corrupt ({_first_line(exc)})"
            ) from None
    return _Pass(tuple(names), kept)


def _open_tar(path: Path) -> tarfile.TarFile:
    """`r:*` detects plain, gzip (pre-1.7 NeMo), bz2 and xz tars; the caller closes it."""
    return tarfile.open(path, "r:*")


def _safe_name(info: tarfile.TarInfo, path: Path) -> str:
    """The member's name without `./`, after refusing names and types that could escape."""
    raw = info.name
    if raw.startswith(("/", "\\")) or _WINDOWS_DRIVE.match(raw):
        raise UnsafeMemberError(f"{path.name}: member {raw!r} has an absolute name")
    parts = [part for part in re.split(r"[/\\]", raw) if part not in ("", ".")]
    if ".." in parts:
        raise UnsafeMemberError(f"{path.name}: member {raw!r} points outside the archive")
    if info.issym() or info.islnk():
        raise LinkMemberError(f"{path.name}: member {raw!r} is a link to {info.linkname!r}")
    if not (info.isreg() or info.isdir()):
        raise LinkMemberError(f"{path.name}: member {raw!r} is a device or fifo, not a file")
    return "/".join(parts)


def _read_member(tar: tarfile.TarFile, info: tarfile.TarInfo, path: Path) -> bytes:
    stream = tar.extractfile(info)
    data = stream.read() if stream is not None else b""
    if len(data) != info.size:
        raise TruncatedArchiveError(f"{path.name}: member {info.name!r} is cut short")
    return data


def _check_end_marker(tar: tarfile.TarFile, path: Path) -> None:
    """Catch a tar cut inside a header, which `tarfile` reads as a clean end.

    Every complete tar ends with two zero blocks right after the last member.
    """
    tar.fileobj.seek(tar.offset)
    tail = tar.fileobj.read(_TAR_END_MARKER)
    if len(tail) < _TAR_END_MARKER or tail.strip(b"\0"):
        raise TruncatedArchiveError(
            f"{path.name}: archive is truncated or corrupt after byte {tar.offset}"
        )


def _parse_config(data: bytes, path: Path) -> dict[str, Any]:
    try:
        config = yaml.safe_load(data.decode("utf-8"))
    except (UnicodeDecodeError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path.name}: {CONFIG_MEMBER} is not valid YAML ({_first_line(exc)})")
    if not isinstance(config, Mapping):
        raise ConfigError(f"{path.name}: {CONFIG_MEMBER} is not a mapping")
    return dict(config)


def _load_state_dict(data: bytes, path: Path) -> dict[str, torch.Tensor]:
    try:
        loaded = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        reason = _weights_only_reason(exc)
        if "GLOBAL" in reason.upper():
            raise UnsafeCheckpointError(
                f"{path.name}: {WEIGHTS_MEMBER} needs code to unpickle and was refused ({reason})"
            ) from None
        raise NotAStateDictError(
            f"{path.name}: {WEIGHTS_MEMBER} is not a readable PyTorch checkpoint ({reason})"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError, KeyError, AttributeError) as exc:
        # What torch raises for a damaged zip or a legacy pickle that ends early.
        raise NotAStateDictError(
            f"{path.name}: {WEIGHTS_MEMBER} is not a readable PyTorch checkpoint "
            f"({_first_line(exc)})"
        ) from None
    if not isinstance(loaded, Mapping):
        raise NotAStateDictError(
            f"{path.name}: {WEIGHTS_MEMBER} holds a {type(loaded).__name__}, not a state_dict"
        )
    for key, value in loaded.items():
        if not isinstance(key, str) or not isinstance(value, torch.Tensor):
            raise NotAStateDictError(
                f"{path.name}: {WEIGHTS_MEMBER} entry {key!r} is of type {type(value).__name__}, "
                "not a tensor; expected a plain state_dict"
            )
    return dict(loaded)


def _weights_only_reason(exc: Exception) -> str:
    """The informative line of torch's long refusal message (which global, which opcode)."""
    lines = [line.strip() for line in str(exc).splitlines()]
    for line in lines:
        if "GLOBAL" in line or line.startswith("Unsupported"):
            return line
    return _first_line(exc)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
