"""Composing a track (`compose_track`: a `TrackPlan` of tempo, key, progression, parts and mix drawn from its
genre's style) and turning its parts into notes on a timeline (monophonic `_Notes` lines per voice)."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from genre_core.errors import InputError
from genre_core.synth.styles import ALL_DEMO_GENRES, CHORDS, GenreStyle, HARMONY_ROLES, MAJOR_SCALE, MELODY_RHYTHMS, MINOR_SCALE, MINOR_TONIC_CHORDS, NOTE_NAMES, RHYTHM_ROLES, STEPS_PER_BAR, STYLES

@dataclass(frozen=True)
class PartPlan:
    """One part of a composed track: what it plays (role, pattern), on what (instrument), how loud."""

    role: str
    instrument: str
    pattern: str  #: 16-step pattern, kit name, melody rhythm name, or "hold" for pads
    level_db: float  #: peak level of the part in the mix, dB
    register: int
    muted_bars: tuple[int, ...] = ()
    settings: dict[str, float] = field(default_factory=dict)  #: timbre settings of the instrument


@dataclass(frozen=True)
class TrackPlan:
    """Every musical choice of a track (recorded in the manifest); `render_track` turns it into audio."""

    genre: str
    seconds: float
    tempo_bpm: float
    tonic: int  #: pitch class of the key, 0 = C
    minor: bool
    progression: tuple[str, ...]  #: Roman numerals, relative to the key
    bars_per_chord: float
    n_bars: int
    start_offset_s: float  #: the excerpt starts this far into the first bar
    tempo_wobble: float
    wobble_period_bars: float
    timing_jitter_s: float
    swing: float
    drum_tightness: float
    parts: tuple[PartPlan, ...]
    reverb_seconds: float
    reverb_wet: float
    eq_tilt_db: float  #: > 0 brighter, < 0 darker (first-order shelf around 800 Hz)
    lowpass_hz: float  #: 0 = full band, else the cut-off of a band-limited master
    noise_db: float  #: background noise level relative to the peak, dB
    master_drive: float

    @property
    def key_name(self) -> str:
        return f"{NOTE_NAMES[self.tonic]} {'minor' if self.minor else 'major'}"

    def describe(self) -> dict[str, Any]:
        """JSON-serialisable summary for the manifest (floats rounded to 3 decimals)."""
        return _rounded({**asdict(self), "key": self.key_name})


def _rounded(value: Any) -> Any:
    """``value`` with every float inside (dicts, lists, tuples) rounded to 3 decimals; tuples become lists."""
    if isinstance(value, float):
        return round(value, 3)
    if isinstance(value, dict):
        return {name: _rounded(item) for name, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_rounded(item) for item in value]
    return value


def _between(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    return float(rng.uniform(bounds[0], bounds[1]))


def _pick(rng: np.random.Generator, options: Sequence[Any]) -> Any:
    return options[int(rng.integers(len(options)))]


def _instrument_settings(instrument: str, style: GenreStyle, rng: np.random.Generator) -> dict[str, float]:
    """Timbre settings drawn for one instrument of a track."""
    if instrument in ("guitar_distorted", "guitar_lead"):
        return {"drive": _between(rng, style.drive), "cabinet_hz": _between(rng, (2500, 5000)),
                "vibrato": 0.005 if instrument == "guitar_lead" else 0.0}
    if instrument == "strings":
        return {"attack_s": _between(rng, (0.08, 0.5)), "detune_cents": _between(rng, (4, 14)),
                "cutoff_hz": _between(rng, (1500, 4500))}
    if instrument == "synth_bass":
        return {"cutoff_hz": _between(rng, (300, 1400))}
    if instrument in ("piano", "epiano", "guitar_clean"):
        return {"decay_s": _between(rng, (0.6, 2.5))}
    return {}


def compose_track(genre: str, rng: np.random.Generator, *, seconds: float = 30.0) -> TrackPlan:
    """Draw every musical choice of a ``seconds`` long track of ``genre`` from its `GenreStyle`."""
    style = STYLES.get(genre)
    if style is None:
        raise InputError("genre", f"unknown demo genre {genre!r}; choose from {', '.join(ALL_DEMO_GENRES)}")
    if not 0 < seconds <= 600:
        raise InputError("seconds", f"{seconds!r} is out of range (0, 600]")
    tempo = _between(rng, style.tempo_bpm)
    progression = tuple(_pick(rng, style.progressions))
    bar_seconds = 4 * 60.0 / tempo
    start_offset = float(rng.uniform(0, bar_seconds))
    wobble = _between(rng, style.tempo_wobble)
    n_bars = math.ceil((seconds + start_offset) / (bar_seconds * (1 - wobble))) + 1
    chosen = [option for option in style.parts if rng.random() < option.probability]
    if not any(option.role in HARMONY_ROLES for option in chosen):
        chosen.append(next(option for option in style.parts if option.role in HARMONY_ROLES))
    breakdown = _breakdown_bars(rng, n_bars, style.breakdown_probability)
    parts = []
    for option in chosen:
        muted = breakdown if option.role in RHYTHM_ROLES else ()
        if option.bar_probability < 1:
            muted = tuple(int(bar) for bar in np.flatnonzero(rng.random(n_bars) >= option.bar_probability))
        instrument = str(_pick(rng, option.instruments))
        parts.append(PartPlan(
            role=option.role, instrument=instrument, pattern=str(_pick(rng, option.patterns)),
            level_db=_between(rng, option.level_db), register=option.register, muted_bars=muted,
            settings=_instrument_settings(instrument, style, rng),
        ))
    return TrackPlan(
        genre=genre, seconds=float(seconds), tempo_bpm=tempo, tonic=int(rng.integers(12)),
        minor=any(chord in MINOR_TONIC_CHORDS for chord in progression), progression=progression,
        bars_per_chord=float(_pick(rng, style.bars_per_chord)), n_bars=n_bars, start_offset_s=start_offset,
        tempo_wobble=wobble, wobble_period_bars=_between(rng, (2, 8)),
        timing_jitter_s=_between(rng, style.timing_jitter_s), swing=_between(rng, style.swing),
        drum_tightness=_between(rng, style.drum_tightness), parts=tuple(parts),
        reverb_seconds=_between(rng, style.reverb_seconds), reverb_wet=_between(rng, style.reverb_wet),
        eq_tilt_db=_between(rng, (-4, 4)),
        lowpass_hz=_between(rng, (3500, 8000)) if rng.random() < style.lofi_probability else 0.0,
        noise_db=_between(rng, (-70, -38)), master_drive=_between(rng, style.master_drive),
    )


def _breakdown_bars(rng: np.random.Generator, n_bars: int, probability: float) -> tuple[int, ...]:
    """Bars (1 to 3 in a row) where the rhythm section rests, or none."""
    if rng.random() >= probability:
        return ()
    length = int(rng.integers(1, 4))
    start = int(rng.integers(0, max(1, n_bars - length)))
    return tuple(range(start, start + length))




@dataclass(frozen=True)
class _Notes:
    """A monophonic line: onsets and durations (s), MIDI pitches, velocities in (0, 1]; all shape (notes,)."""

    onsets: np.ndarray
    durations: np.ndarray
    pitches: np.ndarray
    velocities: np.ndarray


Voices = list[_Notes]  #: the monophonic lines of one part (chord parts have one line per chord voice)
Settings = dict[str, float]  #: timbre settings of an instrument (see `_instrument_settings`)


@dataclass(frozen=True)
class _Envelope:
    """Attack (linear) then exponential decay to a sustain level while held, then exponential release (s)."""

    attack: float
    decay: float
    sustain: float
    release: float


@dataclass(frozen=True)
class _Timeline:
    """When each 16th step of a track sounds: ``onsets`` (steps + 1,) s, rubato, swing and offset applied."""

    onsets: np.ndarray
    chord_steps: int  #: steps per chord

    def chord_of(self, plan: TrackPlan, step: int) -> str:
        return plan.progression[(step // self.chord_steps) % len(plan.progression)]


def _timeline(plan: TrackPlan) -> _Timeline:
    step_seconds = 60.0 / plan.tempo_bpm / 4
    steps = np.arange(plan.n_bars * STEPS_PER_BAR + 1)
    drift = 1.0 + plan.tempo_wobble * np.sin(2 * np.pi * steps / (plan.wobble_period_bars * STEPS_PER_BAR))
    grid = np.concatenate([[0.0], np.cumsum(step_seconds * drift[:-1])])
    swing = plan.swing * step_seconds * (np.where(steps % 4 == 2, 2 / 3, 0.0) + np.where(steps % 2 == 1, 1 / 3, 0.0))
    return _Timeline(grid + swing - plan.start_offset_s, max(1, round(STEPS_PER_BAR * plan.bars_per_chord)))


def _pattern_events(pattern: str, n_bars: int, muted_bars: Sequence[int]) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Global step, length in steps and symbol of every onset of ``pattern`` repeated over the played bars."""
    local = []
    for step, symbol in enumerate(pattern):
        if symbol not in ".-":
            length = 1
            while step + length < len(pattern) and pattern[step + length] == "-":
                length += 1
            local.append((step, length, symbol))
    bars = np.setdiff1d(np.arange(n_bars), np.asarray(muted_bars, dtype=int))
    steps = (bars[:, None] * STEPS_PER_BAR + np.array([s for s, _, _ in local], dtype=int)[None, :]).ravel()
    lengths = np.tile(np.array([n for _, n, _ in local], dtype=int), len(bars))
    return steps, lengths, [symbol for _, _, symbol in local] * len(bars)


def _velocity(symbol: str) -> float:
    return int(symbol) / 9 if symbol.isdigit() else {"m": 0.75}.get(symbol, 0.9)


def _notes(timeline: _Timeline, steps: np.ndarray, lengths: np.ndarray, pitches: Sequence[float],
           velocities: Sequence[float], plan: TrackPlan, rng: np.random.Generator) -> _Notes:
    """Notes at grid ``steps`` lasting ``lengths`` steps, with humanised timing and velocity."""
    last = len(timeline.onsets) - 1
    steps = np.asarray(steps, dtype=int)
    ends = np.minimum(steps + np.asarray(lengths, dtype=int), last)
    jitter = rng.normal(0.0, plan.timing_jitter_s, len(steps))
    loudness = np.asarray(velocities, dtype=float) * rng.uniform(0.85, 1.0, len(steps))
    return _Notes(timeline.onsets[steps] + jitter, timeline.onsets[ends] - timeline.onsets[steps],
                  np.asarray(pitches, dtype=float), loudness)


def _place(pitch_class: int, register: int) -> int:
    """The MIDI pitch of ``pitch_class`` in the octave starting at ``register``."""
    return register + (pitch_class - register) % 12


def _chord_tones(plan: TrackPlan, chord: str, register: int, voices: int) -> list[int]:
    """``voices`` pitches of ``chord`` in close position above ``register`` (extended by octaves)."""
    root, intervals = CHORDS[chord]
    tones = sorted(_place((plan.tonic + root + interval) % 12, register) for interval in intervals)
    while len(tones) < voices:
        tones.append(tones[len(tones) - len(intervals)] + 12)
    return tones[:voices]


def _chord_root(plan: TrackPlan, chord: str, register: int) -> int:
    return _place((plan.tonic + CHORDS[chord][0]) % 12, register)


def _chord_voices(part: PartPlan, plan: TrackPlan, timeline: _Timeline, rng: np.random.Generator) -> Voices:
    """Roles ``pad`` (one held chord per chord change) and ``comp`` (chords on the pattern's onsets)."""
    if part.role == "pad":
        steps = np.arange(0, plan.n_bars * STEPS_PER_BAR, timeline.chord_steps)
        steps = steps[~np.isin(steps // STEPS_PER_BAR, part.muted_bars)]
        lengths, symbols = np.full(len(steps), timeline.chord_steps), ["7"] * len(steps)
    else:
        steps, lengths, symbols = _pattern_events(part.pattern, plan.n_bars, part.muted_bars)
    chords = [_chord_tones(plan, timeline.chord_of(plan, step), part.register, 4) for step in steps]
    velocities = [_velocity(symbol) for symbol in symbols]
    return [_notes(timeline, steps, lengths, [chord[voice] for chord in chords], velocities, plan, rng)
            for voice in range(4)]


def _power_voices(part: PartPlan, plan: TrackPlan, timeline: _Timeline, rng: np.random.Generator) -> Voices:
    """Power chords (root, fifth, octave); palm-muted ``m`` hits are cut short."""
    steps, lengths, symbols = _pattern_events(part.pattern, plan.n_bars, part.muted_bars)
    roots = np.array([_chord_root(plan, timeline.chord_of(plan, step), part.register) for step in steps])
    muted = np.array([symbol == "m" for symbol in symbols], dtype=bool)
    velocities = [_velocity(symbol) for symbol in symbols]
    voices = []
    for interval in (0, 7, 12):
        notes = _notes(timeline, steps, lengths, roots + interval, velocities, plan, rng)
        voices.append(_Notes(notes.onsets, np.where(muted, 0.4 * notes.durations, notes.durations),
                             notes.pitches, notes.velocities))
    return voices


def _bass_voices(part: PartPlan, plan: TrackPlan, timeline: _Timeline, rng: np.random.Generator) -> Voices:
    """Bass line: ``R`` root, ``F`` fifth, ``O`` octave, ``W`` a walking note leading to the next chord."""
    steps, lengths, symbols = _pattern_events(part.pattern, plan.n_bars, part.muted_bars)
    pitches = []
    for step, symbol in zip(steps, symbols):
        root = _chord_root(plan, timeline.chord_of(plan, step), part.register)
        if symbol != "W":
            pitches.append(root + {"F": 7, "O": 12}.get(symbol, 0))
        elif step % timeline.chord_steps == 0:  # a walking line starts each chord on its root
            pitches.append(root)
        elif timeline.chord_of(plan, step + 4) != timeline.chord_of(plan, step):  # approach the next root
            pitches.append(_chord_root(plan, timeline.chord_of(plan, step + 4), part.register) + _pick(rng, (-1, 1)))
        else:
            pitches.append(root + _pick(rng, CHORDS[timeline.chord_of(plan, step)][1][1:]))
    return [_notes(timeline, steps, lengths, pitches, [0.85] * len(steps), plan, rng)]


def _arpeggio_voices(part: PartPlan, plan: TrackPlan, timeline: _Timeline, rng: np.random.Generator) -> Voices:
    """Broken chords: each onset plays the next tone of the chord (over two octaves, up then down)."""
    steps, lengths, symbols = _pattern_events(part.pattern, plan.n_bars, part.muted_bars)
    order = (0, 1, 2, 3, 4, 5, 4, 3, 2, 1)
    pitches = [_chord_tones(plan, timeline.chord_of(plan, step), part.register, 6)[order[i % len(order)]]
               for i, step in enumerate(steps)]
    velocities = [_velocity(symbol) for symbol in symbols]
    # two alternating lines so each note rings on under the next one
    return [_notes(timeline, steps[parity::2], lengths[parity::2] * 2, pitches[parity::2], velocities[parity::2],
                   plan, rng) for parity in (0, 1)]


def _melody_voices(part: PartPlan, plan: TrackPlan, timeline: _Timeline, rng: np.random.Generator) -> Voices:
    """A random walk on the key's scale that lands on chord tones on strong beats, with rests."""
    scale = MINOR_SCALE if plan.minor else MAJOR_SCALE
    ladder = [p for p in range(part.register, part.register + 19) if (p - plan.tonic) % 12 in scale]
    rhythm = MELODY_RHYTHMS[part.pattern]
    position, step, total = len(ladder) // 2, 0, plan.n_bars * STEPS_PER_BAR
    steps, lengths, pitches = [], [], []
    while step < total:
        length = int(_pick(rng, rhythm))
        if rng.random() > 0.15 and step // STEPS_PER_BAR not in part.muted_bars:
            position = int(np.clip(position + _pick(rng, (-2, -1, -1, 0, 1, 1, 2, 3, -3)), 0, len(ladder) - 1))
            if step % 8 == 0:  # strong beat: move to the nearest chord tone
                chord_root, intervals = CHORDS[timeline.chord_of(plan, step)]
                tones = {(plan.tonic + chord_root + interval) % 12 for interval in intervals}
                candidates = [i for i, pitch in enumerate(ladder) if pitch % 12 in tones]
                position = min(candidates, key=lambda i: abs(i - position))
            steps.append(step)
            lengths.append(length)
            pitches.append(ladder[position])
        step += length
    return [_notes(timeline, np.array(steps, dtype=int), np.array(lengths), pitches, [0.8] * len(steps), plan, rng)]
