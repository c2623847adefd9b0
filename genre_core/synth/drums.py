"""The drums: one-shot hits (kick, snare, clap, hats, ride, brushes) synthesised and placed on the timeline."""

from __future__ import annotations


import numpy as np

from genre_core.synth.composition import PartPlan, TrackPlan, _Notes, _Timeline, _notes, _pattern_events, _velocity
from genre_core.synth.instruments import _filter, _normalise_peak
from genre_core.synth.styles import DRUM_GAINS, JAZZ_KITS, KITS

def _metallic(t: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Six inharmonic square waves (the classic analogue cymbal source)."""
    frequencies = rng.uniform(300, 900, 6)
    return np.sign(np.sin(2 * np.pi * frequencies[:, None] * t[None, :])).sum(axis=0).astype(np.float32) / 6


def _drum_hit(voice: str, tightness: float, sr: int, rng: np.random.Generator) -> np.ndarray:
    """One hit of a drum voice, float32 with peak 1; ``tightness`` 0..1 makes it shorter and clickier."""
    length = {"kick": 0.5, "snare": 0.4, "clap": 0.35, "closed_hat": 0.15, "open_hat": 0.6, "ride": 1.5,
              "crash": 2.5, "brush": 0.45}[voice]
    t = (np.arange(int(length * sr)) / sr).astype(np.float32)
    noise = rng.standard_normal(len(t)).astype(np.float32)
    if voice == "kick":
        start, end = 60 + 140 * tightness + rng.uniform(-10, 10), rng.uniform(42, 60)
        frequency = end + (start - end) * np.exp(-t / (0.045 - 0.025 * tightness))
        body = np.sin(2 * np.pi * np.cumsum(frequency) / sr) * np.exp(-t / (0.45 - 0.3 * tightness))
        hit = body + _filter(noise, 1500, sr, "highpass") * np.exp(-t / 0.003) * (0.1 + 0.6 * tightness)
    elif voice == "snare":
        tone = 0.5 * np.sin(2 * np.pi * rng.uniform(160, 240) * t) * np.exp(-t / 0.05)
        hit = tone + 0.4 * _filter(noise, 1500, sr, "highpass") * np.exp(-t / (0.22 - 0.1 * tightness))
    elif voice == "clap":
        bursts = sum(np.exp(-np.maximum(t - delay, 0) / 0.004) * (t >= delay) for delay in (0.0, 0.011, 0.022))
        tail = np.exp(-np.maximum(t - 0.022, 0) / 0.12) * (t >= 0.022)
        hit = _filter(_filter(noise, 800, sr, "highpass"), 3500, sr) * (bursts + 0.6 * tail)
    elif voice in ("closed_hat", "open_hat"):
        decay = 0.035 if voice == "closed_hat" else 0.3
        hit = _filter(0.6 * noise + _metallic(t, rng), 7000, sr, "highpass", 4) * np.exp(-t / decay)
    elif voice in ("ride", "crash"):
        decay, cutoff, hiss = (0.9, 5000, 0.5) if voice == "ride" else (1.3, 3500, 1.0)
        hit = _filter(hiss * noise + _metallic(t, rng), cutoff, sr, "highpass", 4) * np.exp(-t / decay)
    else:  # brush: a soft swish
        hit = _filter(_filter(noise, 800, sr, "highpass"), 6000, sr) * np.minimum(t / 0.03, 1) * np.exp(-t / 0.15)
    return _normalise_peak(hit.astype(np.float32))


def _drums(part: PartPlan, plan: TrackPlan, timeline: _Timeline, n: int, sr: int,
           rng: np.random.Generator) -> np.ndarray:
    """A drum kit playing its patterns, plus a crash opening every 4-bar phrase (except in jazz kits)."""
    layers = [(voice, pattern, part.muted_bars) for voice, pattern in KITS[part.pattern].items()]
    if part.pattern not in JAZZ_KITS:
        off_phrase = {bar for bar in range(plan.n_bars) if bar % 4}
        layers.append(("crash", "9...............", tuple(off_phrase | set(part.muted_bars))))
    out = np.zeros(n, dtype=np.float32)
    for voice, pattern, muted in layers:
        steps, _, symbols = _pattern_events(pattern, plan.n_bars, muted)
        hits = _notes(timeline, steps, np.ones(len(steps), dtype=int), np.zeros(len(steps)),
                      [_velocity(symbol) for symbol in symbols], plan, rng)
        gain = DRUM_GAINS[voice] * 10 ** (rng.uniform(-3, 3) / 20)
        out += gain * _place_hits(_drum_hit(voice, plan.drum_tightness, sr, rng), hits, n, sr)
    return out


def _place_hits(hit: np.ndarray, hits: _Notes, n: int, sr: int) -> np.ndarray:
    """Copies of ``hit`` at the onsets of ``hits`` scaled by their velocities (one slice add per hit)."""
    out = np.zeros(n + len(hit), dtype=np.float32)
    for onset, velocity in zip(np.round(hits.onsets * sr).astype(np.int64), hits.velocities):
        if -len(hit) < onset < n:
            start = max(onset, 0)
            out[start:start + len(hit) - (start - onset)] += velocity * hit[start - onset:]
    return out[:n]
