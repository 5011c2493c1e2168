"""The JSON-lines article input shared by `newsbot match`, `summarize` and `preview`."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TextIO

from .errors import NewsbotError
from .pipeline.clean import html_to_text


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


def parse_line(line: str, number: int) -> InputArticle:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise InputError(f"line {number}: not JSON ({exc.msg})") from exc
    if not isinstance(data, dict):
        raise InputError(f"line {number}: expected a JSON object")
    for key in ("title", "text", "html", "url", "lang", "published"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise InputError(f"line {number}: '{key}' must be a string")
    text = data.get("text")
    if text is None and data.get("html") is not None:
        text = html_to_text(data["html"])
    if text is None and data.get("title") is None:
        raise InputError(f"line {number}: needs 'text' (or 'html') or 'title'")
    return InputArticle(
        id=str(data.get("id", number)), title=data.get("title") or "", text=text or "",
        url=data.get("url"), lang=data.get("lang"), published=data.get("published"))


def read_articles(path: str | None, errors: list[str]) -> Iterator[InputArticle]:
    """Articles from a JSONL file or stdin ('-' or None); bad lines go to ``errors``."""
    stream: TextIO
    if path in (None, "-"):
        stream = sys.stdin
    else:
        try:
            stream = open(path, encoding="utf-8")  # noqa: SIM115 - closed below
        except OSError as exc:
            raise InputError(f"{path}: {exc.strerror}") from exc
    try:
        for number, line in enumerate(stream, start=1):
            if not line.strip():
                continue
            try:
                yield parse_line(line, number)
            except InputError as exc:
                errors.append(str(exc))
    finally:
        if stream is not sys.stdin:
            stream.close()
