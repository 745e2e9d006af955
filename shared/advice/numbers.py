"""Which numbers a text states, and which of them no figure backs (the check every worded advice passes).

The rule, strict on purpose (a language model must not be able to slip a number past it):

- Every digit sequence in the text is a number and must be traceable: counts, amounts, percentages, ordinals
  ("3rd" is 3), ranks ("top 3" is 3), years, the parts of a time ("14:30" is 14 and 30). Dates written
  ISO-style (2026-12-03) are one token and compare as dates.
- A number is traceable when it equals, after normalisation, the `value` of one of the figures or of the
  impact. Normalisation: thousands separators go ("1,234.50" is 1234.5), trailing zeros go ("12.50" is 12.5),
  currency signs, codes and "%" are not part of the number ("€1,234.50", "12.50 EUR" and "12 %" compare by
  1234.5, 12.5 and 12), and the sign is not compared (prose says "fell 5 %" for a change of -5).
  A decimal comma is not understood: "12,50" is the two numbers 12 and 50 (and fails unless both are figures);
  "1 000 000", "1'000" and "1.000.000" are read whole (the last as no valid number: always untraceable).
- A date is also traceable when it is a bound of a figure's `period` ("2026-10-01/2026-10-31"): saying
  which period a figure covers restates the figure.
- Spelled-out magnitudes ("million", "thousand", "dozen", ...) are always untraceable: a figure is quoted
  as digits. Small counting words ("one", "two", ... "ten") are prose and are not checked.
- `quoted` strings (a product title, the store's name: data the text may name) are cut out of the text
  before it is read, so "Mug 2000" naming a product is not the number 2000; anything outside an exact quote
  is read, so a title cannot lend its digits to the prose around it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from shared.advice.evidence import Figure, Impact

_DATE = r"\d{4}-\d{2}-\d{2}(?!\d)"
# Thousands separated by a comma, an apostrophe or a (no-break, thin) space are one number; so is a dotted
# run ("1.000.000", "3.2.1"), which is no decimal at all and so can never equal a figure.
_SEP = "[,'\u2019 \u00a0\u202f]"
_GROUPED = rf"\d{{1,3}}(?:{_SEP}\d{{3}})+(?:\.\d+)?(?!{_SEP}?\d)"
_PLAIN = r"\d+(?:\.\d+)*|\.\d+"
_TOKEN = re.compile(rf"(?P<date>{_DATE})|(?P<number>{_GROUPED}|{_PLAIN})")
_MAGNITUDES = re.compile(
    r"\b(?:hundreds?|thousands?|millions?|billions?|trillions?|dozens?|lakhs?|crores?)\b", re.IGNORECASE
)


@dataclass(frozen=True)
class StatedNumber:
    """One number as the text writes it (`raw`) and its comparable form (`key`)."""

    raw: str
    key: str
    is_date: bool


def _number_key(raw: str) -> str:
    try:
        value = abs(Decimal(re.sub(_SEP, "", raw)))
    except InvalidOperation:
        return raw
    if value == 0:
        return "0"
    normal = value.normalize()
    return f"{normal:f}"


def extract_numbers(text: str) -> list[StatedNumber]:
    """Every number the text states, in order (dates as one token each)."""
    out: list[StatedNumber] = []
    for match in _TOKEN.finditer(text):
        if match.group("date"):
            out.append(StatedNumber(match.group("date"), match.group("date"), True))
        else:
            raw = match.group("number")
            out.append(StatedNumber(raw, _number_key(raw), False))
    return out


def _value_keys(value: str) -> set[str]:
    keys = {n.key for n in extract_numbers(value)}
    return keys or {value.strip()}


def traceable_keys(figures: Iterable[Figure], impact: Impact | None = None) -> set[str]:
    """The normalised values a text may state: figure and impact values, and the dates bounding periods."""
    keys: set[str] = set()
    for figure in figures:
        keys |= _value_keys(figure.value)
        keys |= {n.key for n in extract_numbers(figure.period) if n.is_date}
    if impact is not None:
        keys |= _value_keys(impact.value)
    return keys


def _without_quotes(text: str, quoted: Sequence[str]) -> str:
    for quote in sorted((q for q in quoted if q.strip()), key=len, reverse=True):
        text = text.replace(quote, " ")
    return text


def untraceable_numbers(text: str, figures: Iterable[Figure], impact: Impact | None = None, *,
                        quoted: Sequence[str] = ()) -> list[str]:
    """The numbers (as written) in `text` that equal no figure or impact value; empty = the text is clean."""
    body = _without_quotes(text, quoted)
    allowed = traceable_keys(figures, impact)
    bad = [n.raw for n in extract_numbers(body) if n.key not in allowed]
    bad += [m.group(0) for m in _MAGNITUDES.finditer(body)]
    return bad
