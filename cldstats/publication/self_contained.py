"""Nothing from the network: what a rendered page would fetch by itself (:func:`network_loads`),
the renderer's own network tags taken out (:func:`strip_network_loads`), and a page written only
when it loads nothing (:func:`write_page`).

Charts are ``data:`` URIs written by :mod:`cldstats.publication.report`; Quarto still adds
require.js and jQuery from a CDN to a page with a ``text/html`` output, which
:func:`strip_network_loads` removes; whatever else loads from the network is content, reported by
:func:`network_loads`, and the page is refused.
"""

from __future__ import annotations

import base64
import re
import urllib.parse
from html.parser import HTMLParser
from pathlib import Path

from cldstats.core.errors import CldstatsError

#: A URL that reaches the network: ``http(s)``, ``ftp`` or ``ws(s)``, or protocol-relative ``//``.
_NETWORK_URL = re.compile(r"^\s*(?:(?:https?|ftp|wss?):)?//", re.I)
#: CSS that would fetch from the network: ``url(...)`` or ``@import "..."`` of such a URL.
_NETWORK_CSS = re.compile(r"""(?:url\(\s*['"]?|@import\s+['"])\s*(?:(?:https?|ftp):)?//""", re.I)
#: An ``@import`` rule of a network stylesheet, removed from ``<style>`` as a whole.
_NETWORK_IMPORT = re.compile(r"""@import\s+(?:url\(\s*)?['"]?\s*(?:(?:https?|ftp):)?//[^;]*;[ \t]*\n?""", re.I)
#: Attributes whose URL the browser fetches by itself (``href`` except on links a reader follows).
_LOADING_ATTRIBUTES = ("src", "href", "xlink:href", "poster", "data", "background", "manifest")
#: The AMD shim Quarto writes after require.js (``define('jquery', ...)``): without require.js it
#: throws, so it goes with it.
_JQUERY_SHIM = re.compile(r"""^\s*define\(\s*['"]jquery['"]\s*,\s*\[\]\s*,\s*function\s*\(\)\s*"""
                          r"""\{\s*return\s+window\.jQuery;?\s*\}\s*\)\s*;?\s*$""")


def _data_uri_text(uri: str) -> str:
    """The text a ``data:`` URI holds (base64 or percent-encoded); empty if it cannot be read."""
    header, _, payload = uri.partition(",")
    try:
        if header.lower().endswith(";base64"):
            raw = base64.b64decode(payload)
        else:
            raw = urllib.parse.unquote_to_bytes(payload)
    except ValueError:
        return ""
    return raw.decode("utf-8", errors="replace")


class _NetworkScan(HTMLParser):
    """One pass over a page: every network load it holds (``findings``), and the spans of the
    elements :func:`strip_network_loads` may remove (renderer boilerplate, never content): scripts
    and ``<link>`` elements from the network and the jQuery shim that needs them."""

    def __init__(self, page: str):
        super().__init__(convert_charrefs=False)
        self.page = page
        self.line_starts = [0] + [m.end() for m in re.finditer("\n", page)]
        self.findings: list[str] = []
        self.removable: list[tuple[int, int]] = []
        self.style_contents: list[tuple[int, int]] = []
        self._raw: tuple | None = None  # the open <script> or <style>: (tag, start, content start, from network)
        self._text: list[str] = []
        self.feed(page)
        self.close()

    def _offset(self) -> int:
        line, column = self.getpos()
        return self.line_starts[line - 1] + column

    @staticmethod
    def _loads(tag: str, attrs: list[tuple[str, str | None]]) -> list[str]:
        found = []
        for name, value in attrs:
            value = value or ""
            if name == "href" and tag in ("a", "area"):
                continue  # a link the reader may follow, not a load
            if name in _LOADING_ATTRIBUTES and _NETWORK_URL.match(value):
                found.append(f'<{tag} {name}="{value[:100]}">')
            elif name in ("srcset", "imagesrcset") and any(_NETWORK_URL.match(c) for c in value.split(",")):
                found.append(f'<{tag} {name}="{value[:100]}">')
            elif name == "style" and _NETWORK_CSS.search(value):
                found.append(f'<{tag} style="{value[:100]}">')
            elif name == "href" and value.lower().startswith("data:text/css"):
                # A stylesheet embedded by the renderer can still import or point at the network.
                match = _NETWORK_CSS.search(_data_uri_text(value))
                if match:
                    found.append(f'<{tag} href="data:text/css..."> {match.group(0)[:100]}')
            elif (tag == "meta" and name == "content" and dict(attrs).get("http-equiv", "").lower() == "refresh"
                  and re.search(r"url\s*=\s*['\"]?\s*(?:(?:https?|ftp):)?//", value, re.I)):
                found.append(f'<meta http-equiv="refresh" content="{value[:100]}">')
        return found

    def handle_starttag(self, tag, attrs):
        start = self._offset()
        end = start + len(self.get_starttag_text())
        self.findings += self._loads(tag, attrs)
        # Only an element whose own URL is the network is the renderer's and goes.
        from_network = any(_NETWORK_URL.match(value or "") for name, value in attrs if name in ("src", "href"))
        if tag in ("script", "style"):
            self._raw, self._text = (tag, start, end, from_network), []
        elif tag == "link" and from_network:
            self.removable.append((start, end))

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag in ("script", "style"):  # <script/> is not void in HTML, but close what we opened
            self._raw = None

    def handle_data(self, data):
        if self._raw:
            self._text.append(data)

    def handle_endtag(self, tag):
        if not self._raw or tag != self._raw[0]:
            return
        raw_tag, start, content_start, from_network = self._raw
        content_end = self._offset()
        end = self.page.index(">", content_end) + 1
        text = "".join(self._text)
        if raw_tag == "style":
            self.findings += [f"<style> {m.group(0)[:100]}" for m in _NETWORK_CSS.finditer(text)]
            self.style_contents.append((content_start, content_end))
        elif from_network or _JQUERY_SHIM.match(text):
            self.removable.append((start, end))
        self._raw = None


def network_loads(page: str) -> list[str]:
    """What a page would fetch from the network by itself, one short line each; empty if nothing.

    Checked: ``src``, ``href`` (not on ``<a>``/``<area>``: a link is the reader's choice),
    ``srcset``, ``poster``, ``data`` and the other loading attributes, ``<meta http-equiv=refresh>``,
    ``url(...)`` and ``@import`` in ``<style>`` and ``style=`` attributes; a network URL is
    ``http(s)``, ``ftp``, ``ws(s)`` or protocol-relative ``//``. ``data:`` URIs (the charts and the
    renderer's embedded scripts and styles) are not network loads.
    """
    return _NetworkScan(page).findings


def strip_network_loads(page: str) -> str:
    """``page`` without what a renderer adds from the network, its own content untouched.

    Removed: every ``<script src=...>`` and ``<link href=...>`` with a network URL (Quarto writes
    require.js and jQuery from a CDN into the head of every page with a ``text/html`` notebook
    output, and ``embed-resources`` cannot inline them offline), the jQuery ``define`` shim that
    needs require.js, and ``@import`` rules of network stylesheets in ``<style>``. Whatever else
    loads from the network is content and is left for :func:`network_loads` to report.
    """
    scan = _NetworkScan(page)
    pieces, position = [], 0
    cuts = sorted(scan.removable + [(start, end) for start, end in scan.style_contents
                                     if _NETWORK_IMPORT.search(page, start, end)])
    for start, end in cuts:
        if start < position:
            continue
        pieces.append(page[position:start])
        if (start, end) in scan.style_contents:
            pieces.append(_NETWORK_IMPORT.sub("", page[start:end]))
        elif page.startswith("\n", end) and (start == 0 or page[start - 1] == "\n"):
            end += 1  # the element was a line of its own: take the line
        position = end
    pieces.append(page[position:])
    return "".join(pieces)


def write_page(path: Path, page: str, name: str | None = None) -> None:
    """Write a page only if it loads nothing from the network (whatever renderer wrote it); the
    error names the page as ``name`` (default: the file's name)."""
    loads = network_loads(page)
    if loads:
        raise CldstatsError(f"{name or path.name} would load {len(loads)} resource(s) from the network, "
                            f"first {loads[0]}: a report must be self-contained")
    path.write_text(page, encoding="utf-8")
