"""`python -m ilios.role`: prints what `scripts/entrypoint.sh` runs here, `all`, `api` or
`workers` (ILIOS_ROLE), read as the settings read every variable (the environment, then `.env`),
so a role set in `.env` is not silently ignored and a wrong one stops start-up naming it."""

import sys
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured
from dotenv import load_dotenv

from ilios import config

if __name__ == "__main__":
    if config.boolean("ILIOS_DOTENV", True):  # as in ilios/settings.py
        load_dotenv(Path(__file__).resolve().parent.parent / ".env")
    try:
        print(config.choice("ILIOS_ROLE", "all", ("all", "api", "workers")))
    except ImproperlyConfigured as exc:
        sys.exit(str(exc))
