from __future__ import annotations

# The security walkers' test world (Contoso with every kind of object, Fabrikam outside).
from tests.security.conftest import world  # noqa: F401
