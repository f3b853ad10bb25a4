"""The document formats Ilios reads: told from a file's first bytes, never from its name.

The one list of supported formats: uploads sniff with it, submissions refuse what is not on it
(and say what is), and engines branch on it.
"""

from __future__ import annotations

PDF = "application/pdf"

# Image formats, each with the name a person knows it by and the bytes its files start with.
IMAGES = {
    "image/png": ("PNG", (b"\x89PNG\r\n\x1a\n",)),
    "image/jpeg": ("JPEG", (b"\xff\xd8\xff",)),
    "image/tiff": ("TIFF", (b"II*\x00", b"MM\x00*")),
    "image/webp": ("WebP", ()),  # RIFF....WEBP: checked apart, its signature has a gap
    "image/bmp": ("BMP", (b"BM",)),
    "image/gif": ("GIF", (b"GIF87a", b"GIF89a")),
}
SUPPORTED = (PDF, *IMAGES)
SNIFF_BYTES = 1024


def sniff(head: bytes) -> str | None:
    """The format told by a file's first bytes (SNIFF_BYTES of them), or None."""
    if b"%PDF-" in head[:SNIFF_BYTES]:
        return PDF
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    for mime_type, (_, signatures) in IMAGES.items():
        if any(head.startswith(signature) for signature in signatures):
            return mime_type
    return None


def is_image(mime_type: str) -> bool:
    return mime_type in IMAGES


def described() -> str:
    """'a PDF or a PNG, JPEG, ... or GIF image', for messages that say what is accepted."""
    names = [name for name, _ in IMAGES.values()]
    return f"a PDF or a {', '.join(names[:-1])} or {names[-1]} image"
