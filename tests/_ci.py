"""One rule for every skip in the suite: outside CI a missing optional piece skips, in CI it fails.

CI runs the README's set-up plus the docs extra and the system browser, with ``../shared/data`` beside
the checkout and root rights, so there nothing a test needs may be missing: a skip would hide it.
"""

import os

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def skip_outside_ci(why, *, allow_module_level=False):
    """Skip with ``why`` on a user's partial install; fail with it under CI."""
    if IN_CI:
        pytest.fail(f"{why}: CI must provide it, so this is an error there, not a skip", pytrace=False)
    pytest.skip(why, allow_module_level=allow_module_level)
