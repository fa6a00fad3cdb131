"""The pack's fonts: TrueType files (reportlab embeds TrueType outlines, subset to
the glyphs used, but not CFF/OpenType-CFF ones), tried in order for each character,
so a name in Latin, Greek, Cyrillic or CJK script prints in a font that has it
instead of as boxes. The files are settings.HANDIN_FONTS (Debian's
fonts-dejavu-core and fonts-droid-fallback by default: .ci/run, Dockerfile)."""

from dataclasses import dataclass, field
from functools import cache

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont

# Measured texts kept per font set: the table's towns, dates and districts repeat
# on every page (a name is measured twice: to fit it, and to draw it).
_WIDTHS_KEPT = 4096


class FontMissing(RuntimeError):
    """A configured font file is absent or unreadable: the pack cannot be built."""


@dataclass(frozen=True)
class FontSet:
    names: tuple[str, ...]  # as registered with reportlab, in order of preference
    covers: tuple[frozenset[int], ...]  # the code points each one has a glyph for
    _widths: dict = field(default_factory=dict, compare=False, hash=False)

    def runs(self, text: str) -> list[tuple[str, str]]:
        """`text` cut into (font, run) pieces, each character in the first font
        that has it (the first font when none has it)."""
        first = self.names[0]
        # The common cases at C speed: ASCII, or all in the first font.
        if text.isascii() or self.covers[0].issuperset(map(ord, text)):
            return [(first, text)]
        runs: list[tuple[str, str]] = []
        for char in text:
            code = ord(char)
            pairs = zip(self.names, self.covers, strict=True)
            font = next((name for name, cover in pairs if code in cover), first)
            if runs and runs[-1][0] == font:
                runs[-1] = (font, runs[-1][1] + char)
            else:
                runs.append((font, char))
        return runs

    def width(self, text: str, size: float) -> float:
        key = (text, size)
        if (width := self._widths.get(key)) is None:
            if len(self._widths) >= _WIDTHS_KEPT:
                self._widths.clear()
            width = self._widths[key] = sum(
                pdfmetrics.stringWidth(run, font, size) for font, run in self.runs(text)
            )
        return width

    def draw(self, canvas, x: float, y: float, text: str, size: float) -> None:
        runs = self.runs(text)
        for i, (font, run) in enumerate(runs):
            # setFont writes an operator each time: only when it changes.
            if (canvas._fontname, canvas._fontsize) != (font, size):
                canvas.setFont(font, size)
            canvas.drawString(x, y, run)
            if i + 1 < len(runs):
                x += pdfmetrics.stringWidth(run, font, size)


@cache
def font_set(paths: tuple[str, ...]) -> FontSet:
    """Register the fonts once per process (reportlab's registry is global; each
    document still embeds its own subsets)."""
    names, covers = [], []
    for i, path in enumerate(paths):
        name = f"handin-{i}"
        try:
            font = TTFont(name, path)
        except (OSError, TTFError) as exc:
            raise FontMissing(
                f"Cannot use the font {path} ({exc}). Install Debian's "
                "fonts-dejavu-core and fonts-droid-fallback, or set HANDIN_FONTS "
                "to TrueType files."
            ) from exc
        pdfmetrics.registerFont(font)
        names.append(name)
        covers.append(frozenset(font.face.charToGlyph))
    if not names:
        raise FontMissing("HANDIN_FONTS names no font.")
    return FontSet(names=tuple(names), covers=tuple(covers))
