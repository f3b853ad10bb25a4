"""Fakes of the services Ilios talks to, used by the tests and the benchmarks, never by the product.

They speak the real services' HTTP APIs on 127.0.0.1, so the real client libraries run against
them and nothing reaches the internet. Top-level rather than under tests/ so the benchmarks can
start them without importing the test suite.
"""
