from pathlib import Path

import pytest
import streamlit as st

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _clear_streamlit_caches():
    yield
    st.cache_resource.clear()
    st.cache_data.clear()


@pytest.fixture
def page_path():
    def path(name: str) -> str:
        return str(ROOT / "pages" / f"{name}.py")

    return path
