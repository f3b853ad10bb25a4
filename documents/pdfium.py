"""The one way into PDFium, which is not thread-safe.

Gunicorn threads (the submit pre-check, sync conversion) and worker threads (engines) all read
PDFs in the same process; every PDFium call must hold `lock`, or two threads corrupt its state.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c

from documents.engines.base import PasswordRequired, UnreadableDocument, WrongPassword

lock = threading.RLock()


def open_pdf(path: Path, password: str | None) -> pdfium.PdfDocument:
    """Open a PDF, telling a missing or wrong password from a damaged file. Hold `lock`."""
    if path.stat().st_size == 0:
        raise UnreadableDocument("the file is empty (0 bytes)")
    try:
        return pdfium.PdfDocument(str(path), password=password)
    except pdfium.PdfiumError as error:
        if error.err_code == pdfium_c.FPDF_ERR_PASSWORD:
            if password is None:
                raise PasswordRequired("the PDF is encrypted: a password is required") from None
            raise WrongPassword("the password does not open this PDF") from None
        raise UnreadableDocument(f"not a readable PDF (damaged or truncated): {error}") from None


def is_encrypted(document: pdfium.PdfDocument) -> bool:
    """Whether the document has a security handler (a password, or permissions to lift)."""
    return pdfium_c.FPDF_GetSecurityHandlerRevision(document) != -1
