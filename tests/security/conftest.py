"""The attacks run against the real stack: the dev server, a worker, the API on a port of its
own (the e2e suite's fixtures), and the portal in Chromium where a browser is the attacker's."""

from tests.e2e.conftest import api, dev_server  # noqa: F401
