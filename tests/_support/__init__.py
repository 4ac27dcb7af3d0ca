"""Helpers shared by the test suite, one module per thing they help with.

- ``api``: constants, engine payloads and a mock transport for the REST facade tests.
- ``answers``: one engine answer, and the app's request headers.
- ``paths``: the engine paths the tests call.
- ``openapi``: ``openapi.yaml`` loaded, and engine answers checked against it.
- ``engine``: a spec-checking engine client, the in-process engine and its app credentials.
- ``engine_calls`` / ``engine_seats``: calls and seated rooms set up on an in-process engine.
- ``raw_engine``: plain HTTP to an engine subprocess, past every check the SDK makes.
- ``incoming_calls``: a recorder of ``incoming_calls`` and a gate that holds its reconnect.
- ``seats``: predicates on a seat grid; ``views``: predicates on any view.
- ``tokens``: the claims of a token, read unverified.
- ``figures``: what the reliability suite measured, printed at the end of the run.
- ``threads``: work run on a thread of its own (its own ``asyncio.run``).
- ``rooms``: the LiveKit rooms still connected in the process.
- ``repeats``: what ``--repeat NODEID=N`` asks the run to repeat.
- ``participant_process``: a participant in a process of its own, for crash tests.

Fixtures stay in the ``conftest.py`` files (and the ``utd_`` ones in
:mod:`utd_stream_rx.testing.pytest_plugin`); nothing here is a fixture.
"""
