"""The prompt reader's vocabulary: the phrase table that says which words move what.

Each `_Phrase` is one way of saying a motion ("shakes her head", "zoom out", "her hair blows"), matched as a
regex over the normalised clause; `_v` spells out a verb's inflections. A phrase's kind says what it asks for:
motion to draw, stillness of the whole image, a motion ruled out ("with her eyes closed"), or motion the
engine cannot draw (reported in the plan's notes). Also here: the amplitude and speed scale that degree words
map onto, who does a verb (`_SUBJECT`), and whether the prompt mentions clothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final, Literal

from stillmotion.engines.live2d.prompt.clauses import _normalize

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
    reason: str = ""  # for an unsupported phrase: why it is not drawn, for the note the user reads


def _p(
    pattern: str,
    target: str = "",
    *,
    kind: PhraseKind = "motion",
    direction: str | None = None,
    amplitude: float = DEFAULT_AMPLITUDE,
    reason: str = "",
) -> _Phrase:
    return _Phrase(re.compile(rf"\b(?:{pattern})\b"), target, kind, direction, amplitude, reason)


def _unsupported(pattern: str, reason: str) -> _Phrase:
    """Motion the engine cannot draw: read, and reported in the plan's notes with `reason`."""
    return _p(pattern, kind="unsupported", reason=reason)


_HANDS = (
    "hands and arms are not drawn doing this yet (on an illustration a hand can wave, rise, give a thumbs up or a V"
    " sign, rest under the chin, brush the hair, cover the mouth or lie on the chest)"
)
_FACE_EXPRESSION = (
    "this expression is not drawn yet: the engine draws smiles, laughs, frowns, blushes, tears, open mouths, blinks "
    "and closed eyes"
)


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
    "fabric cloth hem coattails kerchief"
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
_VIEWER = r"(?:the\s+)?(?:camera|viewer|viewers|lens|audience|us|me)"
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

from stillmotion.engines.live2d.prompt.scene_words import SCENE_PHRASES  # noqa: E402  (it needs _p and _v above)

# Longer phrases win over shorter ones they overlap ("shakes her head" over "shake", "no camera movement"
# over "no movement"), so the order here only breaks ties between phrases of the same length.
_PHRASES: Final[tuple[_Phrase, ...]] = (
    *SCENE_PHRASES,  # water, clouds, steam, smoke, fog, fire, plants, lightning (`scene_words.py`)
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
    # Gaze: towards the viewer ends facing the camera; away turns aside.
    _p(
        rf"{_v('turn turns turned turning swivel swivels')}\s+(?:{_OBJ}(?:head|face|gaze|eyes)\s+)?(?:back\s+)?"
        rf"(?:to|towards?|to\s+face|toward\s+face|around\s+to)\s+{_VIEWER}"
        rf"|{_LOOK}\s+(?:back\s+)?(?:straight\s+|directly\s+|right\s+)?(?:at|into|towards?)\s+{_VIEWER}"
        r"|(?:makes?|making)\s+eye\s+contact",
        "head.face",
        amplitude=0.5,
    ),
    _p(
        rf"(?:{_LOOK}|{_v('turn turns turned turning')})\s+(?:\w+ly\s+)?away"
        rf"|{_v('avert averts averted averting')}\s+{_OBJ}(?:gaze|eyes|face)",
        "head.turn",
        direction="right",
        amplitude=0.6,
    ),
    _p(rf"{_v('glance glances glanced glancing')}\s+(?:\w+ly\s+)?(?:away|to\s+the\s+side|sideways|aside)"
       rf"|eyes\s+(?:\w+ing\s+)?(?:to\s+the\s+side|sideways)",
       "eyes.look", direction="right"),
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
    # Closing the eyes briefly is a blink; otherwise they close and stay closed ("laughing, closing her eyes",
    # "with her eyes closed", "her eyes slowly close"): a held state, which also rules blinks out.
    _p(
        rf"{_v('close closes closed closing shut shuts shutting')}\s+{_OBJ}eyes"
        r"\s+(?:briefly|momentarily|for\s+a\s+(?:moment|second|beat|split\s+second))",
        "eyes.blink",
    ),
    _p(r"eyes\s+(?:close|closes|shut)\s+(?:briefly|momentarily|for\s+a\s+(?:moment|second))", "eyes.blink"),
    _p(rf"{_v('close closes closed closing shut shuts shutting')}\s+{_OBJ}eyes", "eyes.close"),
    _p(
        rf"eyes\s+(?:\w+ly\s+)?(?:closed|shut|close|closes|closing|drift\s+shut|drifting\s+shut|fall\s+shut)"
        rf"|(?:keeps|keep|keeping)\s+{_OBJ}eyes\s+(?:closed|shut)",
        "eyes.close",
    ),
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
    _p(_v("smile smiles smiled smiling"), "mouth.smile"),
    # "she beams", not "a beam of light" or "light beams across".
    _p(r"(?<!light\s)(?<!sun\s)(?:beams|beamed|beaming)(?!\s+(?:of|across|through|down|in|over|from))", "mouth.smile"),
    _p(
        r"(?:looks?|looking|seems?|appears?|feels?|is|gets?|getting|becomes?)\s+(?:very\s+|so\s+|really\s+)?"
        r"(?:happy|joyful|cheerful|delighted|glad|pleased|content|joyous)|happy\s+expression|(?:face|expression)\s+"
        r"(?:of|full\s+of)\s+joy|(?:face|expression)\s+(?:lights|lit)\s+up\s+with\s+joy",
        "@joy",
    ),
    # Expressions as bundles of the rig's parameters (see `EXPRESSIONS`), like a Live2D expression file.
    _p(
        r"(?:looks?|looking|is|seems?|appears?|gets?|getting)\s+(?:very\s+|so\s+|really\s+)?(?:surprised|shocked"
        r"|astonished|amazed|startled)|surprised|shocked|astonished|startled|in\s+surprise|eyes\s+(?:go\s+|are\s+"
        r"|open\s+)?wide(?:\s+open)?|wide\s+eyed|(?:surprised|shocked)\s+(?:expression|look|face)",
        "@surprise",
    ),
    _p(
        r"(?:looks?|looking|is|seems?|feels?|gets?|getting)\s+(?:very\s+|so\s+|a\s+little\s+)?(?:shy|bashful"
        r"|embarrassed|coy)|shyly|bashfully|coyly|shy\s+(?:expression|look|glance)",
        "@shy",
    ),
    _p(
        r"(?:looks?|looking|is|seems?|appears?|feels?|gets?|getting|becomes?|turns?|turning)\s+(?:very\s+|so\s+"
        r"|a\s+little\s+|slightly\s+|more\s+)?(?:sad|sorrowful|melancholy|gloomy|downcast|unhappy|dejected)"
        r"|(?:sad|sorrowful|melancholy|downcast)\s+(?:expression|look|face)|expression\s+(?:turns|becomes|changes"
        r"|shifts)(?:\s+to)?\s+(?:sad|sorrowful|melancholy)|sadly|sorrowfully",
        "@sad",
    ),
    _p(
        r"(?:looks?|looking|is|seems?|appears?|feels?|gets?|getting|becomes?|grows?|turns?|turning)\s+(?:very\s+"
        r"|so\s+|really\s+|a\s+little\s+|slightly\s+|more\s+)?(?:angry|upset|mad|furious|annoyed|irritated|stern"
        r"|cross)|(?:angry|annoyed|stern|furious|cross)\s+(?:expression|look|face|glare)|angry|angrily|furious"
        r"|annoyed|glar(?:e|es|ed|ing)|scowl\w*|frown\w*",
        "@anger",
    ),
    _p(_v("pout pouts pouted pouting"), "mouth.frown", amplitude=0.5),
    # Tears: a drop runs down the cheek; crying adds the sad face (sobbing shoulders are not drawn).
    _p(
        r"(?:a\s+)?(?:single\s+)?tears?\s+(?:\w+\s+)?(?:roll|rolls|rolling|run|runs|running|stream|streams"
        r"|streaming|fall|falls|falling|trickle|trickles|slide|slides|drop|drops)|tear\s?drops?|teary|tearful"
        r"|watery\s+eyes|eyes\s+(?:well|wells|welling|fill|filling|glisten\w*)(?:\s+up)?(?:\s+with\s+tears)?"
        r"|sheds?\s+a\s+tear",
        "eyes.tear",
    ),
    _p(r"cry|cries|cried|crying|weep\w*|sob|sobs|sobbing|in\s+tears|about\s+to\s+cry", "@cry"),
    _p(
        r"blush\w*|cheeks?\s+(?:\w+ing\s+|\w+\s+)?(?:pink|red|rosy|flushed)|flush(?:es|ed|ing)?|rosy\s+cheeks"
        r"|(?:turns?|turning|turned|goes|going|went)\s+(?:bright\s+|deep\s+)?(?:red|pink|crimson)",
        "head.blush",
    ),
    _p(r"(?:mouth|lips?)\s+(?:turns?|turned|turning|curls?|curled)\s+down|corners\s+of\s+(?:her|his|their|the)\s+mouth\s+"
       r"(?:turn|droop|fall)\w*", "mouth.frown"),
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
    # Laughing narrows the eyes too: an expression, not only a mouth.
    _p(_v("laugh laughs laughed laughing laughter cackle cackles cackled cackling"), "@laugh"),
    _p(
        _v("giggle giggles giggled giggling chuckle chuckles chuckled chuckling snicker snickers snickering"),
        "@giggle",
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
        r"\s+(?:camera|shot|view|lens|framing)|camera\s+(?:still|static|fixed|locked|steady|stationary)(?!\s+\w+s\b)",
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
        "hand.wave",
    ),
    _unsupported(
        _v("walk walks walked walking run runs ran running jog jogs jogging stroll strolls"),
        "walking and running are not drawn: the character stays in place",
    ),
    _unsupported(r"turns?\s+around|turning\s+around|spins?|spinning|twirl\w*", "turning around is not drawn"),
    _unsupported(
        r"clap\w*|points?\s+(?:at|to)|pointing\s+(?:at|to)|reach(?:es|ed|ing)?\s+out|shrug\w*|stretch(?:es|ed|ing)",
        _HANDS,
    ),
    _unsupported(
        r"eyebrows?\s+(?:raise|raises|raised|rise|rises|lift|lifts|furrow\w*)"
        r"|rais(?:e|es|ed|ing)\s+(?:(?:her|his|their)\s+)?(?:eyebrows?|brows?)|eyes\s+widen\w*",
        _FACE_EXPRESSION,
    ),
    _unsupported(r"kiss|kisses|kissing|blows\s+a\s+kiss|hug|hugs|hugging", "kisses and hugs are not drawn"),
    # Hands and arms: a drawn character's hand rises into the picture (`rig/arm.py`); what else hands do is noted.
    _p(
        r"wav(?:e|es|ed|ing)\s+(?:\w+ly\s+)?(?:at|to|hello|goodbye|hi|bye|back|her|his|their|a|energetically"
        r"|enthusiastically|cheerfully|happily)|(?:she|he|they|girl|boy|woman|man|character|kid|child|i)\s+"
        r"(?:\w+ly\s+)?wav(?:e|es|ed)",
        "hand.wave",
    ),
    # "she smiles and waves": waves that end the clause are a hand's, not the sea's.
    _p(r"(?:(?:and|then)\s+(?:\w+ly\s+)?|^)wav(?:es|ed|ing)(?=\s*$)", "hand.wave"),
    _p(r"thumbs?\s+up", "hand.thumbs_up"),
    _p(r"peace\s+sign|v\s+sign|victory\s+sign", "hand.peace"),
    _unsupported(r"ok\s+sign|finger\s+heart", _HANDS),
    _p(
        r"(?:hand|hands|fingers?|palm|fist)\s+(?:on|to|under|against)\s+(?:her\s+|his\s+|their\s+|the\s+)?"
        r"(?:chin|cheek|cheeks)|(?:rest|rests|rested|resting|prop|props|propped|propping)\s+(?:her|his|their)\s+"
        r"chin\s+(?:on|in)\s+(?:her|his|their|a|one)\s+(?:hand|hands|palm|fist)",
        "hand.chin",
    ),
    _p(
        r"(?:hand|hands|fingers?|palm)\s+(?:on|to|against|over)\s+(?:her\s+|his\s+|their\s+|the\s+)?(?:mouth|lips)"
        r"|(?:cover|covers|covered|covering|hide|hides|hid|hiding)\s+(?:her|his|their)\s+(?:mouth|lips|smile|giggles?)"
        r"|(?:giggl\w+|laugh\w*|smil\w+)\s+behind\s+(?:her|his|their|a|one)\s+hand",
        "hand.mouth",
    ),
    _p(
        r"(?:hand|hands|palm)\s+(?:on|to|against|over)\s+(?:her\s+|his\s+|their\s+|the\s+)?(?:chest|heart|breast)",
        "hand.heart",
    ),
    _unsupported(
        r"(?:hand|hands|fingers?|palm)\s+(?:on|to|under|against|over)\s+(?:her\s+|his\s+|their\s+|the\s+)?"
        r"(?:face|hip|hips|forehead)"
        r"|(?:cover|covers|covered|covering)\s+(?:her|his|their)\s+(?:face|eyes)",
        _HANDS,
    ),
    _p(
        rf"{_RAISE}\s+(?:up\s+)?(?:her|his|their|a|one|the)\s+(?:(?:left|right)\s+)?(?:hand|arm|palm)"
        rf"|{_RAISE}\s+(?:up\s+)?(?:her|his|their|both|the)\s+(?:hands|arms)"
        r"|(?:hand|hands|arm|arms)\s+(?:go|goes|went|going|come|comes|came|coming)\s+up",
        "hand.raise",
    ),
    _unsupported(
        r"(?:lift|lifts|lifted|lifting|raise|raises|raised|raising|put|puts|putting|hold|holds|holding|extend"
        r"|extends|extending|lower|lowers|lowering|reach|reaches)\s+(?:up\s+|out\s+)?(?:her|his|their|a|one|both"
        r"|the)\s+(?:hand|hands|arm|arms|finger|fingers|palm|fan|sword|cup|glass|umbrella|phone|book|flower)"
        r"|(?:draw|draws|drawing|drew)\s+(?:her|his|their|a)\s+sword",
        _HANDS,
    ),
    _p(
        r"(?:tuck|tucks|tucked|tucking|brush|brushes|brushed|brushing|run|runs|ran|running|comb|combs|combed|combing"
        r"|push|pushes|pushed|pushing|smooth|smooths|smoothed|smoothing|stroke|strokes|stroked|stroking)\s+"
        r"(?:a\s+lock\s+of\s+)?(?:her|his|their)\s+(?:hair|fingers|bangs|fringe|locks?)",
        "hand.hair",
    ),
    _unsupported(
        r"(?:twirl|twirls|twirling|flip|flips|flipping)\s+(?:her|his|their)\s+(?:hair|fingers|bangs|fringe)",
        _HANDS,
    ),
    # The face beyond smiles and open mouths.
    _unsupported(
        r"(?:looks?|looking|seems?|appears?|feels?|is|gets?|getting|becomes?|grows?|turns?|turning)\s+"
        r"(?:very\s+|so\s+|really\s+|a\s+little\s+|slightly\s+|more\s+)?"
        r"(?:scared|afraid|frightened|worried|nervous"
        r"|thoughtful|pensive|sleepy|tired|bored|confused|serious)"
        r"|(?:scared|worried|pained)\s+(?:expression|look|face)"
        r"|expression\s+(?:turns|becomes|changes|shifts)(?:\s+to)?\s+\w+"
        r"|lips\s+trembl\w*|puff\w*\s+(?:her|his)"
        r"\s+cheeks",
        _FACE_EXPRESSION,
    ),
    # Eyes that light up: star-shaped glints twinkle in them (a drawing's convention for delight).
    _p(
        r"eyes\s+(?:\w+\s+)?(?:sparkle|sparkles|sparkled|sparkling|shine|shines|shining|glitter|glitters"
        r"|glittering|twinkle|twinkles|twinkling|gleam|gleams|gleaming|light\s+up|lit\s+up|lighting\s+up)"
        r"|(?:starry|sparkling|shining|glittering|twinkling|gleaming|sparkly)(?:-eyed|\s+eyes)",
        "eyes.sparkle",
    ),
    # Animals.
    _p(
        r"ears?\s+(?:\w+\s+)?(?:twitch\w*|flick\w*|flop\w*|perk\w*|wiggle\w*|swivel\w*|bounc\w*)"
        r"|(?:twitch|twitches|twitching|flick|flicks|flicking|perks|perking|wiggles|wiggling)\s+(?:up\s+)?"
        r"(?:its|her|his|their|the|one|an)\s+ears?",
        "ears.twitch",
    ),
    _p(
        r"tails?\s+(?:\w+\s+)?(?:wag\w*|swish\w*|flick\w*|swing\w*|sway\w*|curl\w*|twitch\w*|thump\w*)"
        r"|(?:wag|wags|wagged|wagging|swish|swishes|swishing|flick|flicks|flicking|swings|swinging)\s+"
        r"(?:its|her|his|their|the|a)\s+(?:\w+\s+)?tail|tail\s+wag\w*",
        "tail.wag",
    ),
    # Panting: quick shallow breaths through an open mouth.
    _p(r"pant|pants|panted|panting", "@pant"),
    # The camera and the world.
    # An orbit needs the far side of the subject, which one picture does not show: a slow sideways pan (the
    # subject in front moving against what lies behind) is what is drawn, and the note says so.
    _p(
        r"orbit\w*|(?:circles|circling|rotates|rotating|revolves|revolving|arcs|arcing)\s+around|arc\s+shot"
        r"|360\s+(?:degree|shot|view)",
        "@orbit",
    ),
    # Candlelight (firelight) that flickers is the flames where the picture shows them, and the light in the room.
    _p(
        r"(?:flickering|dancing|wavering|warm|soft|flickery)\s+(?:candle|fire)\s?light"
        r"|(?:candle|fire)\s?light\s+(?:\w+\s+)?(?:flickers?|flickering|dances?|dancing|wavers?|wavering|plays?"
        r"|playing)",
        "@candlelight",
    ),
    # A boat sailing away or across: travelling is not drawn yet; it bobs where it is, and the note says so.
    _p(
        r"(?:boat|boats|ship|ships|sailboat|sailboats|yacht|canoe|kayak|ferry|vessel|dinghy)\s+(?:\w+\s+)?"
        r"(?:sails?|sailing|glides?|gliding|drifts?|drifting|moves?|moving|heads?|heading|travels?|travelling)\s+"
        r"(?:slowly\s+|gently\s+)?(?:away|across|off|by|past|along|out|towards?|into)",
        "@sail",
    ),
    _unsupported(
        r"birds?\s+(?:are\s+|is\s+)?(?:sing|sings|singing|chirp\w*|tweet\w*|twitter\w*)|birdsong|bird\s+song",
        "sounds are not drawn: the video has no sound",
    ),
    _unsupported(
        r"(?:butterfl\w+|bats|dragonfl\w+|bees|insects|moths?|fireflies)\s+(?:\w+\s+)?(?:fly|flies|flying"
        r"|flutter\w*|soar\w*|circl\w*|flap\w*|glide\w*|dance\w*|flit\w*|hover\w*)",
        "flying insects and bats are not drawn yet",
    ),
    # A flag on its pole flutters (`scene/flag.py`); banners and curtains are noted.
    _p(
        r"(?:flags?|pennants?)\s+(?:\w+\s+){0,4}?(?:is\s+|are\s+)?(?:flutter\w*|wav(?:es|ing|ed)|flap\w*|ripples"
        r"|rippling|rippled|billow\w*|snap\w*|flies|flying|streams|streaming)"
        r"|(?:fluttering|waving|flapping|rippling|billowing)\s+(?:flags?|pennants?)",
        "scene.flag",
    ),
    _unsupported(
        r"(?:banners?|streamers?|curtains?|drapes)\s+(?:\w+\s+){0,4}?(?:is\s+|are\s+)?(?:flutter\w*|wav(?:es|ing|ed)"
        r"|flap\w*|ripples|rippling|rippled|billow\w*|snap\w*|flies|flying|streams|streaming)"
        r"|(?:fluttering|waving|flapping|rippling|billowing)\s+(?:banners?|curtains?|drapes)",
        "banners and curtains fluttering are not drawn yet",
    ),
)

# Who does the verb, for the verbs shared by the camera and the character ("tilts", "turns").
# Words for a person or an animal in the picture, shared by the two tables below.
_SOMEONE_WORDS: Final = "she|he|girl|boy|woman|man|lady|guy|character|person|child|kid|cat|dog"
_SUBJECT: Final = re.compile(
    rf"\b(?:(?P<camera>camera|shot|lens|view)|(?P<person>{_SOMEONE_WORDS}|they|figure|subject|model))\b"
)
_CLOTHING_MENTION: Final = re.compile(rf"\b{_CLOTH}\b")
# Someone in the picture (a person or an animal), in English or Chinese.
_SOMEONE: Final = re.compile(
    rf"\b(?:{_SOMEONE_WORDS}|her|his|baby|cats|kitten|kitty|dogs|puppy|pup|animal|pet|horse|bird|fox|rabbit|bunny"
    r"|bear|tiger|lion)\b|[她他猫狗]"
)


def names_someone(prompt: str) -> bool:
    """Whether `prompt` speaks of a person or an animal (not an object or a place)."""
    return _SOMEONE.search(prompt.lower()) is not None


# What each expression sets (part, action, direction, amplitude), and what of it is not drawn yet.
EXPRESSIONS: Final[dict[str, tuple[tuple[tuple[str, str, str | None, float], ...], str]]] = {
    # A smile with the eyes narrowed (the lids a little down and held).
    "@joy": ((("mouth", "smile", None, 0.8), ("eyes", "close", None, 0.3)), ""),
    "@laugh": ((("mouth", "laugh", None, 0.7), ("eyes", "close", None, 0.3)), ""),
    "@giggle": ((("mouth", "laugh", None, 0.5), ("eyes", "close", None, 0.25)), ""),
    "@surprise": (
        (("mouth", "open", None, 0.7), ("head", "look", "up", 0.3)),
        "wide eyes and raised brows are not drawn yet; drawn as an open mouth and a lifted head",
    ),
    "@shy": ((("head", "turn", "right", 0.4), ("head", "look", "down", 0.35), ("head", "blush", None, 0.6)), ""),
    "@sad": (
        (("head", "look", "down", 0.5), ("mouth", "frown", None, 0.5), ("eyes", "close", None, 0.25)),
        "raised inner brows are not drawn yet; drawn as a lowered head, heavy lids and drooping mouth corners",
    ),
    "@orbit": (
        (("camera", "pan", "right", 0.6),),
        "the camera cannot circle the subject, the picture shows one side of it; drawn as a slow sideways pan",
    ),
    "@pant": ((("mouth", "talk", None, 0.5), ("body", "breathe", None, 0.8)), ""),
    "@candlelight": ((("scene", "fire", None, 0.7), ("ambient", "flicker", None, 0.7)), ""),
    "@sail": (
        (("scene", "boat", None, 0.7),),
        "a boat travelling across the water is not drawn yet; drawn bobbing where it is",
    ),
    "@cry": (
        (("eyes", "tear", None, 0.7), ("mouth", "frown", None, 0.6), ("head", "look", "down", 0.3)),
        "sobbing is not drawn yet; drawn as a tear, drooping mouth corners and a lowered head",
    ),
    # Brows drawn down and in are not in the rig: a frown and a glare (the lids a little down, held).
    "@anger": (
        (("mouth", "frown", None, 0.75), ("eyes", "close", None, 0.3)),
        "brows drawn down are not drawn yet; drawn as a frown and narrowed eyes",
    ),
}


def asked_words(prompt: str, target: str) -> str | None:
    """The words of `prompt` that asked for `target` ("tail.wag": "tail flicking"), the longest match, or None:
    quoted in a note when the picture gives the motion no place."""
    text = _normalize(prompt)
    found = [match.group() for phrase in _PHRASES if phrase.target == target for match in phrase.pattern.finditer(text)]
    return max(found, key=len) if found else None
