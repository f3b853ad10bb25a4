""".env.example lists every setting the product reads, so it stays the one complete list.

The names are read from the code itself: calls of the `ilios.config` readers (however imported)
and direct reads of `os.environ`, in every module but the tests', the benchmarks' and the fakes'.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.conftest import REPO
from tests.settings import documented_settings

NOT_THE_PRODUCT = {"tests", "bench", "fakes", "data", "migrations", "build"}  # build: pip's copy
# The CLI is a client: it reads ILIOS_URL and ILIOS_API_KEY on the user's machine, never a
# server's .env (the README's CLI section documents them).
NOT_THE_SERVER = {"ilios_cli"}
READERS = {"text", "integer", "number", "boolean", "size", "choice"}


def product_modules() -> list[Path]:
    left_out = NOT_THE_PRODUCT | NOT_THE_SERVER
    tops = [p for p in REPO.iterdir() if p.name not in left_out and p.name[0] != "."]
    paths = [p for p in tops if p.suffix == ".py"]
    paths += [p for top in tops if top.is_dir() for p in top.rglob("*.py")]
    return [p for p in paths if "migrations" not in p.parts]


def names_read(tree: ast.Module) -> set[str]:
    """Literal first arguments of the config readers, os.environ.get, os.getenv, os.environ[…]."""
    # Local names of the readers (`from ilios.config import integer as env_integer`) and of
    # the module (`from ilios import config`).
    readers, modules = set(), set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "ilios.config":
            readers |= {alias.asname or alias.name for alias in node.names if alias.name in READERS}
        elif isinstance(node, ast.ImportFrom) and node.module == "ilios":
            modules |= {
                alias.asname or alias.name for alias in node.names if alias.name == "config"
            }

    def literal(node) -> str | None:
        return (
            node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None
        )

    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and node.args:
            function = node.func
            if (
                (isinstance(function, ast.Name) and function.id in readers)
                or (
                    isinstance(function, ast.Attribute)
                    and function.attr in READERS
                    and isinstance(function.value, ast.Name)
                    and function.value.id in modules
                )
                or ast.unparse(function) in {"os.environ.get", "os.getenv"}
            ):
                names.add(literal(node.args[0]))
        elif isinstance(node, ast.Subscript) and ast.unparse(node.value) == "os.environ":
            names.add(literal(node.slice))
    return names - {None}


def settings_read_by_the_product() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    for path in product_modules():
        for name in names_read(ast.parse(path.read_text(), str(path))):
            found.setdefault(name, set()).add(str(path.relative_to(REPO)))
    return found


def test_every_setting_the_product_reads_is_in_env_example():
    documented = documented_settings()
    missing = {
        name: sorted(where)
        for name, where in settings_read_by_the_product().items()
        if name not in documented
    }

    assert not missing, f"add these to .env.example with their defaults: {missing}"


def test_env_example_names_no_setting_the_product_does_not_read():
    assert documented_settings() - set(settings_read_by_the_product()) == set()


def test_the_scan_finds_settings_however_the_reader_is_imported():
    tree = ast.parse(
        "from ilios import config\n"
        "from ilios.config import integer as env_integer\n"
        "import os\n"
        "a = config.size('A', 1)\n"
        "b = env_integer('B', 2)\n"
        "c = os.environ.get('C')\n"
        "d = os.environ['D']\n"
        "e = os.getenv('E')\n"
        "f = os.environ.setdefault('NOT_A_SETTING', 'x')\n"
    )

    assert names_read(tree) == {"A", "B", "C", "D", "E"}


# Every variable the original service read (tobalo/ilios at 067be4a: its .env.example,
# src/services/index.ts, src/index.ts, src/middleware/auth.ts, the deployment guide and the
# recommended production configuration), so a user's old .env is honoured or refused by name.
ORIGINAL_SETTINGS = {
    "USE_EMBEDDED_REPLICA",
    "LOCAL_DB_PATH",
    "TURSO_DATABASE_URL",
    "TURSO_AUTH_TOKEN",
    "TURSO_SYNC_INTERVAL",
    "DB_ENCRYPTION_KEY",
    "DB_WAL_MODE",
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_ENDPOINT_URL_S3",
    "S3_BUCKET",
    "S3_MULTIPART_THRESHOLD",
    "MISTRAL_API_KEY",
    "API_KEY",
    "PORT",
    "WORKER_COUNT",
    "MAX_CONCURRENT_JOBS",
}


def test_every_setting_of_the_original_service_is_in_env_example_and_read():
    assert ORIGINAL_SETTINGS - documented_settings() == set()
    assert ORIGINAL_SETTINGS - set(settings_read_by_the_product()) == set()
