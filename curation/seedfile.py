"""The seed-file codec: bytes of one feed article <-> a typed ``SeedDocument``.

Pure Python with no Django import, so the format can be tested and benchmarked on its own.

A seed file is either YAML front matter between two ``---`` lines followed by a body, or plain
text whose first non-empty line is the title. Parsing is strict about the schema's types and
forgiving about everything else: keys the schema does not know are kept in order, and the source
text is what an unedited article is exported as, byte for byte.
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime as dt
import hashlib
import math
import operator
import os
import re
import stat
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import yaml

try:  # The libyaml C parser is several times faster; the pure-Python one parses the same.
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _SafeLoader

__all__ = [
    "ARTICLE_KEYS",
    "MAX_FILE_BYTES",
    "Image",
    "Provider",
    "Related",
    "RenderError",
    "SeedDocument",
    "SeedError",
    "content_hash",
    "parse",
    "render",
    "validate_key",
]

MAX_FILE_BYTES = 2 * 1024 * 1024
MAX_KEY_LENGTH = 150
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
# The editorial scores' one documented range (README, "What the scores mean"): the codec, every
# admin path and the database's check constraints all enforce these bounds.
# quality: 0 (poor) to 1000; the feed's own scores run to about 200.
QUALITY_MIN, QUALITY_MAX = 0, 1000
# heat: -1 means "not rated"; 0 (cold) to 100 (burning), up to 1000 for the exceptional.
HEAT_MIN, HEAT_MAX = -1, 1000
# Column sizes of the database fields these keys land in.
MAX_URL_LENGTH = 2048
MAX_LABEL_LENGTH = 200
# Entries one file may list (README, "Limits"). The feed's own files list up to 3 topics, 4 images
# and 25 related items; a file beyond these is refused, so no page or position column (a small
# integer, under 32,767) has to cope with 40,000 topics.
MAX_TOPICS = 100
MAX_IMAGES = 100  # the article's images, and each related item's
MAX_RELATED = 100
# How deep lists and mappings may nest, counting the front matter's own mapping. The feed's own
# files nest 5 deep. Checked while scanning the YAML events, before anything recursive (loading,
# checking, comparing, rendering) sees the data, so no input can exhaust the Python stack.
MAX_NESTING_DEPTH = 64
# URLs that may become links or image sources; any other URL is stored but never linked.
LINK_SCHEMES = ("http://", "https://")

URL_KEYS = {
    "originalUrl": "original_url",
    "webUrl": "web_url",
    "ampWebUrl": "amp_web_url",
    "cdnAmpWebUrl": "cdn_amp_web_url",
    "sourceUrl": "source_url",
    "ampUrl": "amp_url",
    "cdnAmpUrl": "cdn_amp_url",
}
# The URL fields that name the article itself, in the order a reader's link prefers them.
LINK_FIELDS = ("web_url", "original_url", "source_url")

# Feed key -> attribute name, in the order the feed writes them. The README documents this.
ARTICLE_KEYS = {
    "category": "category",
    "title": "title",
    "excerpt": "excerpt",
    "publishedDateTime": "published_at",
    **URL_KEYS,
    "type": "type",
    "quality": "quality",
    "heat": "heat",
    "published": "published",
    "provider": "provider",
    "topics": "topics",
    "images": "images",
    "related": "related",
    "secured": "secured",
}
RELATED_KEYS = {
    "title": "title",
    "excerpt": "excerpt",
    "publishedDateTime": "published_at",
    **URL_KEYS,
    "type": "type",
    "provider": "provider",
    "quality": "quality",
    "heat": "heat",
    "images": "images",
}
IMAGE_KEYS = {
    "url": "url",
    "width": "width",
    "height": "height",
    "title": "title",
    "isCached": "is_cached",
    "attribution": "attribution",
}
PROVIDER_KEYS = {"name": "name", "domain": "domain"}

# Keys whose chunks the canonical rendering separates with a blank line, as the feed does.
_BLOCK_KEYS = frozenset({"provider", "topics", "images", "related", "secured"})


class SeedError(ValueError):
    """A seed file that cannot be read; ``str()`` is one line naming file, line and key."""

    def __init__(
        self,
        message: str,
        *,
        path: str | None = None,
        key: str | None = None,
        line: int | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.key = key
        self.line = line

    def __str__(self) -> str:
        where = self.path or "<seed>"
        if self.line:
            where += f":{self.line}"
        subject = f"{self.key}: " if self.key else ""
        return f"{where}: {subject}{self.message}"


Extra = list[tuple[str, Any]]


@dataclass
class Provider:
    name: str = ""
    domain: str = ""
    extra: Extra = field(default_factory=list)


@dataclass
class Image:
    url: str = ""
    width: int | None = None
    height: int | None = None
    title: str = ""
    is_cached: bool | None = None
    attribution: str = ""
    extra: Extra = field(default_factory=list)


@dataclass
class Coverage:
    """What an article and each of its related items have in common.

    Absent strings are ``""`` and absent numbers ``None``, so equal values compare equal
    however the file spelled their absence.
    """

    title: str = ""
    excerpt: str = ""
    published_at: dt.datetime | None = None
    original_url: str = ""
    web_url: str = ""
    amp_web_url: str = ""
    cdn_amp_web_url: str = ""
    source_url: str = ""
    amp_url: str = ""
    cdn_amp_url: str = ""
    type: str = ""
    provider: Provider | None = None
    quality: int | None = None
    heat: int | None = None
    images: list[Image] = field(default_factory=list)


@dataclass
class Related(Coverage):
    """One entry of an article's related coverage."""

    extra: Extra = field(default_factory=list)


@dataclass
class SeedDocument(Coverage):
    """One article as the feed describes it (the parser insists on a title)."""

    category: str = ""
    published: bool = False
    topics: list[str] = field(default_factory=list)
    related: list[Related] = field(default_factory=list)
    secured: str = ""
    extra: Extra = field(default_factory=list)
    body: str = ""
    # How the file was written, not what it says: two documents with equal values are equal.
    has_front_matter: bool = field(default=True, compare=False)


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def key_of(path: str) -> str:
    """The article key a seed file's name gives: its name without the last suffix."""
    return os.path.splitext(os.path.basename(path))[0]


def validate_key(key: str) -> str:
    """Check an article key (a file-name stem): it names an export file, so it must be tame."""
    if not key or key.strip() != key:
        raise SeedError(
            "the file name gives an empty key or one with surrounding spaces", key="key"
        )
    if len(key) > MAX_KEY_LENGTH:
        raise SeedError(f"the file name is longer than {MAX_KEY_LENGTH} characters", key="key")
    if key.startswith(".") or any(c in key for c in '/\\:*?"<>|') or not key.isprintable():
        raise SeedError(
            'the file name contains a path separator, a control character or one of :*?"<>|,'
            " or starts with a dot",
            key="key",
        )
    return key


# --- Parsing -------------------------------------------------------------------------------


# Longer numbers are refused before conversion: int() of thousands of digits and YAML 1.1
# sexagesimal numbers ("1:2:3:...") cost time quadratic in their length.
MAX_NUMBER_LENGTH = 1000


class _StrictLoader(_SafeLoader):
    """Safe loader that refuses duplicate keys instead of letting the last one win silently,
    and turns values their tag cannot read ("2023-02-30", "!!bool maybe") into YAML errors."""

    def construct_document(self, node):
        try:
            return self._construct(node)
        finally:
            self.constructed_objects, self.recursive_objects = {}, {}

    def _construct(self, node):
        """``construct_object(node, deep=True)``, with the shapes seed files are made of (text,
        lists, mappings of text keys) built directly: PyYAML's general path costs a quarter of a
        file's parse. Anything else takes that path, and aliases still share one object."""
        kind = node.__class__
        if kind is yaml.ScalarNode and node.tag == _STR_TAG:
            return node.value
        if not (
            (kind is yaml.MappingNode and node.tag == _MAP_TAG)
            or (kind is yaml.SequenceNode and node.tag == _SEQ_TAG)
        ):
            return self.construct_object(node, deep=True)
        if node in self.constructed_objects:
            return self.constructed_objects[node]
        if node in self.recursive_objects:  # an alias inside its own anchor
            raise SeedError(_COLLECTION_ALIASES)
        if kind is yaml.MappingNode:
            keys = [key.value for key, _ in node.value]
            if len(set(keys)) != len(keys) or not all(
                key.__class__ is yaml.ScalarNode and key.tag == _STR_TAG for key, _ in node.value
            ):
                return self.construct_object(node, deep=True)
        self.recursive_objects[node] = None
        if kind is yaml.MappingNode:
            data: Any = {key.value: self._construct(value) for key, value in node.value}
        else:
            data = [self._construct(item) for item in node.value]
        self.constructed_objects[node] = data
        del self.recursive_objects[node]
        return data

    def construct_mapping(self, node, deep=False):
        if not isinstance(node, yaml.MappingNode):  # "!!set [a]": a tag wanting a mapping
            raise yaml.constructor.ConstructorError(
                None, None, f"{_tag_name(node.tag)} needs a mapping", node.start_mark
            )
        keys = [key_node.value for key_node, _ in node.value]
        plain_text_keys = all(key_node.tag == _STR_TAG for key_node, _ in node.value)
        if not plain_text_keys or len(set(keys)) != len(keys):
            self._refuse_duplicate_keys(node)
        return super().construct_mapping(node, deep=deep)

    def _refuse_duplicate_keys(self, node) -> None:
        seen: set[Any] = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            try:
                duplicate = key in seen
            except TypeError:
                duplicate = False
            if duplicate:
                raise _DuplicateKey(key, key_node.start_mark.line + 1)
            with contextlib.suppress(TypeError):
                seen.add(key)

    def _check_number_length(self, node) -> None:
        if len(node.value) > MAX_NUMBER_LENGTH:
            raise yaml.constructor.ConstructorError(
                None,
                None,
                f"a number longer than {MAX_NUMBER_LENGTH} characters is not allowed",
                node.start_mark,
            )


_STR_TAG = "tag:yaml.org,2002:str"
_MAP_TAG = "tag:yaml.org,2002:map"
_SEQ_TAG = "tag:yaml.org,2002:seq"


def _readable_only(tag: str, construct: Any) -> None:
    """Register ``construct`` for ``tag`` so that a value it cannot read is a YAML error."""

    def constructor(loader: _StrictLoader, node: Any) -> Any:
        if tag in ("int", "float"):
            loader._check_number_length(node)
        try:
            return construct(loader, node)
        except _UNREADABLE as error:
            raise _unreadable(node, error) from None

    _StrictLoader.add_constructor(f"tag:yaml.org,2002:{tag}", constructor)


_UNREADABLE = (ValueError, OverflowError, TypeError, AttributeError, KeyError, IndexError)


def _tag_name(tag: str) -> str:
    return tag.replace("tag:yaml.org,2002:", "!!")


def _unreadable(node: Any, error: Exception) -> yaml.constructor.ConstructorError:
    value = node.value if isinstance(node.value, str) else node.id
    detail = f": {error}" if type(error) in (ValueError, OverflowError) else ""
    return yaml.constructor.ConstructorError(
        None,
        None,
        f"cannot read {_short(value)} as {_tag_name(node.tag)}{detail}",
        node.start_mark,
    )


for _tag, _construct in (
    ("int", _SafeLoader.construct_yaml_int),
    ("float", _SafeLoader.construct_yaml_float),
    ("bool", _SafeLoader.construct_yaml_bool),
    ("timestamp", _SafeLoader.construct_yaml_timestamp),
    ("binary", _SafeLoader.construct_yaml_binary),
):
    _readable_only(_tag, _construct)


class _DuplicateKey(Exception):
    def __init__(self, key: Any, line: int) -> None:
        self.key, self.line = key, line


def _key_lines(front_matter: str) -> dict[str, int]:
    """Line (1-based, within the front matter) of each top-level key, for error messages."""
    lines = {}
    for number, line in enumerate(front_matter.splitlines(), 1):
        key = _top_level_key(line)
        if key:
            lines.setdefault(key, number)
    return lines


_TOP_LEVEL_KEY = re.compile(r"""^(?:"([^"]+)"|'([^']+)'|([^\s#'"\-?:][^:#]*?))\s*:(?:\s|$)""")


def _top_level_key(line: str) -> str | None:
    match = _TOP_LEVEL_KEY.match(line)
    if not match:
        return None
    return match.group(1) or match.group(2) or match.group(3)


_COLLECTION_ALIASES = "YAML anchors and aliases of lists or mappings are not allowed"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _check_graph(value: Any, source_length: int) -> None:
    """Refuse YAML aliases of collections: they are how "billion laughs" documents explode.

    Aliases of text are allowed, but the text they add up to is bounded (an anchored megabyte
    aliased a thousand times would be a gigabyte once stored), and text no database or UTF-8
    file can hold (NUL characters, lone surrogates, written as escapes) is refused here.
    """
    seen: set[int] = set()
    budget = 2 * source_length + 4096
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            budget -= len(item)
            if budget < 0:
                raise SeedError("YAML aliases expand the front matter to more than twice its size")
            if _UNSTORABLE.search(item):
                raise SeedError(
                    f"the text {_short(item)} contains a NUL character or a lone surrogate"
                )
        elif isinstance(item, (dict, list)):
            if id(item) in seen:
                raise SeedError(_COLLECTION_ALIASES)
            seen.add(id(item))
            if isinstance(item, dict):
                stack.extend(item.keys())
                stack.extend(item.values())
            else:
                stack.extend(item)


class _Parts(NamedTuple):
    opening: str  # the "---" line, with its line ending (and a byte-order mark, if any)
    front_matter: str
    closing: str  # the closing "---" line, with its line ending
    body: str


# A line that is "---" and trailing white space (what ``line.rstrip() == "---"`` accepts).
_CLOSING_LINE = re.compile(r"^---[^\S\n]*(?:\n|\Z)", re.MULTILINE)


def _split(text: str) -> _Parts | None:
    """Cut a file into its front matter and body; ``None`` when it has no front matter."""
    start = 1 if text.startswith("\ufeff") else 0
    first_end = text.find("\n", start)
    first_line = text[start:] if first_end == -1 else text[start:first_end]
    if first_line.rstrip() != "---":
        return None
    if first_end != -1:
        closing = _CLOSING_LINE.search(text, first_end + 1)
        if closing:
            return _Parts(
                text[: first_end + 1],
                text[first_end + 1 : closing.start()],
                closing.group(),
                text[closing.end() :],
            )
    raise SeedError(
        "front matter opened by '---' on line 1 is never closed by a '---' line", line=1
    )


def parse(data: bytes, path: str | None = None, *, max_bytes: int = MAX_FILE_BYTES) -> SeedDocument:
    """Parse the bytes of one seed file. Raises ``SeedError`` naming what is wrong and where."""
    try:
        return _parse(data, max_bytes)
    except SeedError as error:
        error.path = path
        raise


def _parse(data: bytes, max_bytes: int) -> SeedDocument:
    if len(data) > max_bytes:
        raise SeedError(f"the file is {len(data):,} bytes, over the {max_bytes:,}-byte limit")
    if not data.strip():
        raise SeedError("the file is empty")
    if b"\x00" in data:
        raise SeedError("the file contains NUL bytes: it is binary, not a text article")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise SeedError(
            f"the file is not UTF-8 text (byte 0x{data[error.start]:02x} at offset {error.start})",
            line=line,
        ) from None
    parts = _split(text)
    if parts is None:
        return _plain_text_document(text)
    offset = 2  # the front matter's first line is the file's second
    mapping = _load_yaml(parts.front_matter, offset)
    try:
        document = _document(mapping)
    except SeedError as error:
        if error.key and error.line is None:
            line = _key_lines(parts.front_matter).get(error.key.split(".")[0].split("[")[0])
            error.line = line and line + offset - 1
        raise
    document.body = parts.body
    return document


# A real seed's front matter holds a few hundred YAML values (25 related items: under 1,000).
# 2 MiB of "[1,1,1,...]" would be a million, costing seconds and ~500 MB to load, so large front
# matter is first counted with the streaming parser, which holds one event at a time.
MAX_YAML_EVENTS = 50_000
_COUNT_EVENTS_FROM = 64 * 1024  # characters; smaller front matter cannot hold that many
_OPENING_EVENTS = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSING_EVENTS = (yaml.SequenceEndEvent, yaml.MappingEndEvent)
# Nesting needs either flow brackets or, in block style, a deeper start of line: each block
# collection starts right of its parent's start (a sequence under a key may share the key's
# column, once), and a line's start is its run of spaces and "- ", "? ", ": " indicators, so
# depth <= 2 * (longest such run) + 3 + (number of "[" and "{"). Below both thresholds (runs
# under 16, under 24 brackets) the depth is at most 56, and the event scan (about half a parse)
# is skipped: the feed's files never reach them.
_DEEP_LINE_START = re.compile(r"\n[ \t?:-]{16}")  # a literal first: ten times faster
_DEEP_ANY_LINE_START = re.compile(r"(?:^|[\r\x85\u2028\u2029])[ \t?:-]{16}", re.MULTILINE)
_FEW_BRACKETS = 24


def _may_nest_too_deep(front_matter: str) -> bool:
    if front_matter.count("[") + front_matter.count("{") >= _FEW_BRACKETS:
        return True
    if (
        "\x85" in front_matter
        or "\u2028" in front_matter
        or "\u2029" in front_matter
        or front_matter.count("\r") != front_matter.count("\r\n")
    ):  # YAML's rarer line breaks
        return _DEEP_ANY_LINE_START.search(front_matter) is not None
    return _DEEP_LINE_START.search("\n" + front_matter) is not None


def _check_events(front_matter: str, offset: int) -> None:
    """Refuse too many YAML values or too deep nesting, reading one event at a time (the
    streaming parser keeps its own stack, not Python's)."""
    depth = 0
    try:
        for count, event in enumerate(yaml.parse(front_matter, Loader=_SafeLoader)):
            if count > MAX_YAML_EVENTS:
                raise SeedError(
                    f"the front matter holds more than {MAX_YAML_EVENTS:,} YAML values",
                    line=event.start_mark.line + offset,
                )
            if isinstance(event, _OPENING_EVENTS):
                depth += 1
                if depth > MAX_NESTING_DEPTH:
                    raise SeedError(
                        f"lists and mappings nest more than {MAX_NESTING_DEPTH} levels deep",
                        line=event.start_mark.line + offset,
                    )
            elif isinstance(event, _CLOSING_EVENTS):
                depth -= 1
    except yaml.YAMLError:
        return  # loading reports it, with its line


def _load_yaml(front_matter: str, offset: int) -> dict[str, Any]:
    if len(front_matter) > _COUNT_EVENTS_FROM or _may_nest_too_deep(front_matter):
        _check_events(front_matter, offset)
    try:
        mapping = yaml.load(front_matter, Loader=_StrictLoader)
    except _DuplicateKey as duplicate:
        raise SeedError(
            "the key appears twice in the front matter",
            key=str(duplicate.key),
            line=duplicate.line + offset - 1,
        ) from None
    except SeedError:
        raise
    except _UNREADABLE:  # raised while filling a collection, outside construct_object
        raise SeedError("invalid YAML front matter: a value does not fit its YAML tag") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None) or getattr(error, "context_mark", None)
        problem = getattr(error, "problem", None) or str(error).splitlines()[0]
        if "tag:yaml.org,2002:merge" in str(error):
            problem = "YAML merge keys (<<) are not allowed"
        elif "could not determine a constructor" in str(error):
            problem = "YAML tags that construct objects are not allowed"
        raise SeedError(
            f"invalid YAML front matter: {problem}",
            line=(mark.line + offset) if mark else None,
        ) from None
    if mapping is None:
        mapping = {}
    if not isinstance(mapping, dict):
        raise SeedError(
            f"the front matter must be a mapping of keys to values, not {_type_name(mapping)}",
            line=offset,
        )
    # Aliases need a "*"; NUL characters and lone surrogates can only be written as "\" escapes
    # (the bytes themselves are refused earlier). Most files have neither: skip the walk.
    if "*" in front_matter or "\\" in front_matter:
        _check_graph(mapping, len(front_matter))
    return mapping


def check_nesting(document: SeedDocument) -> None:
    """Raise ``RenderError`` if unknown keys' values nest deeper than parsing allows.

    Parsing never builds such a document; this guards rendering (PyYAML's dumper and comparing
    recurse per level) against rows stored before the limit existed or edited by hand. The walk
    itself keeps its own stack."""
    items = [document, document.provider, *document.images]
    for related in document.related:
        items.extend([related, related.provider, *related.images])
    # Each unknown key counted at the shallowest depth such a key can have in a file (front
    # matter 1, its value 2; related[i] 3, its value 4), so whatever parses also renders.
    stack: list[tuple[Any, int, str]] = []
    for item in items:
        base = 4 if isinstance(item, Related) else 2
        stack.extend((value, base, name) for name, value in getattr(item, "extra", ()))
    while stack:
        value, depth, name = stack.pop()
        if isinstance(value, (list, dict)):
            if depth > MAX_NESTING_DEPTH:
                raise RenderError(
                    f"lists and mappings nest more than {MAX_NESTING_DEPTH} levels deep", key=name
                )
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1, name) for child in children)


def _plain_text_document(text: str) -> SeedDocument:
    position = 1 if text.startswith("\ufeff") else 0
    while True:
        end = text.find("\n", position)
        line = text[position:] if end == -1 else text[position:end]
        if line.strip():
            body = "" if end == -1 else text[end + 1 :]
            return SeedDocument(title=line.strip(), body=body, has_front_matter=False)
        if end == -1:  # pragma: no cover - empty files are refused before this
            raise SeedError("the file has no title line", key="title")
        position = end + 1


def _type_name(value: Any) -> str:
    names = {
        dict: "a mapping",
        list: "a list",
        str: "text",
        bool: "true/false",
        int: "a whole number",
        float: "a decimal number",
        dt.datetime: "a date-time",
        dt.date: "a date",
        bytes: "binary data",
        type(None): "empty",
    }
    return names.get(type(value), type(value).__name__)


def _text(value: Any, key: str, *, required: bool = False, limit: int | None = None) -> str:
    if value is None:
        if required:
            raise SeedError("is required", key=key)
        return ""
    if not isinstance(value, str):
        raise SeedError(f"must be text, got {_type_name(value)} {_short(value)}", key=key)
    if required and not value.strip():
        raise SeedError("must not be empty", key=key)
    if limit is not None and len(value) > limit:
        raise SeedError(f"is {len(value):,} characters long; the limit is {limit:,}", key=key)
    return value


def _integer(value: Any, key: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise SeedError(f"must be a whole number, got {_type_name(value)} {_short(value)}", key=key)
    if not INT_MIN <= value <= INT_MAX:
        raise SeedError(f"{value} is out of range ({INT_MIN} to {INT_MAX})", key=key)
    return value


def _score(value: Any, key: str, low: int, high: int) -> int | None:
    """An editorial score: a whole number within its documented range (see QUALITY_MIN)."""
    number = _integer(value, key)
    if number is not None and not low <= number <= high:
        raise SeedError(f"{number} is out of range ({low} to {high})", key=key)
    return number


def _boolean(value: Any, key: str) -> bool | None:
    if value is None:
        return None
    if not isinstance(value, bool):
        raise SeedError(f"must be true or false, got {_type_name(value)} {_short(value)}", key=key)
    return value


def _datetime(value: Any, key: str) -> dt.datetime | None:
    if value is None:
        return None
    if isinstance(value, dt.datetime):
        moment = value
    elif isinstance(value, dt.date):
        moment = dt.datetime(value.year, value.month, value.day)
    elif isinstance(value, str):
        try:
            moment = dt.datetime.fromisoformat(value.strip())
        except ValueError:
            raise SeedError(
                f"{_short(value)} is not a date-time like 2023-05-03T13:13:00Z", key=key
            ) from None
    else:
        raise SeedError(f"must be a date-time, got {_type_name(value)} {_short(value)}", key=key)
    if moment.tzinfo is None:  # The feed writes UTC; a naive time is read as UTC.
        moment = moment.replace(tzinfo=dt.UTC)
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:  # 0001-01-01T00:00:00+01:00 is before the year 1 in UTC
        raise SeedError(
            f"{_short(str(value))} is outside the years 1 to 9999 once converted to UTC", key=key
        ) from None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _mapping(value: Any, key: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise SeedError(f"must be a mapping, got {_type_name(value)} {_short(value)}", key=key)
    return value


def _list(value: Any, key: str, limit: int) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise SeedError(f"must be a list, got {_type_name(value)} {_short(value)}", key=key)
    if len(value) > limit:
        raise SeedError(f"{len(value):,} entries; the limit is {limit:,}", key=key)
    return value


def _extra(mapping: dict[Any, Any], known: dict[str, str], key: str) -> Extra:
    extra = []
    for name, value in mapping.items():
        if not isinstance(name, str):
            raise SeedError(f"the key {_short(name)} is not text", key=key or None)
        if name not in known:
            extra.append((name, _plain(value, f"{key}.{name}" if key else name)))
    return extra


def _plain(value: Any, key: str) -> Any:
    """Turn an unknown key's YAML value into JSON-safe data, so the database can keep it."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            raise SeedError("infinite or not-a-number values are not supported", key=key)
        return value
    if isinstance(value, dt.datetime):
        return _format_datetime(_datetime(value, key))
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return [_plain(item, f"{key}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, dict):
        result = {}
        for name, item in value.items():
            if not isinstance(name, str):
                raise SeedError(f"the key {_short(name)} is not text", key=key)
            result[name] = _plain(item, f"{key}.{name}")
        return result
    if isinstance(value, bytes):
        return base64.b64encode(value).decode("ascii")
    raise SeedError(f"{_type_name(value)} values are not supported", key=key)


def _provider(value: Any, key: str) -> Provider | None:
    if value is None:
        return None
    mapping = _mapping(value, key)
    return Provider(
        name=_text(mapping.get("name"), f"{key}.name", limit=MAX_LABEL_LENGTH),
        domain=_text(mapping.get("domain"), f"{key}.domain", limit=MAX_LABEL_LENGTH),
        extra=_extra(mapping, PROVIDER_KEYS, key),
    )


def _images(value: Any, key: str) -> list[Image]:
    images = []
    for index, item in enumerate(_list(value, key, MAX_IMAGES)):
        where = f"{key}[{index}]"
        mapping = _mapping(item, where)
        width = _integer(mapping.get("width"), f"{where}.width")
        height = _integer(mapping.get("height"), f"{where}.height")
        for name, size in (("width", width), ("height", height)):
            if size is not None and size < 0:
                raise SeedError("must not be negative", key=f"{where}.{name}")
        images.append(
            Image(
                url=_text(mapping.get("url"), f"{where}.url", limit=MAX_URL_LENGTH),
                width=width,
                height=height,
                title=_text(mapping.get("title"), f"{where}.title"),
                is_cached=_boolean(mapping.get("isCached"), f"{where}.isCached"),
                attribution=_text(mapping.get("attribution"), f"{where}.attribution"),
                extra=_extra(mapping, IMAGE_KEYS, where),
            )
        )
    return images


def _urls(mapping: dict[str, Any], key: str) -> dict[str, str]:
    prefix = f"{key}." if key else ""
    return {
        attr: _text(mapping.get(name), prefix + name, limit=MAX_URL_LENGTH)
        for name, attr in URL_KEYS.items()
    }


def _related(value: Any) -> list[Related]:
    related = []
    for index, item in enumerate(_list(value, "related", MAX_RELATED)):
        where = f"related[{index}]"
        mapping = _mapping(item, where)
        related.append(
            Related(
                title=_text(mapping.get("title"), f"{where}.title"),
                excerpt=_text(mapping.get("excerpt"), f"{where}.excerpt"),
                published_at=_datetime(
                    mapping.get("publishedDateTime"), f"{where}.publishedDateTime"
                ),
                **_urls(mapping, where),
                type=_text(mapping.get("type"), f"{where}.type", limit=MAX_LABEL_LENGTH),
                provider=_provider(mapping.get("provider"), f"{where}.provider"),
                quality=_integer(mapping.get("quality"), f"{where}.quality"),
                heat=_integer(mapping.get("heat"), f"{where}.heat"),
                images=_images(mapping.get("images"), f"{where}.images"),
                extra=_extra(mapping, RELATED_KEYS, where),
            )
        )
    return related


def _topics(value: Any) -> list[str]:
    topics = []
    for index, item in enumerate(_list(value, "topics", MAX_TOPICS)):
        topic = _text(item, f"topics[{index}]", required=True)
        if len(topic) > 100:
            raise SeedError("is longer than 100 characters", key=f"topics[{index}]")
        topics.append(topic)
    return topics


def _document(mapping: dict[str, Any]) -> SeedDocument:
    return SeedDocument(
        title=_text(mapping.get("title"), "title", required=True),
        category=_text(mapping.get("category"), "category", limit=MAX_LABEL_LENGTH),
        excerpt=_text(mapping.get("excerpt"), "excerpt"),
        published_at=_datetime(mapping.get("publishedDateTime"), "publishedDateTime"),
        **_urls(mapping, ""),
        type=_text(mapping.get("type"), "type", limit=MAX_LABEL_LENGTH),
        quality=_score(mapping.get("quality"), "quality", QUALITY_MIN, QUALITY_MAX),
        heat=_score(mapping.get("heat"), "heat", HEAT_MIN, HEAT_MAX),
        published=bool(_boolean(mapping.get("published"), "published")),
        provider=_provider(mapping.get("provider"), "provider"),
        topics=_topics(mapping.get("topics")),
        images=_images(mapping.get("images"), "images"),
        related=_related(mapping.get("related")),
        secured=_text(mapping.get("secured"), "secured"),
        extra=_extra(mapping, ARTICLE_KEYS, ""),
    )


# --- Rendering -----------------------------------------------------------------------------


class _Dumper(yaml.SafeDumper):
    """Writes lists indented under their key, as the feed does."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        return super().increase_indent(flow, False)


def _format_datetime(moment: dt.datetime) -> str:
    moment = moment.astimezone(dt.UTC)
    pattern = "-%m-%dT%H:%M:%S.%fZ" if moment.microsecond else "-%m-%dT%H:%M:%SZ"
    # "%Y" drops leading zeros on some platforms (year 999 -> "999"), which YAML cannot read.
    return f"{moment.year:04d}" + moment.strftime(pattern)


def _represent_datetime(dumper: yaml.SafeDumper, moment: dt.datetime) -> yaml.ScalarNode:
    return dumper.represent_scalar("tag:yaml.org,2002:timestamp", _format_datetime(moment))


_Dumper.add_representer(dt.datetime, _represent_datetime)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    # PyYAML writes NEL and the Unicode line and paragraph separators raw in plain and
    # single-quoted scalars, where reading folds them into spaces; double quotes escape them.
    if "\x85" in value or "\u2028" in value or "\u2029" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style='"')
    return dumper.represent_str(value)


_Dumper.add_representer(str, _represent_str)


def _put(mapping: dict[str, Any], key: str, value: Any) -> None:
    if value not in ("", None, []):  # an empty provider mapping is still a provider
        mapping[key] = value


def _provider_mapping(provider: Provider | None) -> dict[str, Any] | None:
    if provider is None:
        return None
    mapping: dict[str, Any] = {}
    _put(mapping, "name", provider.name)
    _put(mapping, "domain", provider.domain)
    mapping.update(provider.extra)
    return mapping


def _image_mappings(images: list[Image]) -> list[dict[str, Any]]:
    result = []
    for image in images:
        mapping: dict[str, Any] = {}
        for name, attr in IMAGE_KEYS.items():
            _put(mapping, name, getattr(image, attr))
        mapping.update(image.extra)
        result.append(mapping)
    return result


def to_mapping(document: SeedDocument) -> dict[str, Any]:
    """The front matter of a document as YAML-ready data, in the feed's key order."""
    mapping: dict[str, Any] = {}
    for name, attr in ARTICLE_KEYS.items():
        value = getattr(document, attr)
        if name == "provider":
            value = _provider_mapping(value)
        elif name == "images":
            value = _image_mappings(value)
        elif name == "related":
            value = [_related_mapping(item) for item in value]
        elif name == "published":
            mapping[name] = value
            continue
        _put(mapping, name, value)
    for name, value in document.extra:
        mapping[name] = value
    return mapping


def _related_mapping(item: Related) -> dict[str, Any]:
    mapping: dict[str, Any] = {}
    for name, attr in RELATED_KEYS.items():
        value = getattr(item, attr)
        if name == "provider":
            value = _provider_mapping(value)
        elif name == "images":
            value = _image_mappings(value)
        _put(mapping, name, value)
    mapping.update(item.extra)
    return mapping


def _dump(mapping: dict[str, Any], style: str | None = None) -> str:
    return yaml.dump(
        mapping,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=10_000,
        default_flow_style=False,
        default_style=style,
    )


def _chunk(key: str, value: Any, quote: str | None = None) -> str:
    if quote and isinstance(value, str):
        # Keep the quoting style the file used for this key: only the value changes.
        scalar = _dump(value, quote).removesuffix("...\n").strip()
        return f"{key}: {scalar}\n"
    return _dump({key: value})


def render_canonical(document: SeedDocument) -> str:
    """A clean rendering in the feed's layout, for articles with no source file to edit."""
    check_nesting(document)  # PyYAML's dumper recurses once or more per level
    mapping = to_mapping(document)
    front_matter_keys = set(mapping) - {"title", "published"}
    if not document.has_front_matter and not front_matter_keys and not document.published:
        plain = f"{document.title}\n{document.body}"
        # A title such as "---" or one starting with a byte-order mark would read back as
        # something else: such documents get front matter instead.
        with contextlib.suppress(SeedError):
            if _parse(plain.encode("utf-8"), max_bytes=len(plain) * 4 + 1) == document:
                return plain
    parts = ["---\n"]
    for key, value in mapping.items():
        if key in _BLOCK_KEYS:
            parts.append("\n")
        parts.append(_chunk(key, value))
    parts.append("---\n")
    return "".join(parts) + document.body


class RenderError(SeedError):
    """An article cannot be written out as its file with only the edited lines changed.

    Export reports such a file as failed and leaves the old one in place: a file that came from
    the feed is never re-rendered whole behind the editor's back.
    """


def render(document: SeedDocument, source: str | None = None) -> str:
    """Render a document as seed-file text.

    With the ``source`` text it was imported from, the result is that text with only the changed
    keys' lines replaced, so a reviewer sees a one-line diff for a one-field edit; unchanged
    documents come back byte for byte. A plain-text source that gains editorial values gets front
    matter above its unchanged body. Only a document without a source gets the canonical layout.

    Raises ``RenderError`` (naming the edited keys and why) when the edit cannot be written that
    way, or when the result would not read back as ``document``: never a silent rewrite.
    """
    check_nesting(document)  # comparing and dumping recurse once or more per level
    if source is None:
        return _checked(render_canonical(document), document, "cannot write the article")
    try:
        original = _parse(source.encode("utf-8"), max_bytes=len(source) * 4 + 1)
    except SeedError as error:
        raise RenderError(
            f"cannot change only the edited lines: the stored file no longer reads: {_reason(error)}"
        ) from None
    if original == document:
        return source
    old, new = to_mapping(original), to_mapping(document)
    what = _what_changed(old, new, original.body != document.body)
    if original.has_front_matter:
        edited = _edit(source, old, new, document.body, what)
    else:
        edited = _edit_plain(source, document)
    return _checked(edited, document, what)


def _reason(error: SeedError) -> str:
    where = f"line {error.line}: " if error.line else ""
    return where + (f"{error.key}: " if error.key else "") + error.message


def _what_changed(old: dict[str, Any], new: dict[str, Any], body: bool) -> str:
    keys = [key for key in dict.fromkeys([*old, *new]) if _differs(old, new, key)]
    names = f"the {', '.join(keys)} line{'s' if len(keys) > 1 else ''}" if keys else ""
    if body:
        names = f"{names} and the body" if names else "the body"
    return f"cannot change only {names or 'the edited lines'}"


def _differs(old: dict[str, Any], new: dict[str, Any], key: str) -> bool:
    # An unknown key may hold null: present-and-null is not absent.
    return (key in old) != (key in new) or old.get(key) != new.get(key)


def _checked(text: str, document: SeedDocument, what: str) -> str:
    """The rendered ``text`` if it reads back as ``document``; otherwise a ``RenderError``."""
    try:
        parsed = _parse(text.encode("utf-8"), max_bytes=len(text) * 4 + 1)
    except SeedError as error:
        raise RenderError(f"{what}: the result would not read back: {_reason(error)}") from None
    if parsed != document:
        differ = [name for name in MERGE_FIELDS if getattr(parsed, name) != getattr(document, name)]
        raise RenderError(
            f"{what}: the result would read back with a different {', '.join(differ)}"
        )
    return text


def _edit_plain(source: str, document: SeedDocument) -> str:
    """A plain-text source, edited: its title line replaced in place when the document can stay
    plain text; otherwise front matter (in the file's line endings) above the unchanged body."""
    position = 1 if source.startswith("\ufeff") else 0
    while True:  # the title line, found as _plain_text_document finds it
        end = source.find("\n", position)
        line = source[position:] if end == -1 else source[position:end]
        if line.strip() or end == -1:
            break
        position = end + 1
    lead = len(line) - len(line.lstrip())
    title_line = source[: position + lead] + document.title + line[len(line.rstrip()) :]
    plain = title_line + ("\n" + document.body if end != -1 or document.body else "")
    with contextlib.suppress(SeedError):
        if _parse(plain.encode("utf-8"), max_bytes=len(plain) * 4 + 1) == document:
            return plain
    front_matter = render_canonical(dataclasses.replace(document, has_front_matter=True))
    front_matter = front_matter[: len(front_matter) - len(document.body)]
    if line.endswith("\r"):
        front_matter = front_matter.replace("\n", "\r\n")
    return front_matter + document.body


class _Entry(NamedTuple):
    start: int  # where the key's first line starts, in the front matter
    end: int  # just past the key's last line (the value's, with its trailing comment)
    key: str
    key_start: int
    key_end: int
    value: yaml.Event  # the value's first event: a scalar, an alias or a collection's start
    value_end: int  # just past the value (for a block collection: where the next key starts)
    anchors: frozenset[str]  # YAML anchors the value defines
    aliases: frozenset[str]  # YAML aliases the value uses


# After the last key: the optional end-of-document marker, which additions must go before.
_DOCUMENT_END = re.compile(r"^\.\.\.(?:[ \t]|$)", re.MULTILINE)
_COLLECTION_START = (yaml.MappingStartEvent, yaml.SequenceStartEvent)
_COLLECTION_END = (yaml.MappingEndEvent, yaml.SequenceEndEvent)
_FRAME = (
    yaml.StreamStartEvent,
    yaml.StreamEndEvent,
    yaml.DocumentStartEvent,
    yaml.DocumentEndEvent,
)


def _edit(source: str, old: dict[str, Any], new: dict[str, Any], body: str, what: str) -> str:
    """``source`` with only the lines of the keys whose values differ between ``old`` and ``new``
    replaced (a key the file lacks is added before the closing ``---``), and ``body`` after it.

    Where each key's lines are is read from the YAML parser's own marks, not guessed from the
    text, so quoted keys, ``? key`` entries, indented mappings, comments, anchors and multi-line
    values are all located exactly. A single-line scalar is changed in place, keeping the key's
    spelling, the quoting style and a trailing comment.
    """
    parts = _split(source)
    assert parts is not None
    text = parts.front_matter
    newline = "\r\n" if parts.opening.endswith("\r\n") else "\n"
    entries = _entries(text, what)
    indent = ""
    for entry in entries.values():  # a block mapping's keys all share the first one's column
        first = text[entry.start : entry.key_start]
        indent = first[: len(first) - len(first.lstrip())]
        break
    changes: list[tuple[int, int, str]] = []  # (start, stop, text) in the front matter
    additions = []
    order = list(new)
    for key in dict.fromkeys([*old, *new]):
        if not _differs(old, new, key):
            continue
        entry = entries.get(key)
        if entry is None:
            if key in new:
                added = _lines(_chunk(key, new[key]), indent, newline)
                # Unknown keys keep their order: one goes before the next unknown key the file
                # has. The feed's keys are added at the end, as one line each.
                following = [
                    entries[name]
                    for name in order[order.index(key) + 1 :]
                    if name in entries and name not in ARTICLE_KEYS
                ]
                if key not in ARTICLE_KEYS and following:
                    changes.append((following[0].start, following[0].start, added))
                else:
                    additions.append(added)
            continue
        elsewhere = frozenset().union(
            *(other.aliases for other in entries.values() if other is not entry)
        )
        used_elsewhere = entry.anchors & elsewhere
        if used_elsewhere:
            raise RenderError(
                f"{what}: other keys repeat its value as the YAML alias *{min(used_elsewhere)}"
            )
        replacement = _replacement(text, entry, new[key], indent, newline) if key in new else ""
        changes.append((entry.start, entry.end, replacement))
    if additions:
        last = max((entry.end for entry in entries.values()), default=0)
        marker = _DOCUMENT_END.search(text, last)
        at = marker.start() if marker else len(text)
        changes.append((at, at, "".join(additions)))
    out = []
    position = 0
    for start, stop, replacement in sorted(changes, key=lambda change: change[:2]):
        out.append(text[position:start])
        out.append(replacement)
        position = stop
    out.append(text[position:])
    return parts.opening + "".join(out) + parts.closing + body


def _entries(text: str, what: str) -> dict[str, _Entry]:
    """Each top-level key's span in the front matter, from the parser's events.

    A loop over the event stream with a depth counter: no recursion, however deep the values.
    """
    found = []  # (key event, value event, value end, anchors, aliases)
    depth = 0
    key = value = None
    anchors: set[str] = set()
    aliases: set[str] = set()
    for event in yaml.parse(text, Loader=_SafeLoader):
        if isinstance(event, _FRAME):
            continue
        if depth == 0:
            if not isinstance(event, yaml.MappingStartEvent) or event.flow_style:
                raise RenderError(f"{what}: the front matter is not written one key per line")
            depth = 1
        elif depth == 1 and key is None:
            if isinstance(event, yaml.MappingEndEvent):
                depth = 0
            elif isinstance(event, yaml.ScalarEvent):
                key = event
            else:  # refused by parsing already; never guessed at here
                raise RenderError(f"{what}: a top-level key is not plain text")
        else:
            if depth == 1:
                value, anchors, aliases = event, set(), set()
            if isinstance(event, yaml.AliasEvent):
                aliases.add(event.anchor)
            elif getattr(event, "anchor", None):
                anchors.add(event.anchor)
            if isinstance(event, _COLLECTION_START):
                depth += 1
            elif isinstance(event, _COLLECTION_END):
                depth -= 1
            if depth == 1:
                found.append(
                    (key, value, event.end_mark.index, frozenset(anchors), frozenset(aliases))
                )
                key = None
    entries: dict[str, _Entry] = {}
    previous = -1
    for number, (key, value, value_end, anchors, aliases) in enumerate(found):
        at = key.start_mark.index
        start = text.rfind("\n", 0, at) + 1
        if text[start:at].strip() not in ("", "?") or start <= previous:
            raise RenderError(f"{what}: the key {key.value!r} does not start its own line")
        previous = start
        stop = len(text)
        if number + 1 < len(found):
            following = found[number + 1][0].start_mark.index
            stop = text.rfind("\n", 0, following) + 1
        if isinstance(value, _COLLECTION_START) and not value.flow_style:
            # Up to the next key, less the blank lines and comments that lead into it.
            end = _trim(text, start, stop, comments=True, column=key.start_mark.column)
        else:
            end = _line_end(text, value_end)
            header = text[value.start_mark.index : _line_end(text, value.start_mark.index)]
            if getattr(value, "style", None) in ("|", ">") and "+" not in header:
                end = _trim(text, start, end, comments=False)  # "|+" keeps its trailing blanks
        end = max(end, _line_end(text, key.end_mark.index))
        entries[key.value] = _Entry(
            start, end, key.value, at, key.end_mark.index, value, value_end, anchors, aliases
        )
    return entries


def _line_end(text: str, index: int) -> int:
    """Just past the line break of the line holding ``index`` (itself, if it starts a line)."""
    if index > 0 and text[index - 1] == "\n":
        return index
    end = text.find("\n", index)
    return len(text) if end == -1 else end + 1


def _trim(text: str, start: int, end: int, *, comments: bool, column: int = 0) -> int:
    """``end`` moved back over trailing blank lines (and comment or ``...`` lines at ``column``
    or less, when ``comments``), never before the first line."""
    first_line_end = _line_end(text, start)
    while end > first_line_end:
        line_start = text.rfind("\n", 0, end - 1) + 1
        line = text[line_start:end]
        stripped = line.lstrip()
        if not stripped.strip() or (
            comments
            and len(line) - len(stripped) <= column
            and (stripped.startswith("#") or _DOCUMENT_END.match(stripped))
        ):
            end = line_start
        else:
            break
    return end


def _replacement(text: str, entry: _Entry, value: Any, indent: str, newline: str) -> str:
    old = entry.value
    old_style = getattr(old, "style", None)
    quote = old_style if old_style in ('"', "'") and isinstance(value, str) else None
    line_end = text.find("\n", entry.key_start) + 1 or len(text)
    value_start = old.start_mark.index
    if (
        isinstance(old, (yaml.ScalarEvent, yaml.AliasEvent))
        and old_style not in ("|", ">")
        and entry.key_end <= value_start < entry.value_end <= line_end
        and not isinstance(value, (dict, list))
    ):
        scalar = _scalar_text(value, quote)
        if scalar is not None:
            # Only the value's characters change: key spelling, spacing and comment stay.
            return text[entry.start : value_start] + scalar + text[entry.value_end : entry.end]
    if isinstance(old, _COLLECTION_START) and old.flow_style and isinstance(value, (dict, list)):
        chunk = yaml.dump(
            {entry.key: value},
            Dumper=_Dumper,
            sort_keys=False,
            allow_unicode=True,
            width=10_000,
            default_flow_style=True,
        )
        chunk = chunk.removeprefix("{").removesuffix("}\n") + "\n"  # a flow list stays flow
    else:
        chunk = _chunk(entry.key, value, quote)
    return _lines(chunk, indent, newline)


def _scalar_text(value: Any, quote: str | None) -> str | None:
    """``value`` as one line of YAML in the given quoting style, or ``None`` if it takes more."""
    dumped = _dump({"k": value}, quote)
    prefix = {None: "k: ", '"': '"k": ', "'": "'k': "}[quote]
    if not dumped.startswith(prefix) or dumped.count("\n") != 1:
        return None
    return dumped[len(prefix) : -1]


def _lines(chunk: str, indent: str, newline: str) -> str:
    """Dumped YAML lines, indented like the file's keys, in the file's line endings."""
    return newline.join(indent + line if line else line for line in chunk.split("\n"))


def image_to_dict(image: Image) -> dict[str, Any]:
    """An image as JSON-safe data, for storage; ``image_from_dict`` reverses it.

    Import calls this for every related item's images: no ``dataclasses.asdict`` deep copy."""
    data = {name: getattr(image, name) for name in _IMAGE_FIELDS}
    data["extra"] = [list(pair) for pair in image.extra]
    return data


_IMAGE_FIELDS = [image_field.name for image_field in dataclasses.fields(Image)]


def image_from_dict(data: dict[str, Any]) -> Image:
    return Image(**{**data, "extra": [tuple(pair) for pair in data.get("extra", [])]})


MERGE_FIELDS = (*ARTICLE_KEYS.values(), "extra", "body")


def document_fields(document: SeedDocument) -> dict[str, Any]:
    """The document's values by attribute name: the units a re-import merges one by one."""
    return {name: getattr(document, name) for name in MERGE_FIELDS}


def replace(document: SeedDocument, **changes: Any) -> SeedDocument:
    return dataclasses.replace(document, **changes)


def is_link_url(url: str) -> bool:
    """Whether a URL may become a link or an image source: http or https only."""
    return url[:8].lower().startswith(LINK_SCHEMES)


_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


def url_warnings(document: SeedDocument) -> list[str]:
    """One line per URL that is kept but will never be a link or image (``javascript:``,
    ``data:``, relative, ...), naming its key: accepted, but worth telling whoever sent it."""
    lines: list[str] = []
    for index, item in enumerate([document, *document.related]):
        prefix = f"related[{index - 1}]." if index else ""
        for name, url in zip(URL_KEYS, _URL_VALUES(item), strict=True):
            # Most URLs are spelled in lower case: startswith() first spares lower() for them.
            if url and not url.startswith(LINK_SCHEMES) and not is_link_url(url):
                lines.append(_url_warning(prefix + name, url, "a link"))
        for number, image in enumerate(item.images):
            if image.url and not image.url.startswith(LINK_SCHEMES) and not is_link_url(image.url):
                lines.append(_url_warning(f"{prefix}images[{number}].url", image.url, "an image"))
    return lines


_URL_VALUES = operator.attrgetter(*URL_KEYS.values())


def _url_warning(key: str, url: str, shown_as: str) -> str:
    scheme = _SCHEME.match(url)
    kind = f"{scheme.group().lower()} URL" if scheme else "URL without http(s)://"
    return f"{key}: {kind} is kept but will never be shown as {shown_as}"


@dataclass
class LoadedSeed:
    """One seed file read from disk: its key, hash, text and document, or why it failed."""

    path: str
    key: str
    digest: str = ""
    text: str = ""
    document: SeedDocument | None = None
    error: str = ""
    unchanged: bool = False
    warnings: list[str] = field(default_factory=list)  # "path: key: what" lines
    # What a parsing worker worked out for story clustering (``workers.story_clues``), so the
    # writer need not: the headline and the canonical URLs.
    clues: tuple | None = None


SYMLINK_REFUSED = "is a symbolic link; not imported"


def _read_regular_file(path: str, limit: int) -> bytes:
    """At most ``limit`` bytes of a regular file. A pipe, device or socket with a seed's name
    is refused: reading one could block forever (a FIFO) or never end (/dev/zero)."""
    try:
        # O_NOFOLLOW: a symbolic link swapped in after the folder was listed is refused too.
        descriptor = os.open(
            path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOFOLLOW", 0)
        )
    except OSError:
        if os.path.islink(path):
            raise SeedError(SYMLINK_REFUSED) from None
        raise
    with open(descriptor, "rb") as handle:
        status = os.fstat(descriptor)
        if not stat.S_ISREG(status.st_mode):
            raise SeedError("not a regular file (a pipe, device or socket): refused")
        # Asking for the file's size, not the limit, spares a limit-sized buffer per file (two
        # thirds of the reading time); a file that grew since it was measured is read on.
        data = handle.read(min(limit, status.st_size + 1))
        if len(data) > status.st_size:
            data += handle.read(limit - len(data))
        return data


def load(path: str, known_digest: str = "", max_bytes: int = MAX_FILE_BYTES) -> LoadedSeed:
    """Read, hash and parse one file; skip parsing if its hash is ``known_digest``.

    Import runs this in worker processes, which is why it lives here, away from Django.
    """
    key = key_of(path)
    try:
        validate_key(key)
        data = _read_regular_file(path, max_bytes + 1)
        digest = content_hash(data)
        if digest == known_digest:
            return LoadedSeed(path, key, digest, unchanged=True)
        document = parse(data, path, max_bytes=max_bytes)
        warnings = [f"{path}: {line}" for line in url_warnings(document)]
        return LoadedSeed(path, key, digest, data.decode("utf-8"), document, warnings=warnings)
    except SeedError as error:
        error.path = path
        return LoadedSeed(path, key, error=str(error))
    except OSError as error:
        return LoadedSeed(
            path, key, error=f"{path}: cannot read the file: {error.strerror or error}"
        )
    except Exception as error:  # whatever one file does is that file's failure, not the run's
        return LoadedSeed(path, key, error=unexpected_failure(path, "read", error))


def unexpected_failure(path: str, step: str, error: BaseException) -> str:
    """The report line of a file that raised something no check foresaw (a bug, or input
    nobody imagined): named, with the reason, so the run can go on with the other files."""
    lines = str(error).strip().splitlines()
    reason = lines[0][:200] if lines else ""
    detail = f"{type(error).__name__}: {reason}" if reason else type(error).__name__
    return f"{path}: could not be {step}: unexpected {detail}"
