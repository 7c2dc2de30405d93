"""Charts: every chart from a hand-made published release and from a release of the real pipeline.

Checks the output contract (PNG, SVG, alt text beside each, ``charts.json``), that alt text is one
or two short sentences and the long description never repeats it, that alt text quotes only
published numbers, that every text on every chart meets WCAG 2.2 AA contrast and every series
colour 3:1, that ``[c]``/``[x]`` are gaps and never zeros, that unrounded tables are refused, and
that the same inputs give byte-identical files.
"""

from __future__ import annotations

import json
import re
import struct
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from matplotlib import font_manager
from matplotlib.collections import LineCollection
from matplotlib.colors import to_hex, to_rgba
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.offsetbox import AnnotationBbox
from matplotlib.patches import Rectangle
from matplotlib.text import Text

from cldstats.publication import chart_data, chart_drawing, chart_text, charts
from cldstats.publication.charts import AF_PALETTE, ALT_TEXT_MAX, CHART_NAMES, make_charts
from cldstats.reference import statements
from cldstats.reference.statements import MethodFacts

#: The default method (rounding to 5, 1 to 4 suppressed, 365-day look-back) the hand-made cells follow.
FACTS = MethodFacts()

FRAMES = ("long_term_support", "long_term_support_rates", "assessments")

DATES = ("2023-04-30", "2023-05-31", "2023-06-30")
ENGLAND = ("England", "E92000001", "England")
REGIONS = {  # code: (name, councils_included)
    "E12000001": ("North East", "2 of 2"),
    "E12000007": ("London", "1 of 2"),
    "E12000008": ("South East", "1 of 1"),
}
# code, name, region, latest rate, councils_included
COUNCILS = [
    ("E06000001", "Alpha", "E12000001", "40", "1 of 1"),
    ("E06000002", "Beta", "E12000001", "32", "1 of 1"),
    ("E09000003", "Gamma", "E12000007", "27", "1 of 1"),
    ("E09000004", "Delta", "E12000007", "[x]", "0 of 1"),
    ("E06000005", "Epsilon", "E12000008", "[c]", "1 of 1"),
]
TREND = {  # England, breakdown All, one value per month end
    "All": ("13520", "13600", "13825"),
    "Community": ("9700", "9750", "9900"),
    "Residential care": ("2700", "2720", "2780"),
    "Nursing care": ("1110", "1125", "1140"),
    "Prison": ("10", "[c]", "5"),
}
AGE = {  # latest month end, England, by setting
    "All": ("445", "2290", "2230", "870", "4455", "2920", "590"),
    "Community": ("390", "2050", "1990", "845", "2880", "1335", "345"),
    "Residential care": ("45", "185", "205", "20", "1050", "1115", "175"),
    "Nursing care": ("[c]", "50", "35", "5", "525", "475", "70"),
    "Prison": ("0", "[c]", "[c]", "0", "[c]", "0", "0"),
}
ETHNICITY = ("840", "630", "[c]", "11605", "140", "435")  # in chart_data.ETHNICITY_GROUPS order
ASSESSED = ("1015", "[c]", "925")
ASSESSED_TOTAL = "1945"


def _lts_row(date, area, setting, breakdown, value, councils="3 of 5"):
    level, code, name = area
    return {"reference_date": date, "area_level": level, "area_code": code, "area_name": name,
            "support_setting": setting, "breakdown": breakdown[0], "breakdown_value": breakdown[1],
            "value": value, "flags": "p", "councils_included": councils}


def hand_made_release() -> dict[str, pd.DataFrame]:
    """A tiny published release: three month ends, three regions, five councils, strings only."""
    latest = DATES[-1]
    lts = [_lts_row(d, ENGLAND, s, ("All", "All"), v[i]) for s, v in TREND.items() for i, d in enumerate(DATES)]
    lts += [_lts_row(latest, ENGLAND, s, ("Age band", band), v[i])
            for s, v in AGE.items() for i, band in enumerate(chart_data.AGE_BANDS)]
    lts += [_lts_row(latest, ENGLAND, s, ("Age band", "Unknown"), "20") for s in ("All",)]
    lts += [_lts_row(latest, ENGLAND, "All", ("Ethnicity group", g), v)
            for g, v in zip(chart_data.ETHNICITY_GROUPS, ETHNICITY, strict=True)]
    # A region's and a council's rows too: the charts must pick England out of them.
    lts += [_lts_row(latest, ("Region", "E12000001", "North East"), "All", ("All", "All"), "2000", "2 of 2")]

    def rate_row(date, level, code, name, rate, councils):
        return {"reference_date": date, "area_level": level, "area_code": code, "area_name": name,
                "support_setting": "All", "breakdown": "All", "breakdown_value": "All",
                "population": "[x]" if rate == "[x]" else "100000", "rate": rate, "flags": "p",
                "councils_included": councils}

    rates = []
    for date in DATES:
        old = date != latest  # earlier months carry a different rate: the latest must be charted
        rates.append(rate_row(date, *ENGLAND, "31" if old else "30", "3 of 5"))
        rates += [rate_row(date, "Region", code, name, "99" if old else rate, councils)
                  for (code, (name, councils)), rate in zip(REGIONS.items(), ("36", "27", "[c]"), strict=True)]
        rates += [rate_row(date, "Local Authority", code, name, "99" if old and rate.isdigit() else rate, councils)
                  for code, name, _region, rate, councils in COUNCILS]
    # A breakdown row: must not leak into the all-people charts.
    rates.append(rate_row(latest, *ENGLAND, "80", "3 of 5") | {"breakdown": "Age group",
                                                              "breakdown_value": "65 and above"})

    months = [d[:7] for d in DATES] + ["Total"]
    assessments = [{"reference_month": m, "area_level": "England", "area_code": "E92000001", "area_name": "England",
                    "breakdown": "All", "breakdown_value": "All", "value": v, "flags": "p",
                    "councils_included": "3 of 5"}
                   for m, v in zip(months, (*ASSESSED, ASSESSED_TOTAL), strict=True)]
    return {"long_term_support": pd.DataFrame(lts), "long_term_support_rates": pd.DataFrame(rates),
            "assessments": pd.DataFrame(assessments)}


def allowed_numbers(published, facts: MethodFacts = FACTS) -> set[int]:
    """Every number a chart may quote: published cells, the numbers inside published labels and
    those of the method's statements (the rounding base, the look-back)."""
    allowed = {100_000}
    method = f"{statements.rounding_short(facts)} {facts.look_back_phrase}"
    allowed.update(int(n) for n in re.findall(r"\d+", method))
    for frame in published.values():
        for column in frame.columns:
            text = frame[column].astype(str).drop_duplicates()
            allowed.update(int(n) for n in text.str.findall(r"\d+").explode().dropna().unique())
        # councils without data ("147 councils have no data"): a count of councils, not a statistic
        included = frame["councils_included"].astype(str).str.extract(r"^(\d+) of (\d+)$").dropna().astype(int)
        allowed.update((included[1] - included[0]).unique().tolist())
    return allowed


def quoted_numbers(text: str) -> list[str]:
    """Numbers as written in text: ``13,825`` or ``12.5``; a minus sign or decimal is kept to be caught."""
    return re.findall(r"-?\d[\d,]*(?:\.\d+)?", text)


def png_size(path: Path) -> tuple[int, int]:
    with path.open("rb") as handle:
        head = handle.read(24)
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


@pytest.fixture(scope="module")
def release() -> dict[str, pd.DataFrame]:
    return hand_made_release()


@pytest.fixture(scope="module")
def built(release, tmp_path_factory):
    out = tmp_path_factory.mktemp("charts")
    return {c.name: c for c in make_charts(release, out, facts=FACTS)}, out


def catch_figures(monkeypatch) -> dict:
    """From now on, each figure :func:`make_charts` saves, by chart name (the last run wins)."""
    caught = {}
    save = charts.save_chart

    def catching_save(fig, out_dir, name, *texts):
        caught[name] = fig
        return save(fig, out_dir, name, *texts)

    monkeypatch.setattr(charts, "save_chart", catching_save)
    return caught


@pytest.fixture(scope="module")
def every_figure(release, tmp_path_factory) -> dict:
    """Every figure of the hand-made release, by chart name, and again with a council highlighted
    (``<name> (highlighted)``). Read only: a test that changes a figure draws its own."""
    out = tmp_path_factory.mktemp("figures")
    with pytest.MonkeyPatch.context() as monkeypatch:
        caught = catch_figures(monkeypatch)
        make_charts(release, out / "plain", facts=FACTS)
        figures = dict(caught)
        make_charts(release, out / "highlighted", facts=FACTS, highlight=["E09000003"])
        figures |= {f"{name} (highlighted)": fig for name, fig in caught.items()}
    return figures


@pytest.fixture(scope="module")
def figures(every_figure) -> dict:
    """The matplotlib figures of the hand-made release, by chart name."""
    return {name: every_figure[name] for name in CHART_NAMES}


# --- output contract --------------------------------------------------------------------------- #

@pytest.mark.slow
def test_every_chart_is_written_with_png_svg_and_alt_text(built):
    made, out = built
    assert tuple(made) == CHART_NAMES
    for name, chart in made.items():
        assert chart.png == out / f"{name}.png" and chart.svg == out / f"{name}.svg"
        # Readable at report width: 8 x 4.5 in at 150 dpi.
        assert png_size(chart.png) == (1200, 675)
        assert chart.png.stat().st_size > 20_000, "a near-empty image"
        assert len(ET.parse(chart.svg).getroot().findall(".//{http://www.w3.org/2000/svg}path")) > 20
        assert (out / f"{name}.txt").read_text(encoding="utf-8") == chart.alt_text + "\n"
        assert chart.alt_text.split(" of ")[0] in {"Line chart", "Bar chart", "Bar charts", "Dot plot"}
        assert chart.title and len(chart.description) > len(chart.alt_text)


@pytest.mark.slow
def test_svg_is_named_by_the_alt_text_and_described_by_the_long_description(built):
    # As the report's <img alt>: the name is the alt text; the description is offered after it,
    # not joined to the name (aria-labelledby naming both made a name of 1,000 characters).
    ids = set()
    for chart in built[0].values():
        svg = ET.parse(chart.svg).getroot()
        ns = {"svg": "http://www.w3.org/2000/svg"}
        # One <title> and one <desc>: a second <title> would be a second name.
        assert len(svg.findall("svg:title", ns)) == 1 and len(svg.findall("svg:desc", ns)) == 1
        title, desc = svg.find("svg:title", ns), svg.find("svg:desc", ns)
        assert svg.get("role") == "img"
        assert svg.get("aria-labelledby") == title.get("id") and svg.get("aria-describedby") == desc.get("id")
        assert title.text == chart.alt_text and desc.text == chart.description
        ids |= {title.get("id"), desc.get("id")}
    # Unique across charts: a page may inline several SVGs.
    assert len(ids) == 2 * len(CHART_NAMES)


def test_index_lists_every_chart_and_its_files(built):
    made, out = built
    index = json.loads((out / "charts.json").read_text(encoding="utf-8"))
    assert [entry["name"] for entry in index["charts"]] == list(CHART_NAMES)
    for entry in index["charts"]:
        chart = made[entry["name"]]
        assert entry["title"] == chart.title and entry["alt_text"] == chart.alt_text
        assert entry["files"] == {"png": f"{chart.name}.png", "svg": f"{chart.name}.svg",
                                  "alt_text": f"{chart.name}.txt"}
        assert all((out / f).is_file() for f in entry["files"].values())


@pytest.mark.slow
def test_same_inputs_give_byte_identical_files(release, tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    make_charts(release, first, facts=FACTS)
    # Shuffled rows must not change a byte either: order comes from the data, not the input.
    shuffled = {k: f.sample(frac=1, random_state=7).reset_index(drop=True) for k, f in release.items()}
    make_charts(shuffled, second, facts=FACTS)
    names = sorted(p.name for p in first.iterdir())
    assert names == sorted(p.name for p in second.iterdir())
    assert len(names) == 3 * len(CHART_NAMES) + 1
    for name in names:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    svg = (first / "england_trend_by_setting.svg").read_text(encoding="utf-8")
    assert "<dc:date>" not in svg


# --- alt text and long description: informative, published numbers only ------------------------ #

ALT_TEXTS = {  # what the chart shows, then its main finding
    "england_trend_by_setting": (
        "Line chart of people receiving long-term support in England at each month end from April 2023 to "
        "June 2023, by support setting. All settings rose from 13,520 to 13,825; community was the largest "
        "setting, at 9,900 in June 2023."),
    "rate_by_region": (
        "Bar chart of adults receiving long-term support per 100,000 adults in each region of England at "
        "30 June 2023. Highest North East at 36, lowest London at 27; England 30."),
    "council_rates_ranked": (
        "Dot plot of adults receiving long-term support per 100,000 adults in each of 3 councils at 30 June 2023, "
        "ranked from lowest to highest. Lowest Gamma at 27, median 32, highest Alpha at 40; England 30."),
    "age_profile": (
        "Bar charts of people receiving long-term support in England by age band at 30 June 2023: all settings, "
        "community, residential care and nursing care. The largest age band was 75 to 84, with 4,455 people; "
        "in residential care it was 85 to 94."),
    "ethnicity_profile": (
        "Bar chart of people receiving long-term support in England at 30 June 2023 by ethnic group, all "
        "settings. White was the largest group, with 11,605 people; the next was Asian or Asian British, with 840."),
    "assessments_trend": (
        "Line chart of people assessed in England each month from April 2023 to June 2023: adults with no "
        "long-term support in the 12 months before the assessment. The number fell from 1,015 to 925 between "
        "April 2023 and June 2023."),
}


@pytest.mark.parametrize("name", CHART_NAMES)
def test_alt_text_says_what_the_chart_shows_and_its_main_finding(built, name):
    assert built[0][name].alt_text == ALT_TEXTS[name]


def sentences(text: str, area_names) -> list[str]:
    """``text`` split into sentences; area names are masked first (``St. Helens`` is one name)."""
    for area in sorted(set(area_names), key=len, reverse=True):
        text = text.replace(area, "Area")
    return [s for s in re.split(r"(?<=[.!?])\s+", text.strip()) if s]


def area_names(published) -> set[str]:
    return {str(n) for frame in published.values() for n in frame["area_name"].unique()}


def check_alt_text_and_description(made, published) -> None:
    """Every chart: alt text of one or two sentences within the limit; a description that adds
    detail and neither starts with nor repeats any sentence of the alt text."""
    names = area_names(published)
    for chart in made.values():
        alt = sentences(chart.alt_text, names)
        assert 1 <= len(alt) <= 2, (chart.name, alt)
        assert len(chart.alt_text) <= ALT_TEXT_MAX, (chart.name, len(chart.alt_text), chart.alt_text)
        assert chart.alt_text.endswith(".") and "  " not in chart.alt_text
        assert chart.description and not chart.description.startswith(chart.alt_text[:60]), chart.name
        for sentence in alt:
            assert sentence not in chart.description, (chart.name, sentence)


def test_alt_text_is_one_or_two_sentences_and_never_repeated_in_the_description(built, release):
    check_alt_text_and_description(built[0], release)


def test_the_sentence_check_would_catch_a_long_or_repeated_alt_text(built, release):
    # The checks above must be able to fail: the alt text of the first charts was 5 to 9 sentences and
    # the description started with it.
    chart = built[0]["rate_by_region"]
    for broken in (charts.Chart(chart.name, chart.title, chart.alt_text + " England: 30. Not published: South East.",
                                chart.png, chart.svg, chart.description),
                   charts.Chart(chart.name, chart.title, chart.alt_text, chart.png, chart.svg,
                                chart.alt_text + " " + chart.description)):
        with pytest.raises(AssertionError):
            check_alt_text_and_description({chart.name: broken}, release)
    # "St. Helens" is one council, not the end of a sentence.
    assert len(sentences("Lowest St. Helens at 27. Median 32.", {"St. Helens"})) == 2


@pytest.mark.slow
def test_alt_text_keeps_within_the_limit_with_the_longest_names(release, tmp_path):
    # The longest council and region names of England, at the longest month name.
    long_names = {"Alpha": "Bournemouth, Christchurch and Poole", "Gamma": "Kingston upon Hull, City of",
                  "Beta": "St. Helens", "North East": "Yorkshire and The Humber", "London": "East of England"}
    renamed = {k: f.assign(area_name=f["area_name"].replace(long_names)) for k, f in release.items()}
    renamed = {k: f.replace({"2023-06-30": "2023-09-30", "2023-06": "2023-09"}) for k, f in renamed.items()}
    made = {c.name: c for c in make_charts(renamed, tmp_path, facts=FACTS)}
    check_alt_text_and_description(made, renamed)
    # The finding may drop the names (the description has them), never the numbers.
    assert all(f" {n}" in made["council_rates_ranked"].alt_text for n in ("27", "32", "40", "30"))
    assert "Bournemouth, Christchurch and Poole 40" in made["council_rates_ranked"].description
    assert "Yorkshire and The Humber at 36" in made["rate_by_region"].alt_text


def test_alt_text_takes_the_fullest_finding_that_fits():
    what = "Dot plot of " + "x" * 180 + "."
    full, short = "Lowest " + "y" * 60 + " at 27.", "Rates ranged from 27 to 40."
    assert chart_text.compose_alt_text(what, full, short) == f"{what} {short}"
    assert chart_text.compose_alt_text("Dot plot.", full, short) == f"Dot plot. {full}"
    assert chart_text.compose_alt_text(what, full) == what  # no finding fits: the description has it


@pytest.mark.parametrize(("name", "expected"), [
    ("england_trend_by_setting", ["One line for all settings and one for each support setting",
                                  "All settings: 13,520 in April 2023 to 13,825 in June 2023",
                                  "Community: April 2023 9,700, May 2023 9,750, June 2023 9,900",
                                  "Prison: 10 in April 2023 to 5 in June 2023",
                                  "1 month suppressed or not available, shown as a gap", "May 2023 [c]",
                                  "suppressed months ([c]) are gaps in the line"]),
    ("rate_by_region", ["North East 36; London 27; South East [c]", "rate for England, 30",
                        "Not published: South East ([c])", "London includes 1 of 2 councils",
                        "rounded to a whole number"]),
    ("council_rates_ranked", ["Gamma 27; Beta 32; Alpha 40", "2 councils are above it and 1 below",
                              "2 councils not shown, no published rate: Delta ([x]), Epsilon ([c])",
                              "Each dot is one council"]),
    ("age_profile", ["All settings (13,825 people), largest band 75 to 84: 18 to 24 445, 25 to 44 2,290",
                     "Residential care (2,780 people), largest band 85 to 94",
                     "Nursing care (1,140 people), largest band 75 to 84: 18 to 24 [c]",
                     "Unknown age (all settings): 20", "Prison (5 people) is not shown"]),
    ("ethnicity_profile", ["13,825 people", "White 11,605", "Mixed or multiple ethnic groups [c]", "No data 435",
                           "No data: ethnicity refused, undeclared or not known"]),
    ("assessments_trend", ["1,015 in April 2023 to 925 in June 2023", "1 month suppressed", "May 2023 [c]",
                           "Total of the months: 1,945"]),
])
def test_description_gives_every_number_and_note(built, name, expected):
    chart = built[0][name]
    for phrase in expected:
        assert phrase in chart.description, (phrase, chart.description)


def test_description_says_when_councils_are_missing(built):
    made, _ = built
    for name in ("england_trend_by_setting", "age_profile", "ethnicity_profile", "assessments_trend"):
        assert ("Figures include 3 of 5 councils: 2 councils have no data and are not included."
                in made[name].description)


def test_titles_state_the_finding(built):
    made, _ = built
    assert made["england_trend_by_setting"].title == (
        "The number of people receiving long-term support in England rose from 13,520 to 13,825 between "
        "April 2023 and June 2023")
    assert made["ethnicity_profile"].title.startswith("White was the largest ethnic group")


def test_every_number_quoted_is_a_published_one(built, release):
    allowed = allowed_numbers(release)
    for chart in built[0].values():
        for text in (chart.title, chart.alt_text, chart.description):
            for number in quoted_numbers(text):
                assert "." not in number and not number.startswith("-"), (chart.name, number)
                assert int(number.replace(",", "")) in allowed, (chart.name, number, text)


def test_the_checker_would_catch_an_unrounded_number(release):
    # The guard above is only worth having if a sum of rounded cells, say, would fail it.
    allowed = allowed_numbers(release)
    sum_of_parts = sum(int(v) for v in (TREND["Community"][-1], TREND["Residential care"][-1]))
    assert sum_of_parts not in allowed
    assert 13_527 not in allowed


# --- gaps are gaps, never zeros --------------------------------------------------------------- #

@pytest.mark.slow
def test_suppressed_months_break_the_lines(figures):
    ax = figures["england_trend_by_setting"].axes[0]
    lines = {line.get_color().upper(): line for line in ax.get_lines()}
    # One line per setting in the Analysis Function order.
    assert list(lines) == [c.upper() for c in AF_PALETTE[: len(TREND)]]
    prison = np.asarray(lines[AF_PALETTE[4].upper()].get_ydata(), dtype=float)
    assert prison[0] == 10 and np.isnan(prison[1]) and prison[2] == 5
    assessed = np.asarray(figures["assessments_trend"].axes[0].get_lines()[0].get_ydata(), dtype=float)
    assert assessed[0] == 1015 and np.isnan(assessed[1]) and assessed[2] == 925


def _bars(ax) -> dict[float, float]:
    """Bar width by bar centre (y)."""
    return {round(p.get_y() + p.get_height() / 2, 6): p.get_width() for p in ax.patches}


@pytest.mark.slow
def test_suppressed_bars_are_absent_and_labelled_with_their_symbol(figures):
    ax = figures["ethnicity_profile"].axes[0]
    assert len(ax.patches) == len(ETHNICITY) - 1  # the [c] group has no bar, not a zero-length one
    assert "[c]" in [t.get_text() for t in ax.texts]
    assert 0 not in _bars(ax).values()

    nursing = figures["age_profile"].axes[3]
    assert len(nursing.patches) == len(chart_data.AGE_BANDS) - 1
    assert "[c]" in [t.get_text() for t in nursing.texts]

    region = figures["rate_by_region"].axes[0]
    assert sorted(_bars(region).values()) == [27, 36]
    assert "[c] not published" in [t.get_text() for t in region.texts]


def test_council_dots_leave_out_councils_without_a_rate(figures):
    ax = figures["council_rates_ranked"].axes[0]
    dots = [c for c in ax.collections if not isinstance(c, LineCollection)]
    plotted = np.concatenate([c.get_offsets()[:, 1] for c in dots])
    assert sorted(plotted.tolist()) == [27, 32, 40]
    england = [c for c in ax.collections if isinstance(c, LineCollection)]
    assert england and england[0].get_segments()[0][0][1] == 30


def test_nothing_is_highlighted_unless_asked(every_figure):
    assert _dot_colours(every_figure["council_rates_ranked"]) == [{AF_PALETTE[0].lower()}]
    highlighted = every_figure["council_rates_ranked (highlighted)"]
    assert any(AF_PALETTE[3].lower() in c for c in _dot_colours(highlighted))
    assert "Gamma: 27" in [t.get_text() for t in highlighted.axes[0].texts]


def _dot_colours(fig) -> list[set[str]]:
    """Face colours of each set of dots (the England line is not a set of dots)."""
    return [{to_hex(c) for c in coll.get_facecolors()} for coll in fig.axes[0].collections
            if not isinstance(coll, LineCollection)]


# --- readability ------------------------------------------------------------------------------- #

def test_text_is_nine_point_or_larger_and_sans_serif(figures):
    for name, fig in figures.items():
        texts = [t for t in fig.findobj(Text) if t.get_text().strip() and t.get_visible()]
        assert texts, name
        small = [(t.get_text(), t.get_fontsize()) for t in texts if t.get_fontsize() < 9]
        assert not small, (name, small)
        assert {t.get_fontfamily()[0] for t in texts} <= {"sans-serif", "Arial", "DejaVu Sans"}
        assert tuple(fig.get_size_inches()) == (8.0, 4.5)


def drawn_texts(fig) -> list[Text]:
    """Every text ``fig`` draws: visible, not empty, and no label of a tick outside its axis's view
    (matplotlib keeps those as visible texts but does not draw them)."""
    fig.draw_without_rendering()
    undrawn = set()
    for ax in fig.axes:
        for axis in (ax.xaxis, ax.yaxis):
            low, high = sorted(axis.get_view_interval())
            for tick in (*axis.get_major_ticks(), *axis.get_minor_ticks()):
                if not low - 1e-9 <= tick.get_loc() <= high + 1e-9:
                    undrawn |= {id(tick.label1), id(tick.label2)}
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip() and id(t) not in undrawn]


def texts_cut_off(fig) -> list[str]:
    """Texts of ``fig`` reaching past an edge of the image (by more than a pixel)."""
    texts = drawn_texts(fig)
    width, height = fig.bbox.width, fig.bbox.height
    return [t.get_text() for t in texts for box in [t.get_window_extent()]
            if box.x0 < -1 or box.y0 < -1 or box.x1 > width + 1 or box.y1 > height + 1]


def test_every_text_is_inside_the_image(every_figure):
    # Direct labels sit right of the plot, after their key: none may be cut off at the edge.
    for name, fig in every_figure.items():
        assert texts_cut_off(fig) == [], name


def test_figures_use_no_legends(figures):
    for name, fig in figures.items():
        assert all(ax.get_legend() is None for ax in fig.axes), name


# --- contrast (WCAG 2.2 AA: 1.4.3 text, 1.4.11 graphics) ---------------------------------------- #

def relative_luminance(colour) -> float:
    """WCAG relative luminance of an opaque sRGB colour."""
    rgb = np.asarray(to_rgba(colour)[:3], dtype=float)
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    return float(linear @ np.array([0.2126, 0.7152, 0.0722]))


def contrast_ratio(a, b) -> float:
    lighter, darker = sorted((relative_luminance(a), relative_luminance(b)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def over(colour, background) -> tuple[float, float, float]:
    """``colour`` drawn with its alpha over an opaque ``background``."""
    r, g, b, a = to_rgba(colour)
    return tuple(a * c + (1 - a) * k for c, k in zip((r, g, b), to_rgba(background)[:3], strict=True))


def is_large_text(text: Text) -> bool:
    """WCAG large text: 18 pt, or 14 pt bold."""
    weight = text.get_fontweight()
    bold = (font_manager.weight_dict.get(weight, weight) if isinstance(weight, str) else weight) >= 700
    return text.get_fontsize() >= 18 or (bold and text.get_fontsize() >= 14)


def text_contrast_failures(fig) -> list[tuple[str, float, float, str]]:
    """Every visible text of ``fig`` under its AA minimum against any background it is drawn on:
    its own box if it has one, else the axes or figure (white) and every bar it overlaps."""
    texts = drawn_texts(fig)
    bars = [(p, p.get_window_extent()) for ax in fig.axes for p in ax.patches
            if isinstance(p, Rectangle) and p.get_visible() and p.get_facecolor()[3] > 0]
    failures = []
    for text in texts:
        box = text.get_bbox_patch()
        if box is not None:
            backgrounds = [over(box.get_facecolor(), "white")]
        else:
            surface = text.axes.get_facecolor() if text.axes is not None else fig.get_facecolor()
            extent = text.get_window_extent()
            backgrounds = [over(surface, "white")] + [
                over(p.get_facecolor(), "white") for p, where in bars
                if where.overlaps(extent) and p.get_zorder() <= text.get_zorder()]
        minimum = 3.0 if is_large_text(text) else 4.5
        worst = min(contrast_ratio(over(text.get_color(), bg), bg) for bg in backgrounds)
        if worst < minimum:
            failures.append((text.get_text(), round(worst, 2), minimum, to_hex(text.get_color())))
    return failures


def graphics_colours(fig) -> set[str]:
    """Colours of everything that carries data or identifies it: lines, markers, bars, dots,
    reference lines and the keys of direct labels (gridlines and spines do not)."""
    colours = set()
    for ax in fig.axes:
        lines = list(ax.get_lines())
        lines += [child for box in ax.artists if isinstance(box, AnnotationBbox)
                  for child in box.offsetbox.get_children() if isinstance(child, Line2D)]
        for line in lines:
            colours |= {to_hex(line.get_color()), to_hex(line.get_markerfacecolor())}
        colours |= {to_hex(p.get_facecolor()) for p in ax.patches if isinstance(p, Rectangle)}
        for collection in ax.collections:
            colours |= {to_hex(c) for c in (*collection.get_facecolors(), *collection.get_edgecolors())
                        if c[3] > 0}
    return colours


def test_contrast_ratio_is_wcag():
    # Published figures: black on white 21:1; the Analysis Function turquoise and orange.
    assert contrast_ratio("#000000", "#FFFFFF") == pytest.approx(21)
    assert contrast_ratio("#28A197", "white") == pytest.approx(3.17, abs=0.01)
    assert contrast_ratio("#F46A25", "white") == pytest.approx(3.03, abs=0.01)
    assert is_large_text(Text(text="x", fontsize=14, fontweight="bold"))
    assert not is_large_text(Text(text="x", fontsize=17, fontweight="normal"))


def test_every_text_meets_aa_contrast(every_figure):
    for name, fig in every_figure.items():
        assert text_contrast_failures(fig) == [], name


def test_the_contrast_check_would_catch_a_coloured_label_or_a_label_on_a_bar():
    fig = Figure(figsize=(4, 3))
    ax = fig.subplots()
    ax.barh([0], [10], color=AF_PALETTE[0])
    ax.set_xlim(0, 20)
    ax.text(15, 0, "orange label", color=AF_PALETTE[3], fontsize=10, fontweight="bold")
    ax.text(15, 0.3, "large orange label", color=AF_PALETTE[3], fontsize=14, fontweight="bold")  # 3:1 will do
    ax.text(5, 0, "dark on navy", color="#0B0C0C", fontsize=10, ha="center", va="center", zorder=5)
    ax.text(5, 0.3, "boxed", color="#0B0C0C", fontsize=10, bbox={"facecolor": "white"}, zorder=5)
    found = {label for label, *_ in text_contrast_failures(fig)}
    assert found == {"orange label", "dark on navy"}


def test_every_series_colour_meets_three_to_one_on_white(every_figure):
    for name, fig in every_figure.items():
        colours = graphics_colours(fig)
        assert colours, name
        low = {c: round(contrast_ratio(c, "white"), 2) for c in colours if contrast_ratio(c, "white") < 3}
        assert low == {}, name


def test_direct_labels_are_dark_text_beside_a_key_in_the_line_colour(figures):
    ax = figures["england_trend_by_setting"].axes[0]
    line_colours = [to_hex(line.get_color()) for line in ax.get_lines()]
    keys = [to_hex(child.get_color()) for box in ax.artists if isinstance(box, AnnotationBbox)
            for child in box.offsetbox.get_children() if isinstance(child, Line2D)]
    labels = [t for t in ax.texts if ": " in t.get_text()]
    assert keys == line_colours and len(labels) == len(line_colours)
    assert [t.get_text() for t in labels] == ["All settings: 13,825", "Community: 9,900", "Residential care: 2,780",
                                             "Nursing care: 1,140", "Prison: 5"]
    assert {to_hex(t.get_color()) for t in labels} == {chart_drawing.TEXT_COLOUR.lower()}


# --- refusing what must not be charted --------------------------------------------------------- #

@pytest.mark.parametrize(("frame", "column", "bad"), [
    ("long_term_support", "value", "13527"),  # unrounded count
    ("long_term_support", "value", "12.5"),
    ("long_term_support", "value", ""),
    ("long_term_support_rates", "rate", "30.4"),  # a rate shown to more precision than published
    ("assessments", "value", "1017"),
])
@pytest.mark.slow
def test_unpublished_cells_are_refused(release, tmp_path, frame, column, bad):
    broken = {k: f.copy() for k, f in release.items()}
    target = broken[frame]
    row = target.index[(target["area_level"] == "England") & (target["breakdown"] == "All")][-1]
    target.loc[row, column] = bad
    with pytest.raises(ValueError, match="published|rounded"):
        make_charts(broken, tmp_path, facts=FACTS)


def test_missing_frame_is_an_error(release, tmp_path):
    with pytest.raises(KeyError, match="assessments"):
        make_charts({k: v for k, v in release.items() if k != "assessments"}, tmp_path, facts=FACTS)


def test_published_numbers_reads_symbols_as_gaps():
    out = chart_data.published_numbers(pd.Series(["0", "5", "[c]", "[x]", "[z]"]), rounding_base=5)
    assert out.iloc[0] == 0 and out.iloc[1] == 5 and out.iloc[2:].isna().all()
    with pytest.raises(ValueError, match="not a published cell"):
        chart_data.published_numbers(pd.Series(["1,000"]))  # a formatted number is not a published cell


# --- the real release ------------------------------------------------------------------------- #

@pytest.fixture(scope="module")
def real_release(small_reports) -> Path:
    """The 2024-03 release the real pipeline published from 8 councils' synthetic submissions
    (``conftest.small_reports``, shared with the other tests that read a release)."""
    return small_reports / "2024-03"


@pytest.mark.slow
def test_real_release_charts(real_release, tmp_path, monkeypatch):
    published = {k: pd.read_csv(real_release / "data" / f"{k}.csv", dtype=str, keep_default_na=False)
                 for k in FRAMES}
    figures = catch_figures(monkeypatch)
    facts = MethodFacts.from_params(json.loads((real_release / "manifest.json").read_text(encoding="utf-8"))["params"])
    made = {c.name: c for c in make_charts(published, tmp_path, facts=facts)}
    assert tuple(made) == CHART_NAMES
    allowed = allowed_numbers(published, facts)
    england = published["long_term_support"]
    totals = england.loc[(england["area_level"] == "England") & (england["support_setting"] == "All")
                         & (england["breakdown"] == "All")].sort_values("reference_date")
    assert f"{int(totals['value'].iloc[-1]):,}" in made["england_trend_by_setting"].alt_text
    for chart in made.values():
        assert png_size(chart.png) == (1200, 675) and chart.svg.stat().st_size > 20_000
        for number in quoted_numbers(chart.title + " " + chart.alt_text + " " + chart.description):
            assert "." not in number and int(number.replace(",", "")) in allowed, (chart.name, number)
    assert "councils" in made["council_rates_ranked"].alt_text
    check_alt_text_and_description(made, published)
    for name, fig in figures.items():
        assert text_contrast_failures(fig) == [], name
        assert min(contrast_ratio(c, "white") for c in graphics_colours(fig)) >= 3, name
        assert texts_cut_off(fig) == [], name


@pytest.mark.slow
def test_published_charts_index_keeps_the_alt_text_rules(real_release):
    # What the pipeline wrote, as the report reads it: charts.json and the .txt beside each chart.
    charts_dir = real_release / "charts"
    entries = json.loads((charts_dir / "charts.json").read_text(encoding="utf-8"))["charts"]
    assert [e["name"] for e in entries] == list(CHART_NAMES)
    published = {k: pd.read_csv(real_release / "data" / f"{k}.csv", dtype=str, keep_default_na=False)
                 for k in FRAMES}
    made = {e["name"]: charts.Chart(e["name"], e["title"], e["alt_text"], charts_dir / e["files"]["png"],
                                    charts_dir / e["files"]["svg"], e["description"]) for e in entries}
    check_alt_text_and_description(made, published)
    for entry in entries:
        assert (charts_dir / entry["files"]["alt_text"]).read_text(encoding="utf-8") == entry["alt_text"] + "\n"
