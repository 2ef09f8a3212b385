"""The result of one probe, as a value.

One `ProbeOutcome` type is written by the child process (as JSON), persisted
by the store and read by every renderer, so the evidence never changes shape
on its way from the environment to the report.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, field, fields
from typing import Any

__all__ = ["Demand", "Failure", "FailureKind", "Frame", "ProbeOutcome", "Status"]


class Status(str, enum.Enum):
    OK = "ok"
    FAILED = "failed"


class FailureKind(str, enum.Enum):
    """What went wrong, in the words the solver learns rules from."""

    MISSING_SYMBOL = "missing_symbol"  # module imported, name not in it
    MISSING_MODULE = "missing_module"  # no such module installed
    MISSING_ATTRIBUTE = "missing_attribute"  # a module attribute gone when the code used it
    REMOVED_KEYWORD = "removed_keyword"  # a function no longer takes a keyword the code passes
    WARNING_ERROR = "warning_error"  # a warning the code (or its settings) turned into an error
    DEPENDENCY_CHECK = "dependency_check"  # a package rejected a version at import time
    DECLARED_CONFLICT = "declared_conflict"  # the installer found the pins contradict metadata
    NO_DISTRIBUTION = "no_distribution"  # no file for this version / Python / platform
    BUILD_FAILED = "build_failed"  # an sdist failed to build
    INSTALL_FAILED = "install_failed"  # any other installer failure
    TIMEOUT = "timeout"  # the probe outlived its time budget
    CRASHED = "crashed"  # the child died without writing an outcome
    PROBE_ERROR = "probe_error"  # any other exception raised by the probe code


@dataclass(frozen=True)
class Frame:
    """One traceback frame, with the distribution that owns its file when known."""

    file: str
    line: int
    function: str = ""
    package: str | None = None
    version: str | None = None


@dataclass(frozen=True)
class Demand:
    """One line of an installer's conflict: `package` at `versions` requires `requirement`.

    `package` is None for what the user asked for. Kept whole, so a teacher
    can turn "lib 1.5 depends on helper<2" into a rule about lib 1.5.
    """

    requirement: str
    package: str | None = None
    versions: str = ""  # a specifier: "==1.5" from pip, ">=1.5" when uv speaks of a range

    def describe(self) -> str:
        who = f"{self.package}{self.versions}" if self.package else "the user"
        return f"{who} requires {self.requirement}"


@dataclass(frozen=True)
class Failure:
    """A typed failure with the evidence that proves it.

    Only the fields that make sense for `kind` are set: `name`/`module` for a
    missing symbol or module, `package`/`version` for the distribution that
    lacks it, `importer` for the file and line that asked for it,
    `requirements` for declared conflicts and import-time dependency checks.
    """

    kind: FailureKind
    message: str
    name: str | None = None
    module: str | None = None
    package: str | None = None
    version: str | None = None
    importer: str | None = None
    importer_package: str | None = None
    importer_version: str | None = None
    function: str | None = None  # the callee of a removed keyword, as Python names it
    requirements: tuple[str, ...] = ()
    demands: tuple[Demand, ...] = ()
    frames: tuple[Frame, ...] = ()
    log_excerpt: str = ""
    # imports the probe would have met next, read from its files (suspects, not yet checked)
    ahead: tuple[Failure, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["kind"] = self.kind.value
        data["requirements"] = list(self.requirements)
        data["demands"] = [asdict(d) for d in self.demands]
        data["frames"] = [asdict(f) for f in self.frames]
        data["ahead"] = [suspect.to_dict() for suspect in self.ahead]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Failure:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        values["kind"] = FailureKind(values["kind"])
        values["requirements"] = tuple(values.get("requirements") or ())
        values["demands"] = tuple(Demand(**d) for d in values.get("demands") or ())
        values["frames"] = tuple(Frame(**f) for f in values.get("frames") or ())
        values["ahead"] = tuple(cls.from_dict(a) for a in values.get("ahead") or ())
        return cls(**values)

    def summary(self) -> str:
        """One line for tables and logs."""
        if self.kind is FailureKind.MISSING_SYMBOL:
            where = f"{self.package} {self.version}" if self.package else self.module
            return f"missing symbol {self.name!r} in {self.module} ({where})"
        if self.kind is FailureKind.MISSING_MODULE:
            return f"missing module {self.name!r}"
        if self.kind is FailureKind.MISSING_ATTRIBUTE:
            where = f"{self.package} {self.version}" if self.package else self.module
            return f"attribute {self.name!r} of {self.module} gone at call time ({where})"
        if self.kind is FailureKind.REMOVED_KEYWORD:
            where = f" ({self.package} {self.version})" if self.package else ""
            return f"{self.function}() no longer takes keyword {self.name!r}{where}"
        return f"{self.kind.value}: {self.message}"


@dataclass
class ProbeOutcome:
    """Everything one probe established: truthy when the probe code ran cleanly."""

    status: Status
    pins: dict[str, str]
    failure: Failure | None = None
    installed: dict[str, str] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    python: str = ""
    platform: str = ""
    installer: str = ""
    code: str = ""
    cached: bool = False
    probe_id: int | None = None
    started_at: str = ""
    log_excerpt: str = ""
    requirements: list[str] = field(default_factory=list)  # as installed, ranges included
    command: str = ""  # the install command line, as evidence
    # which isolation was in force (sealed environment, HOME, network, process tracking);
    # empty for outcomes recorded before probes said so
    isolation: dict[str, Any] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return self.status is Status.OK

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status.value,
            "failure": self.failure.to_dict() if self.failure else None,
            "pins": dict(self.pins),
            "installed": dict(self.installed),
            "seconds": dict(self.seconds),
            "python": self.python,
            "platform": self.platform,
            "installer": self.installer,
            "code": self.code,
            "cached": self.cached,
            "probe_id": self.probe_id,
            "started_at": self.started_at,
            "log_excerpt": self.log_excerpt,
            "requirements": list(self.requirements),
            "command": self.command,
            "isolation": dict(self.isolation),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ProbeOutcome:
        failure = data.get("failure")
        return cls(
            status=Status(data["status"]),
            pins=dict(data.get("pins") or {}),
            failure=Failure.from_dict(failure) if failure else None,
            installed=dict(data.get("installed") or {}),
            seconds={k: float(v) for k, v in (data.get("seconds") or {}).items()},
            python=data.get("python", ""),
            platform=data.get("platform", ""),
            installer=data.get("installer", ""),
            code=data.get("code", ""),
            cached=bool(data.get("cached", False)),
            probe_id=data.get("probe_id"),
            started_at=data.get("started_at", ""),
            log_excerpt=data.get("log_excerpt", ""),
            requirements=list(data.get("requirements") or []),
            command=data.get("command", ""),
            isolation=dict(data.get("isolation") or {}),
        )
