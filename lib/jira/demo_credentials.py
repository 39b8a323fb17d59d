"""The Jira sandbox's public demo credentials.

They live outside ``lib.jira.sandbox`` so product code (demo mode's connection)
can name them without importing the sandbox, which only tests, benchmarks and
app.py may import.
"""

DEMO_CLOUD_EMAIL = "demo@anomaly-desk.example"
DEMO_CLOUD_API_TOKEN = "sandbox-api-token"
DEMO_DC_PAT = "sandbox-pat"
DEMO_DC_USERNAME = "admin"
DEMO_DC_PASSWORD = "admin"
