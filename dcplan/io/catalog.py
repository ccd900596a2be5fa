"""Read the reference catalogs in data/: accelerators, models, serving stacks, efficiency defaults.

Names resolve case-insensitively through each entry's aliases; an unknown name is an
InputError listing the closest names.
"""

from __future__ import annotations

import difflib
import functools
from typing import Mapping, TypeVar

from dcplan.errors import InputError
from dcplan.io.resources import data_dir  # noqa: F401 - re-exported: the one place data is found
from dcplan.io.schema import build
from dcplan.io.yamlio import read_yaml
from dcplan.specs import Calibration, HardwareSpec, ModelSpec, StackSpec, SystemSpec

T = TypeVar("T", HardwareSpec, ModelSpec, StackSpec, SystemSpec)


def normalise(name: str) -> str:
    """Lowercase, spaces and underscores to hyphens: 'H100 SXM' -> 'h100-sxm'."""
    return "-".join(str(name).strip().lower().replace("_", " ").split())


def _load_dir(sub: str, cls: type[T]) -> dict[str, T]:
    folder = data_dir() / sub
    if not folder.is_dir():
        raise InputError("", f"catalog folder missing: {folder}")
    out: dict[str, T] = {}
    for path in sorted(folder.glob("*.yaml")):
        doc = read_yaml(path)
        spec = build(cls, doc.data, doc)
        if spec.name != path.stem:
            raise doc.error(("name",), f"must equal the file name {path.stem!r}, got {spec.name!r}")
        out[spec.name] = spec
    return out


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
    raise InputError(field, f"unknown {kind} {name!r}{hint} (see `{listing}`)")


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
    """The model called ``name`` (or one of its aliases)."""
    return _resolve("model", "model", name, model_catalog())


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
