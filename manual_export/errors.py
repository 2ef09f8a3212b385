"""Errors the exporter reports to a person.

Each carries a one-line message; the CLI prints it and exits with
`exit_code` instead of showing a traceback. Input problems exit 2, a model
that exported but failed its parity check exits 1.
"""

from __future__ import annotations


class ExportError(Exception):
    """Base class: the export could not be done or could not be trusted."""

    exit_code = 2


class ArchiveError(ExportError, ValueError):
    """The `.nemo` file is not a readable, safe NeMo archive."""


class NotATarError(ArchiveError):
    """The file is not a tar archive (plain or compressed)."""


class TruncatedArchiveError(ArchiveError):
    """The tar ends before its members do."""


class MissingMemberError(ArchiveError):
    """A member the model needs (config, weights, tokenizer artifact) is absent."""


class UnsafeMemberError(ArchiveError):
    """A member name escapes the archive root (absolute path, `..`) or is duplicated."""


class LinkMemberError(ArchiveError):
    """A member is a symlink, hard link or device: a NeMo archive has only files."""


class OversizeMemberError(ArchiveError):
    """A member is larger than the configured cap."""


class UnsafeCheckpointError(ArchiveError):
    """The checkpoint pickle needs code to load (refused by `weights_only`)."""


class NotAStateDictError(ArchiveError):
    """The checkpoint loads but is not a flat mapping of names to tensors."""


class ConfigError(ExportError, ValueError):
    """`model_config.yaml` is malformed or describes a model we do not rebuild."""


class UnsupportedOptionError(ConfigError):
    """A config option has a value the rebuilt model does not implement."""

    def __init__(self, option: str, value: object, supported: str) -> None:
        super().__init__(f"unsupported {option}={value!r} (supported: {supported})")
        self.option = option
        self.value = value


class WeightsMismatchError(ExportError):
    """The checkpoint's keys or shapes differ from the rebuilt model's."""

    def __init__(
        self,
        missing: list[str],
        unexpected: list[str],
        wrong_shape: list[str],
    ) -> None:
        parts = []
        if missing:
            parts.append(f"missing keys: {', '.join(missing)}")
        if unexpected:
            parts.append(f"unexpected keys: {', '.join(unexpected)}")
        if wrong_shape:
            parts.append(f"wrong shapes: {', '.join(wrong_shape)}")
        super().__init__("checkpoint does not fit the rebuilt model; " + "; ".join(parts))
        self.missing = missing
        self.unexpected = unexpected
        self.wrong_shape = wrong_shape


class ParityError(ExportError):
    """The exported ONNX disagrees with the rebuilt PyTorch model beyond tolerance."""

    exit_code = 1
