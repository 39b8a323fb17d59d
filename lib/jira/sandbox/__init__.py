"""A Jira-compatible server for demos, end-to-end tests and benchmarks (issue 5).

Public API: ``SandboxConfig``, ``create_sandbox_app``, ``start_sandbox_in_thread``.
"""

from .app import create_sandbox_app
from .config import SandboxConfig
from .server import RunningSandbox, start_sandbox_in_thread

__all__ = ["RunningSandbox", "SandboxConfig", "create_sandbox_app", "start_sandbox_in_thread"]
