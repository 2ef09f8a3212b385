"""Reading `.nemo` archives: both tar flavours, and one clear refusal per hostile input.

Every hostile archive goes through the full `export_nemo` call, and the test
checks that nothing appeared on disk: not the output folder, not the file a
traversal name points at, not the marker a malicious pickle would create.
"""

from __future__ import annotations

import gzip
import io
import os
import tarfile

import pytest
import torch
from nemo_fixture import checkpoint_bytes, write_fake_nemo, write_tar

from manual_export.api import export_nemo
from manual_export.archive import read_archive
from manual_export.errors import (
    ArchiveError,
    LinkMemberError,
    MissingMemberError,
    NotAStateDictError,
    NotATarError,
    OversizeMemberError,
    TruncatedArchiveError,
    UnsafeCheckpointError,
    UnsafeMemberError,
)


@pytest.fixture(scope="module")
def good_members(tmp_path_factory):
    """The members of a valid archive, name -> bytes, for building broken variants."""
    path = write_fake_nemo(tmp_path_factory.mktemp("good") / "m.nemo", layers=1)
    with tarfile.open(path) as tar:
        return {m.name: tar.extractfile(m).read() for m in tar.getmembers() if m.isfile()}


@pytest.mark.parametrize("compressed", [False, True], ids=["plain", "gzip"])
def test_reads_plain_and_gzip_archives(tmp_path, compressed):
    archive = read_archive(write_fake_nemo(tmp_path / "m.nemo", gzip=compressed, layers=1))
    assert archive.config["encoder"]["n_layers"] == 1
    assert "encoder.layers.0.self_attn.pos_bias_u" in archive.state_dict
    assert "model_config.yaml" not in archive.members  # parsed, not kept twice
    tokenizer_vocab = archive.artifact(archive.config["tokenizer"]["spe_tokenizer_vocab"])
    assert tokenizer_vocab.startswith(b"<unk>\t")


def test_member_names_without_dot_slash_and_stale_artifact_paths(tmp_path, good_members):
    members = {name.removeprefix("./"): data for name, data in good_members.items()}
    archive = read_archive(write_tar(tmp_path / "m.nemo", members))
    uuid_vocab = next(name for name in members if name.endswith("_tokenizer.vocab"))
    assert archive.artifact(f"/old/machine/{uuid_vocab}") == members[uuid_vocab]
    with pytest.raises(MissingMemberError, match="nemo:abc_tokenizer.model"):
        archive.artifact("nemo:abc_tokenizer.model")


def _with(good_members, **changes):
    members = dict(good_members)
    for name, data in changes.items():
        if data is None:
            members.pop(name)
        else:
            members[name] = data
    return members


class _RunsCode:
    """Unpickling this calls os.makedirs on the marker: proof that code ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (os.makedirs, (self.marker,))


def _tar_with(tmp_path, good_members, extra: tarfile.TarInfo):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as tar:
        for name, data in good_members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        tar.addfile(extra, io.BytesIO(b"x" * extra.size) if extra.isreg() else None)
    path = tmp_path / "hostile.nemo"
    path.write_bytes(buffer.getvalue())
    return path


def _member(name, kind=tarfile.REGTYPE, linkname="", size=0):
    info = tarfile.TarInfo(name)
    info.type, info.linkname, info.size = kind, linkname, size
    return info


def _hostile_cases():
    """(id, builder(tmp_path, good_members) -> path, expected error, message fragment)."""
    weights = "./model_weights.ckpt"
    return [
        (
            "traversal",
            lambda t, g: _tar_with(t, g, _member("../escaped.txt", size=3)),
            UnsafeMemberError,
            "outside the archive",
        ),
        (
            "absolute",
            lambda t, g: _tar_with(t, g, _member(str(t / "absolute.txt"), size=3)),
            UnsafeMemberError,
            "absolute name",
        ),
        (
            "symlink",
            lambda t, g: _tar_with(t, g, _member("./link", tarfile.SYMTYPE, "/etc/passwd")),
            LinkMemberError,
            "is a link",
        ),
        (
            "hardlink",
            lambda t, g: _tar_with(t, g, _member("./hard", tarfile.LNKTYPE, "model_config.yaml")),
            LinkMemberError,
            "is a link",
        ),
        (
            "device",
            lambda t, g: _tar_with(t, g, _member("./dev", tarfile.CHRTYPE)),
            LinkMemberError,
            "device",
        ),
        (
            "pickled_code",
            lambda t, g: write_tar(
                t / "m.nemo",
                _with(g, **{weights: checkpoint_bytes({"w": _RunsCode(t / "pwned")})}),
            ),
            UnsafeCheckpointError,
            "needs code to unpickle",
        ),
        (
            "non_tensor_value",
            lambda t, g: write_tar(
                t / "m.nemo", _with(g, **{weights: checkpoint_bytes({"w": 3, "v": "x"})})
            ),
            NotAStateDictError,
            "'w' is of type int",
        ),
        (
            "not_a_mapping",
            lambda t, g: write_tar(
                t / "m.nemo", _with(g, **{weights: checkpoint_bytes([torch.zeros(2)])})
            ),
            NotAStateDictError,
            "holds a list",
        ),
        (
            "garbage_checkpoint",
            lambda t, g: write_tar(t / "m.nemo", _with(g, **{weights: b"\x00not torch" * 50})),
            NotAStateDictError,
            "not a readable PyTorch checkpoint",
        ),
        (
            "missing_weights",
            lambda t, g: write_tar(t / "m.nemo", _with(g, **{weights: None})),
            MissingMemberError,
            "no model_weights.ckpt",
        ),
        (
            "missing_config",
            lambda t, g: write_tar(t / "m.nemo", _with(g, **{"./model_config.yaml": None})),
            MissingMemberError,
            "no model_config.yaml",
        ),
        (
            "duplicate",
            lambda t, g: _tar_with(t, g, _member("model_config.yaml", size=3)),
            UnsafeMemberError,
            "appears twice",
        ),
        (
            "truncated_in_data",
            lambda t, g: _cut(write_tar(t / "m.nemo", g), 0.5),
            TruncatedArchiveError,
            "truncated",
        ),
        (
            "truncated_in_header",
            lambda t, g: _cut(write_tar(t / "m.nemo", g), _second_header(g)),
            TruncatedArchiveError,
            "truncated",
        ),
        (
            "truncated_gzip",
            lambda t, g: _cut(write_tar(t / "m.nemo", g, gzip=True), 0.6),
            TruncatedArchiveError,
            "truncated",
        ),
        (
            "not_a_tar",
            lambda t, g: _write(t / "m.nemo", b"PK\x03\x04 a zip, not a tar" * 40),
            NotATarError,
            "not a tar archive",
        ),
        (
            "empty_file",
            lambda t, g: _write(t / "m.nemo", b""),
            NotATarError,
            "not a tar archive",
        ),
        (
            "gzip_of_garbage",
            lambda t, g: _write(t / "m.nemo", gzip.compress(b"hello" * 300)),
            NotATarError,
            "not a tar archive",
        ),
    ]


def _cut(path, where):
    data = path.read_bytes()
    cut = int(len(data) * where) if isinstance(where, float) else where
    return _write(path, data[:cut])


def _second_header(good_members):
    """A byte offset inside the header of the archive's second member."""
    return 512 + 100  # past the '.' entry's header, 100 bytes into the config's header


def _write(path, data):
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("build", "error", "fragment"),
    [case[1:] for case in _hostile_cases()],
    ids=[case[0] for case in _hostile_cases()],
)
def test_hostile_archive_is_refused_and_nothing_is_written(
    tmp_path, good_members, build, error, fragment
):
    work = tmp_path / "work"
    work.mkdir()
    path = build(work, good_members)
    before = sorted(p.name for p in tmp_path.rglob("*"))
    out_dir = work / "out"
    with pytest.raises(error, match=fragment) as caught:
        export_nemo(path, out_dir)
    assert isinstance(caught.value, ArchiveError) and isinstance(caught.value, ValueError)
    assert "\n" not in str(caught.value)
    assert sorted(p.name for p in tmp_path.rglob("*")) == before
    assert not out_dir.exists()
    assert not (tmp_path / "escaped.txt").exists() and not (work / "pwned").exists()


def test_oversize_member_is_refused(tmp_path):
    path = write_fake_nemo(tmp_path / "m.nemo", layers=1)
    with pytest.raises(OversizeMemberError, match="over the 4096-byte cap"):
        export_nemo(path, tmp_path / "out", max_member_bytes=4096)
    assert not (tmp_path / "out").exists()


def test_members_the_config_does_not_name_are_streamed_past_not_held(tmp_path, good_members):
    members = dict(good_members, **{"./junk.bin": b"\0" * 4096, "./notes/readme.txt": b"hi"})
    archive = read_archive(write_tar(tmp_path / "m.nemo", members))
    assert not {"junk.bin", "notes/readme.txt"} & set(archive.members)
    assert any(name.endswith("_tokenizer.vocab") for name in archive.members)


@pytest.mark.parametrize("compressed", [False, True])
def test_a_total_budget_refuses_many_members_each_under_the_cap(tmp_path, good_members,
                                                               compressed):
    biggest = max(len(data) for data in good_members.values())
    many = {f"./filler-{n}.bin": b"\0" * biggest for n in range(30)}
    path = write_tar(tmp_path / "m.nemo", {**good_members, **many}, gzip=compressed)
    total = sum(len(d) for d in good_members.values()) + 5 * biggest
    with pytest.raises(OversizeMemberError, match="add up to more than"):
        read_archive(path, max_member_bytes=biggest, max_total_bytes=total)
