"""The answer as a pip constraints file and as a uv `override-dependencies` block.

Every line of the constraints file is either a comment or one `name==version`
that `pip install -c` accepts; evidence rides in comments above each pin, so
the file explains itself and still works. Its header gives the commands that
rebuild the passing environment on a fresh machine, the learned build steps
included: without them a source-only release whose build needs an
undeclared module installs only where pip's cache still holds the wheel the
solve built. A result without an answer gives a file with only comments:
valid, and saying why it is empty.
"""

from __future__ import annotations

import datetime
import json
import shlex

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from envprobe.model.pins import exact_requirement
from envprobe.model.result import SolveResult, Verdict
from envprobe.model.rules import InstallOption, Rule
from envprobe.report.words import passing_probe, pin_evidence

__all__ = ["build_rules", "locked_rest", "render_constraints", "reproduce_commands", "uv_overrides"]


def _comment(text: str) -> str:
    """One comment line, whatever the text: a stray newline would make a requirement of it."""
    return "# " + " ".join(text.split())


def locked_rest(result: SolveResult) -> dict[str, str]:
    """What the passing environment held beyond the decided pins, by canonical name."""
    decided = {canonicalize_name(n) for n in result.pins}
    rest = {canonicalize_name(n): v for n, v in result.installed.items()}
    return {n: rest[n] for n in sorted(rest) if n not in decided}


def render_constraints(result: SolveResult, *, today: datetime.date | None = None,
                       file_name: str | None = None, scenario_file: str | None = None) -> str:
    """The text of `constraints/<scenario>.txt`.

    `file_name` and `scenario_file` are how the header's commands name this
    file and the scenario, from this file's folder (default: `<scenario>.txt`
    and `<scenario>.toml`, the names `envprobe solve` gives them).
    """
    day = (today or datetime.date.today()).isoformat()
    lines = [
        _comment(f"envprobe constraints for scenario {result.scenario!r}"),
        _comment(f"verdict: {result.status} ({result.reason})"),
        _comment(f"python {result.python} on {result.platform}, installer {result.installer}, "
                 f"written {day}"),
    ]
    if result.status is not Verdict.SOLVED:
        lines.append(_comment(f"no pins: the solve ended {result.status}, "
                              "so there is no answer to pin."))
        lines += [_comment(f"- {line}") for line in result.chain]
        return "\n".join(lines) + "\n"
    lines += _header(result, file_name or f"{result.scenario}.txt",
                     scenario_file or f"{result.scenario}.toml")
    lines += ["", "# decided pins"]
    for name, version in sorted(result.pins.items()):
        lines.append(_comment(pin_evidence(result, name)))
        lines.append(exact_requirement(name, version))
    rest = locked_rest(result)
    if rest:
        passed = passing_probe(result)
        which = f" (probe #{passed})" if passed is not None else ""
        lines += ["", f"# the rest of the environment that passed{which}, locked"]
        lines += [exact_requirement(name, version) for name, version in rest.items()]
    return "\n".join(lines) + "\n"


def _header(result: SolveResult, file_name: str, scenario_file: str) -> list[str]:
    """How to get the environment that passed: the commands, why each learned one is there."""
    sources = "uv's" if result.installer == "uv" else "pip's"
    lines = [
        "#",
        _comment(f"found with {result.installer}, and proven for it only. To rebuild the "
                 "environment that passed on a fresh machine,"),
        _comment(f"run in this file's folder (packages come from {sources} configured sources):"),
    ]
    lines += [f"#   {command}" for command in reproduce_commands(result, file_name)]
    lines += [_comment(f"{_learned(rule)}: {rule.because}") for rule in build_rules(result)]
    lines.append(_comment("or in one command, which also runs the scenario's probe there: "
                          f"envprobe env {shlex.quote(scenario_file)} .venv"))
    return lines


def build_rules(result: SolveResult) -> list[Rule]:
    """The learned install steps the passing environment needed: builds of projects in its set."""
    in_set = {canonicalize_name(n) for n in result.installed}
    return [r for r in result.rules
            if r.install_option is InstallOption.BUILD_WITHOUT_ISOLATION
            and r.package is not None and canonicalize_name(r.package) in in_set]


def reproduce_commands(result: SolveResult, file_name: str) -> list[str]:
    """Shell commands that make `.venv` with the answer, in the order the solve's probes ran.

    The learned build requirements go in first (at the set's versions), the
    projects that need them are built without isolation, then the targets
    install under this constraints file. pip builds unisolated projects
    alone, `--no-deps`; uv turns isolation off per project in the main install.
    """
    python = ".".join(result.python.split(".")[:2])
    rules = build_rules(result)
    declared = [r for rule in rules
                for r in result.build_requirements.get(canonicalize_name(str(rule.package)), [])]
    pre = list(dict.fromkeys(_at_set(result, r) for r in
                             (*(rule.requires for rule in rules), *declared)))
    built = list(dict.fromkeys(_at_set(result, str(rule.package)) for rule in rules))
    if result.installer == "uv":
        venv = f"uv venv --python {python} .venv"
        install = ["uv", "pip", "install", "--python", ".venv/bin/python", "-c", file_name]
        unisolated = [arg for name in built for arg in ("--no-build-isolation-package",
                                                        Requirement(name).name)]
        steps = [install + pre] if pre else []
        steps.append(install + unisolated + _targets(result))
    else:
        venv = f"python{python} -m venv .venv"
        install = [".venv/bin/pip", "install", "-c", file_name]
        steps = [install + pre] if pre else []
        if built:
            steps.append(install + ["--no-build-isolation", "--no-deps"] + built)
        steps.append(install + _targets(result))
    return [venv] + [shlex.join(step) for step in steps]


def _learned(rule: Rule) -> str:
    probes = ", ".join(f"#{n}" for n in rule.evidence)
    return f"learned from probe {probes}" if probes else "learned"


def _at_set(result: SolveResult, requirement: str) -> str:
    """`requirement` at the version the passing set holds, when it holds the project."""
    name = canonicalize_name(Requirement(requirement).name)
    held = {canonicalize_name(n): v for n, v in result.installed.items()}
    return exact_requirement(name, held[name]) if name in held else requirement


def _targets(result: SolveResult) -> list[str]:
    """What the passing probe asked for (extras included); the decided pins if unrecorded."""
    for attempt in reversed(result.attempts):
        if attempt.outcome and attempt.outcome.requirements:
            return list(dict.fromkeys(attempt.outcome.requirements))
    return [exact_requirement(name, version) for name, version in sorted(result.pins.items())]


def uv_overrides(result: SolveResult) -> str:
    """A `[tool.uv]` TOML block pinning the same set; empty when there is no answer.

    The rest of the passing environment is pinned too: uv resolves unpinned
    packages differently from pip, and the answer was proven for this set.
    Learned build requirements ride along as `extra-build-dependencies`
    (uv 0.8 and later): uv adds them to that project's isolated build, so
    `uv sync` needs no step by hand. `no-build-isolation-package` would
    need them installed into the environment first, which a `pyproject.toml`
    cannot say.
    """
    if result.status is not Verdict.SOLVED:
        return ""
    entries = [f"    {json.dumps(exact_requirement(n, v))}," for n, v in sorted(result.pins.items())]
    rest = locked_rest(result)
    if rest:
        entries.append("    # the rest of the environment that passed, locked")
        entries += [f"    {json.dumps(exact_requirement(n, v))}," for n, v in rest.items()]
    block = "[tool.uv]\noverride-dependencies = [\n" + "\n".join(entries) + "\n]\n"
    builds: dict[str, list[str]] = {}
    for rule in build_rules(result):
        wanted = builds.setdefault(canonicalize_name(str(rule.package)), [])
        if (requirement := _at_set(result, rule.requires)) not in wanted:
            wanted.append(requirement)
    if builds:
        block += "".join(_comment(f"{_learned(rule)}: {rule.package}'s build needs "
                                  f"{rule.requirement.name}, which it does not declare") + "\n"
                         for rule in build_rules(result))
        table = ", ".join(f"{name} = {json.dumps(reqs)}" for name, reqs in builds.items())
        block += f"extra-build-dependencies = {{ {table} }}\n"
    return block
