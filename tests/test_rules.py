"""Rules' matching and ordering: pure, on documents and plain mappings (no database)."""

import pytest

from curation import rules, seedfile
from curation.rules import compile_rule, facts, judge

# "RIVERSIDE" in fullwidth letters, which NFKC reads as ASCII.
FULLWIDTH_RIVERSIDE = "".join(chr(ord(letter) + 0xFEE0) for letter in "RIVERSIDE")


def document(**fields) -> seedfile.SeedDocument:
    provider = fields.pop("provider", ("Riverside Courier", "riversidecourier.example"))
    return seedfile.SeedDocument(
        title=fields.pop("title", "Council agrees new homes"),
        provider=seedfile.Provider(*provider) if provider else None,
        **fields,
    )


def matches(rule_text: dict, **article) -> bool:
    return compile_rule(sets={"quality": 1}, **rule_text).matches(
        rules.facts_of(document(**article))
    )


def test_capitals_and_unicode_look_alikes_match_as_the_same_text():
    # Fullwidth letters (NFKC), capitals and ß/ss (case folding), a ligature (NFKC).
    assert matches({"providers": f"{FULLWIDTH_RIVERSIDE} courier"})
    assert matches({"words": "STRASSE"}, title="Neue Straße eröffnet")
    assert matches({"words": "office"}, title="The ﬁrst Ofﬁce to close")
    assert matches({"topics": "housing"}, topics=["HOUSING"])


def test_accents_count():
    assert not matches({"words": "Krakow"}, title="Kraków opens a new line")
    assert matches({"words": "kraków"}, title="KRAKÓW opens a new line")


def test_words_match_whole_words_and_phrases_in_title_or_excerpt():
    assert matches({"words": "rail"}, title="Rail strike called off")
    assert not matches({"words": "rail"}, title="Trailer park flooded")
    assert not matches({"words": "rail"}, title="Railway reopens")
    assert matches({"words": "rail strike"}, title="A rail\n  strike looms")
    assert matches({"words": "strike"}, title="Nothing here", excerpt="The strike, again.")
    # A phrase never spans the title and the excerpt.
    assert not matches({"words": "here the"}, title="Nothing here", excerpt="the strike")
    # Regular-expression characters are text.
    assert matches({"words": "c++"}, title="Why C++ still matters")
    assert not matches({"words": "a.c"}, title="abc")


def test_each_condition_is_one_of_its_lines_and_all_filled_conditions_must_match():
    rule = {"providers": "Other\nriversidecourier.example", "categories": "news", "types": "video"}
    assert matches(rule, category="News", type="VIDEO")
    assert not matches(rule, category="News", type="article")
    assert not matches({"providers": "Riverside"}, title="x")  # exactly, not a part of the name
    assert matches({"topics": "Sport\nHousing"}, topics=["Transport", "housing"])
    assert not matches({"topics": "Sport"}, topics=[])
    assert not matches({"providers": "Riverside Courier"}, provider=None)


def test_a_rule_without_conditions_matches_everything_and_blank_lines_are_ignored():
    assert matches({})
    assert matches({"words": "\n  \n", "providers": " \n"})


def test_rules_run_in_order_later_values_win_and_stop_here_ends_the_run():
    first = compile_rule(id=1, name="wire", words="strike", sets={"quality": 10, "heat": 5})
    second = compile_rule(id=2, name="rail", words="rail", sets={"quality": 60}, stop_here=True)
    third = compile_rule(id=3, name="late", sets={"published": False}, mark_for_review=True)
    verdict = judge([first, second, third], document(title="Rail strike"))
    assert verdict.values == {"quality": 60, "heat": 5}
    assert verdict.setters["quality"].name == "rail" and verdict.setters["heat"].name == "wire"
    assert verdict.review is None and [spec.id for spec in verdict.matched] == [1, 2]
    # A stop-here rule that does not match stops nothing.
    verdict = judge([first, second, third], document(title="Bus strike"))
    assert verdict.values == {"quality": 10, "heat": 5, "published": False}
    assert verdict.review.name == "late"
    assert not judge([second], document(title="Bus strike"))
    assert not judge([], document())


def test_a_mapping_is_judged_like_the_document_it_describes():
    spec = compile_rule(providers="riversidecourier.example", topics="housing", words="homes")
    source = document(topics=["Housing"], excerpt="Twenty new homes")
    mapping = {
        "title": source.title,
        "excerpt": source.excerpt,
        "category": "",
        "type": None,
        "topics": ["Housing"],
        "provider_name": "Riverside Courier",
        "provider_domain": "riversidecourier.example",
    }
    assert rules.facts_of(mapping) == rules.facts_of(source)
    assert spec.matches(rules.facts_of(mapping))
    assert judge([spec], mapping).matched == [spec]
    assert not spec.matches(facts(title="Twenty new homes"))


def test_a_rule_sets_only_the_editorial_fields():
    with pytest.raises(ValueError, match="title"):
        compile_rule(sets={"title": "x"})


def test_verdict_overrides_are_the_values_that_differ_from_the_file():
    spec = compile_rule(sets={"quality": 88, "heat": 0})
    verdict = judge([spec], document(quality=88, heat=15))
    assert verdict.overrides(document(quality=88, heat=15)) == {"heat": 0}
