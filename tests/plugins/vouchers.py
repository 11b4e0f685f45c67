"""The service's voucher key in tests: generated at test time, handed to the app as its setting.

conftest's `app` signs with SERVICE_KEY through `voucher_key_file`, so no test writes a key into
the checkout's var/.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from core.ed25519_keys import generate_private_key, private_key_pem

SERVICE_KEY = generate_private_key()


@pytest.fixture(scope="session")
def voucher_key_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("keys") / "voucher-signing-key.pem"
    path.write_bytes(private_key_pem(SERVICE_KEY))
    path.chmod(0o600)
    return path
