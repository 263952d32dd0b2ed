"""Settings from the environment: defaults, overrides, and clear errors for bad values."""

import pytest

from esl_controller.config import load_settings
from esl_controller.errors import InvalidArgument


def test_defaults_point_at_a_local_freeswitch_and_flag_the_default_password() -> None:
    settings = load_settings({})
    assert (settings.esl.host, settings.esl.port) == ("127.0.0.1", 8021)
    assert settings.default_esl_password
    assert settings.db_uri is None


def test_environment_overrides() -> None:
    settings = load_settings(
        {
            "ESL_HOST": "10.0.0.5",
            "ESL_PORT": "8022",
            "ESL_PASSWORD": "s3cret",
            "ESL_COMMAND_TIMEOUT": "2.5",
            "DB_URI": "postgresql://127.0.0.1/test",
        }
    )
    assert settings.esl.host == "10.0.0.5"
    assert settings.esl.port == 8022
    assert settings.esl.command_timeout == 2.5
    assert not settings.default_esl_password
    assert settings.db_uri == "postgresql://127.0.0.1/test"


@pytest.mark.parametrize(
    "env",
    [{"ESL_PORT": "http"}, {"ESL_PORT": "70000"}, {"ESL_COMMAND_TIMEOUT": "-1"}],
)
def test_bad_values_are_reported_by_name(env: dict[str, str]) -> None:
    with pytest.raises(InvalidArgument) as err:
        load_settings(env)
    assert next(iter(env)) in err.value.message
