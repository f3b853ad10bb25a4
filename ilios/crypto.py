"""Sealing short secrets (a PDF's password) for the trip from the API to a worker.

A password must reach the worker that converts the document, through the job's payload, yet the
database must never hold it in clear. It is sealed with a key derived from SECRET_KEY, which the
API and the workers share, and dropped from the payload when the job finishes.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


def _fernet() -> Fernet:
    digest = hashlib.sha256(b"ilios.crypto:" + settings.SECRET_KEY.encode()).digest()
    return Fernet(base64.urlsafe_b64encode(digest))


def seal(secret: str) -> str:
    return _fernet().encrypt(secret.encode()).decode()


def unseal(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError("sealed secret cannot be opened: was SECRET_KEY changed?") from None
