"""Read forecast scenario YAML files: ``extends`` merging, validation, file:line:field errors.

A scenario file names its parent with ``extends`` (a name in the same folder or data/scenarios,
or a relative path) and overrides a few fields: top-level fields replace the parent's,
``parameters`` merge entry by entry (an entry replaces the parent's entry whole, so it carries
its own source and date), ``generations`` and ``correlations`` replace the parent's lists.
A file may hold a family of ``variants`` (``export-controls``: tighter, as-is, relaxed): each
variant's parameters merge over the file's own, chosen by ``NAME:VARIANT`` (on the command line
or in ``extends``) or by the file's ``default_variant``.
Every error names the file and line that set the offending field.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Mapping

from dcplan import limits
from dcplan.errors import InputError
from dcplan.forecast.scenario import (
    DRIVERS,
    Correlation,
    Distribution,
    Generation,
    Parameter,
    Scenario,
    check_domain,
)
from dcplan.io.catalog import data_dir
from dcplan.io.schema import convert, suggest
from dcplan.io.yamlio import Located, read_yaml

TOP_KEYS = (
    "name",
    "title",
    "description",
    "extends",
    "start_year",
    "horizon_end_year",
    "demand_anchor_year",
    "nonai_anchor_year",
    "year_correlation",
    "demand_segments",
    "generations",
    "correlations",
    "parameters",
    "variants",
    "default_variant",
)
VARIANT_KEYS = ("title", "description", "parameters")
#: Drivers of earlier dcplan versions and what replaced them (a clear error instead of "unknown parameter").
RENAMED = {
    "consumer_tokens_per_user_per_day": "consumer_uses_per_user_per_day x consumer_tokens_per_use (with demand_segments: [consumer, enterprise])",
    "enterprise_tokens_per_user_per_day": "enterprise_uses_per_user_per_day x enterprise_tokens_per_use (with demand_segments: [consumer, enterprise])",
    "tokens_per_user_growth_per_year": "one growth per demand segment, <segment>_tokens_growth_per_year",
    "served_active_params": "one size per demand segment, <segment>_served_active_params",
}
_INT_KEYS = ("start_year", "horizon_end_year", "demand_anchor_year", "nonai_anchor_year")
GEN_KEYS = ("name", "first_vintage", "hardware", "precision", "usd_per_unit", "price_source")
PARAM_KEYS = ("dist", "value", "low", "mode", "high", "p5", "p95", "p10", "p90", "alpha", "beta", "source", "date", "per_year", "notes", "unit")
_NUM_KEYS = ("value", "low", "mode", "high", "p5", "p95", "p10", "p90", "alpha", "beta")


def scenarios_dir() -> Path:
    return data_dir() / "scenarios"


def list_scenarios() -> list[str]:
    """Names of the shipped scenario files (data/scenarios/*.yaml)."""
    return sorted(p.stem for p in scenarios_dir().glob("*.yaml"))


def scenario_choices() -> list[str]:
    """Every shipped scenario a user can pick: a file's name, or ``NAME:VARIANT`` for each variant of a family."""
    out = []
    for name in list_scenarios():
        variants = read_yaml(scenarios_dir() / f"{name}.yaml").data.get("variants")
        out += [f"{name}:{v}" for v in variants] if isinstance(variants, Mapping) and variants else [name]
    return out


def split_variant(text: str) -> tuple[str, str | None]:
    """``export-controls:relaxed`` -> (``export-controls``, ``relaxed``); a path with a drive letter is left whole."""
    head, sep, tail = str(text).rpartition(":")
    if sep and head and len(head) > 1 and tail and all(c.isalnum() or c in "-_" for c in tail):
        return head, tail
    return str(text), None


def resolve_path(name_or_path: str, relative_to: Path | None = None) -> Path:
    """A scenario name (``base``) or a path to a YAML file (a ``:VARIANT`` suffix is the caller's to split off)."""
    text = str(name_or_path)
    if text.endswith((".yaml", ".yml")) or "/" in text or "\\" in text:
        p = Path(text)
        if not p.is_absolute() and relative_to is not None and (relative_to / p).exists():
            p = relative_to / p
        return p
    for folder in ([relative_to] if relative_to else []) + [scenarios_dir()]:
        cand = folder / f"{text}.yaml"
        if cand.exists():
            return cand
    names = list_scenarios()
    raise InputError("scenario", f"unknown scenario {text!r}{suggest(text, names)}; shipped: {', '.join(names)} (or give a path to a YAML file)")


# --------------------------------------------------------------------------------------------
# Loading and merging
# --------------------------------------------------------------------------------------------


def _chain(path: Path, variant: str | None = None) -> list[tuple[Located, str | None]]:
    """The file and its ancestors, base first, each with the variant it was asked for; a cycle in ``extends`` is an error."""
    docs: list[Located] = []
    asked: list[str | None] = [variant]
    seen: list[Path] = []
    current: Path | None = path
    while current is not None:
        real = current.resolve()
        if real in seen:
            cycle = " -> ".join(str(p.name) for p in seen + [real])
            child = docs[-1]
            raise child.error(("extends",), f"cycle in extends: {cycle}")
        seen.append(real)
        try:
            doc = read_yaml(current)
        except InputError as exc:
            if not docs:
                raise
            raise docs[-1].error(("extends",), f"cannot read {current}: {exc.message}") from None
        if not isinstance(doc.data, Mapping):
            raise doc.error((), "a scenario file must be a mapping of fields")
        for key in doc.data:
            if key not in TOP_KEYS:
                raise doc.error((key,), f"unknown field{suggest(key, TOP_KEYS)}; allowed: {', '.join(TOP_KEYS)}")
        docs.append(doc)
        parent = doc.data.get("extends")
        if parent in (None, ""):
            current = None
        else:
            if not isinstance(parent, str):
                raise doc.error(("extends",), f"must be a scenario name or path, got {parent!r}")
            parent, parent_variant = split_variant(parent)
            asked.append(parent_variant)
            try:
                current = resolve_path(parent, relative_to=current.parent)
            except InputError as exc:
                raise doc.error(("extends",), exc.message) from None
            if not current.exists():
                raise doc.error(("extends",), f"no scenario file {current}")
    return list(reversed(list(zip(docs, asked[: len(docs)], strict=True))))


def _variant(doc: Located, asked: str | None) -> tuple[str, Any] | None:
    """(name, entry) of the variant of ``doc`` to merge: the one asked for, else its ``default_variant``; None without variants."""
    variants = doc.data.get("variants")
    if variants is None:
        if asked is not None:
            raise InputError("scenario", f"{Path(doc.file).stem} has no variants (asked for {asked!r})", file=doc.file)
        return None
    if not isinstance(variants, Mapping) or not variants:
        raise doc.error(("variants",), "must be a mapping of variant name -> {title, description, parameters}")
    name = asked if asked is not None else doc.data.get("default_variant")
    if name is None:
        raise doc.error(("variants",), "a file with variants needs default_variant (or ask for one as NAME:VARIANT)")
    if name not in variants:
        where = ("default_variant",) if asked is None else ("variants",)
        raise doc.error(where, f"unknown variant {name!r}{suggest(str(name), [str(v) for v in variants])}; "
                               f"variants: {', '.join(map(str, variants))}")
    entry = variants[name]
    if not isinstance(entry, Mapping):
        raise doc.error(("variants", name), "must be a mapping with title, description and parameters")
    for key in entry:
        if key not in VARIANT_KEYS:
            raise doc.error(("variants", name, key), f"unknown field{suggest(str(key), VARIANT_KEYS)}; allowed: {', '.join(VARIANT_KEYS)}")
    return str(name), entry


def _merge(docs: list[tuple[Located, str | None]]) -> tuple[dict[str, tuple[Any, Located]], dict[str, tuple[Any, Located, tuple]]]:
    """(top-level key -> (value, doc)), (parameter name -> (entry, doc, path in doc)); later docs and a chosen variant win."""
    top: dict[str, tuple[Any, Located]] = {}
    params: dict[str, tuple[Any, Located, tuple]] = {}
    for doc, asked in docs:
        for key, value in doc.data.items():
            if key == "parameters":
                if not isinstance(value, Mapping):
                    raise doc.error(("parameters",), "must be a mapping of parameter name -> entry")
                for name, entry in value.items():
                    params[str(name)] = (entry, doc, ("parameters", str(name)))
            elif key not in ("variants", "default_variant"):
                top[key] = (value, doc)
        chosen = _variant(doc, asked)
        if chosen is None:
            continue
        vname, entry = chosen
        base = ("variants", vname)
        vparams = entry.get("parameters") or {}
        if not isinstance(vparams, Mapping):
            raise doc.error(base + ("parameters",), "must be a mapping of parameter name -> entry")
        for name, pentry in vparams.items():
            params[str(name)] = (pentry, doc, base + ("parameters", str(name)))
        title = entry.get("title") or f"{top.get('title', (doc.data.get('name', ''), doc))[0]}: {vname}"
        top["title"] = (str(title), doc)
        if entry.get("description"):
            top["description"] = (str(entry["description"]), doc)
        top["name"] = (f"{top.get('name', (Path(doc.file).stem, doc))[0]}:{vname}", doc)
    return top, params


def _parameter(name: str, entry: Any, doc: Located, path: tuple = ()) -> Parameter:
    path = path or ("parameters", name)
    if name in RENAMED:
        raise doc.error(path, f"{name} was replaced by {RENAMED[name]} (see data/scenarios/README.md)")
    if name not in DRIVERS:
        raise doc.error(path, f"unknown parameter{suggest(name, DRIVERS)} (see docs/forecast.md for the {len(DRIVERS)} drivers)")
    if not isinstance(entry, Mapping):
        raise doc.error(path, "must be a mapping with dist, its numbers, source and date")
    for key in entry:
        if key not in PARAM_KEYS:
            raise doc.error(path + (key,), f"unknown key{suggest(key, PARAM_KEYS)}; allowed: {', '.join(PARAM_KEYS)}")
    for key in ("dist", "source", "date"):
        if entry.get(key) in (None, ""):
            raise doc.error(path, f"missing {key} (every parameter carries a distribution, a source and a date)")
    unit = entry.get("unit")
    if unit is not None and str(unit) != DRIVERS[name].unit:
        raise doc.error(path + ("unit",), f"{name} is in {DRIVERS[name].unit}, got {unit!r}")
    nums = {k: convert(entry[k], float, doc, path + (k,)) for k in _NUM_KEYS if k in entry}
    try:
        dist = Distribution(kind=str(entry["dist"]), **nums)
        per_year = convert(entry.get("per_year", False), bool, doc, path + ("per_year",))
        p = Parameter(name=name, dist=dist, source=str(entry["source"]), date=str(entry["date"]), per_year=per_year, notes=str(entry.get("notes", "")))
        check_domain(p)
    except InputError as exc:
        sub = path + ((exc.field,) if exc.field in entry else ())
        where = ".".join(map(str, path))
        raise InputError(f"{where}.{exc.field}" if exc.field else where, exc.message, file=doc.file, line=doc.line(sub)) from None
    return p


def _segments(value: Any, doc: Located) -> tuple[str, ...]:
    """``demand_segments``: a list of segment names (checked against the known ones by the Scenario)."""
    raw = convert(value, list, doc, ("demand_segments",))
    return tuple(str(convert(v, str, doc, ("demand_segments", i))) for i, v in enumerate(raw))


def _parent_prices(docs: list[Located]) -> dict[str, tuple[float, str]]:
    """Catalog name -> (USD per accelerator, source) from every generations list of the extends chain (later files win)."""
    from dcplan.io.catalog import get_hardware

    out: dict[str, tuple[float, str]] = {}
    for doc in docs:
        gens = doc.data.get("generations")
        if not isinstance(gens, list):
            continue
        for item in gens:
            if isinstance(item, Mapping) and item.get("hardware") and item.get("usd_per_unit") is not None and item.get("price_source"):
                try:
                    out[get_hardware(str(item["hardware"])).name] = (float(item["usd_per_unit"]), str(item["price_source"]))
                except (InputError, TypeError, ValueError):
                    continue
    return out


NO_PRICE = ("no published price: its price per H100e is the previous generation's divided by price_performance_gain_per_year "
            "for each year between them (dcplan.forecast.roadmap)")


def _generations(value: Any, doc: Located, prices: Mapping[str, tuple[float, str]] | None = None) -> tuple[Generation, ...]:
    """The generations list; a catalog generation's price is its ``usd_per_unit``, else the same accelerator's in a parent
    scenario, else the catalog's ``price_usd``, else extrapolated from the generation before (stated in its price_source)."""
    from dcplan.io.catalog import get_hardware
    from dcplan.io.site import default_site
    from dcplan.model.energy import server_power_per_accelerator_w

    path = ("generations",)
    raw = convert(value, list, doc, path)
    ref = get_hardware("h100-sxm").peak("bf16")
    out: list[Generation] = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping):
            raise doc.error(path + (i,), "must be a mapping with name, first_vintage and hardware (or null)")
        for key in item:
            if key not in GEN_KEYS:
                raise doc.error(path + (i, key), f"unknown key{suggest(key, GEN_KEYS)}; allowed: {', '.join(GEN_KEYS)}")
        first = convert(item.get("first_vintage"), int, doc, path + (i, "first_vintage"))
        if not limits.YEAR_FIRST <= first <= limits.YEAR_LAST:
            raise doc.error(path + (i, "first_vintage"), f"year {first} is outside {limits.YEAR_FIRST}-{limits.YEAR_LAST} (the forecast years limit)")
        if out and first <= out[-1].first_vintage:
            raise doc.error(path + (i, "first_vintage"), f"must be after the previous generation's ({out[-1].first_vintage})")
        hw_name = item.get("hardware")
        precision = str(item.get("precision", "bf16"))
        if hw_name is None:
            if not out:
                raise doc.error(path + (i, "hardware"), "the first generation must name a catalog accelerator")
            out.append(Generation(name=str(item.get("name", f"gen-{first}")), first_vintage=first, precision=precision,
                                  source="extrapolated from the last catalog generation by chip_perf_growth_per_year, "
                                         "chip_flops_per_watt_growth_per_year and price_performance_gain_per_year"))
            continue
        try:
            hw = get_hardware(str(hw_name))
            peak = hw.peak(precision)
            power = server_power_per_accelerator_w(hw, default_site())
        except InputError as exc:
            raise doc.error(path + (i, "hardware" if exc.field != "precision" else "precision"), exc.message) from None
        usd, price_source = _price(item, hw, doc, path + (i,), prices or {})
        if usd is None and not out:
            raise doc.error(path + (i, "usd_per_unit"), f"the first generation needs a price: give usd_per_unit (USD per accelerator) and price_source for {hw.name}")
        src = f"data/hardware/{hw.name}.yaml: dense {precision} peak {peak:.4g} FLOP/s / H100 SXM BF16 {ref:.4g}; server power per accelerator " + (
            f"node {hw.node_power_w:g} W / {hw.accelerators_per_node}" if hw.node_power_w and hw.accelerators_per_node else f"TDP {hw.tdp_w:g} W x 1.82 (Epoch AI)"
        )
        out.append(Generation(name=str(item.get("name", hw.name)), first_vintage=first, hardware=hw.name, precision=precision,
                              h100e_per_unit=peak / ref, server_power_w=power, usd_per_unit=usd, price_source=price_source, source=src))
    if not out:
        raise doc.error(path, "at least one generation is needed")
    return tuple(out)


def _price(item: Mapping[str, Any], hw: Any, doc: Located, path: tuple, prices: Mapping[str, tuple[float, str]]) -> tuple[float | None, str]:
    """(USD per accelerator or None, its source) of one catalog generation (see :func:`_generations`)."""
    if item.get("usd_per_unit") is not None:
        if not str(item.get("price_source", "")).strip():
            raise doc.error(path + ("price_source",), "usd_per_unit needs its price_source (the document the price comes from)")
        usd = convert(item["usd_per_unit"], float, doc, path + ("usd_per_unit",))
        if not usd > 0:
            raise doc.error(path + ("usd_per_unit",), f"must be > 0, got {usd:g}")
        return usd, str(item["price_source"])
    if hw.name in prices:
        usd, src = prices[hw.name]
        return usd, f"{src} (from the parent scenario)"
    if getattr(hw, "price_usd", None):
        return float(hw.price_usd), f"data/hardware/{hw.name}.yaml price_usd"
    return None, NO_PRICE


def _correlations(value: Any, doc: Located) -> tuple[Correlation, ...]:
    path = ("correlations",)
    raw = convert(value, list, doc, path)
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, Mapping) or not {"a", "b", "rho"} <= set(item):
            raise doc.error(path + (i,), "must be a mapping with a, b and rho (and a source)")
        for key in ("a", "b"):
            if item[key] not in DRIVERS:
                raise doc.error(path + (i, key), f"unknown parameter {item[key]!r}{suggest(str(item[key]), DRIVERS)}")
        rho = convert(item["rho"], float, doc, path + (i, "rho"))
        if not -1 < rho < 1:
            raise doc.error(path + (i, "rho"), f"a rank correlation must lie in (-1, 1), got {rho}")
        if item["a"] == item["b"]:
            raise doc.error(path + (i, "b"), "a parameter cannot be correlated with itself")
        out.append(Correlation(a=str(item["a"]), b=str(item["b"]), rho=rho, source=str(item.get("source", ""))))
    return tuple(out)


@functools.lru_cache(maxsize=32)
def _load_cached(path: str, mtimes: tuple[float, ...], variant: str | None = None) -> Scenario:
    return _build(Path(path), variant)


def load_scenario(name_or_path: str) -> Scenario:
    """Load a scenario by name (data/scenarios/NAME.yaml), ``NAME:VARIANT`` or path, merging its ``extends`` chain."""
    text, variant = split_variant(str(name_or_path))
    path = resolve_path(text)
    if not path.exists():
        raise InputError("scenario", "file not found", file=str(path))
    # any change to the file, a shipped scenario it may extend, or the market history reloads it
    watched = [path, *sorted(scenarios_dir().glob("*.yaml")), *sorted((data_dir() / "market").glob("*.csv"))]
    mtimes = tuple(p.stat().st_mtime_ns for p in watched if p.exists())
    return _load_cached(str(path.resolve()), mtimes, variant)


def _build(path: Path, variant: str | None = None) -> Scenario:
    from dcplan.io.market import read_spend_history

    chain = _chain(path, variant)
    docs = [d for d, _ in chain]
    top, params = _merge(chain)
    leaf = docs[-1]
    for key in ("name", "start_year", "horizon_end_year", "demand_anchor_year", "nonai_anchor_year", "generations"):
        if key not in top:
            raise leaf.error((), f"missing required field {key} (in this file or the one it extends)")
    kwargs: dict[str, Any] = {}
    lines: dict[str, tuple[str, int]] = {}
    for key, (value, doc) in top.items():
        lines[key] = (doc.file, doc.line((key,)) or 0)
        if key in _INT_KEYS:
            kwargs[key] = convert(value, int, doc, (key,))
            if not limits.YEAR_FIRST <= kwargs[key] <= limits.YEAR_LAST:
                raise doc.error((key,), f"year {kwargs[key]} is outside {limits.YEAR_FIRST}-{limits.YEAR_LAST} (the forecast years limit)")
        elif key == "year_correlation":
            kwargs[key] = convert(value, float, doc, (key,))
        elif key == "generations":
            kwargs[key] = _generations(value, doc, _parent_prices(docs[: docs.index(doc)]))
        elif key == "correlations":
            kwargs[key] = _correlations(value, doc)
        elif key == "demand_segments":
            kwargs["segments"] = _segments(value, doc)
        elif key in ("name", "title", "description"):
            kwargs[key] = str(value)
    built = {}
    for name, (entry, doc, ppath) in params.items():
        built[name] = _parameter(name, entry, doc, ppath)
        lines[f"parameters.{name}"] = (doc.file, doc.line(ppath) or 0)
    for c in kwargs.get("correlations", ()):
        for n in (c.a, c.b):
            if n in built and built[n].dist.is_fixed:
                f, ln = lines["correlations"]
                raise InputError("correlations", f"{n} is fixed: a fixed value cannot be correlated", file=f, line=ln)
    history = read_spend_history()
    from dcplan.io.catalog import get_hardware

    try:
        return Scenario(
            **kwargs,
            file=str(path),
            extends_chain=tuple(d.file for d in docs),
            parameters=built,
            history=history,
            h100e_peak_flops_per_s=get_hardware("h100-sxm").peak("bf16"),
            lines=lines,
        )
    except InputError as exc:
        key = exc.field.split(".")[0]
        f, ln = lines.get(key, (leaf.file, None))
        raise InputError(exc.field, exc.message, file=f, line=ln) from None
