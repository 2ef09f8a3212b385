"""WAV reading: every supported format round-trips, everything else is refused in one clear line."""

from __future__ import annotations

import struct
import wave
from pathlib import Path

import numpy as np
import pytest

from manual_export.wav import AudioError, read_wav

_GUID_TAIL = b"\x00\x00\x00\x00\x10\x00\x80\x00\x00\xaa\x00\x38\x9b\x71"


def _riff(chunks: list[tuple[bytes, bytes]]) -> bytes:
    body = b"WAVE"
    for chunk_id, payload in chunks:
        body += chunk_id + struct.pack("<I", len(payload)) + payload + b"\x00" * (len(payload) & 1)
    return b"RIFF" + struct.pack("<I", len(body)) + body


def _fmt(
    code: int, bits: int, channels: int = 1, rate: int = 16000, extensible_code: int | None = None
) -> bytes:
    block = channels * bits // 8
    header = struct.pack("<HHIIHH", code, channels, rate, rate * block, block, bits)
    if extensible_code is None:
        return header
    return (
        header + struct.pack("<HHI", 22, bits, 4) + struct.pack("<H", extensible_code) + _GUID_TAIL
    )


def _write_with_wave(
    path: Path, integers: np.ndarray, width: int, channels: int = 1, rate: int = 16000
) -> None:
    if width == 3:
        raw = b"".join(int(v).to_bytes(3, "little", signed=True) for v in integers)
    else:
        raw = integers.astype(f"<i{width}").tobytes()
    with wave.open(str(path), "wb") as handle:
        handle.setnchannels(channels)
        handle.setsampwidth(width)
        handle.setframerate(rate)
        handle.writeframes(raw)


@pytest.mark.parametrize(
    ("width", "values"),
    [
        (2, [0, 1, -1, 32767, -32768, 12345]),
        (3, [0, 1, -1, 2**23 - 1, -(2**23), -1234567]),
        (4, [0, 1, -1, 2**31 - 1, -(2**31), 123456789]),
    ],
)
def test_pcm_round_trips(tmp_path: Path, width: int, values: list[int]) -> None:
    path = tmp_path / "pcm.wav"
    integers = np.array(values, dtype=np.int64)
    _write_with_wave(path, integers, width)
    samples = read_wav(path)
    assert samples.dtype == np.float32
    np.testing.assert_array_equal(samples, (integers / 2.0 ** (8 * width - 1)).astype(np.float32))
    assert samples.min() >= -1.0 and samples.max() <= 1.0


def test_float32_round_trips(tmp_path: Path) -> None:
    values = np.array([0.0, 0.5, -0.25, 1.0, -1.0, 1e-7], dtype=np.float32)
    path = tmp_path / "float.wav"
    fact = struct.pack("<I", len(values))
    path.write_bytes(_riff([(b"fmt ", _fmt(3, 32)), (b"fact", fact), (b"data", values.tobytes())]))
    np.testing.assert_array_equal(read_wav(path), values)


@pytest.mark.parametrize(("code", "bits", "dtype"), [(1, 16, "<i2"), (3, 32, "<f4")])
def test_extensible_header_and_odd_chunks(tmp_path: Path, code: int, bits: int, dtype: str) -> None:
    """WAVE_FORMAT_EXTENSIBLE and an odd-sized chunk (with its pad byte) before the data."""
    values = np.array([0, 1000, -1000], dtype=dtype)
    path = tmp_path / "ext.wav"
    path.write_bytes(
        _riff(
            [
                (b"fmt ", _fmt(0xFFFE, bits, extensible_code=code)),
                (b"LIST", b"INFOabc"),
                (b"data", values.tobytes()),
            ]
        )
    )
    expected = values / 32768.0 if code == 1 else values
    np.testing.assert_array_equal(read_wav(path), expected.astype(np.float32))


def test_other_rate_is_accepted_when_asked(tmp_path: Path) -> None:
    path = tmp_path / "8k.wav"
    _write_with_wave(path, np.array([1, 2, 3]), 2, rate=8000)
    assert read_wav(path, sample_rate=8000).shape == (3,)


def _refused(path: Path, match: str) -> None:
    with pytest.raises(AudioError, match=match) as caught:
        read_wav(path)
    message = str(caught.value)
    assert "\n" not in message and message.startswith(str(path))


def test_stereo_refused(tmp_path: Path) -> None:
    path = tmp_path / "stereo.wav"
    _write_with_wave(path, np.zeros(8), 2, channels=2)
    _refused(path, "2 channels; the model needs mono")


def test_other_rate_refused(tmp_path: Path) -> None:
    path = tmp_path / "44k.wav"
    _write_with_wave(path, np.zeros(8), 2, rate=44100)
    _refused(path, "sample rate 44100 Hz; the model needs 16000 Hz")


@pytest.mark.parametrize(
    ("code", "bits", "match"),
    [
        (1, 8, "PCM 8-bit"),
        (3, 64, "float 64-bit"),
        (6, 8, "format code 0x6"),
    ],
)
def test_unsupported_formats_refused(tmp_path: Path, code: int, bits: int, match: str) -> None:
    path = tmp_path / "odd.wav"
    path.write_bytes(_riff([(b"fmt ", _fmt(code, bits)), (b"data", b"\x00" * 16)]))
    _refused(path, match)


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "not a WAV file"),
        (b"ID3\x04 this is an mp3", "not a WAV file"),
        (_riff([(b"data", b"\x00\x00")]), "no 'fmt ' chunk"),
        (_riff([(b"fmt ", _fmt(1, 16))]), "no 'data' chunk"),
        (_riff([(b"fmt ", _fmt(1, 16)), (b"data", b"\x00" * 6)])[:-3], "truncated WAV file"),
        (_riff([(b"fmt ", _fmt(1, 16)), (b"data", b"\x00" * 5)]), "not a whole number"),
        (_riff([(b"fmt ", _fmt(1, 16)), (b"data", b"")]), "contains no samples"),
        (_riff([(b"fmt ", _fmt(1, 16)[:10]), (b"data", b"\x00\x00")]), "'fmt ' chunk of 10 bytes"),
        (
            _riff([(b"fmt ", _fmt(3, 32)), (b"data", np.array([0, np.nan], "<f4").tobytes())]),
            "NaN or infinity",
        ),
        (_riff([(b"fmt ", _fmt(0xFFFE, 16)), (b"data", b"\x00\x00")]), "WAVE_FORMAT_EXTENSIBLE"),
    ],
)
def test_corrupt_files_refused(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    _refused(path, match)


def test_missing_file_refused(tmp_path: Path) -> None:
    _refused(tmp_path / "absent.wav", "cannot read")


def test_audio_error_is_a_value_error() -> None:
    assert issubclass(AudioError, ValueError)
