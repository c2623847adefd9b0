"""The pitched instruments: vectorised additive and subtractive synthesis of monophonic lines, one numpy pass
per voice; `INSTRUMENTS` maps each name to its renderer.

Speed: a voice is a few dozen passes over (n,) float32 arrays, so the passes reuse their buffers (``out=``,
in-place operators) and per-note values are spread with `numpy.repeat` rather than gathered by index. Every pass
is the same numpy operation on the same operands as the straightforward expression, so the samples are
bit-identical to it (tests/test_synth.py holds them to the output the shipped demo models were trained on).
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy import signal

from genre_core.synth.composition import Settings, Voices, _Envelope, _Notes

@dataclass(frozen=True)
class _LineSamples:
    """A monophonic line sampled: frequency (Hz), seconds since the note's onset (>= 0), envelope; (n,)."""

    frequency: np.ndarray
    age: np.ndarray
    envelope: np.ndarray


FADE_SECONDS = 0.003  #: a note fades out this fast before the next onset of its line (no clicks)


@functools.lru_cache(maxsize=2)
def _sample_numbers(n: int) -> np.ndarray:
    """0, 1, ..., n - 1 as float32 (read-only, shared by every voice of a track length)."""
    numbers = np.arange(n, dtype=np.float32)
    numbers.flags.writeable = False
    return numbers


def _clip_unit(values: np.ndarray) -> np.ndarray:
    """``values`` clipped to [0, 1] in place (as ``np.clip(values, 0, 1)``); returned."""
    np.maximum(values, np.float32(0), out=values)
    return np.minimum(values, np.float32(1), out=values)


def _line_samples(notes: _Notes, n: int, sample_rate: int, shape: _Envelope) -> _LineSamples | None:
    """Sample a monophonic line at ``sample_rate``; None when no note sounds within ``n`` samples.

    Each sample takes the values of the latest note started at or before it (samples before the first onset
    take the first note's, silenced by its attack)."""
    order = np.argsort(notes.onsets, kind="stable")
    onsets = np.round(notes.onsets[order] * sample_rate).astype(np.int64)
    keep = onsets < n
    if not keep.any():
        return None
    onsets, order = onsets[keep], order[keep]
    clipped = np.clip(onsets, 0, n)
    lengths = np.diff(np.append(clipped, n))  # samples of each note until the next onset
    lengths[0] += clipped[0]

    def spread(per_note: np.ndarray) -> np.ndarray:
        return np.repeat(per_note.astype(np.float32), lengths)

    sample = _sample_numbers(n)
    raw_age = np.subtract(sample, spread(onsets.astype(np.float32)))  # samples since the onset, < 0 before it
    raw_age *= np.float32(1 / sample_rate)
    age = np.maximum(raw_age, np.float32(0))
    until_next = spread(np.append(onsets[1:], n + sample_rate).astype(np.float32))
    until_next -= sample
    release = spread(notes.durations[order])
    np.subtract(age, release, out=release)
    np.maximum(release, np.float32(0), out=release)
    release *= np.float32(-1 / shape.release)
    np.exp(release, out=release)
    attack = _clip_unit(np.multiply(raw_age, np.float32(1 / shape.attack), out=raw_age))
    body = np.multiply(age, np.float32(-1 / shape.decay))
    np.exp(body, out=body)
    body *= np.float32(1 - shape.sustain)
    body += np.float32(shape.sustain)
    fade = _clip_unit(np.multiply(until_next, np.float32(1 / (FADE_SECONDS * sample_rate)), out=until_next))
    envelope = spread(notes.velocities[order])
    for factor in (attack, body, release, fade):
        envelope *= factor
    frequency = spread(440.0 * 2.0 ** ((notes.pitches[order] - 69.0) / 12.0))
    return _LineSamples(frequency, age, envelope)


def _phase(frequency: np.ndarray, sample_rate: int) -> np.ndarray:
    """Unwrapped phase in cycles (float64) of a signal with per-sample ``frequency`` (Hz)."""
    cycles = np.cumsum(frequency, dtype=np.float64)
    cycles /= sample_rate
    return cycles


def _wrap(cycles: np.ndarray) -> np.ndarray:
    """Phase in cycles (>= 0) wrapped to [0, 1), float32."""
    fraction = np.floor(cycles)
    np.subtract(cycles, fraction, out=fraction)
    return fraction.astype(np.float32)


def _sine(cycles: np.ndarray) -> np.ndarray:
    radians = _wrap(cycles)
    radians *= np.float32(2 * np.pi)
    return np.sin(radians, out=radians)


def _saw(cycles: np.ndarray, increment: np.ndarray) -> np.ndarray:
    """Band-limited sawtooth in [-1, 1] (PolyBLEP) from phase in cycles and its per-sample increment."""
    phase = _wrap(cycles)
    wave = np.multiply(phase, np.float32(2))
    wave -= np.float32(1)
    step = np.maximum(increment.astype(np.float32), np.float32(1e-6))
    start = phase < step
    t = phase[start] / step[start]
    wave[start] -= t + t - t * t - 1
    end = phase > 1 - step
    t = (phase[end] - 1) / step[end]
    wave[end] -= t * t + t + t + 1
    return wave


def _filter(audio: np.ndarray, cutoff_hz: float, sample_rate: int, kind: str = "lowpass", order: int = 2) -> np.ndarray:
    """Butterworth low/high-pass; the cut-off is kept below Nyquist."""
    cutoff = min(cutoff_hz, 0.45 * sample_rate)
    sos = signal.butter(order, cutoff, btype=kind, fs=sample_rate, output="sos")
    return signal.sosfilt(sos, audio).astype(np.float32)


def _normalise_peak(audio: np.ndarray, peak: float = 1.0) -> np.ndarray:
    """``audio`` scaled so its largest magnitude is ``peak`` (silence is returned as is)."""
    top = float(np.max(np.abs(audio)))
    return audio * np.float32(peak / top) if top > 0 else audio


@functools.lru_cache(maxsize=8)
def _vibrato(n: int, sample_rate: int, depth: float, rate_hz: float = 5.5) -> np.ndarray:
    """Frequency multiplier (n,) of a slow sine vibrato of relative ``depth`` (read-only: shared between voices)."""
    wobble = (1 + depth * np.sin(2 * np.pi * rate_hz * np.arange(n) / sample_rate)).astype(np.float32)
    wobble.flags.writeable = False
    return wobble


def _additive(voices: Voices, n: int, sample_rate: int, shape: _Envelope, ratios: Sequence[float],
              amplitudes: Sequence[float], damping: Sequence[float]) -> np.ndarray:
    """Sum of partials (frequency ratio, amplitude, extra decay rate in 1/s) per note: piano, plucks, mallets."""
    out = np.zeros(n, dtype=np.float32)
    partial, decay = np.empty(n, dtype=np.float32), np.empty(n, dtype=np.float32)
    for notes in voices:
        line = _line_samples(notes, n, sample_rate, shape)
        if line is None:
            continue
        cycles = _phase(line.frequency, sample_rate)
        radians = _wrap(cycles)
        radians *= np.float32(2 * np.pi)
        tone = np.zeros(n, dtype=np.float32)
        for ratio, amplitude, rate in zip(ratios, amplitudes, damping):
            # whole-number partials can use the wrapped phase; others need their own unwrapped phase
            if float(ratio).is_integer():
                np.sin(np.multiply(radians, ratio, out=partial), out=partial)
            else:
                partial[:] = _sine(ratio * cycles)
            partial *= amplitude
            np.exp(np.multiply(line.age, np.float32(-rate), out=decay), out=decay)
            partial *= decay
            tone += partial
        tone *= line.envelope
        out += tone
    return out


def _saw_stack(voices: Voices, n: int, sample_rate: int, shape: _Envelope, detune_cents: Sequence[float],
               vibrato: float) -> np.ndarray:
    """Detuned sawtooths per note (strings, leads, synth bass, distorted guitar before its amp)."""
    out = np.zeros(n, dtype=np.float32)
    wobble = _vibrato(n, sample_rate, vibrato)
    for notes in voices:
        line = _line_samples(notes, n, sample_rate, shape)
        if line is None:
            continue
        for cents in detune_cents:
            frequency = np.multiply(line.frequency, wobble)
            frequency *= np.float32(2 ** (cents / 1200))
            cycles = _phase(frequency, sample_rate)
            frequency /= sample_rate  # now the phase increment per sample
            wave = _saw(cycles, frequency)
            wave *= line.envelope
            out += wave
    out /= len(detune_cents)
    return out


def _piano(voices: Voices, n: int, sr: int, settings: Settings, rng: np.random.Generator) -> np.ndarray:
    return _additive(voices, n, sr, _Envelope(0.002, settings["decay_s"], 0.0, 0.15), range(1, 7),
                     [1 / k**1.4 for k in range(1, 7)], [0.5 * k for k in range(1, 7)])


def _guitar_clean(voices: Voices, n: int, sr: int, settings: Settings, rng: np.random.Generator) -> np.ndarray:
    return _additive(voices, n, sr, _Envelope(0.002, settings["decay_s"], 0.0, 0.08), range(1, 9),
                     [1 / k for k in range(1, 9)], [1.5 * k for k in range(1, 9)])


def _finger_bass(voices: Voices, n: int, sr: int, settings: Settings, rng: np.random.Generator) -> np.ndarray:
    tone = _additive(voices, n, sr, _Envelope(0.004, 1.0, 0.4, 0.06), range(1, 6), (1, 0.6, 0.35, 0.2, 0.1),
                     [0.8 * k for k in range(1, 6)])
    return np.tanh(1.5 * tone)


def _upright_bass(voices: Voices, n: int, sr: int, settings: Settings, rng: np.random.Generator) -> np.ndarray:
    return _additive(voices, n, sr, _Envelope(0.008, 0.6, 0.1, 0.1), range(1, 5), (1, 0.5, 0.25, 0.12),
                     [1.5 * k for k in range(1, 5)])


def _timpani(voices: Voices, n: int, sr: int, settings: Settings, rng: np.random.Generator) -> np.ndarray:
    return _additive(voices, n, sr, _Envelope(0.003, 2.0, 0.0, 0.6), (1, 1.5, 1.98, 2.44, 2.9),
                     (1, 0.6, 0.4, 0.25, 0.15), (0.8, 1.2, 1.6, 2.0, 2.5))


def _epiano(voices: Voices, n: int, sr: int, settings: Settings, rng: np.random.Generator) -> np.ndarray:
    """Two-operator FM with a decaying modulation index (a Rhodes-like bell)."""
    out = np.zeros(n, dtype=np.float32)
    for notes in voices:
        line = _line_samples(notes, n, sr, _Envelope(0.002, settings["decay_s"], 0.25, 0.2))
        if line is not None:
            radians = _wrap(_phase(line.frequency, sr))
            radians *= np.float32(2 * np.pi)
            modulator = np.sin(radians)
            index = np.exp(np.multiply(line.age, np.float32(-4.0)))
            index *= np.float32(1.8)
            modulator *= index
            radians += modulator
            tone = np.sin(radians, out=radians)
            tone *= line.envelope
            out += tone
    return out


def _sub_808(voices: Voices, n: int, sr: int, settings: Settings, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(n, dtype=np.float32)
    for notes in voices:
        line = _line_samples(notes, n, sr, _Envelope(0.003, 0.9, 0.4, 0.12))
        if line is not None:
            out += _sine(_phase(line.frequency * (1 + 0.6 * np.exp(-line.age / 0.03)), sr)) * line.envelope
    return np.tanh(1.8 * out)


def _flute(voices: Voices, n: int, sr: int, settings: Settings, rng: np.random.Generator) -> np.ndarray:
    out = np.zeros(n, dtype=np.float32)
    wobble = _vibrato(n, sr, 0.004, 5.0)
    breath = _filter(rng.standard_normal(n).astype(np.float32), 3000, sr)
    for notes in voices:
        line = _line_samples(notes, n, sr, _Envelope(0.06, 1.5, 0.8, 0.1))
        if line is not None:
            cycles = _phase(line.frequency * wobble, sr)
            out += (_sine(cycles) + 0.25 * _sine(2 * cycles) + 0.08 * _sine(3 * cycles) + 0.06 * breath) * line.envelope
    return out


def _strings(voices: Voices, n: int, sr: int, settings: Settings, rng: np.random.Generator) -> np.ndarray:
    detune = settings["detune_cents"]
    tone = _saw_stack(voices, n, sr, _Envelope(settings["attack_s"], 1.0, 0.85, 0.4), (-detune, detune), 0.004)
    return _filter(tone, settings["cutoff_hz"], sr)


def _sax(voices: Voices, n: int, sr: int, settings: Settings, rng: np.random.Generator) -> np.ndarray:
    tone = _saw_stack(voices, n, sr, _Envelope(0.03, 0.8, 0.7, 0.08), (0.0,), 0.006)
    return np.tanh(2 * _filter(tone, 1800, sr))


def _synth_bass(voices: Voices, n: int, sr: int, settings: Settings, rng: np.random.Generator) -> np.ndarray:
    tone = _saw_stack(voices, n, sr, _Envelope(0.003, 0.3, 0.6, 0.05), (0.0,), 0.0)
    return _filter(tone, settings["cutoff_hz"], sr, order=4)


def _guitar_distorted(voices: Voices, n: int, sr: int, settings: Settings, rng: np.random.Generator) -> np.ndarray:
    """Saw chords through a tanh amp: ``drive`` sets the distortion, ``cabinet_hz`` the speaker cut-off."""
    tone = _saw_stack(voices, n, sr, _Envelope(0.003, 0.7, 0.55, 0.04), (-6.0, 6.0), settings["vibrato"])
    amp = np.tanh(settings["drive"] * _filter(tone, 4000, sr))
    return _filter(_filter(amp, 90, sr, "highpass"), settings["cabinet_hz"], sr, order=4)


#: instrument name -> renderer (voices, n samples, sample rate, timbre settings, rng) -> (n,) float32
INSTRUMENTS: dict[str, Callable[[Voices, int, int, Settings, np.random.Generator], np.ndarray]] = {
    "piano": _piano, "guitar_clean": _guitar_clean, "finger_bass": _finger_bass, "upright_bass": _upright_bass,
    "timpani": _timpani, "epiano": _epiano, "sub_808": _sub_808, "flute": _flute, "strings": _strings,
    "sax": _sax, "synth_bass": _synth_bass, "guitar_distorted": _guitar_distorted,
    "guitar_lead": _guitar_distorted,
}
