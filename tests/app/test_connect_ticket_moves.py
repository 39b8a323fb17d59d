"""The Connect page's "Move linked tickets in Jira" setting under AppTest."""

import pytest
from streamlit.testing.v1 import AppTest

from lib.connections.models import ConnectionInput
from lib.connections.validation import sandbox_credentials
from lib.jira.sandbox import SandboxConfig, start_sandbox_in_thread
from lib.services import services_for


@pytest.fixture(scope="module")
def sandbox():
    running = start_sandbox_in_thread(SandboxConfig(flavour="both"))
    yield running
    running.stop()


@pytest.fixture
def store(tmp_settings, sandbox):
    """Services whose active connection (id 1) is the sandbox."""
    connections = services_for(tmp_settings).connections
    connections.create(
        ConnectionInput(
            kind="sandbox",
            host=sandbox.base_url,
            credentials=sandbox_credentials("cloud"),
            flavour="cloud",
        )
    )
    return connections


@pytest.fixture
def app(page_path, store):
    at = AppTest.from_file(page_path("connect"), default_timeout=30)
    at.run()
    assert not at.exception
    return at


def test_off_by_default_and_switched_on_by_category(app, store):
    assert store.get(1).move_tickets is False
    assert app.toggle(key="connect_moves_on_1").value is False
    app.toggle(key="connect_moves_on_1").set_value(True).run()
    app.button(key="connect_moves_save_1").click().run()
    assert not app.exception
    saved = store.get(1)
    assert (saved.move_tickets, saved.transition_by, saved.done_transition_id) == (
        True,
        "category",
        None,
    )
    assert any("Ticket moves saved: on." in s.value for s in app.success)
    assert app.toggle(key="connect_moves_on_1").value is True


def test_by_transition_id_is_stored_and_a_bad_id_is_refused_under_its_field(app, store):
    app.toggle(key="connect_moves_on_1").set_value(True).run()
    app.radio(key="connect_moves_by_1").set_value("By transition id").run()
    app.text_input(key="connect_moves_done_1").input("Done")
    app.button(key="connect_moves_save_1").click().run()
    assert any("is not a transition id" in e.value for e in app.error)
    assert store.get(1).move_tickets is False  # nothing stored
    app.text_input(key="connect_moves_done_1").input("31")
    app.text_input(key="connect_moves_reopen_1").input(" 21 ")
    app.button(key="connect_moves_save_1").click().run()
    assert not app.error
    saved = store.get(1)
    assert (saved.transition_by, saved.done_transition_id, saved.reopen_transition_id) == (
        "id",
        "31",
        "21",
    )


def test_moving_by_id_needs_the_done_transition(app, store):
    app.radio(key="connect_moves_by_1").set_value("By transition id").run()
    app.button(key="connect_moves_save_1").click().run()
    assert any("id of the transition into Done" in e.value for e in app.error)
    assert store.get(1).transition_by == "category"


def test_switching_off_again(app, store):
    app.toggle(key="connect_moves_on_1").set_value(True).run()
    app.button(key="connect_moves_save_1").click().run()
    app.toggle(key="connect_moves_on_1").set_value(False).run()
    app.button(key="connect_moves_save_1").click().run()
    assert store.get(1).move_tickets is False
    assert any("Ticket moves saved: off." in s.value for s in app.success)


def test_a_tickets_transitions_are_listed_with_their_ids(app, store, sandbox):
    issue = sandbox.runtime.state.create_issue("DQ", issuetype_id="10001", summary="s")
    app.radio(key="connect_moves_by_1").set_value("By transition id").run()
    app.text_input(key="connect_moves_lookup_key_1").input(issue.key.lower())
    app.button(key="connect_moves_lookup_1").click().run()
    assert not app.exception and not app.error
    table = app.dataframe[0].value
    assert list(zip(table["id"], table["category"], strict=True)) == [
        ("21", "indeterminate"),
        ("31", "done"),
    ]
    app.text_input(key="connect_moves_lookup_key_1").input("not a key")
    app.button(key="connect_moves_lookup_1").click().run()
    assert any("Give a ticket's key" in e.value for e in app.error)
    app.text_input(key="connect_moves_lookup_key_1").input("DQ-999")
    app.button(key="connect_moves_lookup_1").click().run()
    assert not app.exception
    assert [e.value for e in app.error] == [
        "DQ-999: Not found, or no permission to see it (Jira answers 404 for both): check "
        "the key or project and that the account can browse it."
    ]
