"""ESL_NODES: several FreeSWITCH nodes from the environment, each with its address and
password; unset, the one node of ESL_HOST as before."""

from __future__ import annotations

import pytest

from esl_controller.config import load_settings
from esl_controller.errors import InvalidArgument


def test_unset_is_the_one_node_of_esl_host() -> None:
    settings = load_settings({"ESL_HOST": "10.0.0.5", "ESL_PORT": "8022"})
    [node] = settings.nodes
    assert (node.name, node.esl.host, node.esl.port) == ("10.0.0.5", "10.0.0.5", 8022)


def test_nodes_with_their_own_passwords_or_the_common_one() -> None:
    settings = load_settings({
        "ESL_NODES": "fs1=127.0.0.1:8021, fs-2=10.0.0.6",
        "ESL_PASSWORD": "common", "ESL_PASSWORD_FS_2": "own",
    })  # fmt: skip
    shown = [(n.name, n.esl.host, n.esl.port, n.esl.password) for n in settings.nodes]
    assert shown == [("fs1", "127.0.0.1", 8021, "common"), ("fs-2", "10.0.0.6", 8021, "own")]
    assert not settings.default_esl_password


def test_a_node_left_on_the_default_password_is_warned_about() -> None:
    settings = load_settings({"ESL_NODES": "a=h1,b=h2", "ESL_PASSWORD_A": "secret"})
    assert settings.default_esl_password  # b has FreeSWITCH's ClueCon


@pytest.mark.parametrize("value", ["fs1", "1fs=h", "a=h,a=h2", "a=", "a=h:99999", "a=h:x",
                                   "a b=h", "a=h\r\nauth x", "a=${x}"])  # fmt: skip
def test_bad_lists_are_refused_with_the_reason(value: str) -> None:
    with pytest.raises(InvalidArgument, match="ESL_NODES"):
        load_settings({"ESL_NODES": value})
