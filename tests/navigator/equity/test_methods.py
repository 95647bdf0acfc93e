"""The method texts come from one place and keep every sentence the statistics had."""

from __future__ import annotations

from navigator.equity import stats
from navigator.equity.methods import METHOD_SENTENCES


def test_every_statistics_sentence_is_kept_word_for_word():
    assert {key: METHOD_SENTENCES[key] for key in stats.METHOD_SENTENCES} == (
        stats.METHOD_SENTENCES
    )


def test_the_new_methods_each_have_one_plain_sentence():
    new = {"two_way", "race_exclusive", "race_any", "age_adjustment", "rolling_quarters"}

    assert new <= set(METHOD_SENTENCES)
    for key in new:
        text = METHOD_SENTENCES[key]
        # One sentence: it ends with a full stop and has no other
        assert text.endswith(".") and text.count(". ") == 0, key
    assert "9 of their 12 months" in METHOD_SENTENCES["rolling_quarters"]
    assert "not tested" in METHOD_SENTENCES["age_adjustment"]
