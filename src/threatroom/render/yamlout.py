"""The model as YAML a person can correct and feed back (`threatroom analyze model.yaml`)."""

from __future__ import annotations

import yaml

from ..model.system import SystemModel


class _Dumper(yaml.SafeDumper):
    pass


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def to_yaml(model: SystemModel, source: str | None = None) -> str:
    data = model.model_dump(mode="json", exclude_defaults=True)
    head = "# threatroom model"
    if source:
        head += f" extracted from {source}".replace("\n", " ")
    head += "\n# Correct anything wrong, then: threatroom analyze THIS_FILE.yaml\n"
    return head + yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
