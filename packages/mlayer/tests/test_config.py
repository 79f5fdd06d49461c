"""Configs: TOML in and out, overrides, and errors that name the setting."""

import tomllib

import pytest

from mlayer import tasks
from mlayer.config import ConfigError, apply, parse_override, to_toml


@pytest.mark.parametrize("name", tasks.names())
def test_default_config_round_trips_through_toml(name):
    task = tasks.get(name)
    config = task.default_config()
    config.validate()
    again = apply(task.default_config(), tomllib.loads(to_toml(config)))
    assert again == config


def test_overrides():
    config = tasks.get("determinant").default_config()
    apply(config, parse_override("mlayer.train.epochs=5"))
    apply(config, parse_override("mlayer.expm=squaring"))  # unquoted string
    apply(config, parse_override('models=["mlp"]'))
    apply(config, parse_override("mlp.train.lr=1"))  # an int where a float goes
    assert config.mlayer.train.epochs == 5 and config.mlayer.expm == "squaring"
    assert config.models == ["mlp"] and config.mlp.train.lr == 1.0


def test_errors_name_the_setting():
    config = tasks.get("determinant").default_config()
    with pytest.raises(ConfigError, match=r"unknown setting 'mlayer\.train\.epoch'; "):
        apply(config, parse_override("mlayer.train.epoch=5"))
    with pytest.raises(
        ConfigError, match=r"mlayer\.n = 'nine': expected a value of type int"
    ):
        apply(config, parse_override("mlayer.n=nine"))
    with pytest.raises(ConfigError, match="expected KEY=VALUE"):
        parse_override("epochs")
    with pytest.raises(ConfigError, match="not 'determinant'"):
        apply(config, {"task": "spiral"})
    config.mlayer.train.optimizer = "lbfgs"
    with pytest.raises(ConfigError, match=r"mlayer\.train\.optimizer = 'lbfgs'"):
        config.validate()


def test_unknown_data_setting_lists_the_known_ones():
    task = tasks.get("spiral")
    config = task.default_config()
    config.data["spacing"] = 1
    with pytest.raises(ConfigError, match=r"unknown setting 'data\.spacing'; data has"):
        task.data_config(config)


def test_unknown_task():
    with pytest.raises(ConfigError, match="unknown task 'cifar'; choose one of"):
        tasks.get("cifar")
