"""The scene's vocabulary: words that ask for the picture itself to move (water, clouds, steam, smoke, fog,
fire, plants, lightning, birds), read into `scene.*` tracks; the renderer finds where in the picture (`scene/`).

`SCENE_PHRASES` joins the phrase table (`lexicon._PHRASES`) ahead of the other phrases, so that where a scene
phrase and another one match the same words ("the campfire"), the scene's wins; longer phrases still win over
shorter ones ("the candle flickers" over "flickers"); `lexicon.asked_words` finds the words that asked for a
scene action again (quoted in the plan's notes when the picture shows no such thing). Also here:
`scene_sentence`, a scene track written back as English.
"""

from __future__ import annotations

from typing import Final

from stillmotion.engines.live2d.plan import Track, scene_tempo
from stillmotion.engines.live2d.prompt.lexicon import STRONG_AMPLITUDE, _p, _Phrase, _v

_ADV = r"(?:\w+ly\s+)?"  # "the river gently flows"
_BE = r"(?:is\s+|are\s+)?"
_FLOW = _v(
    "flow flows flowed flowing run runs running rush rushes rushed rushing stream streams streaming pour pours "
    "poured pouring cascade cascades cascaded cascading tumble tumbles tumbling gush gushes gushing babble babbles "
    "babbling gurgle gurgles gurgling churn churns churning course courses coursing race races racing move moves "
    "moving roar roars roaring splash splashes splashing plunge plunges plunging"
)
_FALLING = _v("fall falls fell falling drop drops dropping crash crashes crashing")
_WATERFALL = r"(?:waterfalls?|water\s+falls?|cascades?|cataracts?)"
_RIVER = r"(?:rivers?|streams?|creeks?|brooks?|rapids|currents?|canals?|water|waters|rivulets?)"
_WAVE_VERB = _v(
    "roll rolls rolled rolling crash crashes crashed crashing break breaks breaking lap laps lapping wash washes "
    "washing surge surges surging swell swells swelling move moves moving come comes coming heave heaves heaving "
    "undulate undulates undulating"
)
_SEA = r"(?:sea|seas|ocean|oceans|surf|tide|swell|swells|water)"
_RIPPLE_VERB = _v(
    "ripple ripples rippled rippling shimmer shimmers shimmered shimmering glisten glistens glistening sparkle "
    "sparkles sparkling glitter glitters glittering waver wavers wavering stir stirs stirring quiver quivers "
    "quivering move moves moving"
)
_STILL_WATER = r"(?:lakes?|ponds?|pools?|puddles?|surface|reflections?|water|waters|lagoon)"
_WET = r"(?:wet|rain-soaked|rain\s+soaked|rain-slicked|slick|glistening|shiny|rainy)"
_GROUND = r"(?:pavements?|streets?|roads?|ground|asphalt|sidewalks?|cobblestones?|tarmac)"
_CLOUD_VERB = _v(
    "drift drifts drifted drifting roll rolls rolled rolling move moves moved moving pass passes passed passing "
    "float floats floated floating race races raced racing sail sails sailing scud scuds scudding gather gathers "
    "gathering swirl swirls swirling go goes going glide glides gliding flow flows flowing travel travels "
    "traveling travelling stream streams streaming churn churns churning billow billows billowing"
)
_RISE = _v(
    "rise rises rose rising curl curls curled curling drift drifts drifted drifting swirl swirls swirled swirling "
    "billow billows billowed billowing waft wafts wafted wafting float floats floating climb climbs climbing "
    "plume plumes pluming spiral spirals spiralling spiraling twist twists twisting come comes coming escape "
    "escapes escaping"
)
_FOG = r"(?:fog|fogs|mist|mists|haze|fogbank|fog\s+bank|low\s+clouds?)"
_FOG_VERB = _v(
    "drift drifts drifted drifting roll rolls rolled rolling move moves moving creep creeps crept creeping float "
    "floats floating swirl swirls swirling rise rises rising settle settles hang hangs hanging flow flows flowing "
    "linger lingers lingering"
)
_FIRE = r"(?:fire|fires|flames?|campfires?|bonfires?|blaze|embers|fire\s?pit|hearth|torch|torches)"
_FIRE_VERB = _v(
    "burn burns burned burnt burning flicker flickers flickered flickering crackle crackles crackled crackling "
    "dance dances danced dancing leap leaps leapt leaping lick licks licking roar roars roared roaring blaze "
    "blazes blazing rage rages raging glow glows glowing smoulder smoulders smouldering smolder smolders "
    "smoldering waver wavers wavering sputter sputters sputtering rise rises rising sway sways swayed swaying "
    "tremble trembles trembling"
)
# Plants standing above the ground (a tree's crown sways about its trunk), plants covering it (a meadow), and
# words for either.
_TREES = (
    r"(?:leaves|leaf|trees?|branches|boughs|bushes|shrubs|palms?|palm\s+trees?|canopy|willows?|bamboo|blossoms?"
    r"|crowns?|pines?)"
)
_GROUND_PLANTS = (
    r"(?:grass|grasses|reeds|wheat|corn|crops|ferns?|flowers?|wildflowers?|daisies|tulips|roses|sunflowers?"
    r"|lavender|meadow|field|fields|barley|rice)"
)
# A place said between a subject and its verb: "in the foreground", "along the river bank", "on the hill".
_WHERE = r"(?:in|on|at|along|by|near|beside|across|under|around|of)\s+(?:the\s+|a\s+)?\w+(?:\s+\w+)?"
_PLANT_VERB = _v(
    "sway sways swayed swaying rustle rustles rustled rustling shake shakes shook shaking tremble trembles "
    "trembled trembling quiver quivers quivered quivering move moves moved moving wave waves waved waving bend "
    "bends bent bending bow bows bowed bowing dance dances danced dancing stir stirs stirred stirring ripple "
    "ripples rippled rippling flutter flutters fluttered fluttering shimmer shimmers shimmering toss tosses "
    "tossing nod nods nodded nodding bob bobs bobbing"
)

_BOAT = r"(?:boat|boats|ship|ships|sailboat|sailboats|yacht|canoe|kayak|raft|ferry|vessel|hull|dinghy)"
_BOB = _v(
    "rock rocks rocked rocking bob bobs bobbed bobbing float floats floated floating sway sways swayed swaying "
    "drift drifts drifting bounce bounces bouncing roll rolls rolling pitch pitches pitching heave heaves heaving "
    "lift lifts lifted lower lowers lowered"
)
_BIRDS = (
    r"(?:birds?|seagulls?|gulls?|swallows?|crows?|doves?|pigeons?|geese|goose|starlings?|eagles?|hawks?|cranes?"
    r"|herons?|a\s+flock|the\s+flock)"
)
_FLY = _v(
    "fly flies flew flying soar soars soared soaring glide glides glided gliding circle circles circled circling "
    "wheel wheels wheeling pass passes passing cross crosses crossing flap flaps flapping swoop swoops swooping "
    "drift drifts drifting wing wings winging"
)
# Said without the boat ("bobbing on the waves"): only what a floating thing does, not what waves do ("waves
# rolling on the sea" are the sea's).
_BOBS_ON = _v("rock rocks rocked rocking bob bobs bobbed bobbing")

SCENE_PHRASES: Final[tuple[_Phrase, ...]] = (
    # -- falling water (a waterfall and a river in one picture are two tracks)
    _p(_WATERFALL, "scene.falls"),
    _p(rf"{_WATERFALL}\s+{_BE}{_ADV}(?:{_FLOW}|{_FALLING})", "scene.falls"),
    _p(rf"(?:water|waters|stream|river)\s+{_BE}{_ADV}{_FALLING}", "scene.falls"),
    _p(r"(?:cascading|falling|tumbling|plunging)\s+water", "scene.falls"),
    # ... and the river it falls into flows on: "pours down into the river", "cascades into the winding river"
    _p(rf"(?:{_FLOW}|{_FALLING})\s+(?:down\s+)?into\s+(?:the\s+|a\s+)?(?:\w+\s+)?{_RIVER}", "scene.water"),
    # -- running water: along the river, or where the words say
    _p(rf"{_RIVER}\s+{_BE}{_ADV}{_FLOW}", "scene.water"),
    _p(r"(?:flowing|running|rushing|moving|babbling|gurgling|churning|streaming|roaring)\s+" + _RIVER, "scene.water"),
    _p(r"rapids|white\s?water|torrents?", "scene.water", amplitude=STRONG_AMPLITUDE),
    _p(rf"(?:raging|roaring|torrential|swollen)\s+{_RIVER}", "scene.water", amplitude=STRONG_AMPLITUDE),
    # -- the sea
    _p(rf"waves\s+{_BE}{_ADV}{_WAVE_VERB}", "scene.waves"),
    _p(
        r"(?:rolling|crashing|breaking|lapping|gentle|ocean|sea|surging|rippling)\s+(?:waves|surf|swells?)",
        "scene.waves",
    ),
    _p(rf"{_SEA}\s+{_BE}{_ADV}{_WAVE_VERB}", "scene.waves"),
    _p(r"surf|swells|breakers", "scene.waves"),
    # ... and the waves a boat rocks on: "rocks on the waves" (the boat's phrase leaves the waves to this one)
    _p(r"the\s+waves", "scene.waves"),
    # -- still water that ripples and shimmers
    _p(r"ripples|rippling", "scene.ripples"),
    _p(rf"{_STILL_WATER}\s+{_BE}{_ADV}{_RIPPLE_VERB}", "scene.ripples"),
    _p(rf"(?:rippling|shimmering|glistening|sparkling|glittering|wavering)\s+{_STILL_WATER}", "scene.ripples"),
    # Reflections that move ("their reflection moving in the water", "colours shimmer in the puddles") and rain
    # falling on water ring it with ripples.
    _p(rf"reflections?\s+{_BE}{_ADV}{_RIPPLE_VERB}", "scene.ripples"),
    _p(rf"{_RIPPLE_VERB}\s+(?:in|on|across)\s+(?:the\s+)?(?:\w+\s+)?(?:puddles?|{_STILL_WATER})", "scene.ripples"),
    # A wet street mirrors the lights: its reflections shimmer as the rain lands.
    _p(
        rf"(?:reflect|reflects|reflected|reflecting|reflections?|mirrored|mirroring)\s+(?:\w+\s+){{0,3}}?(?:on|in|off)\s+"
        rf"(?:the\s+)?{_WET}\s+{_GROUND}|{_WET}\s+{_GROUND}\s+(?:reflect|reflects|reflecting|mirrors|mirroring)"
        r"|shimmering\s+reflections\s+of",
        "scene.reflections",
    ),
    _p(
        r"(?:falling|falls|fall|landing|lands|splashing|splashes|dripping|drips|pattering|patters)\s+"
        rf"(?:on|onto|into)\s+(?:the\s+)?(?:\w+\s+)?(?:{_STILL_WATER}|puddles?)",
        "scene.ripples",
    ),
    # -- the sky
    _p(rf"clouds?\s+{_BE}{_ADV}{_CLOUD_VERB}", "scene.clouds"),
    _p(
        r"(?:drifting|rolling|moving|passing|floating|racing|scudding|sailing|gliding|billowing|fast|slow)\s+clouds"
        r"|clouds?\s+time\s?lapse|time\s?lapse\s+(?:of\s+)?(?:the\s+)?(?:clouds|sky)",
        "scene.clouds",
    ),
    _p(r"sky\s+(?:is\s+)?(?:moving|moves|drifting|drifts)", "scene.clouds"),
    # -- vapour
    _p(r"steam|steams|steaming|steamy|vapou?rs?", "scene.steam"),
    _p(rf"(?:steam|vapou?r)\s+{_BE}{_ADV}{_RISE}", "scene.steam"),
    _p(r"(?:hot|steaming|fresh)\s+(?:coffee|tea|cocoa|soup|ramen|cup|mug|bowl)", "scene.steam"),
    _p(r"smoke|smoky|smoking\s+chimney|smoulder\w*|smolder\w*", "scene.smoke"),
    _p(rf"smoke\s+{_BE}{_ADV}{_RISE}", "scene.smoke"),
    _p(r"(?:chimney|incense|cigarette|pipe)\s+smoke|wisps?\s+of\s+smoke", "scene.smoke"),
    _p(r"fog|foggy|mist|misty|haze|hazy|fogbank", "scene.fog"),
    _p(rf"{_FOG}\s+{_BE}{_ADV}{_FOG_VERB}", "scene.fog"),
    _p(r"(?:drifting|rolling|creeping|swirling|morning|low)\s+(?:fog|mist|haze)", "scene.fog"),
    # -- fire
    _p(r"fire|flames?|flaming|blaze|blazing|bonfires?|campfires?|embers|fire\s?pit", "scene.fire"),
    _p(rf"{_FIRE}\s+{_BE}{_ADV}{_FIRE_VERB}", "scene.fire"),
    _p(
        r"(?:raging|roaring|blazing)\s+(?:fire|flames?|campfire|bonfire|inferno)|(?:fire|flames?)\s+rag\w+"
        r"|inferno",
        "scene.fire",
        amplitude=STRONG_AMPLITUDE,
    ),
    _p(r"candles?|candle\s+flames?|candle\s?wicks?", "scene.fire"),
    _p(rf"candles?\s+{_BE}{_ADV}{_FIRE_VERB}", "scene.fire"),
    _p(
        r"(?:burning|flickering|crackling|dancing)\s+(?:fire|flames?|candles?|campfire|bonfire)",
        "scene.fire",
    ),
    # -- plants: the trees, the ground's plants, or all of them (plants in general, or both kinds named)
    *(
        phrase
        for words, action in (
            (r"(?:foliage|plants?|vegetation|greenery)", "scene.foliage"),
            (_TREES, "scene.trees"),
            (_GROUND_PLANTS, "scene.grass"),
        )
        for phrase in (
            _p(rf"{words}\s+{_BE}{_ADV}{_PLANT_VERB}", action),
            # ... where they stand said in between: "the wildflowers in the foreground sway"
            _p(rf"{words}\s+{_WHERE}\s+{_BE}{_ADV}{_PLANT_VERB}", action),
            _p(r"(?:swaying|rustling|waving|trembling|quivering|dancing|nodding)\s+" + words, action),
            # two of a kind: "grass and wildflowers swaying", "the trees and bushes sway"
            _p(rf"{words}\s+(?:and|&)\s+(?:the\s+)?{words}\s+{_BE}{_ADV}{_PLANT_VERB}", action),
        )
    ),
    _p(
        rf"(?:{_TREES}\s+(?:and|&)\s+(?:the\s+)?{_GROUND_PLANTS}|{_GROUND_PLANTS}\s+(?:and|&)\s+(?:the\s+)?{_TREES})"
        rf"\s+{_BE}{_ADV}{_PLANT_VERB}",
        "scene.foliage",
    ),
    # -- a boat on the water
    _p(
        rf"{_BOAT}\s+(?:\w+\s+)?{_BE}{_ADV}{_BOB}|{_BOBS_ON}\s+(?:\w+\s+)?on\s+(?:the\s+(?:water|sea|swell)|(?=the\s+waves))"
        rf"|(?:rocking|bobbing|floating)\s+{_BOAT}|{_BOAT}\s+(?:\w+\s+)?(?:rides|riding)\s+(?=the\s+waves)"
        rf"|{_BOB}\s+(?:and\s+\w+\s+)?(?:its|the|a|their)\s+(?:\w+\s+)?{_BOAT}",
        "scene.boat",
    ),
    # -- light sweeping across the subject (a product shot's glint)
    _p(
        r"(?:beam|light|glint|shine|reflection|highlight|sunlight|gleam|sheen)s?\s+(?:of\s+light\s+)?(?:\w+ly\s+)?"
        r"(?:sweeps?|sweeping|glints?|glinting|glides?|gliding|moves?\s+across|travels?\s+across|slides?\s+across"
        r"|dances?\s+across|runs?\s+across|passes?\s+over)|(?:light|glints?|reflections?)\s+(?:\w+\s+){0,2}across"
        r"|light\s+sweep|sweeping\s+light",
        "scene.sheen",
    ),
    # -- birds crossing the sky
    _p(
        rf"{_BIRDS}\s+(?:\w+\s+)?{_BE}{_ADV}{_FLY}|(?:flying|soaring|circling|gliding|passing)\s+{_BIRDS}"
        r"|flocks?\s+of\s+(?:\w+\s+)?(?:birds|seagulls|gulls|geese|swallows|starlings|crows|doves|pigeons)",
        "scene.birds",
    ),
    # -- lightning
    _p(r"lightning|lightning\s+bolts?|thunder\s?bolts?|bolts?\s+of\s+lightning", "scene.lightning"),
    _p(
        r"lightning\s+(?:flashes|flash|flashing|strikes|strike|striking|cracks|crackles|forks|splits)",
        "scene.lightning",
    ),
)


_SENTENCES: Final[dict[str, str]] = {
    "falls": "The waterfall pours{pace}",
    "water": "The water flows{pace}{towards}",
    "waves": "Waves roll in{pace}",
    "ripples": "Ripples move across the water{pace}",
    "reflections": "The reflections on the wet ground shimmer{pace}",
    "flag": "The flag flutters{pace}",
    "clouds": "Clouds drift{pace}{towards}",
    "steam": "Steam rises{pace}",
    "smoke": "Smoke rises{pace}",
    "fog": "Fog drifts{pace}{towards}",
    "fire": "The flames flicker{pace}",
    "foliage": "Leaves and grass sway{pace}",
    "trees": "The trees sway{pace}{towards}",
    "grass": "The grass sways{pace}{towards}",
    "lightning": "Lightning flashes",
    "boat": "The boat bobs on the water{pace}",
    "sheen": "Light sweeps across it{pace}",
    "birds": "Birds fly across the sky{pace}{towards}",
}


def scene_sentence(track: Track) -> str:
    """A scene track as a sentence, without its timing: "The water flows down quickly"."""
    tempo = scene_tempo(track)
    manner = " gently" if track.amplitude <= 0.4 else " strongly" if track.amplitude >= 0.95 else ""
    pace = manner + (" slowly" if tempo < 0.8 else " quickly" if tempo > 1.3 else "")
    direction = track.direction
    towards = "" if direction is None else f" to the {direction}" if direction in ("left", "right") else f" {direction}"
    return _SENTENCES[track.action].format(pace=pace, towards=towards)
