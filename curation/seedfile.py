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
# Column sizes of the database fields these keys land in.
MAX_URL_LENGTH = 2048
MAX_LABEL_LENGTH = 200

URL_KEYS = {
    "originalUrl": "original_url",
    "webUrl": "web_url",
    "ampWebUrl": "amp_web_url",
    "cdnAmpWebUrl": "cdn_amp_web_url",
    "sourceUrl": "source_url",
    "ampUrl": "amp_url",
    "cdnAmpUrl": "cdn_amp_url",
}

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


def _check_event_count(front_matter: str, offset: int) -> None:
    try:
        for count, event in enumerate(yaml.parse(front_matter, Loader=_SafeLoader)):
            if count > MAX_YAML_EVENTS:
                raise SeedError(
                    f"the front matter holds more than {MAX_YAML_EVENTS:,} YAML values",
                    line=event.start_mark.line + offset,
                )
    except yaml.YAMLError:
        return  # loading reports it, with its line


def _load_yaml(front_matter: str, offset: int) -> dict[str, Any]:
    if len(front_matter) > _COUNT_EVENTS_FROM:
        _check_event_count(front_matter, offset)
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


def _list(value: Any, key: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise SeedError(f"must be a list, got {_type_name(value)} {_short(value)}", key=key)
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
    for index, item in enumerate(_list(value, key)):
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
    for index, item in enumerate(_list(value, "related")):
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
    for index, item in enumerate(_list(value, "topics")):
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
        quality=_integer(mapping.get("quality"), "quality"),
        heat=_integer(mapping.get("heat"), "heat"),
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


def render(document: SeedDocument, source: str | None = None) -> str:
    """Render a document as seed-file text.

    With the ``source`` text it was imported from, the result is that text with only the changed
    keys' lines replaced, so a reviewer sees a one-line diff for a one-field edit; unchanged
    documents come back byte for byte. Without a source, or when a minimal edit cannot reproduce
    the document exactly, the canonical rendering is used.
    """
    if source is None:
        return render_canonical(document)
    try:
        original = _parse(source.encode("utf-8"), max_bytes=len(source) * 4 + 1)
    except SeedError:
        return render_canonical(document)
    if original == document:
        return source
    if original.has_front_matter:
        edited = _edit(source, to_mapping(original), to_mapping(document), document.body)
        if edited is not None:
            try:
                if _parse(edited.encode("utf-8"), max_bytes=len(edited) * 4 + 1) == document:
                    return edited
            except SeedError:
                pass
    return render_canonical(document)


def _edit(source: str, old: dict[str, Any], new: dict[str, Any], body: str) -> str | None:
    parts = _split(source)
    assert parts is not None
    newline = "\r\n" if parts.opening.endswith("\r\n") else "\n"
    lines = parts.front_matter.splitlines(keepends=True)
    extents = _extents(lines)
    if extents is None:
        return None
    replacements: dict[int, tuple[int, str]] = {}
    additions = []
    for key in dict.fromkeys([*old, *new]):
        if old.get(key) == new.get(key):
            continue
        if key in extents:
            start, stop = extents[key]
            text = ""
            if key in new:
                first = lines[start][len(key) + 1 :].lstrip()
                text = _chunk(key, new[key], {'"': '"', "'": "'"}.get(first[:1]))
            replacements[start] = (stop, text.replace("\n", newline))
        else:
            additions.append(_chunk(key, new[key]).replace("\n", newline))
    out = []
    index = 0
    while index < len(lines):
        if index in replacements:
            index, text = replacements[index]
            out.append(text)
        else:
            out.append(lines[index])
            index += 1
    if additions and out and not out[-1].endswith("\n"):
        out[-1] += newline
    out.extend(additions)
    return parts.opening + "".join(out) + parts.closing + body


def _extents(lines: list[str]) -> dict[str, tuple[int, int]] | None:
    """Map each top-level key to the lines holding it; ``None`` if the layout is unusual."""
    starts = []
    for number, line in enumerate(lines):
        if line[:1] in ("", " ", "\t", "#", "\r", "\n"):
            continue
        key = _top_level_key(line)
        if key is None or line[:1] in "\"'":
            return None
        starts.append((number, key))
    extents: dict[str, tuple[int, int]] = {}
    for position, (number, key) in enumerate(starts):
        stop = starts[position + 1][0] if position + 1 < len(starts) else len(lines)
        while stop > number + 1 and (
            not lines[stop - 1].strip() or lines[stop - 1].startswith("#")
        ):
            stop -= 1
        if key in extents:
            return None
        extents[key] = (number, stop)
    return extents


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


def _read_regular_file(path: str, limit: int) -> bytes:
    """At most ``limit`` bytes of a regular file. A pipe, device or socket with a seed's name
    is refused: reading one could block forever (a FIFO) or never end (/dev/zero)."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
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
        return LoadedSeed(path, key, digest, data.decode("utf-8"), document)
    except SeedError as error:
        error.path = path
        return LoadedSeed(path, key, error=str(error))
    except OSError as error:
        return LoadedSeed(
            path, key, error=f"{path}: cannot read the file: {error.strerror or error}"
        )
