"""The tests' fake Mistral server, run for benchmarks with Nagle's algorithm off.

The fake writes a response's headers and body in separate sends; with Nagle on, the body then
waits for the client's delayed ACK (40 ms on Linux) on every call, an artefact of the fake that
the real API does not have. Everything else is `tests.fakes.mistral_server` unchanged.

    .venv/bin/python -m bench.fake_mistral --port 8765 --latency 0.5
"""

from tests.fakes import mistral_server

mistral_server._Handler.disable_nagle_algorithm = True

if __name__ == "__main__":
    mistral_server.main()
