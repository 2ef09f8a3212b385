"""Read mono WAV files into float32 samples with the standard library and NumPy.

The transcribe path must run where only NumPy and onnxruntime are installed,
so no audio library is used. Anything the model cannot take as it is (several
channels, another sample rate, an unusual sample format) is refused with one
line saying what was found; nothing is resampled or mixed down silently.
"""

from __future__ import annotations

import os
import struct

import numpy as np

__all__ = ["AudioError", "read_wav"]

_PCM = 1
_IEEE_FLOAT = 3
_EXTENSIBLE = 0xFFFE
# The 14 bytes that follow the format code in a WAVE_FORMAT_EXTENSIBLE sub-format GUID.
_GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"
_SUPPORTED = {(_PCM, 16), (_PCM, 24), (_PCM, 32), (_IEEE_FLOAT, 32)}


class AudioError(ValueError):
    """An audio input the pipeline cannot use; the message is one line for the user."""


def read_wav(path: str | os.PathLike[str], sample_rate: int = 16000) -> np.ndarray:
    """Samples of a mono WAV file as float32 in [-1, 1], checked against ``sample_rate``.

    Integer PCM is scaled by 2^(bits-1), as NeMo's audio loader does.
    """
    data = _read_bytes(path)
    chunks = _chunks(path, data)
    if b"fmt " not in chunks:
        raise AudioError(f"{path}: WAV file has no 'fmt ' chunk")
    if b"data" not in chunks:
        raise AudioError(f"{path}: WAV file has no 'data' chunk")
    code, channels, rate, block_align, bits = _parse_format(path, chunks[b"fmt "])
    if (code, bits) not in _SUPPORTED:
        kind = {_PCM: "PCM", _IEEE_FLOAT: "float"}.get(code, f"format code {code:#x}")
        raise AudioError(
            f"{path}: unsupported sample format {kind} {bits}-bit"
            " (need PCM 16/24/32-bit or float32)"
        )
    if channels != 1:
        raise AudioError(
            f"{path}: {channels} channels; the model needs mono audio (mix down to 1 channel first)"
        )
    if rate != sample_rate:
        raise AudioError(
            f"{path}: sample rate {rate} Hz; the model needs {sample_rate} Hz (resample first)"
        )
    if block_align != bits // 8:
        raise AudioError(
            f"{path}: corrupt WAV header: block align {block_align} for mono {bits}-bit audio"
        )
    return _decode(path, chunks[b"data"], code, bits)


def _read_bytes(path: str | os.PathLike[str]) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as error:
        raise AudioError(f"{path}: cannot read: {error.strerror}") from error


def _chunks(path: str | os.PathLike[str], data: bytes) -> dict[bytes, bytes]:
    """The top-level RIFF chunks; a chunk running past the end of the file means truncation."""
    if len(data) < 12 or data[:4] != b"RIFF" or data[8:12] != b"WAVE":
        raise AudioError(f"{path}: not a WAV file (no RIFF/WAVE header)")
    chunks: dict[bytes, bytes] = {}
    offset = 12
    while offset + 8 <= len(data):
        chunk_id, size = struct.unpack_from("<4sI", data, offset)
        start = offset + 8
        if start + size > len(data):
            raise AudioError(
                f"{path}: truncated WAV file: chunk {chunk_id!r} declares {size} bytes,"
                f" {len(data) - start} present"
            )
        chunks.setdefault(chunk_id, data[start : start + size])
        offset = start + size + (size & 1)
    return chunks


def _parse_format(path: str | os.PathLike[str], fmt: bytes) -> tuple[int, int, int, int, int]:
    if len(fmt) < 16:
        raise AudioError(f"{path}: corrupt WAV header: 'fmt ' chunk of {len(fmt)} bytes")
    code, channels, rate, _, block_align, bits = struct.unpack_from("<HHIIHH", fmt)
    if code == _EXTENSIBLE:
        if len(fmt) < 40 or fmt[26:40] != _GUID_TAIL:
            raise AudioError(f"{path}: corrupt or unknown WAVE_FORMAT_EXTENSIBLE header")
        code = struct.unpack_from("<H", fmt, 24)[0]
    return code, channels, rate, block_align, bits


def _decode(path: str | os.PathLike[str], raw: bytes, code: int, bits: int) -> np.ndarray:
    width = bits // 8
    if len(raw) % width:
        raise AudioError(
            f"{path}: corrupt WAV data: {len(raw)} bytes"
            f" is not a whole number of {bits}-bit samples"
        )
    if not raw:
        raise AudioError(f"{path}: WAV file contains no samples")
    if code == _IEEE_FLOAT:
        samples = np.frombuffer(raw, dtype="<f4").astype(np.float32)
        if not np.all(np.isfinite(samples)):
            raise AudioError(f"{path}: corrupt WAV data: float samples contain NaN or infinity")
        return samples
    if bits == 24:
        # Put the three bytes in the top of a little-endian int32 so the sign comes for free.
        padded = np.zeros((len(raw) // 3, 4), dtype=np.uint8)
        padded[:, 1:] = np.frombuffer(raw, dtype=np.uint8).reshape(-1, 3)
        return (padded.view("<i4")[:, 0] / 2.0**31).astype(np.float32)
    integers = np.frombuffer(raw, dtype=f"<i{width}")
    return (integers / 2.0 ** (bits - 1)).astype(np.float32)
