"""Fixtures for anomaly changes: the sync harness (sandbox over HTTP) and the page's caches."""

from __future__ import annotations

import pytest
import streamlit as st

# The sandbox harness is the sync tests' own; re-exported so these tests run the
# same engine against the same sandbox.
from tests.sync.conftest import cloud_harness, db, harness, sandboxes  # noqa: F401


@pytest.fixture(autouse=True)
def _clear_streamlit_caches():
    yield
    st.cache_resource.clear()
    st.cache_data.clear()
