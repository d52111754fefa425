"""Hypothesis strategies for seed documents, shared by the codec fuzzing and the round trips.

The text is deliberately awkward (quotes, line separators, a byte-order mark, markup, YAML
look-alikes): whatever the codec accepts, it must render and read back unchanged.
"""

import datetime as dt

from hypothesis import strategies as st

from curation import seedfile

awkward_text = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    max_size=30,
)
tricky_words = st.sampled_from(
    [
        "---",
        "...",
        "- item",
        "key: value",
        "# not a comment",
        "yes",
        "no",
        "null",
        "~",
        "1.5",
        "2023-05-03",
        "2023-05-03T13:13:00Z",
        "0x1F",
        "1:30",
        "@at",
        "`tick`",
        "!tag",
        "&anchor",
        "*alias",
        "'quoted'",
        '"double"',
        "a\nb",
        "trailing ",
        " leading",
        "\t",
        "\r\n",
        "\u2028",
        "\x85",
        "\ufeff",
        "<script>alert(1)</script>",
        "javascript:alert(1)",
        "",
        "%",
    ]
)
field_text = awkward_text | tricky_words
title_text = field_text.filter(lambda value: value.strip() != "")
number = st.none() | st.integers(seedfile.INT_MIN, seedfile.INT_MAX)
# The article's own scores have their editorial ranges; related items keep the feed's 32 bits.
quality = st.none() | st.integers(seedfile.QUALITY_MIN, seedfile.QUALITY_MAX)
heat = st.none() | st.integers(seedfile.HEAT_MIN, seedfile.HEAT_MAX)
moment = st.none() | st.datetimes(
    min_value=dt.datetime(1, 1, 2), max_value=dt.datetime(9999, 12, 30), timezones=st.just(dt.UTC)
)
json_value = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**62), 2**62) | field_text,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(st.from_regex(r"[a-z]{1,6}", fullmatch=True), children, max_size=3)
    ),
    max_leaves=5,
)


def extras(known):
    return st.lists(
        st.tuples(st.from_regex(r"[a-z][A-Za-z_]{0,8}", fullmatch=True), json_value).filter(
            lambda pair: pair[0] not in known
        ),
        max_size=2,
        unique_by=lambda pair: pair[0],
    )


providers = st.none() | st.builds(
    seedfile.Provider, name=field_text, domain=field_text, extra=extras(seedfile.PROVIDER_KEYS)
)
images = st.builds(
    seedfile.Image,
    url=field_text,
    width=st.none() | st.integers(0, seedfile.INT_MAX),
    height=st.none() | st.integers(0, 5000),
    title=field_text,
    is_cached=st.none() | st.booleans(),
    attribution=field_text,
    extra=extras(seedfile.IMAGE_KEYS),
)
related = st.builds(
    seedfile.Related,
    title=field_text,
    excerpt=field_text,
    published_at=moment,
    web_url=field_text,
    type=field_text,
    provider=providers,
    quality=number,
    heat=number,
    images=st.lists(images, max_size=2),
    extra=extras(seedfile.RELATED_KEYS),
)
documents = st.builds(
    seedfile.SeedDocument,
    title=title_text,
    category=field_text,
    excerpt=field_text,
    published_at=moment,
    web_url=field_text,
    original_url=field_text,
    type=field_text,
    quality=quality,
    heat=heat,
    published=st.booleans(),
    provider=providers,
    topics=st.lists(title_text.filter(lambda t: len(t) <= 100), max_size=3),
    images=st.lists(images, max_size=2),
    related=st.lists(related, max_size=2),
    secured=field_text,
    extra=extras(seedfile.ARTICLE_KEYS),
    body=field_text,
)
