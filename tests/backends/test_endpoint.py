"""check_endpoint: the endpoint option of both SDK backends needs a scheme."""

from __future__ import annotations

import pytest

from pii_gemini._exceptions import ConfigError


def test_endpoint_needs_a_scheme() -> None:
    from pii_gemini.backends._endpoint import check_endpoint
    from pii_gemini.backends.gemini import GeminiBackend
    from pii_gemini.backends.vertex import VertexBackend

    with pytest.raises(ConfigError, match=r"'http://127\.0\.0\.1:1'"):
        GeminiBackend(api_key="some-key", endpoint="127.0.0.1:1")
    with pytest.raises(ConfigError, match="scheme"):
        VertexBackend(project="p", endpoint="localhost:8080")
    assert check_endpoint(None) is None
    assert check_endpoint("https://proxy.example") == "https://proxy.example"
