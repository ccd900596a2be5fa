"""Read the reference catalogs in data/: accelerators, models, serving stacks, efficiency defaults.

Names resolve case-insensitively through each entry's aliases; an unknown name is an
InputError listing the closest names.
"""

from __future__ import annotations

import difflib
import functools
import typing
from pathlib import Path
from typing import Mapping, TypeVar

from dcplan.errors import InputError
from dcplan.io.names import normalise
from dcplan.io.resources import data_dir  # re-exported: the one place data is found
from dcplan.io.schema import build
from dcplan.io.yamlio import Located, read_yaml
from dcplan.specs import Calibration, HardwareSpec, ModelSpec, StackSpec, SystemSpec

T = TypeVar("T", HardwareSpec, ModelSpec, StackSpec, SystemSpec)


def _load_dir(sub: str, cls: type[T]) -> dict[str, T]:
    folder = data_dir() / sub
    if not folder.is_dir():
        raise InputError("", f"catalog folder missing: {folder}")
    out: dict[str, T] = {}
    for path in sorted(folder.glob("*.yaml")):
        doc = read_yaml(path)
        spec = _model_from_config(doc, folder) if cls is ModelSpec and isinstance(doc.data, dict) and "hf_config" in doc.data \
            else build(cls, doc.data, doc)
        if spec.name != path.stem:
            raise doc.error(("name",), f"must equal the file name {path.stem!r}, got {spec.name!r}")
        out[spec.name] = spec
    return out


#: What a model YAML that points at a config.json may say besides ``hf_config``: who the model
#: is and where its figures come from; the architecture is the config's alone.
CONFIG_META_FIELDS = ("name", "display_name", "aliases", "family", "published_params", "published_active_params", "source",
                      "quality", "notes")


def _model_from_config(doc: Located, folder: Path) -> ModelSpec:
    """A catalog model described by a Hugging Face config.json (``hf_config``) plus its YAML metadata."""
    from dcplan.io.hf_config import read_config, spec_from_config
    from dcplan.io.schema import convert, suggest

    data = doc.data
    rel = data["hf_config"]
    if not isinstance(rel, str) or not rel.endswith(".json"):
        raise doc.error(("hf_config",), f"must be the path of a config.json relative to {folder.name}/, got {rel!r}")
    hints = typing.get_type_hints(ModelSpec)
    meta = {}
    for key, value in data.items():
        if key == "hf_config":
            continue
        if key not in CONFIG_META_FIELDS:
            why = "is given by " + rel + ": remove it (one description per model)" if key in hints else f"unknown field{suggest(key, CONFIG_META_FIELDS)}"
            raise doc.error((key,), why)
        meta[key] = convert(value, hints[key], doc, (key,))
    if "name" not in meta:
        raise doc.error((), "missing required field: name")
    cfg, _ = read_config(folder / rel)
    return spec_from_config(cfg, file=str(folder / rel), **meta, config_file=rel)


@functools.cache
def hardware_catalog() -> Mapping[str, HardwareSpec]:
    """Every accelerator in data/hardware, by name."""
    return _load_dir("hardware", HardwareSpec)


@functools.cache
def system_catalog() -> Mapping[str, SystemSpec]:
    """Every system (chip + node + fabric) in data/systems, by name."""
    systems = _load_dir("systems", SystemSpec)
    chips = hardware_catalog()
    for name, sys_ in systems.items():
        if sys_.chip not in chips:
            raise InputError("chip", f"system {name} names unknown chip {sys_.chip!r}", file=str(data_dir() / "systems" / f"{name}.yaml"))
    return systems


@functools.cache
def model_catalog() -> Mapping[str, ModelSpec]:
    """Every model architecture in data/models, by name."""
    return _load_dir("models", ModelSpec)


@functools.cache
def stack_catalog() -> Mapping[str, StackSpec]:
    """Every serving stack in data/stacks, by name."""
    return _load_dir("stacks", StackSpec)


def _index(catalog: Mapping[str, T]) -> dict[str, str]:
    index: dict[str, str] = {}
    for name, spec in catalog.items():
        index[normalise(name)] = name
        for alias in spec.aliases:
            index.setdefault(normalise(alias), name)
    return index


def _resolve(kind: str, field: str, name: str, catalog: Mapping[str, T]) -> T:
    index = _index(catalog)
    key = normalise(name)
    if key in index:
        return catalog[index[key]]
    close = difflib.get_close_matches(key, list(index), n=4, cutoff=0.5)
    names = sorted({index[c] for c in close})
    hint = f"; did you mean {', '.join(names)}?" if names else ""
    listing = {"hardware": "dcplan hardware list", "system": "dcplan hardware list", "model": "dcplan models list",
               "stack": "dcplan stacks list"}[kind]
    more = " or the path of a Hugging Face config.json" if kind == "model" else ""
    raise InputError(field, f"unknown {kind} {name!r}{hint} (see `{listing}`{more})")


def get_hardware(name: str) -> HardwareSpec:
    """The accelerator called ``name`` (or one of its aliases), or the chip of the system called
    ``name`` as that system places it (its node shape and fabric; ``HardwareSpec.system`` set).
    A bare chip name means its default system."""
    key = normalise(name)
    if key not in _index(hardware_catalog()) and key in _index(system_catalog()):
        return get_system(name).apply(hardware_catalog()[get_system(name).chip])
    return _resolve("hardware", "hardware", name, {**hardware_catalog(), **_systems_as_names()})


def _systems_as_names() -> dict:
    """System names for the 'did you mean' hint of an unknown hardware name."""
    return {name: hardware_catalog()[s.chip] for name, s in system_catalog().items()}


def get_system(name: str) -> SystemSpec:
    """The system called ``name`` (or one of its aliases)."""
    return _resolve("system", "hardware", name, system_catalog())


def get_model(name: str) -> ModelSpec:
    """The model called ``name`` (or one of its aliases), or the Hugging Face config.json at a path.

    A reference that looks like a path (ends in ``.json``, has a ``/``, or is a folder) is read
    as a config.json file or a folder holding one; anything else is a catalog name.
    """
    from dcplan.io.hf_config import load_config_spec, looks_like_path

    if looks_like_path(name) and normalise(name) not in _index(model_catalog()):
        return load_config_spec(name)
    return _resolve("model", "model", name, model_catalog())


def model_config(spec: ModelSpec) -> tuple[dict, str]:
    """(parsed config.json, file) a model was described by; an InputError when it has none."""
    from dcplan.io.hf_config import read_config

    if not spec.config_file:
        raise InputError("model", f"{spec.name} has no Hugging Face config.json (its catalog entry is written out in "
                         f"data/models/{spec.name}.yaml): give the path of a config.json instead")
    path = Path(spec.config_file)
    entry = model_catalog().get(spec.name)
    if not path.is_absolute() and entry is not None and entry.config_file == spec.config_file:
        path = data_dir() / "models" / path  # catalog entries name their config relative to data/models
    return read_config(path)


def get_stack(name: str) -> StackSpec:
    """The serving stack called ``name`` (or one of its aliases)."""
    return _resolve("stack", "stack", name, stack_catalog())


@functools.cache
def _efficiency_doc() -> tuple[Calibration, Mapping[str, Calibration]]:
    path = data_dir() / "efficiency" / "defaults.yaml"
    doc = read_yaml(path)
    data = doc.data or {}
    base = build(Calibration, {"name": "defaults", **data.get("defaults", {})}, doc, ("defaults",))
    per_hw: dict[str, Calibration] = {}
    for hw_name, override in (data.get("hardware") or {}).items():
        merged = {**data.get("defaults", {}), **override, "name": f"defaults:{hw_name}", "hardware": hw_name}
        merged["sources"] = {**data["defaults"].get("sources", {}), **override.get("sources", {})}
        per_hw[hw_name] = build(Calibration, merged, doc, ("hardware", hw_name))
    return base, per_hw


def default_calibration(hardware: str | None = None) -> Calibration:
    """Shipped efficiency parameters for ``hardware`` (its own override, else the generic ones)."""
    base, per_hw = _efficiency_doc()
    return per_hw.get(hardware, base) if hardware else base
