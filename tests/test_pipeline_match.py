"""The watchlist matcher: whole words, folding, case, context, exclusions, topics, evidence.

Sentences are our own, in English, French, German, Spanish and Italian.
"""

from __future__ import annotations

import dataclasses
import pickle

import pytest

from bot.domain.alert import Match
from bot.domain.watchlist import Company, Topic, Watchlist
from bot.pipeline.match import SENTENCE_REACH, compile_watchlist


def companies(text: str, *entries: Company, title: str = "") -> tuple[str, ...]:
    return compile_watchlist(Watchlist(companies=entries)).match(title, text).companies


def topics(text: str, *entries: Topic) -> tuple[str, ...]:
    return compile_watchlist(Watchlist(topics=entries)).match("", text).topics


GAP = Company("Gap")
META = Company("Meta", aliases=("Meta Platforms",))
NVIDIA = Company("Nvidia", aliases=("NVDA",))


@pytest.mark.parametrize("text", [
    "Gap cut its forecast after a weak quarter.",                      # en
    "Les ventes de Gap ont reculé au troisième trimestre.",            # fr
    "Die Aktie von Gap fiel nach der Prognose.",                       # de
    "Las tiendas de Gap cerrarán en marzo.",                           # es
    "Le vendite di Gap sono calate (dati di marzo).",                  # it
])
def test_whole_word_name_matches_in_five_languages(text: str) -> None:
    assert companies(text, GAP) == ("Gap",)


@pytest.mark.parametrize("text", [
    "Singapore raised rates again.",                                   # en
    "Les écarts (gaps) se creusent à Singapour.",                      # fr: "gaps"
    "Die Gaps im Datensatz wurden geschlossen.",                       # de
    "El metadata del archivo estaba vacío.",                           # es: meta inside a word
    "I metadati della foto rivelano la posizione.",                    # it
])
def test_name_inside_a_longer_word_never_matches(text: str) -> None:
    assert companies(text, GAP, META) == ()


def test_tickers_dotted_and_multiword_names() -> None:
    booking = Company("Booking Holdings", aliases=("Booking.com",))
    text = "NVDA rose while Booking.com and Meta Platforms fell."
    assert companies(text, NVIDIA, booking, META) == ("Nvidia", "Booking Holdings", "Meta")
    assert companies("Booking rooms is easy.", booking) == ()


@pytest.mark.parametrize("text", [
    "Nvidia's results beat estimates.",
    "Nvidia’s results beat estimates.",
    "Des start-ups Nvidia-backed lèvent des fonds.",
    "NVIDIA meldet Rekordumsatz.",
    "La empresa nvidia presentó su chip.",
])
def test_possessives_hyphens_and_case(text: str) -> None:
    assert companies(text, NVIDIA) == ("Nvidia",)


@pytest.mark.parametrize(("name", "text"), [
    ("Societe Generale", "Société Générale publie ses résultats."),
    ("Société Générale", "SOCIETE GENERALE cuts jobs."),
    ("L'Oréal", "L'ORÉAL rachète une marque coréenne."),
    ("L'Oréal", "L’Oreal steigert den Umsatz."),
    ("Telefónica", "Telefonica vende su filial."),
    ("Nestlé", "La NESTLE annuncia nuovi investimenti."),
    ("Müller", "Muller Milch expands."),
])
def test_accents_and_case_fold(name: str, text: str) -> None:
    assert companies(text, Company(name)) == (name,)


def test_length_changing_folds_keep_offsets_right() -> None:
    text = "Die Große Straße und die Straßenbahn: Straße AG ﬁnanziert Œuvre Groupe."
    wl = Watchlist(companies=(Company("Strasse AG"), Company("Oeuvre Groupe"),
                              Company("finanziert")))
    result = compile_watchlist(wl).match("", text)
    assert result.companies == ("Strasse AG", "finanziert", "Oeuvre Groupe")
    surfaces = [text[m.start:m.end] for m in result.matches]
    assert surfaces == ["Straße AG", "ﬁnanziert", "Œuvre Groupe"]


def test_combining_marks_and_soft_hyphens() -> None:
    text = "La Socie\u0301te\u0301 Ge\u0301ne\u0301rale et Nvi\u00addia."
    result = compile_watchlist(Watchlist(companies=(Company("Société Générale"), NVIDIA))).match(
        "", text)
    assert result.companies == ("Société Générale", "Nvidia")
    assert [text[m.start:m.end] for m in result.matches] == [
        "Socie\u0301te\u0301 Ge\u0301ne\u0301rale", "Nvi\u00addia"]


@pytest.mark.parametrize("text", [
    "Banco  Santander sube.",
    "Le groupe Banco\nSantander recule.",
    "Banco \t Santander sale.",
])
def test_whitespace_runs_and_line_breaks_inside_names(text: str) -> None:
    assert companies(text, Company("Banco Santander")) == ("Banco Santander",)


def test_names_exclusions_and_context_read_across_punctuation_elsewhere() -> None:
    """The matcher reads text first with the space runs punctuation leaves ("Société, the"),
    and again on single spaces where a name may run across one: both find the same."""
    wl = Watchlist(companies=(Company("Société Générale"),
                              Company("Mistral AI", aliases=("Mistral",),
                                      context=("open model",), exclude=("Mistral wind",))),
                   topics=(Topic("Layoffs", keywords=("job cuts",)),))
    matcher = compile_watchlist(wl)
    text = ("Société, the bank, and Mistral: wind farms. Société – Générale plans job  cuts; "
            "Mistral released an open  model.")
    result = matcher.match("", text)
    assert result.companies == ("Société Générale", "Mistral AI")
    assert result.topics == ("Layoffs",)
    assert [text[m.start:m.end] for m in result.matches] == [
        "Société – Générale", "job  cuts", "Mistral"]
    # with no run inside a name, the first reading is the only one
    plain = matcher.match("", "Société Générale, the bank, plans job cuts.")
    assert plain.companies == ("Société Générale",) and plain.topics == ("Layoffs",)


def test_multiword_name_does_not_span_a_sentence_break() -> None:
    santander = Company("Banco Santander")
    assert companies("He works at the Banco. Santander is a city.", santander) == ()


def test_case_sensitive_names() -> None:
    apple = Company("Apple", case_sensitive=True)
    assert companies("Apple sues a blogger.", apple) == ("Apple",)
    assert companies("Une tarte aux pommes, an apple pie.", apple) == ()
    assert companies("APPLE PIE RECIPE", apple) == ()
    # accents still fold for case-sensitive names, only case is kept
    orange = Company("Orangé", case_sensitive=True)
    assert companies("Orange baisse ses prix.", orange) == ("Orangé",)
    assert companies("Una camiseta orange.", orange) == ()


@pytest.mark.parametrize(("text", "expected"), [
    ("Mistral AI lève 600 millions d'euros.", ("Mistral AI",)),
    ("Mistral presenta un nuevo modelo LLM.", ("Mistral AI",)),
    ("Il Mistral, start-up francese, cresce.", ("Mistral AI",)),
    ("Der Mistral weht im Rhônetal.", ()),
    ("Un mistral violent souffle sur Marseille.", ()),
])
def test_context_words(text: str, expected: tuple[str, ...]) -> None:
    mistral = Company("Mistral AI", aliases=("Mistral",), context=("AI", "LLM", "start-up"))
    assert companies(text, mistral) == expected


def test_context_word_in_title_counts_and_is_whole_word() -> None:
    mistral = Company("Mistral AI", aliases=("Mistral",), context=("AI",))
    assert companies("Mistral announced a new model.", mistral, title="AI roundup") == (
        "Mistral AI",)
    assert companies("Mistral blew through the aisles.", mistral) == ()  # "ai" in "aisles"


def test_exclusions_apply_per_occurrence() -> None:
    mistral = Company("Mistral AI", aliases=("Mistral",), exclude=("mistral wind",))
    wl = Watchlist(companies=(mistral,))
    assert not compile_watchlist(wl).match("", "The Mistral wind was strong.")
    text = "The mistral wind was strong; Mistral still shipped its model."
    result = compile_watchlist(wl).match("", text)
    assert result.companies == ("Mistral AI",)
    assert [(m.start, text[m.start:m.end]) for m in result.matches] == [
        (text.index("Mistral still"), "Mistral")]


@pytest.mark.parametrize("text", [
    "Die Wahl fand am Tiananmen Square statt.",
    "Los turistas llenan Leicester Square.",
    "Sur la TIANANMEN-SQUARE, la foule.",
])
def test_exclusions_fold_like_names(text: str) -> None:
    square = Company("Square", exclude=("Tiananmen Square", "Leicester Square"))
    assert companies(text, square) == ()


@pytest.mark.parametrize(("text", "expected"), [
    ("The start-up secured a new investment.", ("Funding",)),              # en
    ("La société a levé des fonds lors d'un tour de table.", ("Funding",)),  # fr
    ("Das Unternehmen investiert 5 Mio. Euro.", ("Funding",)),             # de
    ("La empresa cerró una ronda de financiación.", ("Funding",)),         # es
    ("L'azienda ha chiuso un round di finanziamento.", ("Funding",)),      # it
    ("Ils veulent réinvestir les gains.", ()),           # the * extends words, not their starts
    ("Il tour de France commence.", ()),                                     # phrase needed whole
])
def test_topic_keywords_with_star_and_phrases(text: str, expected: tuple[str, ...]) -> None:
    funding = Topic("Funding", keywords=(
        "invest*", "levé des fonds", "tour de table", "ronda de financiación",
        "round di finanziamento"))
    assert topics(text, funding) == expected


def test_topic_prefix_reports_the_whole_word() -> None:
    wl = Watchlist(topics=(Topic("M&A", keywords=("acqui*", "Übernahme*")),))
    text = "Nach der Übernahmeschlacht: acquisitions everywhere."
    result = compile_watchlist(wl).match("", text)
    assert [text[m.start:m.end] for m in result.matches] == ["Übernahmeschlacht", "acquisitions"]
    assert all(m.alias in ("acqui*", "Übernahme*") for m in result.matches)


def test_evidence_offsets_fields_and_sentences() -> None:
    wl = Watchlist(companies=(NVIDIA, Company("Société Générale")),
                   topics=(Topic("Funding", keywords=("invest*",)),))
    title = "Nvidia’s big week"
    text = ("Markets were calm. Société  Générale said it would invest in chips!\n"
            "Analysts expect more from NVDA.")
    result = compile_watchlist(wl).match(title, text)
    assert result.companies == ("Nvidia", "Société Générale")
    assert result.topics == ("Funding",)
    fields = {"title": title, "text": text}
    rows = [(m.kind, m.name, m.alias, m.field, fields[m.field][m.start:m.end], m.sentence)
            for m in result.matches]
    assert rows == [
        ("company", "Nvidia", "Nvidia", "title", "Nvidia", "Nvidia’s big week"),
        ("company", "Société Générale", "Société Générale", "text", "Société  Générale",
         "Société  Générale said it would invest in chips!"),
        ("topic", "Funding", "invest*", "text", "invest",
         "Société  Générale said it would invest in chips!"),
        ("company", "Nvidia", "NVDA", "text", "NVDA", "Analysts expect more from NVDA."),
    ]


def test_matches_are_plain_match_values() -> None:
    """The matcher builds its Matches without the dataclass constructor (for speed): they are
    the same values, frozen, and serialise the same."""
    text = "Markets were calm. Nvidia said it would invest."
    wl = Watchlist(companies=(NVIDIA,), topics=(Topic("Funding", keywords=("invest*",)),))
    found = compile_watchlist(wl).match("", text).matches
    built = (Match("company", "Nvidia", "Nvidia", "text", 19, 25, text[19:], ()),
             Match("topic", "Funding", "invest*", "text", 40, 46, text[19:], ()))
    assert found == built
    assert [type(m) for m in found] == [Match, Match]
    assert [m.to_dict() for m in found] == [m.to_dict() for m in built]
    assert {hash(m) for m in found} == {hash(m) for m in built}
    with pytest.raises(dataclasses.FrozenInstanceError):
        found[0].name = "Apple"  # type: ignore[misc]


def test_alias_inside_a_longer_alias_counts_once() -> None:
    wl = Watchlist(companies=(Company("Mistral AI", aliases=("Mistral",)),))
    result = compile_watchlist(wl).match("", "Mistral AI ships.")
    assert [(m.alias, m.start, m.end) for m in result.matches] == [("Mistral AI", 0, 10)]


def test_shared_alias_reports_both_companies_and_emoji_do_not_shift_offsets() -> None:
    wl = Watchlist(companies=(Company("Alpha One", aliases=("AO",)),
                              Company("Alpha Two", aliases=("AO",))))
    text = "🚀🚀 AO🚀 rallies"
    result = compile_watchlist(wl).match("", text)
    assert result.companies == ("Alpha One", "Alpha Two")
    assert {text[m.start:m.end] for m in result.matches} == {"AO"}


def test_empty_inputs_and_empty_watchlist() -> None:
    assert not compile_watchlist(Watchlist()).match("Nvidia", "Nvidia")
    assert not compile_watchlist(Watchlist(companies=(NVIDIA,))).match("", "")


def test_compiled_once_per_distinct_watchlist() -> None:
    wl = Watchlist(companies=(Company("Zeta Labs"),))
    same = Watchlist(companies=(Company("Zeta Labs"),))
    assert compile_watchlist(wl) is compile_watchlist(wl)
    assert compile_watchlist(same) is compile_watchlist(wl)
    other = Watchlist(companies=(Company("Zeta Labs", aliases=("Zeta",)),))
    assert compile_watchlist(other) is not compile_watchlist(wl)
    assert compile_watchlist(other).match("", "Zeta grows").companies == ("Zeta Labs",)


@pytest.mark.parametrize("text", [
    "Plain ASCII, with punctuation; and numbers 3.5%.",
    "Mostly ASCII with a curly quote: Nvidia’s café in Zürich.",
    "Κυρίως ελληνικά κείμενα με λίγο ASCII και 🚀 emoji.",
    "Große Straße ﬁnance Œuvre e\u0301 soft\u00adhyphen 𝐀𝐁𝐂 ½ ™",
    "Mostly ASCII: die Größe der Straße, „Zitat“ – Œuvre™ ½ … and ĳ.",
    "Mostly ASCII with one soft\u00adhyphen and one e\u0301 among plain words here.",
    "Mostly ASCII with Ελλάς and Кремль inside an otherwise English sentence.",
    "News punctuation and Latin letters: ‘a’ “b” – — … • „c“ ‹d› "
    + " ".join(chr(cp) for cp in range(0xA0, 0x180) if cp != 0xAD),
    "Mostly ASCII: Łódź’s Škoda, İstanbul, Straße, ĳ, Œuvre and Ǆ in one English sentence.",
])
def test_folding_paths_agree(text: str) -> None:
    from bot.text.fold import _tables, fold

    table = _tables()[0]
    assert fold(text) == "".join(table[ord(ch)] for ch in text)


def test_match_offsets_round_trip_on_mixed_scripts() -> None:
    wl = Watchlist(companies=(Company("Alpha Bank"), Company("Ελληνικά Δίκτυα")))
    text = "Η 𝐀 Große‐Straße 🚀 ALPHA  BANK’s και ΕΛΛΗΝΙΚΆ\nΔΊΚΤΥΑ."
    result = compile_watchlist(wl).match("", text)
    assert [text[m.start:m.end] for m in result.matches] == ["ALPHA  BANK", "ΕΛΛΗΝΙΚΆ\nΔΊΚΤΥΑ"]


def test_offsets_stay_right_after_many_length_changing_characters_in_ascii_text() -> None:
    wl = Watchlist(companies=(Company("Alpha Bank"), Company("Zeta")), topics=(
        Topic("Funding", ("invest*",)),))
    text = ("Die Größe der Straße ﬁel auf. “ALPHA  BANK’s” Œuvre™ ½ stieg; "
            "Zeta-backed investors met… Straße, Größe: Zeta.")
    result = compile_watchlist(wl).match("Größe: Alpha Bank", text)
    assert [(m.field, (text if m.field == "text" else "Größe: Alpha Bank")[m.start:m.end])
            for m in result.matches] == [
        ("title", "Alpha Bank"), ("text", "ALPHA  BANK"), ("text", "Zeta"),
        ("text", "investors"), ("text", "Zeta")]


def test_each_hit_gets_its_own_sentence() -> None:
    wl = Watchlist(companies=(Company("Zeta"), Company("Alpha Bank")),
                   topics=(Topic("Funding", ("invest*",)),))
    text = ('Zeta and Alpha Bank invest. "Zeta rose!" Alpha Bank fell?\n'
            "Zeta (invest) said\n\nZeta.")
    sentences = [(text[m.start:m.end], m.sentence)
                 for m in compile_watchlist(wl).match("", text).matches]
    assert sentences == [
        ("Zeta", "Zeta and Alpha Bank invest."), ("Alpha Bank", "Zeta and Alpha Bank invest."),
        ("invest", "Zeta and Alpha Bank invest."), ("Zeta", '"Zeta rose!"'),
        ("Alpha Bank", "Alpha Bank fell?"), ("Zeta", "Zeta (invest) said"),
        ("invest", "Zeta (invest) said"), ("Zeta", "Zeta.")]


def test_sentences_read_late_in_any_order_or_after_a_copy_are_the_same() -> None:
    """A Match's sentence is found when first read: read last to first, through a pickle, or
    only via ==, hash and JSON, each match still carries the sentence it sits in."""
    wl = Watchlist(companies=(Company("Zeta"), Company("Alpha Bank")),
                   topics=(Topic("Funding", ("invest*",)),))
    text = ('Zeta and Alpha Bank invest. "Zeta rose!" Alpha Bank fell?\n'
            "Zeta (invest) said\n\nZeta.")
    expected = ["Zeta and Alpha Bank invest.", "Zeta and Alpha Bank invest.",
                "Zeta and Alpha Bank invest.", '"Zeta rose!"', "Alpha Bank fell?",
                "Zeta (invest) said", "Zeta (invest) said", "Zeta."]
    matcher = compile_watchlist(wl)
    backwards = matcher.match("", text).matches
    assert [m.sentence for m in reversed(backwards)] == expected[::-1]
    copied = pickle.loads(pickle.dumps(matcher.match("", text).matches))
    assert [m.sentence for m in copied] == expected
    unread = matcher.match("", text).matches
    built = tuple(dataclasses.replace(m, sentence=s) for m, s in zip(backwards, expected,
                                                                      strict=True))
    assert {hash(m) for m in unread} == {hash(m) for m in built}
    assert [m.to_dict()["sentence"] for m in matcher.match("", text).matches] == expected
    assert matcher.match("", text).matches == built


def test_exclusions_at_the_edges_and_per_field() -> None:
    square = Company("Square", aliases=("Block",), exclude=("Times Square", "Square Garden",
                                                            "city block"))
    wl = Watchlist(companies=(square,))
    text = "Times Square. Square Garden and a city block; Square earnings, Block shares"
    result = compile_watchlist(wl).match("Times Square crowds", text)
    assert [(m.field, text[m.start:m.end]) for m in result.matches] == [
        ("text", "Square"), ("text", "Block")]
    assert [m.start for m in result.matches] == [text.index("Square earnings"),
                                                 text.index("Block shares")]
    assert not compile_watchlist(wl).match("Square Garden", "Times Square")


def test_context_words_match_by_prefix_and_weigh_in_from_the_title() -> None:
    orange = Company("Orange", context=("telecom*", "réseau"))
    assert companies("Orange gagne des clients télécoms.", orange) == ("Orange",)
    assert companies("Orange extends its réseaux.", orange) == ("Orange",)  # 4+ letters: prefix
    assert companies("Orange juice and lemons.", orange) == ()
    assert companies("Orange juice.", orange, title="Telecoms") == ("Orange",)
    assert companies("Orangeade and Orangery.", orange) == ()  # the name itself: whole words


def test_a_text_without_full_stops_gives_each_hit_a_window_not_the_whole_text() -> None:
    """A hostile 100,000-character "sentence": each hit's sentence (what ``why`` and the alert
    show, and what the scoring reads) is the words within SENTENCE_REACH of it, cut at spaces,
    and a context word next to the name still counts; a real sentence is untouched."""
    shell = Company("Shell", case_sensitive=True, context=("profits",))
    filler = "and more words here " * 5_000
    text = f"{filler}Shell said profits rose {filler}"
    matches = compile_watchlist(Watchlist(companies=(shell,))).match("", text).matches
    assert [m.name for m in matches] == ["Shell"]
    sentence = matches[0].sentence
    assert "Shell said profits rose" in sentence
    assert len(sentence) <= 2 * SENTENCE_REACH + len("Shell")
    assert sentence.split()[0] in ("and", "more", "words", "here")  # whole words at both cuts
    assert sentence.split()[-1] in ("and", "more", "words", "here")
    assert sentence == sentence.strip()
    plain = "Shell said profits rose. Next sentence."
    assert compile_watchlist(Watchlist(companies=(shell,))).match("", plain).matches[0].sentence \
        == "Shell said profits rose."
