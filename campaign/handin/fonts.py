"""The pack's fonts: TrueType files (reportlab embeds TrueType outlines, subset to
the glyphs used, but not CFF/OpenType-CFF ones), tried in order for each character,
so a name in Latin, Greek, Cyrillic or CJK script prints in a font that has it
instead of as boxes. The files are settings.HANDIN_FONTS (Debian's
fonts-dejavu-core and fonts-droid-fallback by default: .ci/run, Dockerfile)."""

from dataclasses import dataclass
from functools import cache

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFError, TTFont


class FontMissing(RuntimeError):
    """A configured font file is absent or unreadable: the pack cannot be built."""


@dataclass(frozen=True)
class FontSet:
    names: tuple[str, ...]  # as registered with reportlab, in order of preference
    covers: tuple[frozenset[int], ...]  # the code points each one has a glyph for

    def runs(self, text: str) -> list[tuple[str, str]]:
        """`text` cut into (font, run) pieces, each character in the first font
        that has it (the first font when none has it)."""
        first = self.names[0]
        if text.isascii():  # the common case, and every first font covers ASCII
            return [(first, text)]
        runs: list[tuple[str, str]] = []
        for char in text:
            code = ord(char)
            font = next(
                (
                    n
                    for n, cover in zip(self.names, self.covers, strict=True)
                    if code in cover
                ),
                first,
            )
            if runs and runs[-1][0] == font:
                runs[-1] = (font, runs[-1][1] + char)
            else:
                runs.append((font, char))
        return runs

    def width(self, text: str, size: float) -> float:
        return sum(
            pdfmetrics.stringWidth(run, font, size) for font, run in self.runs(text)
        )

    def draw(self, canvas, x: float, y: float, text: str, size: float) -> None:
        for font, run in self.runs(text):
            canvas.setFont(font, size)
            canvas.drawString(x, y, run)
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
