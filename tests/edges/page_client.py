"""Open one page of a running dashboard over Streamlit's websocket, as a browser would.

Faster than a browser and needs none: it sends the ``rerun_script`` a browser
sends for an address and collects what the server answers until the run ends.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg


@dataclass
class PageRun:
    """What one script run sent: the navigation's pages, the texts shown, how it ended."""

    nav_pages: list[str] = field(default_factory=list)  # url paths from st.navigation
    session_pages: list[str] = field(default_factory=list)  # pages in new_session
    texts: list[str] = field(default_factory=list)
    favicon: str = ""
    finished: bool = False


def _texts_of(msg: ForwardMsg) -> list[str]:
    element = msg.delta.new_element
    kind = element.WhichOneof("type")
    if kind is None:
        return []
    value = getattr(element, kind)
    for name in ("body", "label", "text"):
        text = getattr(value, name, None)
        if isinstance(text, str) and text:
            return [text]
    return []


async def _open(ws_url: str, page_name: str, query: str, timeout: float) -> PageRun:
    run = PageRun()
    async with websockets.connect(ws_url, subprotocols=["streamlit"], max_size=None) as ws:
        back = BackMsg()
        back.rerun_script.query_string = query
        back.rerun_script.page_name = page_name
        await ws.send(back.SerializeToString())
        async with asyncio.timeout(timeout):
            while True:
                msg = ForwardMsg()
                msg.ParseFromString(await ws.recv())
                kind = msg.WhichOneof("type")
                if kind == "new_session":
                    run.session_pages = [p.url_pathname for p in msg.new_session.app_pages]
                elif kind == "navigation":
                    run.nav_pages = [p.url_pathname for p in msg.navigation.app_pages]
                elif kind == "page_config_changed":
                    run.favicon = msg.page_config_changed.favicon or run.favicon
                elif kind == "delta":
                    run.texts.extend(_texts_of(msg))
                elif kind == "script_finished":
                    run.finished = True
                    return run


def open_page(base_url: str, page_name: str = "", query: str = "", timeout: float = 30) -> PageRun:
    """Run the page at ``<base_url>/<page_name>`` once in a new session."""
    ws_url = base_url.replace("http://", "ws://", 1) + "/_stcore/stream"
    return asyncio.run(_open(ws_url, page_name, query, timeout))
