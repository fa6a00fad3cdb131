"""The hand-in pack: a PDF of the letter and its supporters, and the matching CSV,
in one zip (docs/organiser.md, "Handing in").

- rows.py: what the pack holds (the vetted supporters, the personal letters, the
  cover's facts), read in one snapshot and cleaned once for both files;
- fonts.py: the embedded TrueType fonts and the per-glyph fallback between them;
- pdf.py: the PDF, drawn page by page on a reportlab canvas;
- archive.py: both files into the zip, with progress.

The build's bookkeeping (claim, progress, retries) is campaign/services/handin.py.
"""
