"""Test helper: find personal data from a synthetic input anywhere in a folder of outputs."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

import pandas as pd

from cldstats.pseudonymise import nhs_number_valid
from cldstats.reference import councils
from cldstats.spec import load_spec

# Ten digits standing alone (as 10 digits or 3-3-4 with spaces), not a run inside a hexadecimal digest.
NHS_NUMBER = re.compile(r"(?<![0-9A-Za-z])\d{3} ?\d{3} ?\d{4}(?![0-9A-Za-z])")
POSTCODE = re.compile(r"\b[A-Z]{1,2}[0-9][A-Z0-9]? ?[0-9][A-Z]{2}\b")
DATE = re.compile(r"\b\d{1,2}/\d{1,2}/\d{4}\b")
WORD = re.compile(r"[A-Za-z]+")


def input_personal_values(data_dir: Path) -> dict[str, set[str]]:
    """NHS numbers, postcodes, dates of birth, names and LA person IDs as sent in the input files.

    Names that are also words our outputs use legitimately (spec labels and code values, council
    names) are left out: finding "White" in an ethnicity table is not a leak.
    """
    frames = [
        pd.read_csv(p, dtype=str, keep_default_na=False, encoding="cp1252", on_bad_lines="skip")
        for p in sorted((data_dir / "submissions").iterdir())
        if p.suffix == ".csv"
    ]
    data = pd.concat(frames, ignore_index=True)
    words = set()
    for field in load_spec().fields:
        words.update(WORD.findall(" ".join([field.label, field.description, *field.code_list])))
    words.update(WORD.findall(" ".join(councils()["la_name"])))
    names = set()
    for column in ("First Name", "Last Name"):
        if column in data.columns:
            names.update(v for v in data[column].unique() if len(v) >= 4 and v not in words)
    return {
        "nhs": set(data["NHS Number"].str.replace(" ", "")) - {""},
        "postcode": set(data["Postcode"]) - {""},
        "dob": set(data["Date of Birth"]) - {""},
        "names": names,
        "la_person_id": set(data["LA Person Unique Identifier"]) - {""},
    }


def _texts(root: Path):
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        if path.suffix in {".xlsx", ".docx"}:
            with zipfile.ZipFile(path) as archive:
                for name in archive.namelist():
                    yield f"{path}!{name}", archive.read(name).decode("utf-8", errors="replace")
        elif path.suffix == ".svg":
            # Attribute values are drawing data (glyph outlines, coordinates), whose digit runs are
            # not text; the SVG's words (text, <title>, <desc>) are what a person could read.
            text = path.read_bytes().decode("utf-8", errors="replace")
            yield str(path), re.sub(r'="[^"]*"', '=""', text)
        elif path.suffix in {".html", ".ipynb"}:
            # Embedded images are base64 (random letters and digits); their alt text and
            # descriptions are scanned as text.
            text = path.read_bytes().decode("utf-8", errors="replace")
            text = re.sub(r"data:[\w/+.-]+;base64,[A-Za-z0-9+/=\\n]+", "data:", text)
            yield str(path), re.sub(r'"image/(png|jpeg)": "[^"]*"', '"image": ""', text)  # notebook outputs
        elif path.suffix not in {".png"}:
            yield str(path), path.read_bytes().decode("utf-8", errors="replace")


def personal_data_found(root: Path, personal: dict[str, set[str]]) -> list[str]:
    """One line per file and kind of personal data found under ``root`` (empty: none found)."""
    found = []
    for where, text in _texts(root):
        ten_digits = pd.Series([m.replace(" ", "") for m in NHS_NUMBER.findall(text)], dtype="string")
        if len(ten_digits) and nhs_number_valid(ten_digits).any():
            found.append(f"{where}: a 10-digit number with a valid NHS check digit")
        if POSTCODE.search(text):
            found.append(f"{where}: a postcode")
        if set(DATE.findall(text)) & personal["dob"]:
            found.append(f"{where}: a date of birth from the input")
        if set(WORD.findall(text)) & personal["names"]:
            found.append(f"{where}: a name from the input")
        tokens = set(re.findall(r"[A-Za-z0-9]+", text))
        if tokens & personal["la_person_id"]:
            found.append(f"{where}: an LA person ID from the input")
    return found
