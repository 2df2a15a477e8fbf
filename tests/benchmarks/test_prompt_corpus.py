"""The prompt corpus: its size and make-up, the held-out third, and that every entry can be scored."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import prompt_corpus as pc
import prompt_eval as pe
import scenes as sc

CJK = re.compile(r"[\u4e00-\u9fff]")
KANA = re.compile(r"[\u3040-\u30ff]")


@pytest.fixture(scope="module")
def corpus() -> list[pc.Entry]:
    return pc.load_corpus()


@pytest.fixture(scope="module")
def drawn_scenes() -> dict[str, sc.Scene]:
    return {name: sc.draw_scene(name) for name in pc.SCENE_NAMES}


def test_the_corpus_has_at_least_150_prompts_with_unique_ids(corpus: list[pc.Entry]) -> None:
    assert len(corpus) >= 150
    ids = [e.id for e in corpus]
    assert len(set(ids)) == len(ids)
    assert len({e.prompt for e in corpus}) == len(corpus)


def test_at_least_25_prompts_are_chinese_and_some_are_in_languages_the_engine_does_not_read(
    corpus: list[pc.Entry],
) -> None:
    chinese = [e for e in corpus if e.lang == "zh"]
    assert len(chinese) >= 25
    assert all(CJK.search(e.prompt) and not KANA.search(e.prompt) for e in chinese)
    assert {e.lang for e in corpus} >= {"en", "zh", "fr", "ja"}


def test_exactly_every_third_entry_is_held_out(corpus: list[pc.Entry]) -> None:
    assert [e.held_out for e in corpus] == [(index + 1) % 3 == 0 for index in range(len(corpus))]
    assert sum(e.held_out for e in corpus) == len(corpus) // 3


def test_long_optimizer_style_prose_is_included(corpus: list[pc.Entry]) -> None:
    prose = [e for e in corpus if e.lang == "en" and len(re.findall(r"[.!?](?:\s|$)", e.prompt)) >= 3]
    assert len(prose) >= 10


def test_every_concept_is_in_the_vocabulary_and_every_vocabulary_word_is_used(corpus: list[pc.Entry]) -> None:
    used = {c for e in corpus for c in e.concepts}
    assert used <= set(pc.CONCEPTS)
    assert used == set(pc.CONCEPTS)


def test_every_entry_s_concepts_have_their_region_in_its_scene(
    corpus: list[pc.Entry], drawn_scenes: dict[str, sc.Scene]
) -> None:
    assert set(pc.SCENE_NAMES) == set(sc.SCENES)
    for entry in corpus:
        scene = drawn_scenes[entry.scene]
        for concept in entry.concepts:
            region = pc.CONCEPTS[concept].region
            assert scene.mask(region).any(), f"{entry.id}: {concept} needs {region} in {entry.scene}"
        assert scene.masks["still"].any(), entry.scene


def test_every_concept_has_cue_words_and_every_prompt_holds_the_cue_of_each_of_its_concepts(
    corpus: list[pc.Entry],
) -> None:
    assert set(pe.CUES) == set(pc.CONCEPTS)
    missing = [(e.id, c) for e in corpus for c in e.concepts if not pe.cue_in(c, e.prompt)]
    assert missing == []


def test_a_malformed_entry_is_refused_with_its_line(tmp_path: Path) -> None:
    path = tmp_path / "corpus.jsonl"
    path.write_text(
        '{"id": "c001", "prompt": "she nods", "scene": "drawn-blue", "concepts": ["nod"], "lang": "en", '
        '"held_out": false}\n'
        '{"id": "c002", "prompt": "she flies", "scene": "drawn-blue", "concepts": ["fly"], "lang": "en", '
        '"held_out": false}\n'
    )
    with pytest.raises(ValueError, match=r"corpus.jsonl:2: c002: unknown concept"):
        pc.load_corpus(path)
