"""Near-duplicate headlines on their own: no database, no Django."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from curation import headlines
from curation.headlines import headline, normalise, same_story, stem

CAMERAS = "Police to trial facial recognition cameras in Manchester city centre"


def test_normalise_folds_case_accents_and_punctuation():
    assert normalise("Zürich's  Mayor—Quits!") == "zurichs mayor quits"


@pytest.mark.parametrize(
    ("words", "expected"),
    [
        (["trial", "trials", "trialled", "trialling"], "trial"),
        (["approve", "approves", "approved", "approving"], "approv"),
        (["plan", "plans", "planned", "planning"], "plan"),
        (["city", "cities"], "city"),
    ],
)
def test_stem_meets_a_words_forms(words, expected):
    assert {stem(word) for word in words} == {expected}


def test_function_words_labels_and_the_outlets_name_are_not_significant():
    plain = headline(CAMERAS)
    decorated = headline(f"LIVE: {CAMERAS} - Riverside Courier", "Riverside Courier")
    assert decorated == plain
    assert "to" not in plain.words and "in" not in plain.words


def test_proper_nouns_and_numbers_are_specifics():
    assert headline(CAMERAS).specifics == {"manchester"}
    assert headline("Council approves 140 flats above shops").specifics == {"140"}
    # In title case only a word after "in", "at"... is taken for a name.
    title_case = headline("Police To Trial Facial Recognition Cameras In Manchester")
    assert title_case.title_case and title_case.specifics == {"manchester"}


def test_title_case_headlines_of_two_places_conflict():
    first = headline("Police To Trial Facial Recognition Cameras In Leeds")
    assert not same_story(first, headline("POLICE TO TRIAL FACIAL RECOGNITION CAMERAS IN YORK"))
    assert same_story(first, headline("Police to trial facial recognition cameras in Leeds"))


@pytest.mark.parametrize(
    "other",
    [
        CAMERAS,
        CAMERAS.upper(),
        "Police To Trial Facial Recognition Cameras In Manchester City Centre",
        "Manchester city centre: police to trial facial recognition cameras",
        "Police will trial facial recognition cameras in Manchester city centre",
        "Police trialling facial recognition cameras in Manchester city centre",
        "Police to trial facial recognition cameras in city centre",
        "Police set to trial live facial recognition cameras in Manchester city centre",
    ],
)
def test_rewordings_of_one_headline_are_the_same_story(other):
    assert same_story(headline(CAMERAS), headline(other))


@pytest.mark.parametrize(
    "other",
    [
        # Same template, another place: each names something the other does not.
        "Police to trial facial recognition cameras in Leeds city centre",
        # The same annual event, another year.
        "Police to trial facial recognition cameras in Manchester city centre in 2025",
        # Same topic, shared words, another event.
        "Police scrap facial recognition trial after privacy complaints",
        "Manchester city centre cameras switched off after council vote",
    ],
)
def test_hard_negatives_are_not_the_same_story(other):
    first = headline(CAMERAS + " in 2024") if "2025" in other else headline(CAMERAS)
    assert not same_story(first, headline(other))


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("What we know so far", "What we know so far"),
        ("Live updates", "Live updates"),
        ("Five things to watch", "Five things to watch"),
    ],
)
def test_short_wordy_headlines_never_match_on_their_own(first, second):
    assert not headline(first).comparable
    assert not same_story(headline(first), headline(second))


def test_similarity_is_the_dice_coefficient_of_significant_words():
    first = headline("Storm floods coastal towns overnight")
    second = headline("Storm floods coastal villages overnight")
    assert headlines.similarity(first, second) == pytest.approx(2 * 4 / 10)


def test_min_shared_for_is_a_true_lower_bound():
    # Any pair the rules accept shares at least min_shared_for(size) words.
    for size in range(3, 20):
        for other in range(3, 30):
            for shared in range(0, min(size, other) + 1):
                dice = 2 * shared / (size + other)
                if shared >= headlines.MIN_SHARED and dice >= headlines.MIN_DICE:
                    assert shared >= headlines.min_shared_for(size), (size, other, shared)


words = st.lists(
    st.sampled_from(
        [
            "storm",
            "flood",
            "council",
            "budget",
            "school",
            "police",
            "court",
            "vote",
            "strike",
            "market",
        ]
    ),
    min_size=1,
    max_size=8,
)


@given(st.text(max_size=80), st.text(max_size=80))
def test_same_story_is_symmetric(first, second):
    assert same_story(headline(first), headline(second)) == same_story(
        headline(second), headline(first)
    )


@given(words)
def test_a_comparable_headline_matches_itself(chosen):
    title = " ".join(chosen)
    assert same_story(headline(title), headline(title)) == headline(title).comparable


def test_a_kicker_names_a_specific_and_a_capital_after_a_colon_does_not():
    kicker = headline("Leeds: Police to trial facial recognition cameras in city centre")
    assert kicker.specifics == {"leed"}
    other = headline("Manchester: police to trial facial recognition cameras in city centre")
    assert not same_story(kicker, other)
    assert same_story(kicker, headline("Police to trial facial recognition cameras in Leeds"))
