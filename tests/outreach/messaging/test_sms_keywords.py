"""What an inbound text asks for: each opt-out keyword, opting back in, help, or a message."""

from __future__ import annotations

import pytest

from outreach.messaging.sms_keywords import Intent, intent_of, normalise

OPT_OUT = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPT OUT"]


@pytest.mark.parametrize("keyword", OPT_OUT)
def test_each_opt_out_keyword_opts_out(keyword):
    assert intent_of(keyword) is Intent.OPT_OUT


@pytest.mark.parametrize("keyword", OPT_OUT)
@pytest.mark.parametrize(
    "dress",
    [str.lower, str.title, lambda k: f"  {k}  ", lambda k: f"{k}!", lambda k: f"¡{k.lower()}.",
     lambda k: f"\n{k}\t", lambda k: f'"{k}"', lambda k: f"{k}..."],
)  # fmt: skip
def test_case_spaces_and_punctuation_around_a_keyword_are_ignored(keyword, dress):
    assert intent_of(dress(keyword)) is Intent.OPT_OUT


@pytest.mark.parametrize("text", ["opt-out", "Opt out.", "OPTOUT", "opt_out", "OPT  OUT"])
def test_opt_out_is_recognised_however_its_two_words_are_joined(text):
    assert intent_of(text) is Intent.OPT_OUT


def test_full_width_letters_from_a_phone_keyboard_still_count():
    assert intent_of("ＳＴＯＰ") is Intent.OPT_OUT


@pytest.mark.parametrize("text", ["START", "start", " Unstop! "])
def test_start_and_unstop_opt_back_in(text):
    assert intent_of(text) is Intent.OPT_IN


@pytest.mark.parametrize("text", ["HELP", "help?", " Help "])
def test_help_asks_for_help(text):
    assert intent_of(text) is Intent.HELP


@pytest.mark.parametrize(
    "text",
    [
        "stop calling me at work",
        "Can I change my appointment?",
        "STOP IT",
        "I want to cancel my colonoscopy",
        "helpful, thanks",
        "stopping by tomorrow",
        "",
        "   ",
    ],
)
def test_anything_else_is_a_message_for_the_navigator(text):
    assert intent_of(text) is Intent.MESSAGE


def test_normalising_keeps_words_apart_and_drops_the_rest():
    assert normalise("  ¿opt-out?! ") == "OPT OUT"
