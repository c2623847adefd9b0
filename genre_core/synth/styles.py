"""The genres of the demo as `GenreStyle`s: tempo and key ranges, chord progressions, drum kits, which
instruments play which roles, and the mix; the note grid and chord vocabulary they share."""

from __future__ import annotations

from dataclasses import dataclass



DEMO_GENRES: tuple[str, ...] = ("classical", "disco", "metal", "rock")
EXTRA_DEMO_GENRES: tuple[str, ...] = ("hiphop", "jazz")
ALL_DEMO_GENRES: tuple[str, ...] = DEMO_GENRES + EXTRA_DEMO_GENRES
STEPS_PER_BAR = 16  #: patterns are written on a grid of 16th notes, one 4/4 bar per pattern
NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
MAJOR_SCALE = (0, 2, 4, 5, 7, 9, 11)
MINOR_SCALE = (0, 2, 3, 5, 7, 8, 10)
#: Roman numeral -> (root in semitones above the tonic, chord tones in semitones above the root).
CHORDS: dict[str, tuple[int, tuple[int, ...]]] = {
    "I": (0, (0, 4, 7)), "ii": (2, (0, 3, 7)), "iii": (4, (0, 3, 7)), "IV": (5, (0, 4, 7)),
    "V": (7, (0, 4, 7)), "vi": (9, (0, 3, 7)), "bVII": (10, (0, 4, 7)),
    "i": (0, (0, 3, 7)), "iio": (2, (0, 3, 6)), "bII": (1, (0, 4, 7)), "III": (3, (0, 4, 7)),
    "iv": (5, (0, 3, 7)), "v": (7, (0, 3, 7)), "VI": (8, (0, 4, 7)), "VII": (10, (0, 4, 7)),
    "Imaj7": (0, (0, 4, 7, 11)), "ii7": (2, (0, 3, 7, 10)), "iii7": (4, (0, 3, 7, 10)),
    "V7": (7, (0, 4, 7, 10)), "vi7": (9, (0, 3, 7, 10)), "i7": (0, (0, 3, 7, 10)), "iv7": (5, (0, 3, 7, 10)),
}
MINOR_TONIC_CHORDS = ("i", "i7")

POP = (("I", "V", "vi", "IV"), ("I", "IV", "V", "IV"), ("vi", "IV", "I", "V"), ("I", "vi", "IV", "V"))
ROCK = (("I", "bVII", "IV", "I"), ("I", "IV", "I", "V"))
MINOR = (("i", "VI", "III", "VII"), ("i", "iv", "v", "i"), ("i", "VII", "VI", "VII"), ("i", "iv", "VII", "III"))
METAL = (("i", "bII", "i", "VII"), ("i", "VI", "VII", "i"), ("i", "i", "VI", "VII"), ("i", "iv", "VI", "v"))
CLASSICAL = (
    ("I", "IV", "V", "I"), ("I", "vi", "ii", "V"), ("i", "iv", "V", "i"), ("i", "VI", "iio", "V"),
    ("I", "V", "vi", "iii", "IV", "I", "IV", "V"),
)
JAZZ = (("ii7", "V7", "Imaj7", "Imaj7"), ("Imaj7", "vi7", "ii7", "V7"), ("iii7", "vi7", "ii7", "V7"),
        ("i7", "iv7", "i7", "V7"))

#: Drum kits: drum voice -> 16-step pattern ('1'..'9' a hit with that velocity out of 9, '.' silence).
KITS: dict[str, dict[str, str]] = {
    "four_on_the_floor": {"kick": "9...9...9...9...", "snare": "....8.......8...",
                          "open_hat": "..7...7...7...7.", "closed_hat": "4.3.4.3.4.3.4.3."},
    "disco_sixteenths": {"kick": "9...9...9...9...", "clap": "....9.......9...",
                         "open_hat": "..8...8...8...8.", "closed_hat": "5353535353535353"},
    "rock_backbeat": {"kick": "9.......9.......", "snare": "....9.......9...", "closed_hat": "6.5.6.5.6.5.6.5."},
    "rock_push": {"kick": "9.....8.9.......", "snare": "....9.......9...", "closed_hat": "6.5.6.5.6.5.6.5."},
    "rock_ride": {"kick": "9.......9.7.....", "snare": "....9.......9...", "ride": "7.6.7.6.7.6.7.6."},
    "metal_double_kick": {"kick": "8888888888888888", "snare": "....9.......9...", "ride": "7.6.7.6.7.6.7.6.",
                          "crash": "7.......7......."},
    "metal_gallop": {"kick": "9.889.889.889.88", "snare": "....9.......9...", "closed_hat": "7.6.7.6.7.6.7.6."},
    "metal_blast": {"kick": "9.9.9.9.9.9.9.9.", "snare": ".8.8.8.8.8.8.8.8", "crash": "7...7...7...7..."},
    "metal_half_time": {"kick": "9.9...9.9.9.....", "snare": "........9.......", "crash": "7...7...7...7..."},
    "hiphop_boom_bap": {"kick": "9......9..9.....", "snare": "....9.......9...", "closed_hat": "6.5.6.5.6.5.6.5."},
    "hiphop_sparse": {"kick": "9.9.......9..8..", "snare": "....9.......9...", "closed_hat": "5454545454545454"},
    "jazz_ride": {"ride": "8...7.68...7.6..", "closed_hat": "....6.......6...", "kick": "3.......3.......",
                  "snare": "..2.......3...2."},
    "jazz_brushes": {"brush": "8...6.78...6.7..", "closed_hat": "....5.......5...", "kick": "3.......2......."},
}
JAZZ_KITS = ("jazz_ride", "jazz_brushes")
#: Relative level of each drum voice inside a kit (a track varies each by a few dB).
DRUM_GAINS = {"kick": 1.0, "snare": 0.8, "clap": 0.7, "closed_hat": 0.35, "open_hat": 0.3, "ride": 0.3,
              "crash": 0.3, "brush": 0.5}
#: Rhythms of generated melodies: note lengths in 16th steps to draw from.
MELODY_RHYTHMS: dict[str, tuple[int, ...]] = {
    "slow": (4, 8, 8, 16), "flowing": (2, 4, 4, 8), "bebop": (2, 2, 2, 4, 6),
}
#: Roles whose parts form the rhythm section (muted together in a breakdown).
RHYTHM_ROLES = ("drums", "bass", "power")
#: Roles that carry the harmony; every track has at least one of them.
HARMONY_ROLES = ("pad", "comp", "arpeggio", "power")


@dataclass(frozen=True)
class PartOption:
    """A part a genre may have: its role, instruments and patterns to draw from, and its chance.

    Pitched patterns use 16 steps: an onset symbol starts a note that lasts through the following
    ``'-'`` steps; ``'.'`` is silence. Onsets are digits (velocity out of 9), ``x``/``m`` (open or
    palm-muted power chord), ``R``/``F``/``O`` (bass root, fifth, octave) or ``W`` (walking bass note).
    Roles ``drums`` take kit names, ``pad`` holds each chord, ``melody`` takes `MELODY_RHYTHMS` names.
    """

    role: str
    instruments: tuple[str, ...]
    probability: float
    patterns: tuple[str, ...] = ("hold",)
    level_db: tuple[float, float] = (-6.0, -1.0)
    register: int = 55  #: MIDI pitch of the bottom of the octave where chord tones are placed
    bar_probability: float = 1.0  #: chance that each bar is played (sparse parts such as timpani)


@dataclass(frozen=True)
class GenreStyle:
    """The ranges a genre's tracks are drawn from. Ranges of different genres overlap on purpose."""

    tempo_bpm: tuple[float, float]
    progressions: tuple[tuple[str, ...], ...]
    bars_per_chord: tuple[float, ...]
    parts: tuple[PartOption, ...]
    tempo_wobble: tuple[float, float] = (0.0, 0.008)  #: relative depth of slow tempo drift (rubato)
    timing_jitter_s: tuple[float, float] = (0.002, 0.008)  #: humanised onset spread, s
    swing: tuple[float, float] = (0.0, 0.1)  #: 0 straight .. 1 full triplet swing
    drive: tuple[float, float] = (4.0, 12.0)  #: gain into the distortion of distorted guitars
    drum_tightness: tuple[float, float] = (0.3, 0.7)  #: 0 boomy and long .. 1 tight and clicky
    reverb_seconds: tuple[float, float] = (0.3, 1.2)  #: RT60
    reverb_wet: tuple[float, float] = (0.05, 0.25)
    master_drive: tuple[float, float] = (1.0, 2.0)  #: loudness: gain into the final soft clipper
    breakdown_probability: float = 0.2  #: chance of a few bars without the rhythm section
    lofi_probability: float = 0.1  #: chance of a band-limited (old recording) master


STYLES: dict[str, GenreStyle] = {
    "classical": GenreStyle(
        tempo_bpm=(60, 108), progressions=CLASSICAL + POP[:2], bars_per_chord=(0.5, 1, 1, 2),
        parts=(
            PartOption("pad", ("strings",), 0.75, level_db=(-4, 0), register=50),
            PartOption("arpeggio", ("piano",), 0.5, ("9-7-7-7-9-7-7-7-", "9777977797779777", "9--7--7-9--7--7-")),
            PartOption("comp", ("piano",), 0.2, ("9-------7-------", "9---------------")),
            PartOption("melody", ("strings", "flute"), 0.6, ("flowing", "slow"), (-6, -2), register=67),
            PartOption("bass", ("strings",), 0.55, ("R---------------", "R-------F-------"), register=36),
            PartOption("bass", ("timpani",), 0.25, ("R-------F-------", "R---------------", "R.......R..R.R.."),
                       (-6, -1), register=38, bar_probability=0.35),
        ),
        tempo_wobble=(0.03, 0.1), timing_jitter_s=(0.006, 0.02), swing=(0.0, 0.0), drive=(1.0, 1.0),
        reverb_seconds=(1.2, 2.5), reverb_wet=(0.15, 0.4), master_drive=(1.0, 1.3), breakdown_probability=0.0,
    ),
    "disco": GenreStyle(
        tempo_bpm=(108, 132), progressions=MINOR + POP, bars_per_chord=(1, 2),
        parts=(
            PartOption("drums", ("kit",), 1.0, ("four_on_the_floor", "disco_sixteenths"), (-1, 0)),
            PartOption("bass", ("synth_bass", "finger_bass"), 0.95,
                       ("R.O.R.O.R.O.R.O.", "R-O-R-O-R-O-R-O-", "R.ORR.ORR.ORR.OR"), (-4, -1), register=31),
            PartOption("pad", ("strings",), 0.35, level_db=(-8, -3), register=55),
            PartOption("melody", ("strings",), 0.2, ("slow",), (-8, -4), register=72),
            PartOption("comp", ("epiano",), 0.45, ("..7-..7-..7-..7-", "9--7--7-..7-..7-", "..9...9...9...9.")),
            PartOption("comp", ("guitar_clean",), 0.45, ("7575757575757575", "..9...9...9...9.", ".9.9.9.9.9.9.9.9"),
                       (-9, -4), register=60),
            PartOption("comp", ("piano",), 0.15, ("..7-..7-..7-..7-", "9-7-..7-9-7-..7-")),
        ),
        swing=(0.0, 0.15), drum_tightness=(0.3, 0.7), reverb_seconds=(0.4, 1.2), reverb_wet=(0.08, 0.3),
        master_drive=(1.0, 2.5), breakdown_probability=0.2,
    ),
    "metal": GenreStyle(
        tempo_bpm=(130, 200), progressions=METAL + MINOR[:2], bars_per_chord=(1, 2),
        parts=(
            PartOption("drums", ("kit",), 0.97, ("metal_double_kick", "metal_double_kick", "metal_gallop",
                                                 "metal_blast", "metal_half_time"), (-2, 0)),
            PartOption("power", ("guitar_distorted",), 0.95,
                       ("mmmmmmmmmmmmmmmm", "x---mmmmx---mmmm", "m.mmm.mmm.mmm.mm", "x-------mmmmmmmm",
                        "mmmmx---mmmmx---", "m.m.m.m.m.m.m.m."), (-3, 0), register=38),
            PartOption("comp", ("guitar_distorted",), 0.2, ("9-------9-------", "9---------------"),
                       (-6, -2), register=50),
            PartOption("bass", ("finger_bass", "synth_bass"), 0.85,
                       ("RRRRRRRRRRRRRRRR", "R.R.R.R.R.R.R.R.", "R-------R-------"), (-5, -1), register=28),
            PartOption("melody", ("guitar_lead",), 0.25, ("flowing", "bebop"), (-7, -3), register=64),
            PartOption("pad", ("strings",), 0.1, level_db=(-9, -4), register=55),
        ),
        drive=(8.0, 40.0), drum_tightness=(0.6, 1.0), reverb_seconds=(0.3, 1.0), reverb_wet=(0.05, 0.2),
        master_drive=(1.5, 3.5), breakdown_probability=0.15,
    ),
    "rock": GenreStyle(
        tempo_bpm=(95, 150), progressions=POP + ROCK + MINOR[:1], bars_per_chord=(1, 2),
        parts=(
            PartOption("drums", ("kit",), 0.92, ("rock_backbeat", "rock_backbeat", "rock_push", "rock_push",
                                                 "rock_ride", "four_on_the_floor"), (-2, 0)),
            PartOption("comp", ("guitar_distorted",), 0.7,
                       ("9-7-7-7-9-7-7-7-", "9-------9-------", "9--9--9-9--9--9-", "9-9-9-9-9-9-9-9-"),
                       (-4, 0), register=50),
            PartOption("power", ("guitar_distorted",), 0.35,
                       ("x-x-x-x-x-x-x-x-", "x-------x-------", "x---x---x-x-x---"), (-4, 0), register=40),
            PartOption("comp", ("guitar_clean",), 0.3, ("9-7-7-7-9-7-7-7-", "9---7---9---7---"), (-6, -1),
                       register=52),
            PartOption("arpeggio", ("guitar_clean",), 0.15, ("9-7-7-7-9-7-7-7-",), (-6, -1), register=52),
            PartOption("bass", ("finger_bass",), 0.9, ("R-R-R-R-R-R-R-R-", "R-------R---F---", "R.R.R.R.R.R.R.R."),
                       (-5, -1), register=28),
            PartOption("comp", ("piano",), 0.2, ("9---7---9---7---", "9-------9-------")),
            PartOption("pad", ("strings",), 0.1, level_db=(-9, -4), register=55),
            PartOption("melody", ("guitar_lead",), 0.15, ("flowing", "slow"), (-7, -3), register=64),
        ),
        drive=(1.2, 10.0), drum_tightness=(0.3, 0.8), master_drive=(1.2, 3.0), breakdown_probability=0.2,
    ),
    "hiphop": GenreStyle(
        tempo_bpm=(78, 100), progressions=MINOR + JAZZ[3:] + (("i", "i", "VI", "VII"),), bars_per_chord=(1, 2, 2),
        parts=(
            PartOption("drums", ("kit",), 1.0, ("hiphop_boom_bap", "hiphop_sparse"), (-1, 0)),
            PartOption("bass", ("sub_808", "synth_bass"), 0.9,
                       ("R---------R-----", "R------R--R-----", "R-----R---R-----"), (-4, -1), register=28),
            PartOption("comp", ("epiano",), 0.5, ("9-------7-------", "9---------7-----")),
            PartOption("comp", ("piano",), 0.3, ("9-------7-------", "..7-..7-..7-..7-")),
            PartOption("pad", ("strings",), 0.2, level_db=(-9, -4), register=55),
            PartOption("melody", ("flute",), 0.2, ("slow",), (-8, -4), register=72),
        ),
        swing=(0.2, 0.7), drum_tightness=(0.2, 0.6), reverb_seconds=(0.3, 1.0), master_drive=(1.2, 2.5),
        breakdown_probability=0.15, lofi_probability=0.5,
    ),
    "jazz": GenreStyle(
        tempo_bpm=(90, 180), progressions=JAZZ, bars_per_chord=(1, 1, 2),
        parts=(
            PartOption("drums", ("kit",), 0.9, ("jazz_ride", "jazz_brushes"), (-4, -1)),
            PartOption("bass", ("upright_bass",), 0.95, ("W---W---W---W---", "R-------F-------"), (-4, -1),
                       register=31),
            PartOption("comp", ("piano",), 0.8, ("..7-.....7-.....", "9-....7-..7-....", "...7-...7-..7-..")),
            PartOption("comp", ("epiano",), 0.2, ("9-....7-..7-....",)),
            PartOption("melody", ("sax", "flute"), 0.65, ("bebop", "flowing"), (-5, -1), register=62),
        ),
        tempo_wobble=(0.0, 0.015), swing=(0.5, 1.0), drum_tightness=(0.0, 0.3), reverb_seconds=(0.5, 1.5),
        reverb_wet=(0.1, 0.3), master_drive=(1.0, 1.3), breakdown_probability=0.1,
    ),
}
