"""The documents the tests convert are shipped with their sources and licences."""

import re

from tests.conftest import FIXTURES


def test_every_fixture_document_is_listed_with_its_licence_and_every_listed_one_exists():
    readme = (FIXTURES / "README.md").read_text()
    listed = set(
        re.findall(r"^\| `([^`]+)` \| .+ \| (?:CC-BY-SA-4\.0|MIT|Apache-2\.0) \|", readme, re.M)
    )
    shipped = {path.name for path in FIXTURES.iterdir() if path.name != "README.md"}

    assert listed == shipped
