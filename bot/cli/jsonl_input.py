r"""The JSON-lines article input shared by `newsbot match`, `summarize` and `preview`.

Each line is checked on its own: a line that is not UTF-8, not JSON, nested too deeply, has an
integer too long to read, a lone surrogate (``"\ud800"``), or is not an article object becomes
one ``line N: problem`` error; the other lines are still processed.
"""

from __future__ import annotations

import io
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, BinaryIO

from bot.domain.errors import NewsbotError
from bot.text.clean import html_to_text

MAX_ID_CHARS = 256
_TEXT_KEYS = ("title", "text", "html", "url", "lang", "published")


class InputError(NewsbotError):
    """A line of the articles file is not a usable article."""


@dataclass(frozen=True, slots=True)
class InputArticle:
    id: str
    title: str
    text: str
    url: str | None = None
    lang: str | None = None
    published: str | None = None


def _load(line: str, number: int) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"line {number}: not JSON ({exc.msg} at column {exc.colno})") from None
    except RecursionError:
        raise InputError(f"line {number}: JSON nested too deeply") from None
    except ValueError:  # Python refuses integers of more than 4,300 digits
        raise InputError(f"line {number}: a number has more than "
                         f"{sys.get_int_max_str_digits()} digits") from None


def _valid_text(value: str, number: int, key: str) -> str:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise InputError(f"line {number}: '{key}' contains a lone surrogate (like \\ud800), "
                         "which is not text") from None
    return value


def _article_id(data: dict[str, Any], number: int) -> str:
    raw = data.get("id", number)
    if isinstance(raw, bool) or not isinstance(raw, (str, int)):
        raise InputError(f"line {number}: 'id' must be a string or a whole number")
    text = _valid_text(str(raw), number, "id")
    if len(text) > MAX_ID_CHARS:
        raise InputError(f"line {number}: 'id' is {len(text)} characters long; the limit is "
                         f"{MAX_ID_CHARS}")
    return text


def parse_line(line: str, number: int) -> InputArticle:
    data = _load(line, number)
    if not isinstance(data, dict):
        raise InputError(f"line {number}: expected a JSON object, got a JSON "
                         f"{type(data).__name__}")
    for key in _TEXT_KEYS:
        if data.get(key) is not None:
            if not isinstance(data[key], str):
                raise InputError(f"line {number}: '{key}' must be a string")
            _valid_text(data[key], number, key)
    article_id = _article_id(data, number)
    text = data.get("text")
    if text is None and data.get("html") is not None:
        text = html_to_text(data["html"])
    if text is None and data.get("title") is None:
        raise InputError(f"line {number}: needs 'text' (or 'html') or 'title'")
    return InputArticle(
        id=article_id, title=data.get("title") or "", text=text or "",
        url=data.get("url"), lang=data.get("lang"), published=data.get("published"))


def _decode(raw: bytes, number: int) -> str:
    try:
        return raw.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError as exc:
        raise InputError(f"line {number}: not UTF-8 (invalid byte 0x{raw[exc.start]:02x} at "
                         f"byte {exc.start + 1})") from None


def read_articles(path: str | None, errors: list[str]) -> Iterator[InputArticle]:
    """Articles from a JSONL file or stdin ('-' or None); bad lines go to ``errors``."""
    stream: BinaryIO
    if path in (None, "-"):
        # a text stream without a byte buffer (an embedding that replaced sys.stdin) is read whole
        stream = getattr(sys.stdin, "buffer", None) or io.BytesIO(
            sys.stdin.read().encode("utf-8", "surrogatepass"))
    else:
        try:
            stream = open(path, "rb")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise InputError(f"{path}: {exc.strerror}") from exc
    try:
        for number, raw in enumerate(stream, start=1):
            if not raw.strip():
                continue
            try:
                yield parse_line(_decode(raw, number), number)
            except InputError as exc:
                errors.append(str(exc))
    finally:
        if stream is not getattr(sys.stdin, "buffer", None):
            stream.close()
