"""`callcenter flows check` and the loader: every error names file, node and field."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from callcenter.cli.main import main
from callcenter.config.prompts import Catalogue
from callcenter.config.settings import DEFAULT_FLOWS_DIR
from callcenter.ivr.loader import check_flows

FLOW_FILES = sorted(DEFAULT_FLOWS_DIR.glob("*.yaml"))


@pytest.fixture
def flows(tmp_path: Path) -> Path:
    """A copy of the shipped flows to break."""
    folder = tmp_path / "flows"
    shutil.copytree(DEFAULT_FLOWS_DIR, folder)
    return folder


def errors_for(folder: Path) -> list[str]:
    _, errors = check_flows(folder, Catalogue.load(folder, "fr-FR"))
    return [str(e) for e in errors]


@pytest.mark.parametrize("path", FLOW_FILES, ids=[p.name for p in FLOW_FILES])
def test_every_shipped_flow_file_is_valid(path: Path):
    flowset, errors = check_flows(DEFAULT_FLOWS_DIR)
    assert [str(e) for e in errors if e.file == path.name] == []
    assert path.stem in flowset.flows


def test_a_reference_to_a_missing_node_names_file_node_and_field(flows: Path):
    text = (
        (flows / "secretary.yaml")
        .read_text()
        .replace("on_no_answer: unavailable", "on_no_answer: nowhere")
    )
    (flows / "secretary.yaml").write_text(text)
    errors = errors_for(flows)
    assert (
        "secretary.yaml: node 'transfer': field 'on_no_answer': no node named 'nowhere' "
        "in this flow"
    ) in errors


def test_a_reference_to_a_missing_flow_is_reported(flows: Path):
    (flows / "urgent.yaml").unlink()
    errors = errors_for(flows)
    assert any(
        e == "main.yaml: node 'menu_open': field 'options[0].next': no flow named 'urgent'"
        for e in errors
    )


def test_an_unknown_node_type_lists_the_known_ones(flows: Path):
    text = (
        (flows / "message.yaml")
        .read_text()
        .replace(
            "type: hangup\n    prompts: [message_thanks]",
            "type: hang\n    prompts: [message_thanks]",
        )
    )
    (flows / "message.yaml").write_text(text)
    errors = errors_for(flows)
    assert any(
        e.startswith("message.yaml: node 'thanks': field 'type': 'hang' is not one of")
        and "hangup" in e
        for e in errors
    )


def test_a_missing_required_field_is_named(flows: Path):
    text = (flows / "message.yaml").read_text().replace("    on_failure: nothing\n", "")
    (flows / "message.yaml").write_text(text)
    assert "message.yaml: node 'record': field 'on_failure': is required" in errors_for(flows)


def test_an_unknown_field_is_named(flows: Path):
    text = (flows / "message.yaml").read_text().replace("max_length: 120", "max_lenght: 120")
    (flows / "message.yaml").write_text(text)
    assert "message.yaml: node 'record': field 'max_lenght': unknown field" in errors_for(flows)


def test_an_unknown_prompt_key_is_reported(flows: Path):
    text = (flows / "main.yaml").read_text().replace("prompts: [closed]", "prompts: [closd]")
    (flows / "main.yaml").write_text(text)
    assert (
        "main.yaml: node 'closed_announce': field 'prompts[0]': prompt 'closd' is not in "
        "the fr-FR catalogue"
    ) in errors_for(flows)


def test_an_unknown_intent_is_reported(flows: Path):
    text = (flows / "main.yaml").read_text().replace("intent: message,", "intent: mesage,", 1)
    (flows / "main.yaml").write_text(text)
    assert any(
        "main.yaml: node 'menu_open': field 'options': intent 'mesage'" in e
        for e in errors_for(flows)
    )


def test_an_unreachable_node_is_reported(flows: Path):
    with (flows / "message.yaml").open("a") as handle:
        handle.write("  orphan:\n    type: hangup\n")
    assert "message.yaml: node 'orphan': unreachable from the start node 'identify'" in errors_for(
        flows
    )


def test_a_key_used_twice_in_a_menu_is_reported(flows: Path):
    text = (
        (flows / "main.yaml")
        .read_text()
        .replace('{key: "2", intent: message', '{key: "1", intent: message', 1)
    )
    (flows / "main.yaml").write_text(text)
    assert "main.yaml: node 'menu_open': field 'options[2].key': key 1 is used twice" in errors_for(
        flows
    )


def test_out_of_range_numbers_are_refused(flows: Path):
    text = (
        (flows / "main.yaml")
        .read_text()
        .replace('on_failure: "@secretary"', 'on_failure: "@secretary"\n    max_attempts: 50', 1)
    )
    (flows / "main.yaml").write_text(text)
    assert (
        "main.yaml: node 'menu_open': field 'max_attempts': must be a whole number from 1 to 5"
    ) in errors_for(flows)


def test_broken_yaml_names_the_line(flows: Path):
    (flows / "secretary.yaml").write_text("start: a\nnodes:\n  a: [unclosed\n")
    assert any(e.startswith("secretary.yaml: not valid YAML at line") for e in errors_for(flows))


def test_flows_check_exits_1_and_prints_each_error(flows: Path):
    text = (
        (flows / "secretary.yaml")
        .read_text()
        .replace("on_no_answer: unavailable", "on_no_answer: nowhere")
    )
    (flows / "secretary.yaml").write_text(text)
    result = CliRunner().invoke(main, ["flows", "check", str(flows)])
    assert result.exit_code == 1
    assert "error: secretary.yaml: node 'transfer': field 'on_no_answer'" in result.output


def test_flows_check_passes_on_the_shipped_flows():
    result = CliRunner().invoke(main, ["flows", "check"])
    assert result.exit_code == 0, result.output
    assert "no errors" in result.output


def test_a_catalogue_missing_a_prompt_the_server_speaks_is_reported(flows: Path):
    """The error and transfer paths speak these whatever the flows say."""
    catalogue = flows / "prompts" / "fr-FR.yaml"
    text = catalogue.read_text()
    start = text.index("technical_difficulty:")
    end = text.index("fallback_leave_message:")
    catalogue.write_text(text[:start] + text[end:])
    assert any(
        e.startswith("fr-FR.yaml: field 'technical_difficulty': is missing")
        for e in errors_for(flows)
    )


def test_a_failure_path_back_to_the_same_node_is_refused(flows: Path):
    text = (
        (flows / "main.yaml")
        .read_text()
        .replace('on_failure: "@secretary"', "on_failure: menu_open", 1)
    )
    (flows / "main.yaml").write_text(text)
    assert any(
        "node 'menu_open': field 'on_failure': leads back to this node" in e
        for e in errors_for(flows)
    )


def test_the_hash_key_is_refused_as_a_menu_choice(flows: Path):
    """Twilio's Gather ends input on '#': an option on it could never be chosen."""
    text = (flows / "main.yaml").read_text().replace('{key: "3"', '{key: "#"', 1)
    (flows / "main.yaml").write_text(text)
    assert any("field 'options[3].key': '#' is not a single key" in e for e in errors_for(flows))


def test_flows_check_reports_each_prompts_length_and_the_opening():
    result = CliRunner().invoke(main, ["flows", "check"])
    assert result.exit_code == 0, result.output
    assert "opening: greeting + emergency_advice + privacy_short: 29 words, 11.6 s" in result.output
    assert "  menu_open: " in result.output and "(budget 20 s)" in result.output
    assert "sms_urgent_call" not in result.output  # written, not spoken
    assert "warning" not in result.output


def test_flows_check_warns_past_the_practices_budgets(tmp_path: Path):
    from tests.config.test_practice import practice_file

    practice = practice_file(tmp_path, prompt_budgets={"opening": 8, "other": 5})
    result = CliRunner().invoke(main, ["flows", "check", "--practice", str(practice)])
    assert result.exit_code == 0, result.output
    assert "warning: opening: greeting + emergency_advice + privacy_short: 11.6 s" in result.output
    assert "past the 8 s budget" in result.output
    assert "warning: menu_open: " in result.output and "past the 5 s budget" in result.output
    assert "warning: goodbye" not in result.output  # 2 s


def test_a_request_kind_that_is_not_one_is_named(flows: Path):
    path = flows / "request.yaml"
    path.write_text(path.read_text().replace("type: request_detail", "type: request_detail\n"
                                             "    kind: late"))  # fmt: skip
    assert (
        "request.yaml: node 'detail': field 'kind': must be one of prescription, results, "
        "certificate"
    ) in errors_for(flows)
