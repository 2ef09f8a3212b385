"""Where packages come from, as pip itself sees it.

envprobe must look at exactly the sources the installer will use, so the
index, extra indexes, find-links folders and certificate bundle are read from
pip's own configuration (files in pip's order, then `PIP_*` variables) at run
time, and the default index is asked of the installed pip. No index host is
written in this code.

pip takes half a second or more to start, on every envprobe command, so
its answers are kept on disk with what they depend on: the configuration
files pip looked at (as `pip config debug` lists them, present or not), the
interpreter, pip's own files, and the variables that choose the files. Any
of them changed (path, size, modification time), pip is asked again.
`PIP_*` settings are never kept: they are read from the environment each
time.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import re
import shutil
import stat
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from envprobe.atomic import write_atomically
from envprobe.errors import EnvprobeError
from envprobe.paths import cache_dir

__all__ = ["IndexConfig", "default_index_url", "read_pip_settings"]

# pip applies config sections in this order, later ones winning: `global`, then
# the command's own section, then the environment (`PIP_*`, kept under ":env:").
_SECTIONS = ("global", "install", ":env:")
_TRUE = frozenset({"1", "y", "yes", "t", "true", "on"})
_FALSE = frozenset({"0", "n", "no", "f", "false", "off"})
# What decides which configuration files pip reads, besides the interpreter.
_FILE_PLACES = ("PIP_CONFIG_FILE", "HOME", "XDG_CONFIG_HOME", "XDG_CONFIG_DIRS", "APPDATA")
# `PIP_*` variables pip does not treat as settings.
_NOT_SETTINGS = frozenset({"version", "help"})
_ANSWERS_FILE = "pip-answers.json"  # under envprobe's cache folder
_LISTED_FILE = re.compile(r"^\s+(.+), exists: (?:True|False)$", re.MULTILINE)
_PIP_FOLDER = re.compile(r"^pip \S+ from (.+) \(python [^)]*\)$", re.MULTILINE)
_NOT_KEPT = object()  # no answer kept on disk, or one whose files changed


def _pip(python: str, *args: str, env: Mapping[str, str]) -> str:
    """Standard output of `python -m pip ARGS`; a one-line error when pip cannot answer."""
    try:
        result = subprocess.run(
            [python, "-m", "pip", *args], capture_output=True, check=False,
            env={**env, "PYTHONIOENCODING": "utf-8"}, encoding="utf-8", errors="replace",
        )
    except OSError as error:
        raise EnvprobeError(f"cannot run pip with {python}: {error.strerror or error}") from None
    if result.returncode != 0:
        last_line = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise EnvprobeError(f"pip {' '.join(args)} failed with {python}: {last_line}")
    return result.stdout


def _without_pip_variables(keep: Iterable[str] = ()) -> dict[str, str]:
    return {
        key: value for key, value in os.environ.items()
        if not key.startswith("PIP_") or key in keep
    }


def _one_worker():  # -> concurrent.futures.ThreadPoolExecutor
    """A pool of one thread, for a second pip run beside the first.

    Imported here: a remembered configuration, every probe's case, starts no thread.
    """
    from concurrent.futures import ThreadPoolExecutor

    return ThreadPoolExecutor(max_workers=1)

def _file_items(python: str, places: tuple[tuple[str, str], ...]) -> tuple[tuple[str, str], ...]:
    """The configuration files' settings as (`section.key`, value), merged in pip's order.

    `pip config list` of `python`, run without `PIP_*` variables (but with
    `PIP_CONFIG_FILE`, `os.devnull` included) so that it lists the files
    only; remembered against the files `pip config debug` names.
    """
    def ask() -> tuple[list[list[str]], list[str] | None]:
        env = _without_pip_variables(keep=("PIP_CONFIG_FILE",))
        with _one_worker() as pool:
            debug = pool.submit(_pip, python, "config", "debug", env=env)
            listing = _pip(python, "config", "list", env=env)
            try:
                files = _LISTED_FILE.findall(debug.result())
            except EnvprobeError:
                files = None  # a pip too old to say which files it reads: ask every time
        return [list(item) for item in _parse_listing(listing)], files

    items = _remembered(("config", python, places), python, ask)
    return tuple((key, value) for key, value in items)


def _parse_listing(listing: str) -> list[tuple[str, str]]:
    items = []
    for line in listing.splitlines():
        key, sep, value = line.partition("=")
        if not sep:
            continue
        try:
            text = ast.literal_eval(value.strip())
        except (ValueError, SyntaxError):
            raise EnvprobeError(f"cannot read pip's configuration line {line!r}") from None
        items.append((key.strip(), str(text)))
    return items


def _remembered(key: tuple, python: str, ask: Callable[[], tuple[object, list[str] | None]]):
    """`ask()`'s answer (a value and the files it depends on), kept on disk while they hold.

    The interpreter's own file is always one of them. An answer whose files
    changed while pip was being asked, or whose files are unknown (None), is
    used but not kept.
    """
    answers = _read_answers()
    if (kept := _recalled(key, python, answers)) is not _NOT_KEPT:
        return kept
    digest = _digest(key)
    interpreter = shutil.which(python) or python
    started = time.time_ns()
    value, files = ask()
    if files is None:
        return value
    signatures = _signatures([interpreter, *files])
    if all(mtime < started for _, (_, _, mtime) in signatures):
        answers[digest] = {"files": signatures, "value": value}
        try:
            write_atomically(cache_dir() / _ANSWERS_FILE, json.dumps(answers).encode())
        except OSError:
            pass  # an unwritable cache costs time, never the answer
    return value


def _recalled(key: tuple, python: str, answers: dict | None = None) -> object:
    """The answer kept for `key` while the files it depends on hold; else `_NOT_KEPT`."""
    kept = (_read_answers() if answers is None else answers).get(_digest(key))
    if (isinstance(kept, dict) and isinstance(kept.get("files"), list) and kept["files"]
            and kept["files"][0][0] == (shutil.which(python) or python)
            and kept["files"] == _signatures(path for path, _ in kept["files"])):
        return kept["value"]
    return _NOT_KEPT


def _digest(key: tuple) -> str:
    return hashlib.sha256(json.dumps(key).encode()).hexdigest()[:24]


def _signatures(paths: Iterable[str]) -> list[list]:
    """[path, [kind, size, mtime_ns]] for each path; a device (os.devnull) by its kind alone."""
    signed = []
    for path in paths:
        try:
            found = os.stat(path)
        except OSError:
            signed.append([path, ["missing", 0, 0]])
            continue
        if stat.S_ISREG(found.st_mode):
            signed.append([path, ["file", found.st_size, found.st_mtime_ns]])
        else:
            signed.append([path, [stat.S_IFMT(found.st_mode), 0, 0]])
    return signed


def _read_answers() -> dict:
    try:
        answers = json.loads((cache_dir() / _ANSWERS_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return answers if isinstance(answers, dict) else {}


def _environment_items() -> list[tuple[str, str]]:
    """`PIP_*` variables as pip reads them: `PIP_NO_INDEX` is `:env:.no-index`.

    `pip config list` would list them too; read here, they are always
    current and a new value does not cost a pip call.
    """
    return [
        (":env:." + key[4:].lower().replace("_", "-"), value)
        for key, value in os.environ.items()
        if key.startswith("PIP_") and key[4:].lower() not in _NOT_SETTINGS
    ]


def read_pip_settings(python: str | None = None) -> dict[str, str]:
    """The effective value of each install setting (`index-url`, `find-links`, ...).

    `python` is the interpreter whose pip is asked (default: this one), since
    a target interpreter's site configuration may differ from ours.
    """
    by_section: dict[str, dict[str, str]] = {}
    places = tuple((key, os.environ[key]) for key in _FILE_PLACES if key in os.environ)
    for key, value in [*_file_items(python or sys.executable, places), *_environment_items()]:
        section, _, name = key.rpartition(".")
        by_section.setdefault(section, {})[name.replace("_", "-")] = value
    settings: dict[str, str] = {}
    for section in _SECTIONS:
        settings.update(by_section.get(section, {}))
    return settings


def default_index_url(python: str | None = None) -> str:
    """pip's built-in index URL, asked of the installed pip (never written here).

    pip's help text states the default of `--index-url`. pip fills that
    default from its configuration, so the help is asked with no `PIP_*`
    variable and no configuration file: what remains is pip's own.
    """
    return _default_index_url(python or sys.executable)


def _default_index_url(python: str) -> str:
    """Remembered against pip's own files: only another pip has another default."""
    def ask() -> tuple[str, list[str]]:
        env = _without_pip_variables() | {"PIP_CONFIG_FILE": os.devnull}
        with _one_worker() as pool:
            version = pool.submit(_pip, python, "--version", env=env)
            help_text = _pip(python, "install", "--help", env=env)
            folder = _PIP_FOLDER.search(version.result())
        match = re.search(r"--index-url\b.*?\(default\s+(\S+?)\)", help_text, re.DOTALL)
        if match is None:
            raise EnvprobeError("cannot learn pip's default index URL from `pip install --help`")
        pip_files = [os.path.join(folder.group(1), "__init__.py")] if folder else []
        return match.group(1), pip_files

    return str(_remembered(_default_index_key(python), python, ask))


def _default_index_key(python: str) -> tuple[str, str]:
    return ("default-index", python)


def _as_bool(name: str, value: str) -> bool:
    lowered = value.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise EnvprobeError(f"pip setting {name}={value!r} is not a yes/no value")


def _as_list(value: str | None) -> tuple[str, ...]:
    # pip splits multi-valued settings on any whitespace, newlines included.
    return tuple(value.split()) if value else ()


def _expand_path(link: str) -> str:
    return os.path.expanduser(link) if link.startswith("~") else link


def _merged(first: Iterable[str], second: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys([*first, *second]))


@dataclass(frozen=True)
class IndexConfig:
    """The package sources of one run: what pip would use, plus explicit choices."""

    index_url: str
    extra_index_urls: tuple[str, ...] = ()
    find_links: tuple[str, ...] = ()
    no_index: bool = False
    cert: str | None = None

    @classmethod
    def from_pip(
        cls,
        *,
        index_url: str | None = None,
        extra_index_urls: Iterable[str] = (),
        find_links: Iterable[str] = (),
        no_index: bool | None = None,
        python: str | None = None,
    ) -> IndexConfig:
        """pip's configuration with explicit arguments applied as pip's command line would.

        A given `index_url` or `no_index` replaces the configured one; extra
        indexes and find-links add to the configured ones, because pip itself
        appends command-line values to configured lists and the installer we
        hand these sources to still reads its configuration. `python` is the
        interpreter whose pip is asked (default: this one).
        """
        # pip's default kept on disk (every probe's case): no thread for a pip to ask.
        kept = _recalled(_default_index_key(python or sys.executable), python or sys.executable)
        if index_url is not None or kept is not _NOT_KEPT:
            settings = read_pip_settings(python)
            chosen = index_url or settings.get("index-url") or (
                str(kept) if kept is not _NOT_KEPT else default_index_url(python))
        else:
            with _one_worker() as pool:
                # Both are answers of a pip subprocess (about a second each): side by side.
                default = pool.submit(default_index_url, python)
                settings = read_pip_settings(python)
                chosen = settings.get("index-url") or default.result()
        configured_no_index = settings.get("no-index")
        return cls(
            index_url=chosen,
            extra_index_urls=_merged(_as_list(settings.get("extra-index-url")), extra_index_urls),
            find_links=tuple(
                _expand_path(link)
                for link in _merged(_as_list(settings.get("find-links")), find_links)
            ),
            no_index=(
                no_index if no_index is not None
                else configured_no_index is not None and _as_bool("no-index", configured_no_index)
            ),
            cert=settings.get("cert") or None,
        )

    @property
    def index_urls(self) -> tuple[str, ...]:
        """Every index to search, main first; none with `no_index`."""
        if self.no_index:
            return ()
        return _merged([self.index_url], self.extra_index_urls)
