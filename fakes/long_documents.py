"""Long documents, written by hand: every page says which it is, in words no other page has.

For the fan-out tests and `bench.fanout`: a document converted in parts must come back whole and
in page order, which a page's own words show. Each page holds `lines` lines of body text (a
heading-free paragraph, so the local engine reads it as prose) and, with `padding`, that many
bytes of random hex in a comment of its content stream: a PDF that is large without being long,
which survives being split into smaller PDFs page by page.

    numbered_pdf(1200)                        # 1,200 pages, a few KB each
    numbered_pdf(60, padding=1_000_000)       # 60 MB in 60 pages
"""

from __future__ import annotations

import os

from fakes.hostile import pdf_from_objects

BODY = (
    "The harbour log for this day records wind swell and the name of each vessel",
    "that passed the breakwater before noon so that the next crew knows what waited",
    "beyond the channel and which pilots guided the freighters through the narrows",
)


def page_marker(page: int) -> str:
    """The word only page `page` (1-based) holds."""
    return f"alpha{page}omega"


def numbered_pdf(pages: int, lines: int = 3, padding: int = 0) -> bytes:
    objects = ["<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(pages))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>")
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i in range(pages):
        text = [f"Page {i + 1} of the log opens with {page_marker(i + 1)} and"]
        text += [BODY[n % len(BODY)] for n in range(lines - 1)]
        shown = " ".join(f"({line}) Tj 0 -14 Td" for line in text)
        stream = f"BT /F1 11 Tf 72 700 Td {shown} ET"
        if padding:
            stream += f"\n% {os.urandom(padding // 2).hex()}"
        objects.append(
            "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>"
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    return pdf_from_objects(objects)
