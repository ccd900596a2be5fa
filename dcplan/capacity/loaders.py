"""Read a workload file and resolve it for planning: the only I/O of the capacity package.

Catalog names become :class:`~dcplan.specs.HardwareSpec` / :class:`~dcplan.specs.ModelSpec`,
profile paths become calibrations, and every economic number becomes a
:class:`~dcplan.capacity.costs.SourcedValue`: given in the workload (file and line) or taken
from ``data/costs/defaults.yaml`` (source and grade). An unknown name, a missing price or a bad
profile is an :class:`~dcplan.errors.InputError` at the workload's ``file:line: field``.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any, Mapping, Sequence

from dcplan.capacity.costs import CostDefaults, SourcedValue, cost_defaults_from_doc, given
from dcplan.capacity.inputs import Economics, JobInputs, OptionInputs, PlanInputs, ServiceInputs
from dcplan.capacity.workload import HardwareOptionSpec, Origin, WorkloadSpec, parse_workload
from dcplan.errors import InputError
from dcplan.io.catalog import data_dir, get_hardware, get_model
from dcplan.io.measured import calibration_for
from dcplan.io.yamlio import Path_, dotted, parse_yaml, read_yaml
from dcplan.specs import Calibration, HardwareSpec, ModelSpec, StackChoice

#: Economics field -> (section of the workload file, unit).
_ECONOMICS = {
    "pue": ("site", "ratio (facility energy / IT energy)"),
    "usd_per_kwh": ("site", "USD/kWh"),
    "grid_gco2_per_kwh": ("site", "gCO2e/kWh"),
    "facility_usd_per_mw": ("finance", "USD per MW of critical IT power"),
    "it_life_years": ("finance", "years"),
    "facility_life_years": ("finance", "years"),
    "wacc_frac": ("finance", "per year"),
    "maintenance_frac_per_year": ("finance", "share of capex per year"),
    "staff_usd_per_year": ("finance", "USD/year"),
    "utilization_frac": ("finance", "share of owned accelerator-hours"),
}


def defaults_path() -> Path:
    return data_dir() / "costs" / "defaults.yaml"


@functools.lru_cache(maxsize=4)
def read_cost_defaults(path: str | None = None) -> CostDefaults:
    """The planner's sourced defaults (``data/costs/defaults.yaml`` unless ``path``)."""
    return cost_defaults_from_doc(read_yaml(path or defaults_path()))


def rates_path() -> Path:
    return data_dir() / "costs" / "exchange_rates.yaml"


@functools.lru_cache(maxsize=4)
def read_exchange_rates(path: str | None = None) -> dict[str, SourcedValue]:
    """Currency (ISO 4217) -> USD per unit, sourced (``data/costs/exchange_rates.yaml`` unless ``path``)."""
    doc = read_yaml(path or rates_path())
    data = doc.data if isinstance(doc.data, dict) else {}
    if data.get("schema_version") != 1 or not isinstance(data.get("rates"), dict):
        raise doc.error((), "an exchange-rate file has schema_version: 1 and rates: {CODE: {usd_per_unit, date, source, quality}}")
    out = {}
    for code, entry in data["rates"].items():
        path_ = ("rates", code)
        if not isinstance(entry, dict) or not all(k in entry for k in ("usd_per_unit", "date", "source", "quality")):
            raise doc.error(path_, "needs usd_per_unit, date, source and quality")
        try:
            out[str(code)] = SourcedValue(value=float(entry["usd_per_unit"]), unit=f"USD per {code}",
                                          source=f"{entry['source']} ({entry['date']})", quality=str(entry["quality"]))
        except (InputError, TypeError, ValueError) as exc:
            raise doc.error(path_, getattr(exc, "message", str(exc))) from None
        if not out[str(code)].value > 0:
            raise doc.error(path_ + ("usd_per_unit",), "must be > 0")
    return out


def workload_path(name: str | Path) -> Path:
    """A workload file: ``name`` itself when it exists, else the shipped sample of that name
    (``portfolio``, ``chat-70b``, ``train-70b``: data/workloads/<name>.yaml), so an installed
    dcplan plans its samples from any folder."""
    p = Path(name)
    if p.exists() or len(p.parts) != 1:
        return p
    shipped = data_dir() / "workloads" / f"{p.stem if p.suffix in ('.yaml', '.yml') else p.name}.yaml"
    return shipped if shipped.is_file() else p


def shipped_workloads() -> list[str]:
    """Names of the sample workloads that ship with dcplan."""
    return sorted(p.stem for p in (data_dir() / "workloads").glob("*.yaml"))


def load_workload(path: str | Path) -> tuple[WorkloadSpec, Origin]:
    """Read and validate a workload YAML file (or a shipped sample by name)."""
    return parse_workload(read_yaml(workload_path(path)))


def parse_workload_text(text: str, file: str = "<workload>") -> tuple[WorkloadSpec, Origin]:
    return parse_workload(parse_yaml(text, file))


def load_plan_inputs(path: str | Path, *, hardware: Sequence[str] | None = None, profile: str | None = None,
                     costs: CostDefaults | None = None, implementation: str | None = None, measured: bool = True) -> PlanInputs:
    """Read ``path`` and resolve it; ``hardware`` replaces the option list, ``profile`` calibrates one option
    (with the calibration of ``implementation``: native, hf, graphs); ``measured`` False ignores the shipped
    measured calibrations (dcplan.io.measured)."""
    spec, origin = load_workload(path)
    return resolve(spec, origin, costs or read_cost_defaults(), hardware=hardware, profile=profile, implementation=implementation,
                   measured=measured)


class _Resolver:
    """Turns one workload's names and blanks into resolved, sourced inputs."""

    def __init__(self, spec: WorkloadSpec, origin: Origin, costs: CostDefaults, measured: bool = True, *,
                 models: Mapping[str, ModelSpec] | None = None, model_files: bool = True) -> None:
        self.spec, self.origin, self.costs, self.measured = spec, origin, costs, measured
        self.models = dict(models or {})
        self.model_files = model_files

    def where(self, path: Path_) -> str:
        line = self.origin.line(path)
        return f"{self.origin.file}:{line} ({dotted(path)})" if line else f"{self.origin.file} ({dotted(path)})"

    def value(self, given_value: float | None, path: Path_, default: str, unit: str | None = None) -> SourcedValue:
        """The workload's value at ``path`` if given, else the named default."""
        d = self.costs.get(default)
        if given_value is None:
            return d
        return given(given_value, unit or d.unit, self.where(path))

    def relocate(self, exc: InputError, path: Path_) -> InputError:
        return self.origin.error(path, exc.message)

    # -- models --------------------------------------------------------------------------
    def model(self, item: Any, path: Path_) -> ModelSpec:
        from dcplan.model.shapes import derive_dense, derive_moe

        try:
            if item.model is not None:
                return self.named_model(item.model)
            if item.active_params is not None:
                return derive_moe(item.params, item.active_params)
            return derive_dense(item.params)
        except InputError as exc:
            key = "model" if item.model is not None else ("active_params" if exc.field == "active_params" else "params")
            raise self.relocate(exc, path + (key,)) from None

    def named_model(self, ref: str) -> ModelSpec:
        """A catalog name, a model given alongside the workload (a dashboard upload), or a config.json path.

        A relative path is read relative to the workload file's folder, as profile paths are.
        Where files may not be read (text from a browser), a path is refused.
        """
        from dcplan.io.catalog import normalise
        from dcplan.io.hf_config import looks_like_path

        uploaded = {normalise(k): v for k, v in self.models.items()}
        if normalise(ref) in uploaded:
            return uploaded[normalise(ref)]
        if looks_like_path(ref):
            if not self.model_files:
                raise InputError("model", f"{ref!r}: a path cannot be read here; upload the config.json and name it by its file name")
            path = Path(ref)
            if not path.is_absolute() and Path(self.origin.file).is_file():
                path = Path(self.origin.file).parent / path
            return get_model(str(path))
        return get_model(ref)

    def economics(self) -> Economics:
        values = {}
        for name, (section, unit) in _ECONOMICS.items():
            got = getattr(getattr(self.spec, section), name)
            values[name] = self.value(got, (section, name), name, unit)
        return Economics(**values, server_power_ratio=self.costs.get("server_power_ratio"))

    def jobs(self) -> tuple[JobInputs, ...]:
        return tuple(
            JobInputs(path=("training", i), spec=j, model=self.model(j, ("training", i)),
                      runs_per_year=self.value(j.runs_per_year, ("training", i, "runs_per_year"), "runs_per_year"))
            for i, j in enumerate(self.spec.training)
        )

    def services(self) -> tuple[ServiceInputs, ...]:
        out = []
        for i, s in enumerate(self.spec.inference):
            p = ("inference", i)
            out.append(ServiceInputs(
                path=p, spec=s, model=self.model(s, p),
                growth_per_year_frac=self.value(s.growth_per_year_frac, p + ("growth_per_year_frac",), "growth_per_year_frac"),
                min_replicas=self.value(s.min_replicas, p + ("min_replicas",), "min_replicas"),
            ))
        return tuple(out)

    # -- hardware options ----------------------------------------------------------------
    def option_specs(self, names: Sequence[str] | None) -> list[tuple[Path_, HardwareOptionSpec, HardwareSpec]]:
        """(path, spec, catalog entry) of each option; ``names`` (from --hardware) replaces the list."""
        listed = []
        for i, o in enumerate(self.spec.hardware):
            try:
                listed.append((("hardware", i), o, get_hardware(o.name)))
            except InputError as exc:
                if names is None:
                    raise self.relocate(exc, ("hardware", i, "name")) from None
        if names is None:
            chosen = listed
        else:
            by_name = {hw.name: (p, o, hw) for p, o, hw in listed}
            chosen = []
            for n in names:
                hw = get_hardware(n)
                chosen.append(by_name.get(hw.name, (("hardware",), HardwareOptionSpec(name=hw.name), hw)))
        seen: set[str] = set()
        for p, _, hw in chosen:
            if hw.name in seen:
                raise self.origin.error(p + ("name",), f"{hw.name} is listed twice (names and aliases resolve to the same accelerator)")
            seen.add(hw.name)
        return chosen

    def calibration(self, o: HardwareOptionSpec, hw: HardwareSpec, path: Path_, cli: Calibration | None) -> Calibration:
        from dcplan.io.calibration import read_calibration

        if o.profile is not None:
            file = Path(o.profile)
            if not file.is_absolute():
                file = Path(self.origin.file).parent / file
            try:
                cal = read_calibration(file, o.implementation)
            except InputError as exc:
                raise self.relocate(exc, path + ("implementation" if exc.field == "impl" else "profile",)) from None
            if cal.hardware and cal.hardware != hw.name:
                raise self.origin.error(path + ("profile",), f"{o.profile} calibrates {cal.hardware}, not {hw.name}")
            return cal
        if cli is not None and cli.hardware == hw.name:
            return cli
        return calibration_for(hw.name, measured=self.measured).calibration

    def serving(self, o: HardwareOptionSpec, hw: HardwareSpec, path: Path_) -> StackChoice | None:
        """The option's serving stack (its fitted calibration), or None when a profile calibrates it."""
        from dcplan.calibrate.stacks import select_stack
        from dcplan.io.catalog import default_calibration, stack_catalog

        if o.profile is not None:
            if o.stack is not None:
                raise self.origin.error(path + ("stack",), "a profile replaces the stack's fitted parameters: give one of stack or profile")
            return None
        try:
            # the stack's fit is over the shipped defaults (a shipped measured profile is another
            # stack: dcplan's own PyTorch modules); a profile given for the option replaces the stack
            return select_stack(hw, precision=None, requested=o.stack, stacks=stack_catalog(), base=default_calibration(hw.name))
        except InputError as exc:
            raise self.relocate(exc, path + ("stack",) if o.stack is not None else path) from None

    # -- prices in the option's own currency -----------------------------------------------
    def rate(self, o: HardwareOptionSpec, path: Path_) -> SourcedValue | None:
        """USD per unit of the option's currency: given in the workload, else the sourced shipped rate; None for USD prices."""
        if o.currency is None:
            return None
        unit = f"USD per {o.currency}"
        if o.usd_per_currency_unit is not None:
            return given(o.usd_per_currency_unit, unit, self.where(path + ("usd_per_currency_unit",)))
        known = read_exchange_rates()
        if o.currency not in known:
            raise self.origin.error(path + ("currency",), f"no stated exchange rate for {o.currency} (data/costs/exchange_rates.yaml has "
                                                         f"{', '.join(sorted(known))}): give usd_per_currency_unit [USD per {o.currency}] with it")
        return known[o.currency]

    def local(self, o: HardwareOptionSpec, path: Path_, key: str, unit: str) -> SourcedValue | None:
        """A price given in the option's currency (``key``), converted to USD at the stated rate; None if not given."""
        amount = getattr(o, key)
        if amount is None:
            return None
        rate = self.rate(o, path)
        assert rate is not None  # the spec refuses local prices without a currency
        return SourcedValue(value=amount * rate.value, unit=unit, quality="given",
                            source=f"given as {amount:,.6g} {o.currency} in {self.where(path + (key,))}, at {rate.value:.6g} USD per {o.currency} "
                                   f"({rate.source})")

    def price(self, o: HardwareOptionSpec, hw: HardwareSpec, path: Path_) -> SourcedValue:
        if o.price_local is not None:
            return self.local(o, path, "price_local", "USD per accelerator")  # type: ignore[return-value]
        if o.price_usd is not None:
            return given(o.price_usd, "USD per accelerator", self.where(path + ("price_usd",)))
        known = self.costs.prices(hw.name).accelerator_usd
        if known is not None:
            return known
        if hw.price_usd is not None:
            note = hw.source_of("price_usd")
            return SourcedValue(value=hw.price_usd, unit="USD per accelerator", source=note.source if note else f"data/hardware/{hw.name}.yaml",
                                quality=note.quality if note and note.quality in ("A", "B", "C") else "C")
        msg = (f"no published purchase price for {hw.name} (data/costs/defaults.yaml, data/hardware/{hw.name}.yaml): "
               f"give price_usd [USD per accelerator] under this hardware option")
        if path == ("hardware",):
            raise InputError("hardware", msg + f", e.g. hardware: [{{name: {hw.name}, price_usd: 20000}}]", file=self.origin.file)
        raise self.origin.error(path + ("price_usd",), msg)

    def per_node(self, o: HardwareOptionSpec, hw: HardwareSpec, path: Path_, key: str, fin_key: str, unit: str) -> SourcedValue | None:
        local = self.local(o, path, key.replace("_usd_", "_local_"), unit)
        if local is not None:
            return local
        own = getattr(o, key)
        if own is not None:
            return given(own, unit, self.where(path + (key,)))
        fin = getattr(self.spec.finance, fin_key)
        if fin is not None:
            return given(fin, unit, self.where(("finance", fin_key)))
        return getattr(self.costs.prices(hw.name), key)

    def cloud(self, o: HardwareOptionSpec, hw: HardwareSpec, path: Path_) -> SourcedValue | None:
        unit = "USD per accelerator-hour"
        local = self.local(o, path, "cloud_local_per_hour", unit)
        if local is not None:
            return local
        if o.cloud_usd_per_hour is not None:
            return given(o.cloud_usd_per_hour, unit, self.where(path + ("cloud_usd_per_hour",)))
        if self.spec.finance.cloud_usd_per_accelerator_hour is not None:
            return given(self.spec.finance.cloud_usd_per_accelerator_hour, unit, self.where(("finance", "cloud_usd_per_accelerator_hour")))
        known = self.costs.prices(hw.name).cloud_usd_per_hour
        if known is not None:
            return known
        if hw.cloud_usd_per_hour is not None:
            note = hw.source_of("cloud_usd_per_hour")
            return SourcedValue(value=hw.cloud_usd_per_hour, unit=unit, source=note.source if note else f"data/hardware/{hw.name}.yaml",
                                quality=note.quality if note and note.quality in ("A", "B", "C") else "C")
        return None

    def node(self, o: HardwareOptionSpec, hw: HardwareSpec, path: Path_) -> tuple[int, SourcedValue | None]:
        """Accelerators per node and the node's nameplate power (None: neither TDP nor node power is published)."""
        n = o.accelerators_per_node or hw.accelerators_per_node
        if n is None:
            raise self.origin.error(path + ("accelerators_per_node",), f"data/hardware/{hw.name}.yaml gives no node size: give accelerators_per_node")
        if o.node_overhead_w is not None and hw.tdp_w:
            w = n * hw.tdp_w + o.node_overhead_w
            return n, given(w, "W per node", f"derived: {n} x TDP {hw.tdp_w:g} W + node_overhead_w from {self.where(path + ('node_overhead_w',))}")
        if o.node_overhead_w is None and hw.node_power_w and hw.accelerators_per_node:
            note = hw.source_of("node_power_w")
            per = hw.node_power_w / hw.accelerators_per_node
            src = (note.source if note else f"data/hardware/{hw.name}.yaml") + (f"; derived: scaled to {n} accelerators" if n != hw.accelerators_per_node else "")
            return n, SourcedValue(value=per * n, unit="W per node", source=src, quality=note.quality if note and note.quality in ("A", "B", "C") else "B")
        if o.node_overhead_w is None and hw.tdp_w:
            ratio = self.costs.get("server_power_ratio")
            return n, SourcedValue(value=n * hw.tdp_w * ratio.value, unit="W per node",
                                   source=f"derived: {n} x TDP {hw.tdp_w:g} W x {ratio.value:g} ({ratio.source})", quality=ratio.quality)
        return n, None

    def unsizable(self, hw: HardwareSpec, path: Path_) -> InputError:
        """Why an option with no published power cannot be planned, at its workload field."""
        return self.origin.error(path + ("name",), (
            f"{hw.name} has no published TDP or node power (tdp_w, node_power_w in data/hardware/{hw.name}.yaml; "
            f"`dcplan hardware show {hw.name}`), so its racks, megawatts, energy and TCO cannot be sized; "
            f"`dcplan estimate train/infer --hardware {hw.name}` still gives its time, throughput and memory"))

    def options(self, names: Sequence[str] | None, cli_profile: Calibration | None) -> tuple[tuple[OptionInputs, ...], tuple[tuple[str, InputError], ...]]:
        """The options that can be planned, and (name, reason) of those whose power is not published."""
        out, unsizable = [], []
        for path, o, hw in self.option_specs(names):
            per_node, node_w = self.node(o, hw, path)
            if node_w is None:
                unsizable.append((hw.name, self.unsizable(hw, path)))
                continue
            rack_acc = (given(o.accelerators_per_rack, "accelerators per rack", self.where(path + ("accelerators_per_rack",)))
                        if o.accelerators_per_rack is not None else self.value(self.spec.rack.accelerators, ("rack", "accelerators"), "accelerators_per_rack"))
            cal = self.calibration(o, hw, path, cli_profile)
            serving = None if (cli_profile is not None and cli_profile.hardware == hw.name) else self.serving(o, hw, path)
            out.append(OptionInputs(
                path=path, hardware=hw, calibration=cal, serving=serving,
                accelerator_usd=self.price(o, hw, path),
                server_usd_per_node=self.per_node(o, hw, path, "server_usd_per_node", "server_usd_per_node", "USD per node"),
                server_cost_frac=self.value(self.spec.finance.server_cost_frac, ("finance", "server_cost_frac"), "server_cost_frac"),
                network_usd_per_node=self.per_node(o, hw, path, "network_usd_per_node", "network_usd_per_node", "USD per node"),
                network_cost_frac=self.value(self.spec.finance.network_cost_frac, ("finance", "network_cost_frac"), "network_cost_frac"),
                cloud_usd_per_hour=self.cloud(o, hw, path), accelerators_per_node=per_node, node_power_w=node_w,
                accelerators_per_rack=rack_acc, rack_power_kw=self.value(self.spec.rack.power_kw, ("rack", "power_kw"), "rack_power_kw"),
                currency=o.currency, exchange_rate=self.rate(o, path),
            ))
        listed = [o.hardware.name for o in out] + [name for name, _ in unsizable]
        if cli_profile is not None and cli_profile.hardware not in listed:
            what = cli_profile.hardware or "a device that is not a catalog accelerator"
            raise InputError("profile", f"the profile calibrates {what}, which is not among the hardware options ({', '.join(listed)})")
        return tuple(out), tuple(unsizable)


def resolve(spec: WorkloadSpec, origin: Origin, costs: CostDefaults, *, hardware: Sequence[str] | None = None,
            profile: str | None = None, measured: bool = True, models: Mapping[str, ModelSpec] | None = None,
            model_files: bool = True, implementation: str | None = None) -> PlanInputs:
    """Resolve a parsed workload against the catalogs and the cost defaults.

    ``models`` are model descriptions given with the workload (uploaded config.json files, by
    name); ``model_files=False`` refuses config.json paths (a workload typed in a browser must
    not read the server's files); ``measured`` False ignores the shipped measured calibrations.
    """
    from dcplan.io.calibration import read_calibration

    r = _Resolver(spec, origin, costs, measured, models=models, model_files=model_files)
    if implementation and not profile:
        raise InputError("impl", "chooses among the implementations a profile calibrates: give --profile too")
    cli_profile = read_calibration(profile, implementation) if profile else None
    options, unsizable = r.options(hardware, cli_profile)
    return PlanInputs(
        name=spec.name, description=spec.description, origin=origin,
        horizon_years=r.value(spec.horizon_years, ("horizon_years",), "horizon_years"), start_quarter=spec.start_quarter,
        jobs=r.jobs(), services=r.services(), options=options, economics=r.economics(), unsizable=unsizable,
    )
