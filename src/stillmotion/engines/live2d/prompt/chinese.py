"""Chinese prompts: the core vocabulary read as the English the phrase table knows.

Many prompts for the hosted model are written in Chinese. Before a prompt is read, each Chinese phrase of
`_PHRASES` (longest first) is replaced by an English rendering the reader understands ("镜头缓缓推进" ->
"the camera slowly zooms in"); words it has no rendering for stay as they are, and the notes then quote the
user's own words, with the reading in brackets.
"""

from __future__ import annotations

import re
from typing import Final

# (Chinese, English); the order within the table does not matter: longer phrases are replaced first.
_PHRASES: Final[tuple[tuple[str, str], ...]] = (
    # connectors, degrees, counts
    ("然后", "then"),
    ("接着", "then"),
    ("之后", "then"),
    ("同时", "while"),
    ("一边", "while"),
    ("缓缓地", "slowly"),
    ("缓缓", "slowly"),
    ("慢慢地", "slowly"),
    ("慢慢", "slowly"),
    ("徐徐", "slowly"),
    ("轻轻地", "gently"),
    ("轻轻", "gently"),
    ("微微", "slightly"),
    ("快速地", "quickly"),
    ("快速", "quickly"),
    ("迅速", "quickly"),
    ("不停", "continuously"),
    ("一次", "once"),
    ("两次", "twice"),
    ("三次", "three times"),
    ("向左", "to the left"),
    ("向右", "to the right"),
    ("往左", "to the left"),
    ("往右", "to the right"),
    # who
    ("她", "she"),
    ("他", "he"),
    ("女孩", "the girl"),
    ("少女", "the girl"),
    ("男孩", "the boy"),
    ("猫", "the cat"),
    ("小狗", "the dog"),
    ("狗", "the dog"),
    ("镜头", "the camera"),
    # eyes
    ("眨了两次眼", "blinks twice"),
    ("眨眨眼", "blinks"),
    ("眨眼睛", "blinks"),
    ("眨眼", "blinks"),
    ("闭上眼睛", "closes her eyes"),
    ("闭着眼睛", "with her eyes closed"),
    ("闭眼", "closes her eyes"),
    ("眨", "blinks"),
    # mouth
    ("哈哈大笑", "laughs"),
    ("大笑", "laughs"),
    ("笑出声", "laughs"),
    ("微笑", "smiles"),
    ("笑了笑", "smiles"),
    ("露出笑容", "smiles"),
    ("笑容", "a smile"),
    ("笑", "smiles"),
    ("唱歌", "sings"),
    ("说话", "talks"),
    ("讲话", "talks"),
    ("张大嘴巴", "opens her mouth"),
    ("张开嘴", "opens her mouth"),
    ("张嘴", "opens her mouth"),
    # head and gaze
    ("点点头", "nods"),
    ("点头", "nods"),
    ("摇头", "shakes her head"),
    ("歪着头", "tilts her head"),
    ("歪头", "tilts her head"),
    ("转头看向镜头", "turns to the camera"),
    ("看向镜头", "looks at the camera"),
    ("看着镜头", "looks at the camera"),
    ("望向镜头", "looks at the camera"),
    ("转向镜头", "turns to the camera"),
    ("转头", "turns her head"),
    ("回头", "turns her head"),
    ("抬起头", "looks up"),
    ("抬头", "looks up"),
    ("仰望", "looks up"),
    ("低下头", "looks down"),
    ("低头", "looks down"),
    ("向左看", "looks to the left"),
    ("向右看", "looks to the right"),
    ("看向远方", "looks away"),
    ("望向远方", "looks away"),
    # body
    ("呼吸", "breathes"),
    ("摇摆", "sways"),
    ("摇晃", "sways"),
    ("晃动", "sways"),
    # hair and wind
    ("头发随风飘动", "her hair blows in the wind"),
    ("随风飘动", "blowing in the wind"),
    ("随风飘扬", "blowing in the wind"),
    ("在风中飘动", "blowing in the wind"),
    ("飘动", "blowing"),
    ("头发", "hair"),
    ("发丝", "hair"),
    ("微风", "a gentle breeze"),
    ("大风", "a strong wind"),
    ("狂风", "a strong wind"),
    ("风", "wind"),
    # camera
    ("推进", "zooms in"),
    ("推近", "zooms in"),
    ("拉近", "zooms in"),
    ("放大", "zooms in"),
    ("拉远", "zooms out"),
    ("缩小", "zooms out"),
    ("后退", "zooms out"),
    ("向左平移", "pans left"),
    ("向右平移", "pans right"),
    ("平移", "pans right"),
    ("固定不动", "does not move"),
    ("固定镜头", "static camera"),
    ("画面静止", "static camera"),
    ("鸟儿飞过", "birds fly across"),
    ("飞鸟", "flying birds"),
    ("海鸥飞翔", "seagulls fly"),
    ("鸟群", "a flock of birds"),
    ("镜头不动", "the camera does not move"),
    ("镜头静止", "the camera is still"),
    # weather and light
    ("下起了大雨", "heavy rain falls"),
    ("大雨", "heavy rain"),
    ("下着小雨", "light rain falls"),
    ("小雨", "light rain"),
    ("细雨", "light rain"),
    ("下雨", "rain falls"),
    ("雨", "rain"),
    ("下雪了", "snow falls"),
    ("下雪", "snow falls"),
    ("雪花飘落", "snow falls"),
    ("雪", "snow"),
    ("樱花飘落", "petals fall"),
    ("花瓣飘落", "petals fall"),
    ("花瓣", "petals"),
    ("闪闪发光", "sparkles"),
    ("闪耀", "sparkles"),
    ("霓虹灯闪烁", "neon lights flicker"),
    ("霓虹灯", "neon lights"),
    ("闪烁", "flickers"),
    ("发光", "glows"),
    ("电闪雷鸣", "lightning flashes"),
    ("闪电", "lightning flashes"),
    # scenes
    ("瀑布流下", "the waterfall pours"),
    ("瀑布倾泻", "the waterfall pours"),
    ("瀑布", "the waterfall"),
    ("河水流动", "the river flows"),
    ("流水", "water flows"),
    ("河流", "the river"),
    ("海浪翻滚", "waves roll"),
    ("海浪", "waves"),
    ("波浪", "waves"),
    ("小船随波摇晃", "the boat bobs on the waves"),
    ("小船摇晃", "the boat rocks"),
    ("随波摇晃", "bobs on the waves"),
    ("湿漉漉的路面", "the wet pavement"),
    ("倒映着", "shimmering reflections of"),
    ("倒映", "shimmering reflections"),
    ("小船", "the boat"),
    ("云朵飘动", "clouds drift"),
    ("白云飘过", "clouds drift"),
    ("云在动", "clouds drift"),
    ("云飘动", "clouds drift"),
    ("云朵", "clouds"),
    ("云", "clouds"),
    ("薄雾", "mist"),
    ("雾气", "mist"),
    ("雾", "fog"),
    ("冒着热气", "steam rises"),
    ("热气升腾", "steam rises"),
    ("热气", "steam"),
    ("蒸汽", "steam"),
    ("烟雾缓缓升起", "smoke slowly rises"),
    ("烟雾升起", "smoke rises"),
    ("升起", "rises"),
    ("烟雾", "smoke"),
    ("炊烟", "smoke"),
    ("篝火熊熊燃烧", "the campfire burns"),
    ("熊熊燃烧", "burns"),
    ("篝火", "the campfire"),
    ("燃烧", "burns"),
    ("火焰", "flames"),
    ("烛光摇曳", "candle flames flicker"),
    ("烛光", "candlelight"),
    ("蜡烛", "candle"),
    ("摇曳", "flicker"),
    ("树叶随风摇摆", "leaves sway in the wind"),
    ("树叶", "leaves"),
    ("旗帜飘扬", "the flag flutters"),
    # hands
    ("挥手", "waves at"),
    ("比了一个剪刀手", "makes a peace sign"),
    ("剪刀手", "a peace sign"),
    ("比耶", "a peace sign"),
    ("托着下巴", "hand on her chin"),
    ("举起手", "raises her hand"),
    ("举手", "raises her hand"),
    ("竖起大拇指", "gives a thumbs up"),
    ("点赞", "gives a thumbs up"),
    ("捂着嘴", "covers her mouth"),
    ("捂嘴", "covers her mouth"),
    ("掩嘴", "covers her mouth"),
    ("手放在胸口", "hand on her chest"),
    ("手放在胸前", "hand on her chest"),
    ("捂住胸口", "hand on her chest"),
    ("撩头发", "brushes her hair"),
    ("拨弄头发", "brushes her hair"),
    ("捋头发", "brushes her hair"),
    # what it does not draw, so that the notes can name it
    ("拍手", "claps"),
    ("鼓掌", "claps"),
    ("害羞地脸红了", "blushes"),
    ("脸红", "blushes"),
    ("眼泪在眼眶里打转", "teary eyes"),
    ("眼泪", "tears roll down"),
    ("流泪", "tears roll down"),
    ("哭", "cries"),
    ("惊讶地", "surprised"),
    ("惊讶", "surprised"),
    ("生气地", "angry"),
    ("生气", "angry"),
    ("皱起眉头", "frowns"),
    ("皱眉", "frowns"),
    ("伤心", "looks sad"),
    ("难过", "looks sad"),
    ("眼睛闪闪发光", "her eyes sparkle"),
    ("眼里闪着光", "her eyes sparkle"),
    ("眼睛发亮", "her eyes light up"),
    ("摇尾巴", "wags its tail"),
    ("摇着尾巴", "wags its tail"),
    ("甩尾巴", "swishes its tail"),
    ("耳朵动了一下", "twitches an ear"),
    ("耳朵动", "its ears twitch"),
    ("耳朵", "ears"),
    ("尾巴", "tail"),
)
_BY_LENGTH: Final = sorted(_PHRASES, key=lambda pair: -len(pair[0]))
_PATTERN: Final = re.compile("|".join(re.escape(chinese) for chinese, _ in _BY_LENGTH))
_ENGLISH: Final = dict(_BY_LENGTH)
# Full-width punctuation as the clause splitter knows it.
_PUNCTUATION: Final = str.maketrans(
    {"\uff0c": ",", "\u3002": ".", "\uff01": "!", "\uff1f": "?", "\uff1b": ";", "\uff1a": ":", "\u3001": ","}
)
CJK: Final = re.compile(r"[\u4e00-\u9fff]")


def read_chinese(text: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """`text` with its Chinese phrases in English, and which (Chinese, English) pairs were used."""
    if not CJK.search(text):
        return text, ()
    used: list[tuple[str, str]] = []

    def english(found: re.Match[str]) -> str:
        pair = (found.group(), _ENGLISH[found.group()])
        if pair not in used:
            used.append(pair)
        return f" {pair[1]} "

    return _PATTERN.sub(english, text.translate(_PUNCTUATION)), tuple(used)


def quote_originals(note: str, used: tuple[tuple[str, str], ...]) -> str:
    """A note about a Chinese prompt quotes the user's words: "'waves at'" becomes "'挥手' (read as 'waves at')";
    so does a quote of part of what they were read as ("'peace sign'", of 比了一个剪刀手 read as 'makes a peace
    sign')."""
    if "(read as '" in note:
        return note
    for quoted in re.findall(r"'([^']+)'", note):
        said = set(re.findall(r"[a-z]{4,}", quoted.lower()))
        for chinese, english in used:
            if quoted == english or said & set(re.findall(r"[a-z]{4,}", english.lower())):
                return note.replace(f"'{quoted}'", f"'{chinese}' (read as '{quoted}')", 1)
    return note
