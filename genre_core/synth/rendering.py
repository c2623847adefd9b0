"""Rendering a composed track to audio: every part through its voices and instrument (or the drums), then the
master chain (reverb, EQ tilt, band limit, noise, soft clipping, peak at `PEAK_DBFS`)."""

from __future__ import annotations


import numpy as np
from scipy import signal

from genre_core.errors import InputError
from genre_core.synth.composition import PartPlan, TrackPlan, _Timeline, _arpeggio_voices, _bass_voices, _chord_voices, _melody_voices, _power_voices, _timeline, compose_track
from genre_core.synth.drums import _drums
from genre_core.synth.instruments import INSTRUMENTS, _filter, _normalise_peak

PEAK_DBFS = -1.0  #: peak level of every track, dB relative to full scale
VOICE_BUILDERS = {"pad": _chord_voices, "comp": _chord_voices, "power": _power_voices, "bass": _bass_voices,
                  "arpeggio": _arpeggio_voices, "melody": _melody_voices}



def _render_part(part: PartPlan, plan: TrackPlan, timeline: _Timeline, n: int, sr: int,
                 rng: np.random.Generator) -> np.ndarray:
    if part.role == "drums":
        return _drums(part, plan, timeline, n, sr, rng)
    voices = VOICE_BUILDERS[part.role](part, plan, timeline, rng)
    return INSTRUMENTS[part.instrument](voices, n, sr, part.settings, rng)


def _master(mix: np.ndarray, plan: TrackPlan, sr: int, rng: np.random.Generator) -> np.ndarray:
    """Reverb, EQ tilt, optional band limit, background noise, soft clipping, then a peak at `PEAK_DBFS`."""
    n = len(mix)
    rt60 = plan.reverb_seconds
    t = np.arange(int(min(rt60, 2.0) * sr), dtype=np.float32) / sr
    impulse = _filter(rng.standard_normal(len(t)).astype(np.float32), 6000, sr) * np.exp(-6.9 * t / rt60)
    impulse /= np.sqrt(np.sum(impulse**2))
    mix = mix + plan.reverb_wet * signal.fftconvolve(mix, impulse)[:n].astype(np.float32)
    low = _filter(mix, 800, sr, order=1)
    mix = low * np.float32(10 ** (-plan.eq_tilt_db / 40)) + (mix - low) * np.float32(10 ** (plan.eq_tilt_db / 40))
    if plan.lowpass_hz:
        mix = _filter(mix, plan.lowpass_hz, sr, order=4)
    mix = _normalise_peak(mix) + np.float32(10 ** (plan.noise_db / 20)) * rng.standard_normal(n).astype(np.float32)
    mix = np.tanh(plan.master_drive * _normalise_peak(mix))
    return _normalise_peak(mix, 10 ** (PEAK_DBFS / 20)).astype(np.float32)


def render_track(plan: TrackPlan, rng: np.random.Generator, *, sample_rate: int = 22050) -> np.ndarray:
    """Synthesise ``plan``: (round(plan.seconds * sample_rate),) float32 mono, peak at `PEAK_DBFS`.

    ``rng`` supplies the performance details (humanised timing, noise, drum sounds).
    """
    if not 8000 <= sample_rate <= 96000:
        raise InputError("sample_rate", f"{sample_rate!r} Hz is out of range [8000, 96000]")
    n = int(round(plan.seconds * sample_rate))
    timeline = _timeline(plan)
    mix = np.zeros(n, dtype=np.float32)
    for part in plan.parts:
        audio = _render_part(part, plan, timeline, n, sample_rate, rng)
        mix += _normalise_peak(audio, 10 ** (part.level_db / 20))
    return _master(mix, plan, sample_rate, rng)


def generate_track(genre: str, rng: np.random.Generator, *, seconds: float = 30.0,
                   sample_rate: int = 22050) -> np.ndarray:
    """A synthetic track of ``genre``: (round(seconds * sample_rate),) float32 mono in [-1, 1]."""
    return render_track(compose_track(genre, rng, seconds=seconds), rng, sample_rate=sample_rate)
