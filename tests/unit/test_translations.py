"""Every text a person reads goes through the translation functions, and has a Danish version.

The template check reads each template with Jinja's own lexer: text outside `{% trans %}`
blocks and outside expressions, and the readable attributes of its HTML (title, alt,
placeholder, aria-label), must hold no words; nor may a string in an expression that reads as
a sentence, unless it is the argument of `_()`. The catalogue check extracts every message
from the code and templates as `make extract-messages` does, and wants a Danish translation
of each in translations/da.
"""

from __future__ import annotations

import ast
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from jinja2 import Environment

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "templates"
CATALOGUE = ROOT / "translations" / "da" / "LC_MESSAGES" / "messages.po"
KEYWORDS = {
    "_": None,
    "gettext": None,
    "ngettext": (1, 2),
    "pgettext": ((1, "c"), 2),
    "npgettext": ((1, "c"), 2, 3),
    "lazy_gettext": None,
    "_l": None,
    "N_": None,
}
# Names that read the same in every language.
UNTRANSLATED = {"Lindring", "English", "Dansk", "iCalendar", "CSV", "JSON", "API", "TOTP"}
READABLE_ATTRIBUTES = {"title", "alt", "placeholder", "aria-label"}
HOLE = "\ufffc"  # stands for whatever Jinja puts there
TRANSLATORS = {"_", "gettext", "ngettext", "pgettext", "npgettext"}
SENTENCE = re.compile(r"^[A-Z][a-z]+(?:[ .,:;!?)]|$)|\b[a-z]{2,} [a-z]{2,} [a-z]{2,}\b")


def skeleton(source: str) -> tuple[str, list[str]]:
    """The template's own text with every Jinja construct (and trans block) replaced by HOLE,
    and the strings in its expressions that read as sentences outside `_()`."""
    env = Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    parts: list[str] = []
    sentences: list[str] = []
    in_trans = False
    previous: list[str] = []  # the last tokens of the current tag, to see `_(` before a string
    for _, kind, value in env.lex(source):
        if kind == "whitespace":
            continue
        if kind == "data":
            parts.append(HOLE if in_trans else value)
            continue
        if kind in ("block_begin", "variable_begin", "comment_begin"):
            previous = []
            parts.append(HOLE)
            continue
        if kind == "name" and not previous:  # the first word of a tag
            if value in ("trans", "pluralize"):
                in_trans = True
            elif value == "endtrans":
                in_trans = False
        if kind == "string" and not in_trans:
            value = ast.literal_eval(value)
            called = previous[-2:]
            translated = len(called) == 2 and called[1] == "(" and called[0] in TRANSLATORS
            if SENTENCE.search(value) and not translated and "-" not in value and "_" not in value:
                sentences.append(value)
        previous.append(value if kind in ("name", "operator") else kind)
    return "".join(parts), sentences


class VisibleText(HTMLParser):
    """Collects the words a reader would see, from a skeleton."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._hidden += 1
        for name, value in attrs:
            if name in READABLE_ATTRIBUTES and value:
                self._check(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style"):
            self._hidden -= 1

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self._check(data)

    def _check(self, text: str) -> None:
        for piece in text.split(HOLE):
            words = [w for w in re.findall(r"[^\W\d_]+", piece) if w not in UNTRANSLATED]
            if words:
                self.found.append(piece.strip())


def untranslated(source: str) -> list[str]:
    """Every piece of readable text in a template that no translation function holds."""
    text, sentences = skeleton(source)
    parser = VisibleText()
    parser.feed(text)
    parser.close()
    return parser.found + sentences


def template_names() -> list[str]:
    return sorted(
        str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*") if p.suffix in (".html", ".txt")
    )


@pytest.mark.parametrize("name", template_names())
def test_every_text_of_the_template_is_translated(name: str) -> None:
    found = untranslated((TEMPLATES / name).read_text(encoding="utf-8"))
    assert not found, f"{name} shows text outside _() or trans: " + " | ".join(found)


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("<p>Hello</p>", ["Hello"]),
        ("<p>{{ _('Hello') }}</p>", []),
        ("<p>{% trans %}Hello {{ name }}{% endtrans %}</p>", []),
        ('<img alt="A map" src="x.png">', ["A map"]),
        ('<img alt="{{ _("A map") }}" src="x.png">', []),
        ("<p>{{ 'Yes' if ok else 'No' }}</p>", ["Yes", "No"]),
        ("<p class=\"{{ 'text-bg-success' }}\">{{ n }} · Lindring</p>", []),
        ("{# A comment is for us #}<b>{{ x }}</b>", []),
        ("Dear {{ name }},", ["Dear"]),
    ],
)
def test_the_check_finds_text_outside_the_translation_functions(source, found):
    assert untranslated(source) == found


def extracted_messages() -> set[str]:
    """Every message id in the code and the templates, as `make extract-messages` finds them."""
    method_map = [
        ("clinic/**.py", "python"),
        ("templates/**.html", "jinja2"),
        ("templates/**.txt", "jinja2"),
    ]
    found = set()
    for _filename, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, keywords=KEYWORDS
    ):
        found.add(message[0] if isinstance(message, tuple) else message)
    return found


def test_every_message_has_a_danish_translation() -> None:
    with CATALOGUE.open("rb") as handle:
        catalogue = read_po(handle, locale="da")
    danish = {}
    for message in catalogue:
        if not message.id or message.fuzzy:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        danish[key] = all(strings)
    messages = extracted_messages()
    assert len(messages) >= 3  # the extraction found the code's messages
    missing = sorted(m for m in messages if not danish.get(m))
    assert missing == [], (
        f"{len(missing)} messages have no Danish translation: make extract-messages"
    )
