"""Test helpers: find personal data, or unrounded figures, anywhere in a folder of outputs.

Every file under the folder is read, whatever its name: zip containers (``.xlsx``) part by part,
``.gz`` decompressed, PNG images by their text chunks, and anything else as text (CSV, HTML,
notebooks, SVG, JSON, logs, ``.txt`` alt texts, a file with no suffix at all). Each finding names
the file (and the part inside a zip), so a failing test says where the leak is.

:func:`input_personal_values` collects the personal values of a synthetic input;
:func:`personal_data_found` looks for them (and for anything shaped like an NHS number with a valid
check digit, or a postcode); :func:`values_found` looks for given literal strings (the malformed
corpus's :data:`malformed_corpus.PERSONAL_VALUES`). :func:`unrounded_figures` and
:func:`figures_found` check that unrounded England and regional counts appear only under ``qa/``.
"""

from __future__ import annotations

import gzip
import re
import struct
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import pandas as pd

from cldstats.ingest.pseudonymise import nhs_number_valid
from cldstats.reference import crosswalk
from cldstats.reference.lists import councils
from cldstats.reference.spec import load_spec

# Patterns work on bytes: the outputs of one small month are some 250 MB of text, and bytes
# regexes and bytes.translate are several times faster than their str versions.
# Ten digits standing alone (as 10 digits or 3-3-4 with spaces), not a run inside a hexadecimal digest.
NHS_NUMBER = re.compile(rb"(?<![0-9A-Za-z])\d{3} ?\d{3} ?\d{4}(?![0-9A-Za-z])")
POSTCODE = re.compile(rb"\b[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}\b")
WORD = re.compile(r"[A-Za-z]+")
FULL_DATE = re.compile(r"\d{1,2}/\d{1,2}/\d{4}|\d{4}-\d{2}-\d{2}")
# Tokens: runs of letters and digits joined by -, _ or / (an LA person ID such as LAP-000123 or
# P7284964, a date 17/03/1941); other ASCII bytes separate tokens.
_TOKEN_BYTES = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_/")
_TOKENS = bytes(c if c in _TOKEN_BYTES or c >= 128 else 32 for c in range(256))
# A whole number as people write it: 1234 or 1,234, not part of 12.5, 1,234,567 or abc123.
NUMBER = re.compile(rb"(?<![\w.,])(\d{1,3}(?:,\d{3})+|\d+)(?![\w]|[.,]\d)")
# Run times, durations, process ids, notebook execution counts and file paths (a temporary folder
# such as /tmp/pytest-134/): numbers that are not statistics.
NOT_STATISTICS = re.compile(
    rb"(?:[/\\][\w.@+-]+){2,}|"
    rb"\d{4}-\d{2}-\d{2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?)?"
    rb"|\b\d{1,2}:\d{2}(?::\d{2})?\b"
    rb"|\b\d+(?:\.\d+)? ?(?:s|seconds?|ms|min)\b"
    rb"|\bpid\W{0,3}\d+"
    rb'|"execution_count": \d+'
)
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".gif", ".ico", ".woff", ".woff2", ".ttf", ".otf"}


def _read_submission(path: Path) -> pd.DataFrame | None:
    """A submission's cells as text, or None when pandas cannot read it (the run rejects it)."""
    for encoding in ("utf-8-sig", "cp1252"):
        try:
            return pd.read_csv(
                path, dtype=str, keep_default_na=False, encoding=encoding, on_bad_lines="skip", compression="infer"
            )
        except UnicodeDecodeError:
            continue
        except (ValueError, OSError, EOFError, zlib.error, pd.errors.ParserError, pd.errors.EmptyDataError):
            return None
    return None


def input_personal_values(data_dir: Path) -> dict[str, set[str]]:
    """NHS numbers, postcodes, dates of birth, names and LA person IDs as sent in the input files.

    Names that are also words our outputs use legitimately (spec labels and code values, council
    names) are left out: finding "White" in an ethnicity table is not a leak. Files pandas cannot
    read (a malformed corpus) are skipped; check those with :func:`values_found`.
    """
    frames = [
        frame
        for p in sorted((data_dir / "submissions").iterdir())
        if p.name.endswith((".csv", ".csv.gz")) and (frame := _read_submission(p)) is not None
    ]
    data = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    words = set()
    for field in load_spec().fields:
        words.update(WORD.findall(" ".join([field.label, field.description, *field.code_list])))
    words.update(WORD.findall(" ".join(councils()["la_name"])))

    def column(name: str) -> set[str]:
        return set(data[name].fillna("").astype(str)) - {""} if name in data.columns else set()

    names = set()
    for name in ("First Name", "Last Name"):
        names.update(v for v in column(name) if len(v) >= 4 and v not in words)
    return {
        "nhs": {v.replace(" ", "") for v in column("NHS Number")},
        "postcode": column("Postcode"),
        # Full dates only (d/m/yyyy, or ISO as some councils send): an Excel serial number such as
        # 15337 is not recognisable as a date of birth, and is an ordinary number in the outputs.
        "dob": {v for v in column("Date of Birth") if FULL_DATE.fullmatch(v)},
        "names": names,
        "la_person_id": column("LA Person Unique Identifier"),
    }


def _png_text(data: bytes) -> bytes:
    """The text chunks of a PNG (tEXt, zTXt, iTXt: title, description, software...)."""
    texts, position = [], 8
    while position + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[position : position + 8])
        body = data[position + 8 : position + 8 + length]
        if kind in (b"tEXt", b"iTXt"):
            texts.append(body.replace(b"\x00", b" "))
        elif kind == b"zTXt":
            keyword, _, rest = body.partition(b"\x00")
            texts.append(keyword + b" " + zlib.decompress(rest[1:]))
        position += 12 + length
    return b"\n".join(texts)


def _cells_only(part: bytes) -> bytes:
    """A workbook XML part as the text a reader sees: tags (row numbers, styles) and shared-string
    indexes dropped, numbers and inline strings kept."""
    part = re.sub(rb'<c [^>]*t="s"[^>]*>.*?</c>', b" ", part, flags=re.S)
    return re.sub(rb"<[^>]*>", b" ", part)


def _contents(root: Path, *, cells: bool = False) -> Iterator[tuple[str, bytes]]:
    """(where, bytes) for every file under ``root``; ``where`` names the file and the zip part.

    With ``cells``, workbook parts are reduced to their cell text (:func:`_cells_only`), whose
    numbers are the statistics a reader sees.
    """
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        data = path.read_bytes()
        suffix = path.suffix.lower()
        if suffix in IMAGE_SUFFIXES:
            continue
        if data.startswith(b"\x89PNG\r\n\x1a\n"):
            yield str(path), _png_text(data)
        elif data.startswith(b"\x1f\x8b"):
            try:
                yield str(path), gzip.decompress(data)
            except (OSError, EOFError, zlib.error):
                yield str(path), data
        elif zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as archive:
                for name in archive.namelist():
                    part = archive.read(name)
                    yield f"{path}!{name}", _cells_only(part) if cells and name.endswith(".xml") else part
        elif suffix == ".svg":
            # Attribute values are drawing data (glyph outlines, coordinates), whose digit runs are
            # not text; the SVG's words (text, <title>, <desc>, comments) are what a person could read.
            yield str(path), re.sub(rb'="[^"]*"', b'=""', data)
        elif suffix in {".html", ".htm", ".ipynb"}:
            # Embedded images are base64 (random letters and digits); their alt text and
            # descriptions are scanned as text.
            data = re.sub(rb"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\\n]+", b"data:", data)
            yield str(path), re.sub(rb'"image/(png|jpeg|gif)": "[^"]*"', b'"image": ""', data)  # notebook outputs
        else:
            yield str(path), data


def _texts(root: Path) -> Iterator[tuple[str, str]]:
    """(where, text) for every file under ``root`` (see :func:`_contents`)."""
    for where, data in _contents(root):
        yield where, data.decode("utf-8", errors="replace")


def personal_data_found(
    root: Path, personal: dict[str, set[str]], literals: Iterable[str] = ()
) -> list[str]:
    """One line per file and kind of personal data found under ``root`` (empty: none found).

    ``personal`` is :func:`input_personal_values`; ``literals`` are further values looked for as
    they are, anywhere in a file (see :func:`values_found`), in the same pass over the files.
    """
    literals = [v for v in literals if v]
    found = []
    for where, data in _contents(root):
        ten_digits = pd.Series([m.replace(b" ", b"").decode() for m in NHS_NUMBER.findall(data)], dtype="string")
        if len(ten_digits) and nhs_number_valid(ten_digits).any():
            found.append(f"{where}: a 10-digit number with a valid NHS check digit")
        if POSTCODE.search(data):
            found.append(f"{where}: a postcode")
        tokens = {t.decode("utf-8", errors="replace") for t in set(data.translate(_TOKENS).split())}
        parts = set()
        for token in tokens:
            parts.update(re.split(r"[-_/]", token))
        if tokens & personal["dob"]:
            found.append(f"{where}: a date of birth from the input")
        if {w for part in parts for w in WORD.findall(part)} & personal["names"]:
            found.append(f"{where}: a name from the input")
        if (tokens | parts) & personal["la_person_id"]:
            found.append(f"{where}: an LA person ID from the input")
        found += _literals_in(where, data, literals)
    return found


def _literals_in(where: str, data: bytes, values: list[str]) -> list[str]:
    return [
        f"{where}: personal value #{number} ({value[:2]}...)"
        for number, value in enumerate(values)
        if value.encode("utf-8") in data or value.encode("cp1252", errors="ignore") in data
    ]


def values_found(root: Path, values: Iterable[str]) -> list[str]:
    """One line per file and literal value found under ``root`` (the value itself is masked)."""
    values = [v for v in values if v]
    return [line for where, data in _contents(root) for line in _literals_in(where, data, values)]


def _numbers(data: bytes, *, statistics_only: bool = True) -> set[int]:
    if statistics_only:
        data = NOT_STATISTICS.sub(b" ", data)
    return {int(m.replace(b",", b"")) for m in NUMBER.findall(data)}


def unrounded_figures(release: Path, minimum: int = 10, base: int = 5) -> set[int]:
    """Unrounded England and regional counts of a release that rounding must have changed.

    Those of ``qa/*_unrounded.csv`` (column ``value``) that are at least ``minimum`` and not a
    multiple of ``base``: each could only appear outside ``qa/`` by quoting an unrounded figure.
    """
    figures: set[int] = set()
    for path in sorted((release / "qa").glob("*_unrounded.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        frame = frame[frame["area_level"].isin(["England", "Region"])]
        values = pd.to_numeric(frame["value"], errors="coerce").dropna()
        figures.update(int(v) for v in values if v == int(v) and v >= minimum and v % base)
    return figures


def published_numbers(root: Path) -> set[int]:
    """Every number in any cell of the published CSVs (``data/*.csv``) under ``root``: rates,
    populations, rounded counts, councils included, dates and age bands are published figures, so
    finding one elsewhere is no leak even when an unrounded count happens to equal it."""
    numbers: set[int] = set()
    for path in sorted(root.rglob("data/*.csv")):
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        for column in frame.columns:
            for cell in frame[column].unique():
                numbers |= _numbers(cell.encode(), statistics_only=False)
    # The DHSC-layout workbooks' `LA code` column: each council's legacy code, an identifier (an ODS
    # text cell holds it as plain digits).
    numbers |= {int(code) for code in crosswalk.legacy_la_codes().values() if code.isdigit()}
    return numbers


def figures_found(root: Path, figures: set[int], *, skip: Callable[[Path], bool] = lambda path: False) -> list[str]:
    """One line per file (or workbook part) not ``skip``-ped that quotes a number of ``figures``.

    A number counts as quoted when it stands as a whole token, plain (``1234``) or with thousands
    separators (``1,234``); run times, durations, dates, process ids, notebook execution counts and
    file paths are not read as numbers, and a workbook is read as its cells. The published CSVs themselves are not
    read: their numbers are :func:`published_numbers`, and their counts are checked cell by cell
    by the disclosure tests.
    """
    found = []
    for where, data in _contents(root, cells=True):
        path = Path(where.split("!", 1)[0])
        if skip(path) or (path.parent.name == "data" and path.suffix == ".csv"):
            continue
        hits = sorted(_numbers(data) & figures)
        if hits:
            found.append(f"{where}: {', '.join(map(str, hits[:10]))}" + (" ..." if len(hits) > 10 else ""))
    return found
