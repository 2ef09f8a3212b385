"""One scenario's section inside a larger Markdown document, between two markers.

REPORT.md holds hand-written prose next to generated sections; regenerating
one scenario must replace exactly its own lines and leave every other byte
alone, so people can edit around it freely.
"""

from __future__ import annotations

import re

from envprobe.errors import EnvprobeError

__all__ = ["SectionError", "end_marker", "replace_section", "start_marker"]


class SectionError(EnvprobeError):
    """The document's markers for a section are broken (one missing, duplicated, or swapped).

    An error of input, not a bug: someone edited the markers by hand.
    """


def start_marker(name: str) -> str:
    return f"<!-- envprobe:{name}:start -->"


def end_marker(name: str) -> str:
    return f"<!-- envprobe:{name}:end -->"


def replace_section(document: str, name: str, body: str) -> str:
    """`document` with section `name` set to `body`; appended at the end if absent."""
    if "-->" in name or "\n" in name:
        raise SectionError(f"section name {name!r} cannot live inside an HTML comment")
    start, end = start_marker(name), end_marker(name)
    newline = "\r\n" if "\r\n" in document else "\n"
    block = newline.join([start, *body.rstrip("\r\n").splitlines(), end])
    starts = [m.start() for m in re.finditer(re.escape(start), document)]
    ends = [m.start() for m in re.finditer(re.escape(end), document)]
    if not starts and not ends:
        if not document:
            return block + newline
        separator = "" if document.endswith(newline * 2) else \
            newline if document.endswith(newline) else newline * 2
        return document + separator + block + newline
    if len(starts) != 1 or len(ends) != 1 or ends[0] < starts[0]:
        raise SectionError(
            f"section {name!r}: expected one {start} before one {end}, found "
            f"{len(starts)} start and {len(ends)} end markers; fix the document by hand"
        )
    return document[: starts[0]] + block + document[ends[0] + len(end):]
