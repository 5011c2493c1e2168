"""Pure text helpers: case and accent folding (fold), HTML to text and feed boilerplate out
(clean), sentence splitting (sentences), control characters out and truncation (truncate)."""

from bot.text.clean import html_to_text, strip_boilerplate
from bot.text.fold import fold_term
from bot.text.sentences import split_sentences
from bot.text.truncate import strip_controls

__all__ = ["fold_term", "html_to_text", "split_sentences", "strip_boilerplate",
           "strip_controls"]
