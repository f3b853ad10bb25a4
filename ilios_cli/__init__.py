"""`ilios`: a command line for any Ilios server, over its public HTTP API.

It imports neither Django nor anything of the server, only httpx2 and rich, so it runs from any
machine that can reach a server (tests/cli/test_cli.py checks that no Django module is loaded).
"""
