"""Read a free-form English prompt into an explicit `MotionPlan`, with rules only (no model, no downloads).

The reading runs in four small steps, each testable on its own:

1. `_split_clauses`: sentences, commas and connectors ("then", "while", "after", ...) cut the prompt into
   clauses, each knowing how it follows the one before (in sequence or at the same time).
2. `_read_clause`: a table of phrases (`_PHRASES`: verbs, inflections and synonyms per motion) finds what
   moves; a negation rule removes what the prompt forbids; nearby words give direction, strength, speed
   and count.
3. `_schedule`: clauses in sequence share the clip one after another, clauses at the same time overlap;
   camera, ambient effects, wind and breathing span the whole clip unless explicitly sequenced.
4. `parse_prompt`: the optimizer (or, without it, idle life for a prompt with no motion in it) adds
   secondary motion, and `describe_plan` writes the plan back as English for the user.

Negation rule: a negator ("not", "n't", "never", "no", "without", "nor", "neither", "instead of",
"avoid") applies to the first motion phrase after it in the same clause, at most four words away with no
conjunction in between, and carries on to further phrases joined only by "or"/"nor" ("doesn't nod or
shake her head"). Clause boundaries (commas, "but", "then", "while", sentence ends) always end it.
A negated motion is never drawn and also stops the optimizer and idle life from adding it.
"""

from __future__ import annotations

import functools
import itertools
import math
import random
import re
from dataclasses import dataclass, field, replace
from typing import Final, Literal, cast

from stillmotion.engines.live2d.plan import ACTIONS, Easing, MotionPlan, Part, Source, Track

__all__ = ["describe_plan", "parse_prompt"]


# Amplitudes on the plan's scale (see plan.py) and speed factors (fewer or more cycles, longer or shorter spans).
SOFT_AMPLITUDE: Final = 0.35
DEFAULT_AMPLITUDE: Final = 0.7
STRONG_AMPLITUDE: Final = 1.0
SLOW: Final = 0.6
FAST: Final = 1.6


# ---------------------------------------------------------------------------------------------------
# The phrase table


def _v(forms: str) -> str:
    """A regex alternation of word forms: `_v("nod nods nodded")` -> `(?:nod|nods|nodded)`."""
    return "(?:" + "|".join(forms.split()) + ")"


PhraseKind = Literal["motion", "still", "forbid", "unsupported"]


@dataclass(frozen=True)
class _Phrase:
    """One way of saying a motion. `target` is "part.action", or "@name" for verbs whose part depends on
    the subject or the direction ("tilt up" is the camera, "tilts to the left" is the head)."""

    pattern: re.Pattern[str]
    target: str
    kind: PhraseKind = "motion"
    direction: str | None = None  # fixed by the phrase itself ("zoom out"); else read from nearby words
    amplitude: float = (
        DEFAULT_AMPLITUDE  # before degree words: "grin" is broader than "smile", "breeze" softer than "wind"
    )


def _p(
    pattern: str,
    target: str = "",
    *,
    kind: PhraseKind = "motion",
    direction: str | None = None,
    amplitude: float = DEFAULT_AMPLITUDE,
) -> _Phrase:
    return _Phrase(re.compile(rf"\b(?:{pattern})\b"), target, kind, direction, amplitude)


_POSS = r"(?:her|his|their|its|the|my|your|one)"
_OBJ = rf"(?:{_POSS}\s+)?"  # "shakes her head", "shakes head"
_ADVS = r"(?:(?:very\s+)?(?:slowly|gently|softly|slightly|quickly|rapidly|smoothly|steadily|gradually|then|also)\s+)?"
_SAY = _v("say says said saying")
_HAIR = _v("hair locks ponytail ponytails braid braids pigtails twintails bangs fringe tresses curls strands")
_HAIR_FLOW = _v(
    "blow blows blew blowing blown move moves moved moving flow flows flowed flowing wave waves waved waving "
    "stream streams streamed streaming whip whips whipped whipping billow billows billowed billowing dance "
    "dances danced dancing sway sways swayed swaying ripple ripples rippled rippling drift drifts drifted "
    "drifting float floats floated floating swirl swirls swirled swirling lift lifts lifted lifting tossed "
    "tousled ruffled swept rustle rustles rustling"
)
_CLOTH = _v(
    "clothes clothing dress dresses skirt skirts scarf scarves cape capes cloak cloaks sleeve sleeves robe "
    "robes kimono coat coats jacket shirt ribbon ribbons veil veils shawl gown hood apron garment garments "
    "fabric cloth curtain curtains flag flags banner banners hem coattails kerchief"
)
_CLOTH_FLOW = _v(
    "blow blows blew blowing billow billows billowed billowing wave waves waved waving sway sways swaying "
    "flow flows flowing stream streams streaming whip whips whipping ripple ripples rippling swirl swirls "
    "swirling move moves moving flap flaps flapping"
)
_LOOK = _v(
    "look looks looked looking gaze gazes gazed gazing stare stares stared staring peer peers peered "
    "peering peek peeks peeked peeking"
)
_CAMERA_MOVE = _v(
    "move moves moved moving slide slides slid sliding drift drifts drifted drifting glide glides glided "
    "gliding travel travels traveled travelled traveling travelling swing swings swung swinging sweep sweeps "
    "swept sweeping turn turns turned turning rotate rotates rotated rotating shift shifts shifted shifting "
    "rise rises rose rising lower lowers lowered lowering descend descends descended descending crane cranes "
    "craned craning"
)
_DOLLY = _v("dolly dollies dollied dollying track tracks tracked tracking truck trucks trucking")
_LOOK_OR_GLANCE = _v("look looks looked looking glance glances glanced glancing")
_HEAD_OR_GAZE = r"(?:head|chin|gaze|eyes)"
_LASHES = r"(?:eyelashes|lashes|eyelids|lids|eyes)"
_FLUTTER = _v("flutter flutters fluttered fluttering")
_ROCK = _v("rock rocks rocked rocking")
_HAIR_TOUCH = _v(
    "blow blows blew blowing ruffle ruffles ruffled ruffling tousle tousles tousled tousling toss tosses tossed "
    "tossing stir stirs stirred stirring whip whips whipping"
)
_APPROACH = _v(
    "move moves moved moving come comes came coming get gets got getting draw draws drew drawing creep creeps "
    "crept creeping inch inches inched inching"
)
_RAISE = _v("raise raises raised raising lift lifts lifted lifting")
_LOWER = _v("lower lowers lowered lowering bow bows bowed bowing drop drops dropped dropping")
_ZOOM = _v("zoom zooms zoomed zooming")
_STAY = _v(
    "stay stays staying stand stands standing sit sits sitting remain remains remaining hold holds holding keep "
    "keeps keeping"
)

# Longer phrases win over shorter ones they overlap ("shakes her head" over "shake", "no camera movement"
# over "no movement"), so the order here only breaks ties between phrases of the same length.
_PHRASES: Final[tuple[_Phrase, ...]] = (
    # -- head
    _p(_v("nod nods nodded nodding"), "head.nod"),
    _p(rf"{_v('bob bobs bobbed bobbing dip dips dipped dipping')}\s+{_OBJ}head", "head.nod"),
    _p(r"head\s+(?:bob|bobs|bobbed|bobbing)", "head.nod"),
    _p(rf"{_SAY}\s+yes", "head.nod"),
    _p(rf"{_v('shake shakes shook shaking')}\s+{_OBJ}head", "head.shake"),
    _p(r"head\s+(?:shake|shakes|shook|shaking)|shake\s+of\s+(?:the|her|his|their)\s+head", "head.shake"),
    _p(rf"{_SAY}\s+no", "head.shake"),
    _p(
        rf"{_v('tilt tilts tilted tilting cock cocks cocked cocking tip tips tipped tipping')}\s+{_OBJ}(?:head|chin)",
        "@head_tilt",
    ),
    _p(
        r"head\s+(?:tilt|tilts|tilted|tilting|cocked|cocks|tips|tipped)|(?:tilt|cock)\s+of\s+(?:the|her|his|their)\s+head",
        "@head_tilt",
    ),
    _p(_v("tilt tilts tilted tilting"), "@tilt"),
    _p(rf"{_v('turn turns turned turning swivel swivels swiveled swiveling')}\s+{_OBJ}(?:head|face)", "@head_turn"),
    _p(r"head\s+(?:turn|turns|turned|turning|swivels)", "@head_turn"),
    _p(_v("turn turns turned turning"), "@turn"),
    _p(_LOOK, "@look"),
    _p(rf"{_LOOK_OR_GLANCE}\s+over\s+{_OBJ}(?:left\s+|right\s+)?shoulder", "@head_turn"),
    _p(rf"{_RAISE}\s+{_OBJ}{_HEAD_OR_GAZE}", "head.look", direction="up"),
    _p(
        rf"{_LOWER}\s+{_OBJ}{_HEAD_OR_GAZE}",
        "head.look",
        direction="down",
    ),
    _p(r"head\s+(?:bows|bowed|drops|dropped|hangs|lowers)", "head.look", direction="down"),
    # -- eyes
    _p(_v("blink blinks blinked blinking"), "eyes.blink"),
    _p(rf"{_v('bat bats batted batting')}\s+{_OBJ}{_LASHES}", "eyes.blink"),
    _p(rf"{_FLUTTER}\s+{_OBJ}{_LASHES}", "eyes.blink"),
    _p(rf"(?:eyelashes|lashes|eyelids)\s+{_FLUTTER}", "eyes.blink"),
    _p(
        rf"{_v('close closes closed closing shut shuts shutting')}\s+{_OBJ}eyes"
        r"(?:\s+(?:briefly|momentarily|for\s+a\s+(?:moment|second|beat|split\s+second)))?",
        "eyes.blink",
    ),
    _p(r"eyes\s+(?:close|closes|shut)\s+(?:briefly|momentarily|for\s+a\s+(?:moment|second))", "eyes.blink"),
    # "with her eyes closed": blinking would open them, so it is ruled out rather than drawn.
    _p(rf"eyes\s+(?:closed|shut)|(?:keeps|keep|keeping)\s+{_OBJ}eyes\s+(?:closed|shut)", "eyes.blink", kind="forbid"),
    _p(_v("wink winks winked winking"), "eyes.wink"),
    _p(rf"(?:{_POSS}\s+)?(?:left|right)\s+eye\s+{_v('wink winks winked winking')}", "eyes.wink"),
    _p(_v("glance glances glanced glancing"), "eyes.look"),
    _p(
        r"(?:eyes|gaze|pupils)\s+(?:\w+ly\s+)?"
        + _v(
            "dart darts darted darting move moves moved moving shift shifts shifted shifting flick flicks flicked "
            "flicking wander wanders wandered wandering look looks looked looking glance glances drift drifts "
            "drifted drifting turn turns turned"
        ),
        "eyes.look",
    ),
    _p(
        rf"{_v('shift shifts shifted shifting move moves moved moving dart darts darted')}\s+{_OBJ}(?:eyes|gaze)",
        "eyes.look",
    ),
    _p(rf"{_v('roll rolls rolled rolling')}\s+{_OBJ}eyes", "eyes.look", direction="up"),
    # -- mouth
    _p(_v("smile smiles smiled smiling beam beams beamed beaming"), "mouth.smile"),
    _p(_v("grin grins grinned grinning"), "mouth.smile", amplitude=0.85),
    _p(_v("smirk smirks smirked smirking"), "mouth.smile", amplitude=0.4),
    _p(r"(?:face|expression)\s+(?:lights|lit)\s+up", "mouth.smile"),
    _p(rf"{_v('open opens opened opening part parts parted parting')}\s+{_OBJ}(?:mouth|lips|jaw)", "mouth.open"),
    _p(
        r"(?:mouth|lips|jaw)\s+(?:opens|opened|opening|open|falls\s+open|fell\s+open|drops\s+open|drops|dropped|parts|parted"
        r"|agape)",
        "mouth.open",
    ),
    _p(_v("gasp gasps gasped gasping"), "mouth.open", amplitude=0.85),
    _p(_v("yawn yawns yawned yawning"), "mouth.open", amplitude=1.0),
    _p(
        _v(
            "talk talks talked talking speak speaks spoke speaking chat chats chatted chatting sing sings sang "
            "singing whisper whispers whispered whispering murmur murmurs murmured murmuring mutter mutters "
            "muttered muttering"
        ),
        "mouth.talk",
    ),
    _p(rf"{_SAY}(?!\s+(?:yes|no)\b)", "mouth.talk"),
    _p(
        rf"lip\s?sync\w*|mouths\s+(?:the\s+)?words|{_v('move moves moving')}\s+{_OBJ}lips|lips\s+(?:move|moves|moving)",
        "mouth.talk",
    ),
    _p(_v("laugh laughs laughed laughing laughter cackle cackles cackled cackling"), "mouth.laugh"),
    _p(
        _v("giggle giggles giggled giggling chuckle chuckles chuckled chuckling snicker snickers snickering"),
        "mouth.laugh",
        amplitude=0.5,
    ),
    # -- body
    _p(
        _v(
            "breathe breathes breathed breathing breath breaths inhale inhales inhaled inhaling exhale exhales "
            "exhaled exhaling sigh sighs sighed sighing"
        ),
        "body.breathe",
    ),
    _p(
        r"chest\s+(?:\w+ly\s+)?(?:rises|rising|rose|heaves|heaving|swells|swelling|expands|expanding|moves|moving)"
        r"(?:\s+and\s+(?:falls|falling|fell|sinks|sinking))?",
        "body.breathe",
    ),
    _p(rf"{_v('hold holds held holding')}\s+{_OBJ}breath", "body.breathe", kind="forbid"),
    _p(_v("sway sways swayed swaying"), "body.sway"),
    # "rocks" alone is usually a noun; only a manner word makes it the motion.
    _p(
        rf"{_ROCK}(?=\s+(?:gently|slowly|softly|lightly|slightly|back|from|side|to\s+and\s+fro|a\s+little))"
        rf"|(?:gently|slowly|softly|lightly)\s+{_ROCK}",
        "body.sway",
    ),
    _p(r"(?:moves|move|moving|rocks|rocking|swings|swinging)\s+(?:from\s+)?side\s+to\s+side", "body.sway"),
    _p(r"to\s+and\s+fro", "body.sway"),
    _p(_v("dance dances danced dancing"), "body.sway", amplitude=0.9),
    _p(_v("lean leans leaned leant leaning"), "body.lean"),
    _p(rf"{_v('lean leans leaned leant leaning')}\s+(?:in|closer|toward|towards)", "body.lean", direction="forward"),
    _p(rf"{_v('bend bends bent bending')}\s+forward", "body.lean", direction="forward"),
    _p(_v("bounce bounces bounced bouncing hop hops hopped hopping jump jumps jumped jumping"), "body.bounce"),
    _p(rf"{_v('bob bobs bobbed bobbing')}(?:\s+up\s+and\s+down)?", "body.bounce"),
    _p(r"(?:moves|move|moving|bounces|bouncing)\s+up\s+and\s+down", "body.bounce"),
    # -- hair and clothes
    _p(rf"{_HAIR}\s+(?:is\s+|are\s+)?(?:\w+ly\s+)?{_HAIR_FLOW}", "hair.wind"),
    _p(
        rf"{_HAIR_TOUCH}\s+{_OBJ}{_HAIR}",
        "hair.wind",
    ),
    _p(rf"{_HAIR}\s+(?:is\s+|are\s+)?(?:\w+ly\s+)?{_v('flutter flutters fluttered fluttering')}", "hair.flutter"),
    _p(r"wind|winds|windy|wind\s+blown|windblown", "hair.wind"),
    _p(r"breeze|breezes|breezy", "hair.wind", amplitude=0.5),
    _p(r"gust|gusts|gusty|gale|gales", "hair.wind", amplitude=1.0),
    _p(rf"{_CLOTH}\s+(?:is\s+|are\s+)?(?:\w+ly\s+)?{_CLOTH_FLOW}", "clothes.wind"),
    _p(rf"{_CLOTH}\s+(?:is\s+|are\s+)?(?:\w+ly\s+)?{_v('flutter flutters fluttered fluttering')}", "clothes.flutter"),
    _p(_v("flutter flutters fluttered fluttering flap flaps flapped flapping"), "clothes.flutter"),
    # -- camera
    _p(rf"{_ZOOM}\s+{_ADVS}(?:in|into|inward|inwards|closer|on|onto|toward|towards)", "camera.zoom", direction="in"),
    _p(rf"{_ZOOM}\s+{_ADVS}(?:out|outward|outwards|back|away)", "camera.zoom", direction="out"),
    _p(_ZOOM, "camera.zoom", direction="in"),
    _p(
        rf"{_v('push pushes pushed pushing')}\s+{_ADVS}(?:in|into|inward|inwards|closer|toward|towards)"
        r"|push\s?in|slow\s+push",
        "camera.zoom",
        direction="in",
    ),
    _p(rf"{_DOLLY}\s+{_ADVS}(?:in|forward|forwards|closer)", "camera.zoom", direction="in"),
    _p(rf"{_DOLLY}\s+{_ADVS}(?:out|back|backward|backwards|away)", "camera.zoom", direction="out"),
    _p(
        rf"{_APPROACH}\s+{_ADVS}closer",
        "camera.zoom",
        direction="in",
    ),
    # A "close-up portrait" is framing, not motion: only a moving close-up is a push-in.
    _p(
        r"(?:slow|slowly|gradual|gradually|smooth|smoothly)\s+close\s?up|close\s?up\s+(?:slowly|gradually|smoothly)"
        r"|(?:into|to)\s+(?:a\s+)?(?:slow\s+)?close\s?up",
        "camera.zoom",
        direction="in",
    ),
    _p(rf"camera\s+{_ADVS}{_v('approach approaches approached approaching nears')}", "camera.zoom", direction="in"),
    _p(
        rf"{_v('pull pulls pulled pulling')}\s+{_ADVS}(?:back|away|out|backward|backwards)|pull\s?back|pull\s?out",
        "camera.zoom",
        direction="out",
    ),
    _p(_v("reveal reveals revealed revealing"), "camera.zoom", direction="out"),
    _p(r"widens?\s+(?:the\s+)?(?:shot|view|frame)|(?:shot|view|frame)\s+widens", "camera.zoom", direction="out"),
    _p(_v("pan pans panned panning"), "camera.pan"),
    _p(r"tracking\s+shot|trucking\s+shot", "camera.pan"),
    _p(r"(?:track|tracks|tracking|truck|trucks|trucking)(?=\s+(?:to\s+the\s+)?(?:left|right))", "camera.pan"),
    _p(rf"camera\s+{_ADVS}{_CAMERA_MOVE}", "@camera_move"),
    _p(
        r"(?:fixed|static|still|stationary|locked|locked\s+off|locked\s+down|steady|tripod|stable|unmoving|motionless)"
        r"\s+(?:camera|shot|view|lens|framing)",
        "camera.static",
    ),
    _p(
        rf"camera\s+{_ADVS}(?:stays|stay|remains|remain|is|holds|stands|keeps|sits)\s+"
        r"(?:completely\s+|perfectly\s+|totally\s+|absolutely\s+|very\s+)?"
        r"(?:still|static|fixed|steady|stationary|locked|locked\s+off|motionless|unmoving|in\s+place)",
        "camera.static",
    ),
    _p(
        r"no\s+camera\s+(?:movement|movements|motion|moves|move|moving)|no\s+(?:movement|motion)\s+(?:of|from)\s+the\s+camera"
        r"|without\s+(?:any\s+)?camera\s+(?:movement|motion|moves)",
        "camera.static",
    ),
    _p(
        r"camera\s+(?:does|do|did|will|should|must|can|shall)\s+not\s+(?:\w+\s+)?(?:move|moves)|camera\s+never\s+moves?"
        r"|camera\s+(?:is\s+)?not\s+moving",
        "camera.static",
    ),
    _p(
        r"(?:do|does|did|will|should|must)\s+not\s+move\s+the\s+camera|never\s+move\s+the\s+camera"
        r"|without\s+moving\s+the\s+camera|(?:keep|keeps|hold|holds)\s+the\s+camera\s+(?:still|static|fixed|steady)",
        "camera.static",
    ),
    # -- ambient
    _p(_v("flicker flickers flickered flickering"), "ambient.flicker"),
    _p(
        r"candle\s?light|candlelit|candles?|fire\s?light|firelit|fireplace|torch\s?light|campfire|flames?\s+(?:dance|dancing)",
        "ambient.flicker",
    ),
    _p(_v("glow glows glowed glowing"), "ambient.glow"),
    _p(
        r"(?:light|lights|glow|aura|halo)\s+(?:pulses|pulse|pulsing|pulsates|pulsating|throbs|breathes|breathing)"
        r"|(?:pulsing|pulsating)\s+(?:light|lights|glow)",
        "ambient.glow",
    ),
    _p(r"light\s+beams|beams\s+of\s+light|sun\s?beams?|god\s+rays|light\s+rays|rays\s+of\s+light", "ambient.glow"),
    _p(_v("snow snows snowed snowing snowfall snowflake snowflakes flurries blizzard"), "ambient.snow"),
    _p(r"snow\s+flakes?", "ambient.snow"),
    _p(
        _v("rain rains rained raining rainfall raindrop raindrops rainy drizzle drizzles drizzled drizzling downpour"),
        "ambient.rain",
    ),
    _p(_v("storm stormy thunderstorm rainstorm"), "ambient.rain", amplitude=1.0),
    _p(
        r"petals?|cherry\s+blossoms?|blossoms?\s+(?:fall|falls|falling|drift|drifts|drifting)|sakura|falling\s+leaves|autumn\s+leaves"
        r"|leaves\s+(?:fall|falling|drift|drifting|swirl|swirling|blow|blowing)",
        "ambient.petals",
    ),
    _p(
        _v(
            "sparkle sparkles sparkled sparkling glitter glitters glittering twinkle twinkles twinkled twinkling "
            "shimmer shimmers shimmering fireflies firefly particles sparks stardust bokeh"
        )
        + r"|magic(?:al)?\s+(?:particles|dust|sparks|lights)|fairy\s+dust|dust\s+motes",
        "ambient.sparkles",
    ),
    # -- stillness of the whole image ("the camera stays still" is the camera's, above, and longer)
    _p(r"no\s+(?:motion|movement|movements|animation|moving)(?:\s+at\s+all)?", kind="still"),
    _p(
        r"(?:completely|perfectly|totally|entirely|absolutely|utterly|dead|stock)\s+"
        r"(?:still|motionless|static|frozen|immobile)",
        kind="still",
    ),
    _p(r"motionless|immobile|unmoving", kind="still"),
    # "frozen in place" or a clause-final "frozen", but not "a frozen lake"
    _p(r"frozen(?=\s+(?:in\s+(?:place|time)|still|solid|moment)|\s*$)|freezes|freeze\s?frame", kind="still"),
    _p(r"(?:static|still)\s+(?:image|picture|photo|photograph|frame|scene)", kind="still"),
    _p(
        r"nothing\s+(?:else\s+)?(?:moves|is\s+moving|should\s+move|will\s+move|changes|happens)"
        r"|(?:nobody|no\s+one)\s+moves",
        kind="still",
    ),
    _p(r"(?:does|do|did|will|should|must|can)\s+not\s+(?:\w+ly\s+)?move(?:\s+at\s+all)?|never\s+moves?", kind="still"),
    _p(
        rf"{_STAY}\s+(?:completely\s+|perfectly\s+|totally\s+|very\s+|absolutely\s+)?still",
        kind="still",
    ),
    _p(r"without\s+(?:any\s+)?(?:motion|movement|moving)(?:\s+at\s+all)?", kind="still"),
    _p(r"(?:do|does)\s+not\s+animate|not\s+animated", kind="still"),
    # -- motion the engine cannot draw: reported in `notes` so the user knows it was read, not ignored
    _p(
        r"wav(?:e|es|ed|ing)\s+(?:(?:her|his|their|a)\s+)?(?:hands?|arms?|hello|goodbye|hi|bye)|wav(?:e|es|ed|ing)\s+at",
        kind="unsupported",
    ),
    _p(_v("walk walks walked walking run runs ran running jog jogs jogging stroll strolls"), kind="unsupported"),
    _p(r"turns?\s+around|turning\s+around|spins?|spinning|twirl\w*", kind="unsupported"),
    _p(
        r"clap\w*|points?\s+(?:at|to)|pointing\s+(?:at|to)|rais(?:e|es|ed|ing)\s+(?:(?:her|his|their)\s+)?(?:hands?|arms?)"
        r"|reach(?:es|ed|ing)?\s+out|shrug\w*|stretch(?:es|ed|ing)",
        kind="unsupported",
    ),
    _p(r"cry|cries|cried|crying|weep\w*|sob|sobs|sobbing", kind="unsupported"),
    _p(r"tears\s+(?:roll|rolling|stream|streaming|fall|falling)", kind="unsupported"),
    _p(
        r"frown\w*|pout\w*|scowl\w*|eyebrows?\s+(?:raise|raises|raised|rise|rises|lift|lifts|furrow\w*)"
        r"|rais(?:e|es|ed|ing)\s+(?:(?:her|his|their)\s+)?(?:eyebrows?|brows?)|eyes\s+widen\w*",
        kind="unsupported",
    ),
    _p(r"kiss|kisses|kissing|blows\s+a\s+kiss|hug|hugs|hugging", kind="unsupported"),
)

_NEGATOR: Final = re.compile(
    r"\b(?:not|never|no|without|nor|neither|instead\s+of|avoids?|avoiding|no\s+longer|refuses?\s+to)\b"
)
_NEGATION_REACH_WORDS: Final = 4
_NEGATION_STOP: Final = frozenset({"and", "but", "so", "yet", "because", "although", "though", "or", "then"})
_NEGATION_CHAIN: Final = frozenset({"or", "nor", "even", "ever", "any"})

# Who does the verb, for the verbs shared by the camera and the character ("tilts", "turns").
_SUBJECT: Final = re.compile(
    r"\b(?:(?P<camera>camera|shot|lens|view)|(?P<person>she|he|they|girl|boy|woman|man|lady|guy|character|person"
    r"|figure|child|kid|cat|dog|subject|model))\b"
)
_CLOTHING_MENTION: Final = re.compile(rf"\b{_CLOTH}\b")


# ---------------------------------------------------------------------------------------------------
# Directions and modifiers

_OPPOSITE: Final = {"left": "right", "right": "left", "up": "down", "down": "up", "in": "out", "out": "in"}
# A word may name different canonical directions for different actions ("closer": lean forward, zoom in).
_DIRECTION_WORDS: Final[dict[str, tuple[str, ...]]] = {
    "left": ("left",),
    "leftward": ("left",),
    "leftwards": ("left",),
    "right": ("right",),
    "rightward": ("right",),
    "rightwards": ("right",),
    "up": ("up",),
    "upward": ("up",),
    "upwards": ("up",),
    "skyward": ("up",),
    "skywards": ("up",),
    "heavenward": ("up",),
    "above": ("up",),
    "down": ("down",),
    "downward": ("down",),
    "downwards": ("down",),
    "below": ("down",),
    "forward": ("forward", "in"),
    "forwards": ("forward", "in"),
    "closer": ("forward", "in"),
    "in": ("in",),
    "back": ("back", "out"),
    "backward": ("back", "out"),
    "backwards": ("back", "out"),
    "away": ("back", "out"),
    "out": ("out",),
}
_DIRECTION_TOKEN: Final = re.compile(
    r"\b(?:(?P<origin>from)\s+)?(?:(?:to|towards|toward|at|on|over|into)\s+)?(?:(?P<owner>her|his|their)\s+|the\s+)?"
    r"(?P<word>" + "|".join(sorted(_DIRECTION_WORDS, key=len, reverse=True)) + r")\b"
)
_FROM_TO: Final = re.compile(r"\bfrom\s+(?:the\s+)?(?:left|right)\s+to\s+(?:the\s+)?(?P<word>left|right)\b")
_LOOK_TARGET: Final = (
    (re.compile(r"\bat\s+the\s+(?:sky|stars|moon|sun|ceiling|clouds|heavens)\b"), "up"),
    (
        re.compile(
            r"\bat\s+(?:the\s+(?:ground|floor|table|water)|(?:her|his|their)\s+(?:feet|hands|lap|phone|book))\b"
        ),
        "down",
    ),
)
_DEFAULT_DIRECTION: Final[dict[tuple[str, str], str]] = {
    ("head", "tilt"): "right",
    ("head", "turn"): "right",
    ("eyes", "wink"): "right",
    ("body", "lean"): "forward",
    ("camera", "zoom"): "in",
    ("camera", "pan"): "right",
    ("camera", "tilt"): "up",
}
_ALL_DIRECTIONS: Final = frozenset({"left", "right", "up", "down"})
_CAMERA_DIRECTIONS: Final = frozenset({"left", "right", "up", "down", "in", "out"})


def _word_set(words: str) -> frozenset[str]:
    return frozenset(words.split())


_SOFT: Final = _word_set(
    "slightly slight gently gentle softly soft subtly subtle faintly faint barely lightly light mildly mild "
    "delicately delicate calmly calm small tiny little quietly quiet"
)
_STRONG: Final = _word_set(
    "strongly strong vigorously vigorous wildly wild big huge wide widely broadly broad heavily heavy intensely "
    "intense violently violent fiercely fierce energetically energetic dramatically dramatic enthusiastically "
    "powerfully powerful deeply deep large heartily hard"
)
_SLOW_WORDS: Final = _word_set("slowly slow leisurely lazily lazy languidly languid gradually gradual unhurriedly")
_FAST_WORDS: Final = _word_set("quickly quick rapidly rapid fast swiftly swift briskly brisk hurriedly suddenly sudden")
_INTENSIFIERS: Final = _word_set("very really extremely so super ever")
_NUMBERS: Final = {
    "one": 1,
    "single": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "couple": 2,
    "few": 3,
    "several": 4,
    "many": 5,
}
# Words that may sit between an article and its noun ("a big warm smile") without ending the modifier run.
_ADJACENT_FILLER: Final = _word_set("a an the her his their of warm bright happy sweet shy knowing sly sad long")
_COUNT: Final = re.compile(
    r"\b(?:(?P<once>once)|(?P<twice>twice)|(?P<thrice>thrice)"
    r"|(?P<n>\d+|one|two|three|four|five|six|seven|eight|nine|ten|a\s+couple\s+of|a\s+few|several|many)\s+times?)\b"
)
_CONTINUOUS: Final = re.compile(
    r"\b(?:repeatedly|again\s+and\s+again|over\s+and\s+over|continuously|continually|constantly|non\s?stop"
    r"|all\s+the\s+time|keeps?|keeping|continues?|continuing|on\s+and\s+off)\b"
)
# "smiles a little" but not "smiles at a little dog": the phrase must end the window.
_SOFT_PHRASE: Final = re.compile(r"\b(?:a\s+little(?:\s+bit)?|a\s+bit|a\s+tad|ever\s+so\s+slightly)\s*$")
_STRONG_PHRASE: Final = re.compile(r"\ba\s+lot\s*$")
_CONJUNCTION: Final = re.compile(r"\b(?:and|or|nor|as|while|with|but)\b")
_ADJACENT_RUN: Final = re.compile(
    r"(?:\b(?:"
    + "|".join(sorted(_SOFT | _STRONG | _SLOW_WORDS | _FAST_WORDS | _INTENSIFIERS | {"a", "an", "the", *_NUMBERS}))
    + r")\s+)+$"
)


@dataclass(frozen=True)
class _Modifiers:
    amplitude: float | None  # None: the phrase did not say how strongly
    speed: float
    count: int | None
    continuous: bool  # "keeps blinking", "repeatedly": a one-shot repeats through its span
    easing: Easing


def _read_modifiers(pre: str, text: str, post: str, *, countable: bool) -> _Modifiers:
    """Degree, speed and count from the words around a phrase: adjectives right before it ("a big smile",
    "two nods"), -ly adverbs anywhere in its window, counts after it ("nods twice")."""
    pre_words, text_words, post_words = pre.split(), text.split(), post.split()
    adjacent: list[str] = []
    for word in reversed(pre_words):
        known = word in _SOFT or word in _STRONG or word in _SLOW_WORDS or word in _FAST_WORDS
        if not (known or word in _INTENSIFIERS or word in _ADJACENT_FILLER or word in _NUMBERS or word.isdigit()):
            break
        adjacent.insert(0, word)
    # Adverbs ending in -ly are safe anywhere in the window; bare adjectives only touching the phrase or
    # inside it ("the little girl nods" is not a small nod, "a little nod" is), and "fast"/"hard" only
    # right after it ("laughs hard").
    words = [*pre_words, *text_words, *post_words]
    first_adjacent = len(pre_words) - len(adjacent)
    first_post = len(pre_words) + len(text_words)
    window = [
        (index, word)
        for index, word in enumerate(words)
        if word.endswith("ly")
        or first_adjacent <= index < first_post
        or (index == first_post and word in ("fast", "hard"))
    ]

    amplitude: float | None = None
    for index, word in window:
        boost = index > 0 and words[index - 1] in _INTENSIFIERS
        if word in _SOFT:
            amplitude = 0.2 if boost or word == "barely" else SOFT_AMPLITUDE
            break
        if word in _STRONG:
            amplitude = STRONG_AMPLITUDE
            break
    if amplitude is None:
        if _SOFT_PHRASE.search(post) or _SOFT_PHRASE.search(pre):
            amplitude = SOFT_AMPLITUDE
        elif _STRONG_PHRASE.search(post):
            amplitude = STRONG_AMPLITUDE

    said = {word for _, word in window}
    speed = SLOW if said & _SLOW_WORDS else FAST if said & _FAST_WORDS else 1.0
    easing: Easing = "ease_out" if said & {"suddenly", "sudden"} else "ease_in_out"

    count: int | None = None
    found = _COUNT.search(post)
    if found is not None:
        if found["once"]:
            count = 1
        elif found["twice"]:
            count = 2
        elif found["thrice"]:
            count = 3
        else:
            word = next(w for w in found["n"].split() if w.isdigit() or w in _NUMBERS)  # "a couple of" -> "couple"
            count = int(word) if word.isdigit() else _NUMBERS[word]
    else:
        numbers = [w for w in adjacent if w in _NUMBERS or w.isdigit()]
        if numbers:
            count = int(numbers[-1]) if numbers[-1].isdigit() else _NUMBERS[numbers[-1]]
        elif countable and adjacent and adjacent[0] in ("a", "an"):
            count = 1  # "a nod", "a quick blink", "takes a deep breath"
    continuous = count is None and bool(_CONTINUOUS.search(pre) or _CONTINUOUS.search(post))
    return _Modifiers(amplitude, speed, max(1, count) if count is not None else None, continuous, easing)


def _find_direction(text: str, allowed: frozenset[str]) -> str | None:
    """The first direction in `text` that `allowed` accepts, as the viewer sees it: "to her left" is the
    character's left, so the viewer's right; "from the left" (wind, a pan) means towards the right."""
    span = _FROM_TO.search(text)
    if span is not None and span["word"] in allowed:
        return span["word"]
    for token in _DIRECTION_TOKEN.finditer(text):
        for direction in _DIRECTION_WORDS[token["word"]]:
            if token["owner"] and direction in ("left", "right"):
                direction = _OPPOSITE[direction]  # a character facing us: her left is our right
            if token["origin"] and direction in _OPPOSITE:
                direction = _OPPOSITE[direction]
            if direction in allowed:
                return direction
    for pattern, direction in _LOOK_TARGET:
        if direction in allowed and pattern.search(text):
            return direction
    return None


# ---------------------------------------------------------------------------------------------------
# Clauses

Connector = Literal["start", "seq", "then", "with"]
_CONNECTOR_RANK: Final[dict[str, int]] = {"start": 0, "seq": 1, "with": 2, "then": 3}

_MID_CONNECTOR: Final = re.compile(
    r"\b(?:(?P<then>and\s+then|and\s+after\s+that|after\s+that|and\s+afterwards?|afterwards?|then"
    r"|and\s+finally|finally|and\s+later|before)"
    r"|(?P<after>after)"
    r"|(?P<with>while|whilst|meanwhile|at\s+the\s+same\s+time|simultaneously|but"
    r"|(?<!such\s)as(?!\s+(?:if|though|well|much|many|long|soon|a|an)\b)))\b"
)
_LEADING_THEN: Final = re.compile(r"^(?:next|later|eventually|subsequently|lastly|at\s+last|in\s+the\s+end)\b\s*")
_LEADING_NOISE: Final = re.compile(r"^(?:first|at\s+first|initially|and|also)\b\s*")
# Subordinate openers ("While she nods, ...") tie the clause after them, not the sentence before.
_LEADING_SUBORDINATE: Final = re.compile(r"^(?P<word>while|whilst|as|when|after|once|before)\b\s*")


@dataclass(frozen=True)
class _Piece:
    text: str
    connector: Connector


def _normalize(prompt: str) -> str:
    text = prompt.lower().translate({0x2019: "'", 0x2018: "'", 0x201C: '"', 0x201D: '"', 0x2014: ", ", 0x2013: ", "})
    text = re.sub(r"\bcan't\b", "can not", text)
    text = re.sub(r"\bwon't\b", "will not", text)
    text = re.sub(r"n't\b", " not", text)
    text = re.sub(r"'s\b", "", text)  # "the girl's hair" reads like "the girl hair"
    text = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", text)  # "close-up", "locked-off"
    text = re.sub(r"[\"'()\[\]*_]", " ", text)
    return re.sub(r"[ \t]+", " ", text)


def _split_clauses(text: str) -> list[_Piece]:
    """Clauses in the order their motions happen, each with how it follows the clause before."""
    pieces: list[_Piece] = []
    for sentence in re.split(r"(?<!\d)[.!?;:]+(?!\d)|\n+", text):
        pieces.extend(_split_sentence(sentence, "seq" if pieces else "start"))
    return [piece for piece in (_strip_leading(p) for p in pieces) if piece.text]


def _split_sentence(sentence: str, opening: Connector) -> list[_Piece]:
    # (text, connector); connector "after" marks "she smiles after nodding", resolved below.
    raw: list[tuple[str, str]] = []
    subordinate: str | None = None  # "While she nods, ...", "Before smiling, ..."
    subordinate_pieces = 0
    carried: str | None = None  # "Meanwhile, she sways": a connector alone before a comma ties what follows
    for comma_index, chunk in enumerate(sentence.split(",")):
        chunk = chunk.strip()
        connector: str = carried or (opening if comma_index == 0 else "seq")
        carried = None
        if comma_index == 0:
            lead = _LEADING_SUBORDINATE.match(chunk)
            if lead is not None:
                subordinate, chunk = lead["word"], chunk[lead.end() :]
        position = 0
        for found in _MID_CONNECTOR.finditer(chunk):
            before = chunk[position : found.start()].strip()
            if before:
                raw.append((before, connector))
            # An explicit connector replaces the comma's implicit "in sequence".
            connector = "then" if found["then"] else "with" if found["with"] else "after"
            position = found.end()
        rest = chunk[position:].strip()
        if rest:
            raw.append((rest, connector))
        elif position:
            carried = connector
        if comma_index == 0:
            subordinate_pieces = len(raw)

    if subordinate is not None and 0 < subordinate_pieces < len(raw):
        main_text, main_connector = raw[subordinate_pieces]
        if subordinate == "before":
            # "Before smiling, she nods": the main clause comes first.
            moved = raw[:subordinate_pieces]
            raw = [(main_text, opening), (moved[0][0], "then"), *moved[1:], *raw[subordinate_pieces + 1 :]]
        elif main_connector == "seq":
            tie = "with" if subordinate in ("while", "whilst", "as", "when") else "then"
            raw[subordinate_pieces] = (main_text, tie)

    ordered: list[tuple[str, str]] = []
    for text, connector in raw:
        if connector == "after" and ordered:
            # "She smiles after nodding": what follows "after" happens first.
            previous_text, previous_connector = ordered.pop()
            ordered += [(text, previous_connector), (previous_text, "then")]
        else:
            ordered.append((text, "then" if connector == "after" else connector))
    return [_Piece(text, cast(Connector, connector)) for text, connector in ordered]


def _strip_leading(piece: _Piece) -> _Piece:
    text, connector = piece.text, piece.connector
    lead = _LEADING_THEN.match(text)
    if lead is not None:
        text, connector = text[lead.end() :], "then"
    text = _LEADING_NOISE.sub("", text)
    return _Piece(text.strip(), connector)


# ---------------------------------------------------------------------------------------------------
# Reading one clause


@dataclass(frozen=True)
class _Motion:
    part: Part
    action: str
    direction: str | None
    amplitude: float
    amplitude_said: bool  # a degree word set it, so it wins over another phrase's default when merging
    speed: float
    count: int | None
    continuous: bool
    easing: Easing
    phrase: str


@dataclass(frozen=True)
class _Clause:
    text: str
    connector: Connector
    motions: tuple[_Motion, ...]


@dataclass(frozen=True)
class _ClauseReading:
    motions: tuple[_Motion, ...] = ()
    forbidden: frozenset[tuple[str, str]] = frozenset()
    still: bool = False
    notes: tuple[str, ...] = ()
    hits: int = 0  # phrases of any kind found: 0 means the clause is only modifiers or scenery


@dataclass(frozen=True)
class _Hit:
    phrase: _Phrase
    start: int
    end: int
    text: str


def _find_hits(text: str) -> list[_Hit]:
    """All phrases in `text`, longest first where they overlap, in reading order."""
    candidates = [
        _Hit(phrase, found.start(), found.end(), found.group())
        for phrase in _PHRASES
        for found in phrase.pattern.finditer(text)
    ]
    candidates.sort(key=lambda hit: (-(hit.end - hit.start), hit.start))
    chosen: list[_Hit] = []
    for hit in candidates:
        if all(hit.end <= other.start or hit.start >= other.end for other in chosen):
            chosen.append(hit)
    return sorted(chosen, key=lambda hit: hit.start)


def _windows(text: str, hits: list[_Hit]) -> list[tuple[str, str]]:
    """(before, after) text owned by each hit. Between two hits, the last conjunction splits the gap:
    "nods twice and slowly smiles" gives "twice" to the nod and "slowly" to the smile."""
    cuts: list[tuple[int, int]] = []
    for left, right in itertools.pairwise(hits):
        gap = text[left.end : right.start]
        conjunctions = list(_CONJUNCTION.finditer(gap))
        if conjunctions:
            cuts.append((left.end + conjunctions[-1].start(), left.end + conjunctions[-1].end()))
        else:
            # "flutters in a strong wind": the adjectives touching the right-hand phrase are its own.
            run = _ADJACENT_RUN.search(gap)
            cut = left.end + (run.start() if run is not None else len(gap))
            cuts.append((cut, cut))
    windows: list[tuple[str, str]] = []
    for index, hit in enumerate(hits):
        pre_from = cuts[index - 1][1] if index > 0 else 0
        post_to = cuts[index][0] if index < len(cuts) else len(text)
        windows.append((text[pre_from : hit.start], text[hit.end : post_to]))
    return windows


def _negated(text: str, hits: list[_Hit]) -> set[int]:
    """Indices of hits a negator rules out (see the module docstring for the rule)."""
    negated: set[int] = set()
    for negator in _NEGATOR.finditer(text):
        if any(hit.start <= negator.start() < hit.end for hit in hits):
            continue  # part of a phrase: "says no", "no camera movement"
        following = [index for index, hit in enumerate(hits) if hit.start >= negator.end()]
        if not following:
            continue
        gap = text[negator.end() : hits[following[0]].start].split()
        if len(gap) > _NEGATION_REACH_WORDS or _NEGATION_STOP.intersection(gap):
            continue
        negated.add(following[0])
        for previous, index in itertools.pairwise(following):
            words = set(text[hits[previous].end : hits[index].start].split())
            if not words or not words <= _NEGATION_CHAIN or not words & {"or", "nor"}:
                break
            negated.add(index)
    return negated


def _subject_before(text: str, position: int) -> str | None:
    subject: str | None = None
    for found in _SUBJECT.finditer(text, 0, position):
        subject = "camera" if found["camera"] else "person"
    return subject


def _resolve(target: str, direction: str | None, subject: str | None) -> str | None:
    """The "part.action" of a subject- or direction-dependent verb, or None when it cannot be drawn."""
    vertical = direction in ("up", "down")
    sideways = direction in ("left", "right")
    camera_move = {"left": "camera.pan", "right": "camera.pan", "up": "camera.tilt", "down": "camera.tilt"}
    camera_move |= {"in": "camera.zoom", "out": "camera.zoom"}
    if target == "@camera_move" or (target == "@turn" and subject == "camera"):
        return camera_move.get(direction or "")
    if target == "@tilt" and (subject == "camera" or (subject is None and vertical)):
        return "camera.pan" if sideways else "camera.tilt"
    if target in ("@tilt", "@head_tilt"):
        return "head.look" if vertical else "head.tilt"
    if target == "@head_turn":
        return "head.look" if vertical else "head.turn"
    if target in ("@turn", "@look"):
        return "head.look" if vertical else "head.turn" if sideways else None
    return target


def _read_clause(text: str) -> _ClauseReading:
    hits = _find_hits(text)
    negated = _negated(text, hits)
    motions: list[_Motion] = []
    forbidden: set[tuple[str, str]] = set()
    notes: list[str] = []
    still = False
    for index, (hit, (pre, post)) in enumerate(zip(hits, _windows(text, hits), strict=True)):
        phrase = hit.phrase
        if phrase.kind == "still":
            still = still or index not in negated
            continue
        if phrase.kind == "unsupported":
            if index not in negated:
                notes.append(f"not animated: {hit.text!r} is not something the live2d engine can draw")
            continue
        if phrase.kind == "forbid":
            part, action = phrase.target.split(".")
            forbidden.add((part, action))
            continue

        scan = f"{hit.text} {post}"
        direction = phrase.direction
        if direction is None and phrase.target.startswith("@"):
            allowed = _CAMERA_DIRECTIONS if phrase.target == "@camera_move" else _ALL_DIRECTIONS
            direction = _find_direction(scan, allowed)
        target = _resolve(phrase.target, direction, _subject_before(text, hit.start))
        if target is None:
            if index not in negated and phrase.target != "@look":  # "she looks happy" is not motion
                notes.append(f"no direction understood for {hit.text!r}; say left, right, up or down")
            continue
        part_name, action = target.split(".")
        part = cast(Part, part_name)
        if index in negated:
            forbidden.add((part, action))
            continue
        allowed_here = ACTIONS[part][action]
        if phrase.direction is None or phrase.direction not in allowed_here:
            direction = _find_direction(scan, frozenset(d for d in allowed_here if d is not None))
        if direction is None and None not in allowed_here:
            direction = _DEFAULT_DIRECTION.get((part, action))
            if direction is None:
                notes.append(f"no direction understood for {hit.text!r}; say left, right, up or down")
                continue
        timing = _TIMINGS[(part, action)]
        modifiers = _read_modifiers(pre, hit.text, post, countable=timing.countable)
        # "she smiles while nodding": the progressive is an ongoing activity, not a nod or two.
        progressive = timing.default_count is not None and hit.text.split()[0].endswith("ing")
        motions.append(
            _Motion(
                part=part,
                action=action,
                direction=direction,
                amplitude=modifiers.amplitude if modifiers.amplitude is not None else phrase.amplitude,
                amplitude_said=modifiers.amplitude is not None,
                speed=modifiers.speed,
                count=modifiers.count,
                continuous=modifiers.continuous or (progressive and modifiers.count is None),
                easing=modifiers.easing,
                phrase=hit.text,
            )
        )
    return _ClauseReading(tuple(_merge_same(motions)), frozenset(forbidden), still, tuple(notes), len(hits))


def _merge_same(motions: list[_Motion]) -> list[_Motion]:
    """One motion per (part, action) in a clause: "her hair blows in the wind" says hair.wind twice."""
    merged: dict[tuple[str, str], _Motion] = {}
    for motion in motions:
        key = (motion.part, motion.action)
        first = merged.get(key)
        if first is None:
            merged[key] = motion
            continue
        merged[key] = replace(
            first,
            direction=first.direction or motion.direction,
            amplitude=first.amplitude if first.amplitude_said or not motion.amplitude_said else motion.amplitude,
            amplitude_said=first.amplitude_said or motion.amplitude_said,
            speed=first.speed if first.speed != 1.0 else motion.speed,
            count=first.count if first.count is not None else motion.count,
            continuous=first.continuous or motion.continuous,
        )
    return list(merged.values())


# ---------------------------------------------------------------------------------------------------
# Reading the whole prompt


@dataclass(frozen=True)
class _Reading:
    clauses: tuple[_Clause, ...]
    forbidden: frozenset[tuple[str, str]]
    still: bool  # stillness was asked for (of the whole image or the character)
    notes: tuple[str, ...]
    understood: bool  # any phrase at all was recognised, negated or not
    mentions_clothing: bool


_DIRECTION_ONLY: Final = re.compile(
    r"^(?:back\s+)?(?:to\s+(?:the\s+)?|towards?\s+(?:the\s+)?)?(?:left|right|up|down|in|out)(?:\s+again)?$"
)


@functools.lru_cache(maxsize=512)
def _read_prompt(prompt: str) -> _Reading:
    """Everything the text says, independent of the clip length (cached: the same prompt is often planned
    for several durations or seeds)."""
    text = _normalize(prompt)
    pieces = _split_clauses(text)
    readings = [_read_clause(piece.text) for piece in pieces]
    # A clause with no phrase at all ("Slowly, she smiles"; "she nods, gently") lends its words to a
    # neighbour instead of being lost.
    index = 0
    while index < len(pieces):
        if readings[index].hits or len(pieces) == 1:
            index += 1
            continue
        if index > 0 and _DIRECTION_ONLY.match(pieces[index].text):
            # "she looks left, then right": the bare direction repeats the previous verb.
            verbs = [h for h in _find_hits(pieces[index - 1].text) if h.phrase.kind == "motion"]
            if verbs:
                pieces[index] = _Piece(f"{verbs[-1].text} {pieces[index].text}", pieces[index].connector)
                readings[index] = _read_clause(pieces[index].text)
                index += 1
                continue
        if index + 1 < len(pieces):
            nxt = pieces[index + 1]
            connector = max(pieces[index].connector, nxt.connector, key=_CONNECTOR_RANK.__getitem__)
            pieces[index + 1] = _Piece(f"{pieces[index].text} {nxt.text}", connector)
            readings[index + 1] = _read_clause(pieces[index + 1].text)
        elif index > 0:
            prev = pieces[index - 1]
            pieces[index - 1] = _Piece(f"{prev.text} {pieces[index].text}", prev.connector)
            readings[index - 1] = _read_clause(pieces[index - 1].text)
        del pieces[index], readings[index]

    forbidden: set[tuple[str, str]] = set()
    notes: list[str] = []
    for reading in readings:
        forbidden |= reading.forbidden
        notes.extend(n for n in reading.notes if n not in notes)
    return _Reading(
        clauses=tuple(_Clause(p.text, p.connector, r.motions) for p, r in zip(pieces, readings, strict=True)),
        forbidden=frozenset(forbidden),
        still=any(r.still for r in readings),
        notes=tuple(notes),
        understood=any(r.hits for r in readings),
        mentions_clothing=bool(_CLOTHING_MENTION.search(text)),
    )


# ---------------------------------------------------------------------------------------------------
# Timing


@dataclass(frozen=True)
class _Timing:
    natural_s: float  # span of one uncounted occurrence, before the clip stretches or squeezes it
    cycle_s: float = 0.0  # one repeat (a nod, a blink, a breath); 0: a held pose or a move, not repeated
    min_s: float = 0.3  # the shortest span in which one repeat still reads on screen
    # What an uncounted simple form means: "blinks" is one blink, "nods" a nod or two. None: the motion
    # fills its span ("sways", "talks"), as do "keeps nodding" and the progressive "nodding".
    default_count: int | None = None
    spacing_s: float = 0.0  # between repeats that fill a span ("keeps blinking"); 0: back to back
    # How far a fixed motion may slow down when the clip has time to spare: a nod can be leisurely, but
    # a slow blink reads as falling asleep.
    max_stretch: float = 1.5
    countable: bool = False  # "a nod", "a blink": the article counts one


_POSE: Final = _Timing(1.5, min_s=0.6)
_SCENE: Final = _Timing(3.0, min_s=1.0)  # camera moves and ambient effects
_TIMINGS: Final[dict[tuple[str, str], _Timing]] = {
    ("head", "nod"): _Timing(2.0, cycle_s=1.0, min_s=0.6, default_count=2, countable=True),
    ("head", "shake"): _Timing(2.0, cycle_s=1.0, min_s=0.6, default_count=2, countable=True),
    ("head", "tilt"): _POSE,
    ("head", "turn"): _POSE,
    ("head", "look"): _POSE,
    ("eyes", "blink"): _Timing(
        0.35, cycle_s=0.35, min_s=0.25, default_count=1, spacing_s=1.2, countable=True, max_stretch=1.0
    ),
    ("eyes", "wink"): _Timing(
        0.5, cycle_s=0.5, min_s=0.35, default_count=1, spacing_s=1.5, countable=True, max_stretch=1.2
    ),
    ("eyes", "look"): _Timing(1.0, min_s=0.4),
    ("mouth", "smile"): _Timing(2.0, min_s=0.6),
    ("mouth", "open"): _Timing(1.2, min_s=0.4),
    ("mouth", "talk"): _Timing(2.5, cycle_s=0.4, min_s=0.25),
    ("mouth", "laugh"): _Timing(2.0, cycle_s=0.35, min_s=0.25),
    ("body", "breathe"): _Timing(4.0, cycle_s=4.0, min_s=1.5, countable=True),
    ("body", "sway"): _Timing(4.0, cycle_s=4.0, min_s=1.0),
    ("body", "lean"): _POSE,
    ("body", "bounce"): _Timing(1.8, cycle_s=0.6, min_s=0.35, countable=True),
    ("hair", "wind"): _Timing(4.0, cycle_s=3.0, min_s=1.0),
    ("hair", "flutter"): _Timing(3.0, cycle_s=0.8, min_s=0.5),
    ("clothes", "wind"): _Timing(4.0, cycle_s=3.0, min_s=1.0),
    ("clothes", "flutter"): _Timing(3.0, cycle_s=0.8, min_s=0.5),
    **{("camera", action): _SCENE for action in ACTIONS["camera"]},
    **{("ambient", action): _SCENE for action in ACTIONS["ambient"]},
}

# Scenery: spans the whole clip unless a "then" puts it in sequence.
_BACKGROUND_PARTS: Final = frozenset({"camera", "ambient", "hair", "clothes"})
_PART_ORDER: Final = {part: index for index, part in enumerate(ACTIONS)}


def _is_background(part: str, action: str) -> bool:
    return part in _BACKGROUND_PARTS or (part, action) == ("body", "breathe")


def _count(motion: _Motion) -> int | None:
    """How many times the motion happens, when that is fixed rather than filling its span."""
    if motion.count is not None or motion.continuous:
        return motion.count
    return _TIMINGS[(motion.part, motion.action)].default_count


def _is_fixed(motion: _Motion) -> bool:
    """A fixed motion keeps its natural length ("nods twice", "blinks"); the others stretch to fill."""
    return _count(motion) is not None


def _natural_s(motion: _Motion) -> float:
    timing = _TIMINGS[(motion.part, motion.action)]
    count = _count(motion)
    if count is not None:
        return count * (timing.cycle_s or timing.natural_s) / motion.speed
    if motion.continuous and timing.spacing_s:
        return 3 * timing.spacing_s / motion.speed
    return timing.natural_s / motion.speed


@dataclass
class _Step:
    """Clauses that happen together; steps follow each other."""

    opener: Connector
    motions: list[_Motion] = field(default_factory=list)


def _group_steps(clauses: tuple[_Clause, ...]) -> list[_Step]:
    steps: list[_Step] = []
    for clause in clauses:
        if not clause.motions:
            continue
        if clause.connector == "with" and steps:
            steps[-1].motions.extend(clause.motions)
        else:
            steps.append(_Step(clause.connector, list(clause.motions)))
    return steps


def _allocate(naturals: list[float], stretchable: list[bool], duration_s: float) -> list[tuple[float, float, float]]:
    """(start, end, scale) per step, in order and without overlap. Leftover time goes to the steps that can
    stretch (a smile holds longer); with none, fixed steps slow down by at most 1.5x after a short lead-in.
    `scale` is what fixed motions inside the step are stretched (or squeezed) by."""
    if not naturals:
        return []
    total = sum(naturals)
    lengths: list[float]
    lead_in = 0.0
    if total >= duration_s:
        scale = duration_s / total  # too much for the clip: everything shares it pro rata
        lengths, scales = [n * scale for n in naturals], [scale] * len(naturals)
    elif any(stretchable):
        stretch_total = sum(n for n, s in zip(naturals, stretchable, strict=True) if s)
        slack = duration_s - total
        lengths = [n + (slack * n / stretch_total if s else 0.0) for n, s in zip(naturals, stretchable, strict=True)]
        scales = [1.0] * len(naturals)
    else:
        scale = min(1.5, duration_s / total)
        lengths, scales = [n * scale for n in naturals], [scale] * len(naturals)
        lead_in = min(1.0, (duration_s - total * scale) / 3)
    spans: list[tuple[float, float, float]] = []
    start = lead_in
    for length, scale in zip(lengths, scales, strict=True):
        end = min(duration_s, start + length)
        spans.append((start, end, scale))
        start = end
    return spans


def _repeats(motion: _Motion, length_s: float, notes: list[str]) -> int:
    timing = _TIMINGS[(motion.part, motion.action)]
    count = _count(motion)
    if count is not None:
        fits = max(1, int(length_s / timing.min_s + 1e-9))
        if count > fits and motion.count is not None:
            notes.append(f"{motion.phrase!r} {count} times does not fit in {length_s:.1f} s; drawing {fits}")
        return min(count, fits)
    if timing.spacing_s:
        return max(1, int(length_s * motion.speed / timing.spacing_s))
    if timing.cycle_s > 0:
        return max(1, round(length_s * motion.speed / timing.cycle_s))
    return 1


def _track(motion: _Motion, start: float, end: float, repeats: int) -> Track:
    amplitude = motion.amplitude
    if motion.part == "camera" and motion.action != "static":
        amplitude *= motion.speed if motion.speed < 1 else 1.4 if motion.speed > 1 else 1.0  # a slow zoom goes less far
    return Track(
        part=motion.part,
        action=motion.action,
        direction=motion.direction,
        amplitude=round(min(1.0, max(0.05, amplitude)), 3),
        start_s=start,
        end_s=end,
        easing=motion.easing,
        repeats=repeats,
        source="prompt",
    )


def _span(start: float, end: float, duration_s: float) -> tuple[float, float]:
    """Rounded for readability, clamped into the clip, never empty."""
    start, end = max(0.0, min(start, duration_s)), max(0.0, min(end, duration_s))
    rounded = (round(start, 3), min(round(end, 3), duration_s))
    if rounded[0] < rounded[1]:
        return rounded
    if start < end:
        return start, end
    return max(0.0, min(start, duration_s - 1e-3)), duration_s


_LEAD_IN_S: Final = 0.5


def _schedule(reading: _Reading, duration_s: float) -> tuple[list[Track], list[str]]:
    """The prompt's own tracks (source "prompt") and any notes about fitting them into the clip."""
    notes: list[str] = []
    steps = _group_steps(reading.clauses)
    timed: list[list[_Motion]] = []
    pooled: dict[tuple[str, str], _Motion] = {}
    for index, step in enumerate(steps):
        explicit = step.opener == "then" or (index + 1 < len(steps) and steps[index + 1].opener == "then")
        kept: list[_Motion] = []
        for motion in step.motions:
            if explicit or not _is_background(motion.part, motion.action):
                kept.append(motion)
            else:
                key = (motion.part, motion.action)
                pooled[key] = _merge_same([pooled[key], motion])[0] if key in pooled else motion
        if kept:
            timed.append(_merge_same(kept))

    tracks: list[Track] = []
    naturals = [max(_natural_s(m) for m in step) for step in timed]
    stretchable = [any(not _is_fixed(m) for m in step) for step in timed]
    for together, (start, end, scale) in zip(timed, _allocate(naturals, stretchable, duration_s), strict=True):
        for motion in together:
            stretch = min(scale, _TIMINGS[(motion.part, motion.action)].max_stretch)
            length = min(end - start, _natural_s(motion) * stretch) if _is_fixed(motion) else end - start
            # A short motion sharing a longer step gets a lead-in (up to half a second) so that it does not
            # happen in the clip's first instant, where a viewer barely sees it.
            lead_in = min((end - start - length) / 2, _LEAD_IN_S)
            first, last = _span(start + lead_in, start + lead_in + length, duration_s)
            tracks.append(_track(motion, first, last, _repeats(motion, last - first, notes)))
    for motion in pooled.values():
        first, last = _span(0.0, duration_s, duration_s)
        tracks.append(_track(motion, first, last, _repeats(motion, last - first, notes)))

    if any(t.part == "camera" and t.action == "static" for t in tracks):
        moves = [t for t in tracks if t.part == "camera" and t.action != "static"]
        if moves:
            notes.append("camera moves dropped: the prompt also asks for a still camera")
            tracks = [t for t in tracks if t not in moves]
    tracks.extend(_clothes_in_wind(tracks, reading))
    return tracks, notes


def _clothes_in_wind(tracks: list[Track], reading: _Reading) -> list[Track]:
    """Wind that is strong, or blows on clothes the prompt mentions, moves the clothes too."""
    if any(t.part == "clothes" for t in tracks) or ("clothes", "wind") in reading.forbidden:
        return []
    return [
        replace(track, part="clothes")
        for track in tracks
        if (track.part, track.action) == ("hair", "wind") and (reading.mentions_clothing or track.amplitude >= 0.95)
    ]


# ---------------------------------------------------------------------------------------------------
# Secondary motion

OPTIMIZER_BLINK_S: Final = 0.3
OPTIMIZER_BLINK_GAP_S: Final = (2.5, 4.0)


def _whole_clip(
    part: Part, action: str, duration_s: float, amplitude: float, source: Source, direction: str | None = None
) -> Track:
    timing = _TIMINGS[(part, action)]
    repeats = max(1, round(duration_s / timing.cycle_s)) if timing.cycle_s else 1
    return Track(part, action, direction, amplitude, 0.0, duration_s, "ease_in_out", repeats, source)


def _optimizer_tracks(
    tracks: list[Track], forbidden: frozenset[tuple[str, str]], duration_s: float, seed: int
) -> list[Track]:
    """Natural secondary motion for prompt_optimizer: breathing, seeded blinks, a little hair movement,
    and a slow push-in only when the prompt asked for no motion at all."""
    added: list[Track] = []
    body_busy = any(t.part == "body" and t.action in ("breathe", "sway", "bounce") for t in tracks)
    if not body_busy and ("body", "breathe") not in forbidden:
        added.append(_whole_clip("body", "breathe", duration_s, 0.5, "optimizer"))
    eyes_busy = any(t.part == "eyes" and t.action in ("blink", "wink") for t in tracks)
    if not eyes_busy and ("eyes", "blink") not in forbidden:
        rng = random.Random(seed)
        moment = rng.uniform(0.5, 1.5)
        while (start := round(moment, 2)) + OPTIMIZER_BLINK_S <= duration_s:
            end = round(start + OPTIMIZER_BLINK_S, 3)
            added.append(Track("eyes", "blink", None, 0.7, start, end, "ease_in_out", 1, "optimizer"))
            moment += rng.uniform(*OPTIMIZER_BLINK_GAP_S)
    if not any(t.part == "hair" for t in tracks) and ("hair", "wind") not in forbidden:
        added.append(_whole_clip("hair", "wind", duration_s, 0.25, "optimizer"))
    if not tracks and ("camera", "zoom") not in forbidden:
        added.append(_whole_clip("camera", "zoom", duration_s, 0.4, "optimizer", direction="in"))
    return added


def _idle_tracks(forbidden: frozenset[tuple[str, str]], duration_s: float) -> list[Track]:
    """Gentle idle life for a prompt with no motion in it, when the optimizer is off."""
    wanted = (("body", "breathe", 0.5, None), ("body", "sway", 0.3, None), ("camera", "zoom", 0.4, "in"))
    return [
        _whole_clip(cast(Part, part), action, duration_s, amplitude, "idle", direction=direction)
        for part, action, amplitude, direction in wanted
        if (part, action) not in forbidden
    ]


# ---------------------------------------------------------------------------------------------------
# Public API


def parse_prompt(prompt: str, *, duration_s: float, optimize: bool, seed: int = 0) -> MotionPlan:
    """The motion `prompt` asks for over a clip of `duration_s` seconds, as explicit tracks.

    `optimize` (the API's prompt_optimizer) adds natural secondary motion marked `source="optimizer"`;
    without it only what was asked is drawn, or gentle idle life (`source="idle"`) when nothing was.
    `seed` places the optimizer's blinks, so the same seed gives the same plan."""
    if not (math.isfinite(duration_s) and duration_s > 0):
        raise ValueError(f"`duration_s` must be a positive number of seconds, got {duration_s}")
    reading = _read_prompt(prompt)
    tracks, timing_notes = _schedule(reading, duration_s)
    notes = [*reading.notes, *timing_notes]
    if reading.still and all((t.part, t.action) == ("camera", "static") for t in tracks):
        plan = MotionPlan(duration_s=duration_s, still=True, notes=tuple(notes))
        return replace(plan, optimized_prompt=describe_plan(plan))
    if not reading.still:
        if optimize:
            tracks += _optimizer_tracks(tracks, reading.forbidden, duration_s, seed)
        elif not tracks:
            tracks += _idle_tracks(reading.forbidden, duration_s)
    if not reading.understood and prompt.strip():
        notes.append(f"no motion understood in {prompt.strip()!r}")
    tracks.sort(key=lambda t: (t.start_s, _PART_ORDER[t.part], t.action, t.end_s))
    plan = MotionPlan(duration_s=duration_s, tracks=tuple(tracks), notes=tuple(notes))
    return replace(plan, optimized_prompt=describe_plan(plan))


# ---------------------------------------------------------------------------------------------------
# Describing a plan

_CHARACTER_VERBS: Final[dict[tuple[str, str], str]] = {
    ("head", "nod"): "nods",
    ("head", "shake"): "shakes the head",
    ("head", "tilt"): "tilts the head {to}",
    ("head", "turn"): "turns the head {to}",
    ("head", "look"): "looks {to}",
    ("eyes", "blink"): "blinks",
    ("eyes", "wink"): "winks the eye on the {dir}",
    ("eyes", "look"): "glances {to}",
    ("mouth", "smile"): "smiles",
    ("mouth", "open"): "opens the mouth",
    ("mouth", "talk"): "talks",
    ("mouth", "laugh"): "laughs",
    ("body", "breathe"): "breathes",
    ("body", "sway"): "sways",
    ("body", "lean"): "leans {to}",
    ("body", "bounce"): "bounces",
}
_COUNTED: Final = frozenset(
    {("head", "nod"), ("head", "shake"), ("eyes", "blink"), ("eyes", "wink"), ("body", "bounce")}
)
# {manner}: " gently" / " strongly" / "" from the amplitude.
_SCENE_SENTENCES: Final[dict[tuple[str, str], str]] = {
    ("hair", "wind"): "The hair moves{manner} in the wind",
    ("hair", "flutter"): "The hair flutters{manner}",
    ("clothes", "wind"): "The clothes move{manner} in the wind",
    ("clothes", "flutter"): "The clothes flutter{manner}",
    ("ambient", "flicker"): "The light flickers{manner}",
    ("ambient", "glow"): "A soft glow pulses{manner}",
    ("ambient", "snow"): "Snow falls{manner}",
    ("ambient", "rain"): "Rain falls{manner}",
    ("ambient", "petals"): "Petals drift down{manner}",
    ("ambient", "sparkles"): "Sparkles twinkle{manner}",
}
_CAMERA_VERBS: Final = {"zoom": "zooms {dir}", "pan": "pans {to}", "tilt": "tilts {dir}", "static": "stays still"}


def _to(direction: str | None) -> str:
    return f"to the {direction}" if direction in ("left", "right") else direction or ""


def _times(count: int) -> str:
    return {1: "once", 2: "twice"}.get(count, f"{count} times")


def _seconds(track: Track) -> str:
    return f"({track.start_s:.1f}-{track.end_s:.1f} s)"


def _covers(track: Track, duration_s: float) -> bool:
    return track.start_s <= 0.05 and track.end_s >= duration_s - 0.05


def _character_phrase(track: Track) -> str:
    verb = _CHARACTER_VERBS[(track.part, track.action)].format(to=_to(track.direction), dir=track.direction)
    if (track.part, track.action) in _COUNTED and (track.repeats > 1 or track.action in ("nod", "shake")):
        verb = f"{verb} {_times(track.repeats)}"
    if track.amplitude <= 0.4:
        verb = f"gently {verb}"
    elif track.amplitude >= 0.95:
        verb = f"strongly {verb}"
    return verb


def describe_plan(plan: MotionPlan) -> str:
    """The plan in plain English, in order and with timings: what the user's prompt became."""
    if plan.still:
        return "The image stays completely still."
    duration = plan.duration_s
    sentences: list[str] = []

    def when(track: Track) -> str:
        return " throughout" if _covers(track, duration) else f" {_seconds(track)}"

    character = [
        t
        for t in plan.tracks
        if (t.part in ("head", "eyes", "mouth") or (t.part == "body" and t.action != "breathe"))
        and not (t.source == "optimizer" and t.action == "blink")
    ]
    groups: list[list[Track]] = []
    for track in character:
        if groups and (groups[-1][0].start_s, groups[-1][0].end_s) == (track.start_s, track.end_s):
            groups[-1].append(track)
        else:
            groups.append([track])
    if groups:
        parts: list[str] = []
        for index, group in enumerate(groups):
            phrase = " and ".join(_character_phrase(t) for t in group) + when(group[0])
            if index > 0:
                sequential = group[0].start_s >= groups[index - 1][0].end_s - 1e-6
                phrase = ("then " if sequential else "and ") + phrase
            parts.append(phrase)
        sentences.append("The character " + ", ".join(parts) + ".")

    for track in plan.tracks:
        if (track.part, track.action) == ("body", "breathe"):
            adjective = "Gentle" if track.amplitude <= 0.55 else "Deep" if track.amplitude >= 0.95 else "Steady"
            sentences.append(f"{adjective} breathing{when(track)}.")
    for track in plan.tracks:
        template = _SCENE_SENTENCES.get((track.part, track.action))
        if template is not None:
            manner = " gently" if track.amplitude <= 0.4 else " strongly" if track.amplitude >= 0.95 else ""
            towards = f", blowing {_to(track.direction)}," if track.direction else ""
            sentences.append(f"{template.format(manner=manner)}{towards}{when(track)}.")
    blinks = [t for t in plan.tracks if t.source == "optimizer" and (t.part, t.action) == ("eyes", "blink")]
    if blinks:
        moments = [f"{t.start_s:.1f} s" for t in blinks]
        listed = moments[0] if len(moments) == 1 else ", ".join(moments[:-1]) + " and " + moments[-1]
        sentences.append(f"Blinks at {listed}.")
    for track in plan.tracks:
        if track.part == "camera":
            verb = _CAMERA_VERBS[track.action].format(to=_to(track.direction), dir=track.direction)
            if track.action != "static" and track.amplitude <= 0.45:
                verb = f"slowly {verb}"
            elif track.action != "static" and track.amplitude >= 0.95:
                verb = f"quickly {verb}"
            timing = "" if _covers(track, duration) else f" {_seconds(track)}"
            sentences.append(f"The camera {verb}{timing}.")
    return " ".join(sentences)
