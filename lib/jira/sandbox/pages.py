"""HTML pages for people: ``/`` lists the issues, ``/browse/{KEY}`` shows one.

Links from the dashboard point here in demo mode. Every user-supplied string
is escaped; rich text goes through ``richtext.rich_to_html``.
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse
from starlette.routing import Route

from .app import SandboxRuntime, sandbox_base_url
from .config import OTHER_USER, PRIMARY_USER
from .richtext import rich_to_html
from .state import PROJECTS, jira_time, status_by_id

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#172b4d}"
    ".lozenge{padding:.1rem .4rem;border-radius:3px;background:#dfe1e6;font-size:.8rem;text-transform:uppercase}"
    ".done{background:#e3fcef}.indeterminate{background:#deebff}.comment{border-top:1px solid #ddd;padding:.5rem 0}"
    "table{border-collapse:collapse}td,th{padding:.3rem .6rem;border-bottom:1px solid #eee;text-align:left}"
    ".banner{background:#fffae6;padding:.4rem .8rem;border-radius:4px}"
)


def _page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    html = (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{_STYLE}</style></head><body>"
        "<p class='banner'>Jira sandbox: demo data, not a real Jira.</p>"
        f"{body}</body></html>"
    )
    return HTMLResponse(html, status_code=status_code)


def routes(runtime: SandboxRuntime) -> list[Route]:
    state = runtime.state

    async def index(request: Request) -> HTMLResponse:
        base = sandbox_base_url(request)
        rows = []
        for issue in sorted(state.all_issues(), key=lambda i: int(i.id), reverse=True):
            status = status_by_id(issue.status_id)
            rows.append(
                f"<tr><td><a href='{escape(base)}browse/{escape(issue.key)}'>{escape(issue.key)}</a></td>"
                f"<td>{escape(issue.summary)}</td><td>{escape(status.name)}</td>"
                f"<td>{escape(issue.priority)}</td><td>{escape(jira_time(issue.updated))}</td></tr>"
            )
        projects = ", ".join(f"{escape(p.key)} ({escape(p.name)})" for p in PROJECTS)
        table = "".join(rows) or "<tr><td colspan='5'>No issues yet.</td></tr>"
        body = (
            f"<h1>Jira sandbox</h1><p>Projects: {projects}</p>"
            f"<table><tr><th>Key</th><th>Summary</th><th>Status</th><th>Priority</th><th>Updated</th></tr>{table}</table>"
        )
        return _page("Jira sandbox", body)

    async def browse(request: Request) -> HTMLResponse:
        issue = state.get(request.path_params["key"])
        if issue is None:
            return _page("Not found", "<h1>Issue does not exist</h1>", 404)
        status = status_by_id(issue.status_id)
        comments = (
            "".join(
                f"<div class='comment'><small>{escape(_author(c.author))} - {escape(jira_time(c.created))}</small>"
                f"{rich_to_html(c.body)}</div>"
                for c in issue.comments
            )
            or "<p>No comments.</p>"
        )
        labels = " ".join(f"<span class='lozenge'>{escape(label)}</span>" for label in issue.labels)
        body = (
            f"<p><a href='{escape(sandbox_base_url(request))}'>All issues</a></p>"
            f"<h1><span>{escape(issue.key)}</span> {escape(issue.summary)}</h1>"
            f"<p>Status: <span class='lozenge {escape(status.category_key)}'>{escape(status.name)}</span> "
            f"Priority: {escape(issue.priority)} {labels}</p>"
            f"<h2>Description</h2><div class='description'>{rich_to_html(issue.description)}</div>"
            f"<h2>Comments</h2>{comments}"
        )
        return _page(f"[{issue.key}] {issue.summary}", body)

    return [Route("/", index, methods=["GET"]), Route("/browse/{key}", browse, methods=["GET"])]


def _author(stored: str) -> str:
    """A comment's author as people read it (older state files keep an email or a name)."""
    return {PRIMARY_USER: "Sandbox Demo User", OTHER_USER: "Other Sandbox User"}.get(stored, stored)
