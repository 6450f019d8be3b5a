"""The worker-protocol tests take ``proto`` and ``registered`` (tests/support/fixtures.py) and
speak through ``tests.support.protocol_client.Protocol``. The background duties are off, so the
lease reaper runs only when a test calls it (``Protocol.reap``) and lease expiry can be checked
step by step."""
