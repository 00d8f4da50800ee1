"""pytest plugin for the ogctests suite: its HTTP client sends the caller's Bearer token."""

import os

import httpx
import pytest


@pytest.fixture(scope="session")
def http_client(instance_url: str):  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {os.environ['OGC_TEST_TOKEN']}"}
    with httpx.Client(base_url=instance_url, headers=headers, timeout=120) as client:
        yield client
