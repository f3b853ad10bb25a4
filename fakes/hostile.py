"""Hostile documents, written by hand: tiny files that ask for gigabytes, or lie about themselves.

A public API meets these in its first week. The tests send them to every endpoint that takes a
file, and `bench.hostile` measures what they cost the API and a worker. Each is generated (in
well under a second) rather than shipped, since a real one would be as large as it claims.

    png_of_size(50_000, 50_000)      # 50000x50000 blank PNG, about 300 KB
    pdf_with_page(1e9, 1e9)          # one page a billion points wide, 500 bytes
    tiff_of_words(["FIRST", "SECOND", "THIRD"])
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib


def png_of_size(width: int, height: int, bits: int = 1, colour: bool = False) -> bytes:
    """A black PNG of any size, grayscale (or 8-bit RGB with `colour`, which Pillow decodes to
    4 bytes a pixel); its rows of zeros compress about a thousand to one.

    Every row is a zero filter byte and zero pixels, so the image data is only zeros, fed to zlib
    a megabyte at a time: making a 50000x50000 one costs a megabyte of memory.
    """
    channels = 3 if colour else 1
    left = (1 + (width * bits * channels + 7) // 8) * height
    block = bytes(2**20)
    compressor = zlib.compressobj()
    parts = []
    while left > 0:
        parts.append(compressor.compress(block[: min(left, len(block))]))
        left -= len(block)
    data = b"".join(parts) + compressor.flush()
    header = struct.pack(">IIBBBBB", width, height, bits, 2 if colour else 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", data) + _chunk(b"IEND")


def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims any size (up to 2^31-1 a side) and which has no pixels at all."""
    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IEND")


def _chunk(kind: bytes, data: bytes = b"") -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def pdf_with_page(width: float, height: float, text: str | None = None, pages: int = 1) -> bytes:
    """A PDF of `pages` pages `width` x `height` points: blank (so an engine must render it for
    OCR), or with one line of `text` on a text layer ("{page}" in it is the page's number)."""
    objects = ["<< /Type /Catalog /Pages 2 0 R >>"]
    kids = " ".join(f"{4 + 2 * i} 0 R" for i in range(pages))
    objects.append(f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>")
    objects.append("<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    for i in range(pages):
        stream = f"BT /F1 24 Tf 36 36 Td ({text.format(page=i + 1)}) Tj ET" if text else ""
        objects.append(
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {_number(width)} {_number(height)}] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {5 + 2 * i} 0 R >>"
        )
        objects.append(f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream")
    return pdf_from_objects(objects)


def pdf_with_pictures(count: int, width: float = 612, height: float = 792) -> bytes:
    """One page with a line of text at its foot and `count` pictures above it, each over the rest
    of the page: every one is a figure an engine may render for OCR."""
    image = "<< /Type /XObject /Subtype /Image /Width 8 /Height 8 /ColorSpace /DeviceGray " + (
        "/BitsPerComponent 8 /Length 64 >>\nstream\n" + "\x80" * 64 + "\nendstream"
    )
    place = f"{_number(width)} 0 0 {_number(height * 0.8)} 0 {_number(height * 0.2)} cm"
    draw = " ".join(f"q {place} /Im0 Do Q" for _ in range(count))
    stream = f"{draw} BT /F1 24 Tf 36 36 Td (A page of pictures) Tj ET"
    objects = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [4 0 R] /Count 1 >>",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 {_number(width)} {_number(height)}] "
        "/Resources << /Font << /F1 3 0 R >> /XObject << /Im0 6 0 R >> >> /Contents 5 0 R >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        image,
    ]
    return pdf_from_objects(objects)


def _number(value: float) -> str:
    """A PDF number: plain decimals, as PDF has no exponent notation (1e9 is written out)."""
    return f"{value:f}".rstrip("0").rstrip(".")


def pdf_from_objects(objects: list[str]) -> bytes:
    """A PDF of these objects (numbered from 1; the first is the catalog) with its xref."""
    out = io.BytesIO()
    out.write(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(out.tell())
        out.write(f"{number} 0 obj\n{body}\nendobj\n".encode())
    xref = out.tell()
    out.write(f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode())
    out.write("".join(f"{offset:010d} 00000 n \n" for offset in offsets).encode())
    out.write(
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return out.getvalue()


def tiff_of_words(words: list[str], size: tuple[int, int] = (900, 300)) -> bytes:
    """A multi-frame TIFF, one frame per word, each word large and black on white."""
    from PIL import Image, ImageDraw, ImageFont

    font = ImageFont.load_default(size=96)
    frames = []
    for word in words:
        frame = Image.new("L", size, 255)
        ImageDraw.Draw(frame).text((60, 90), word, fill=0, font=font)
        frames.append(frame)
    out = io.BytesIO()
    frames[0].save(out, format="TIFF", save_all=True, append_images=frames[1:])
    return out.getvalue()


def zip_bomb(inflated_mib: int = 1024) -> bytes:
    """A ZIP whose one member inflates to `inflated_mib` MiB of zeros (about 1 MB per GiB)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:  # noqa: SIM117
        with archive.open("zeros.pdf", "w", force_zip64=True) as member:
            block = bytes(2**20)
            for _ in range(inflated_mib):
                member.write(block)
    return out.getvalue()
