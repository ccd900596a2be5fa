"""The workload file as written: training jobs, inference services, hardware options, site, money.

Frozen keyword-only specs that mirror the YAML (catalog *names*, not resolved entries), each
field documented with its unit. :func:`parse_workload` builds them from a parsed document
through :func:`dcplan.io.schema.build`, so a wrong type, an unknown key (nearest name
suggested) or a value out of range is an :class:`~dcplan.errors.InputError` that says
``file:line: field: problem``. Fields left out (None) take the sourced defaults of
``data/costs/defaults.yaml`` when the loaders resolve the workload. Nothing here reads files.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from dcplan.errors import InputError
from dcplan.io.schema import build
from dcplan.io.yamlio import Located, Path_, dotted
from dcplan.specs import PRECISIONS, RECOMPUTE_MODES, SCHEDULES, GlobalBatch, _fraction, _positive, parse_global_batch

WORKLOAD_SCHEMA_VERSION = 1
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")


def _check_model_ref(obj: Any) -> None:
    """Exactly one of ``model`` (catalog name) or ``params`` (a parameter count) is given."""
    if (obj.model is None) == (obj.params is None):
        raise InputError("model", "give exactly one of model (a catalog name, see `dcplan models list`, or the path of a Hugging Face "
                                  "config.json) or params (e.g. 70B)")
    if obj.active_params is not None and obj.params is None:
        raise InputError("active_params", "only with params (catalog models carry their own MoE shape)")
    _positive(obj, "params", "active_params")


def _check_precision(obj: Any) -> None:
    if obj.precision not in PRECISIONS:
        raise InputError("precision", f"must be one of {', '.join(PRECISIONS)}, got {obj.precision!r}")


@dataclass(frozen=True, kw_only=True)
class LayoutSpec:
    """A (partial) parallel layout for a training job; fields left out are searched."""

    tp: int | None = None
    """Tensor-parallel size."""
    pp: int | None = None
    """Pipeline stages."""
    dp: int | None = None
    """Data-parallel replicas."""
    ep: int | None = None
    """Expert-parallel size."""
    cp: int | None = None
    """Context-parallel size."""
    zero: int | None = None
    """ZeRO stage 0-3."""
    recompute: str | None = None
    """none | selective | full."""
    micro_batch: int | None = None
    """Sequences per micro-batch."""
    vpp: int | None = None
    """Virtual pipeline stages per device."""
    schedule: str | None = None
    """1f1b | 1f1b-overlap | dualpipe (expert all-to-all overlap; MoE only)."""

    def __post_init__(self) -> None:
        if self.schedule is not None and self.schedule not in SCHEDULES:
            raise InputError("schedule", f"must be one of {', '.join(SCHEDULES)}, got {self.schedule!r}")
        _positive(self, "tp", "pp", "dp", "ep", "cp", "micro_batch", "vpp")
        if self.zero is not None and self.zero not in (0, 1, 2, 3):
            raise InputError("zero", f"must be 0, 1, 2 or 3, got {self.zero!r}")
        if self.recompute is not None and self.recompute not in RECOMPUTE_MODES:
            raise InputError("recompute", f"must be one of {', '.join(RECOMPUTE_MODES)}, got {self.recompute!r}")

    def given(self) -> dict[str, Any]:
        """The fields that are set, as ``estimate_training(layout=...)`` takes them."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


def _check_batch_limit(g: GlobalBatch, seq_len: int | None) -> None:
    """A batch given in tokens is checked against the batch limit in sequences too."""
    from dcplan import limits
    from dcplan.estimate import DEFAULT_MAX_TRAIN_SEQ

    seqs = g.sequences if g.sequences is not None else float(g.tokens) / (seq_len or DEFAULT_MAX_TRAIN_SEQ)  # type: ignore[arg-type]
    limits.check(limits.BATCH, seqs, "global_batch")


@dataclass(frozen=True, kw_only=True)
class BatchRampSpec:
    """One phase of a global-batch ramp-up: ``tokens`` trained at ``global_batch``."""

    tokens: float
    """Tokens trained in this phase [tokens] (469B)."""
    global_batch: str | int
    """Sequences (3072) or tokens (12M) per step in this phase."""

    def __post_init__(self) -> None:
        _positive(self, "tokens")
        _check_batch_limit(parse_global_batch(self.global_batch), None)


@dataclass(frozen=True, kw_only=True)
class TrainingJobSpec:
    """One training job: a model trained on some tokens by a deadline (or on a fixed count)."""

    name: str
    """Label used in tables and JSON."""
    model: str | None = None
    """Catalog model name (`dcplan models list`) or the path of a Hugging Face config.json (a file or
    a folder holding one; relative to the workload file)."""
    params: float | None = None
    """Instead of ``model``: a parameter count (70B); a Llama-3-style shape is derived."""
    active_params: float | None = None
    """With ``params``: active parameters of an MoE."""
    tokens: float
    """Training tokens [tokens] (15T)."""
    deadline_days: float | None = None
    """Wall-clock limit [days]; the plan finds the smallest accelerator count that meets it."""
    accelerators: int | None = None
    """Instead of ``deadline_days``: a fixed accelerator count."""
    precision: str = "bf16"
    """Compute precision (bf16, fp8...)."""
    seq_len: int | None = None
    """Sequence length [tokens] (default: model context, at most 8,192)."""
    global_batch: str | int | None = None
    """Global batch: sequences (2048) or tokens (16M); default grows with training compute."""
    global_batch_schedule: tuple[BatchRampSpec, ...] = ()
    """Batch ramp-up: phases run before ``global_batch`` (DeepSeek-V3: 3,072 -> 15,360 sequences
    over the first 469B tokens)."""
    layout: LayoutSpec | None = None
    """Fixed parallel layout fields; the rest are searched."""
    runs_per_year: float | None = None
    """How many times the job runs per year [1/year] (default 1, convention)."""

    def __post_init__(self) -> None:
        _check_model_ref(self)
        _check_precision(self)
        _positive(self, "tokens", "deadline_days", "accelerators", "seq_len", "runs_per_year")
        if self.global_batch is not None:
            _check_batch_limit(parse_global_batch(self.global_batch), self.seq_len)
        if (self.deadline_days is None) == (self.accelerators is None):
            raise InputError("deadline_days", "give exactly one of deadline_days (the plan sizes the cluster) or accelerators (a fixed count)")


#: What an inference service does: generate tokens (LLM serving) or embed requests (encoder-only models).
SERVICE_KINDS = ("generate", "embeddings")


@dataclass(frozen=True, kw_only=True)
class InferenceServiceSpec:
    """One inference service: a model serving a demand under latency targets."""

    name: str
    kind: str = "generate"
    """generate (a decoder generates ``output_len`` tokens per request) or embeddings (an
    encoder-only model turns each request of ``input_len`` tokens into vectors: no decode)."""
    model: str | None = None
    """Catalog model name or the path of a Hugging Face config.json (as for training jobs)."""
    params: float | None = None
    """Instead of ``model``: a parameter count."""
    active_params: float | None = None
    precision: str = "bf16"
    """Serving precision of weights and compute (fp8 is common)."""
    requests_per_s: float | None = None
    """Average demand [requests/s]."""
    tokens_per_day: float | None = None
    """Instead of ``requests_per_s``: average demand [tokens/day], input plus output tokens."""
    input_len: int
    """Prompt tokens per request."""
    output_len: int | None = None
    """Generated tokens per request (generate services; an embeddings service generates none)."""
    peak_to_average: float
    """Diurnal peak request rate / daily average (>= 1). Required: no published default."""
    ttft_p95_s: float | None = None
    """Time-to-first-token target at the 95th percentile [s]."""
    tpot_p95_s: float | None = None
    """Time-per-output-token target at the 95th percentile [s]."""
    latency_p95_s: float | None = None
    """Embeddings services: the longest one batched forward may take (a request's compute time) [s]."""
    growth_per_year_frac: float | None = None
    """Demand growth [fraction per year]: 1.0 doubles each year (default 0, convention)."""
    min_replicas: int | None = None
    """Fewest serving replicas, e.g. 2 for redundancy (default 1, convention)."""
    tp: int | None = None
    """Fixed tensor-parallel size of a replica (default: the one that needs fewest accelerators)."""

    def __post_init__(self) -> None:
        _check_model_ref(self)
        _check_precision(self)
        if (self.requests_per_s is None) == (self.tokens_per_day is None):
            raise InputError("requests_per_s", "give exactly one of requests_per_s or tokens_per_day (input + output tokens)")
        _positive(self, "requests_per_s", "tokens_per_day", "input_len", "output_len", "ttft_p95_s", "tpot_p95_s", "min_replicas", "tp",
                  "latency_p95_s")
        self._check_kind()
        _positive(self, "peak_to_average")
        if self.peak_to_average < 1:
            raise InputError("peak_to_average", f"must be >= 1 (peak over daily average), got {self.peak_to_average!r}")
        if self.growth_per_year_frac is not None and not self.growth_per_year_frac > -1:
            raise InputError("growth_per_year_frac", f"must be > -1 (a fraction per year, 1.0 doubles), got {self.growth_per_year_frac!r}")


    def _check_kind(self) -> None:
        if self.kind not in SERVICE_KINDS:
            raise InputError("kind", f"must be one of {', '.join(SERVICE_KINDS)}, got {self.kind!r}")
        if self.kind == "generate":
            if self.output_len is None:
                raise InputError("output_len", "missing: a generate service gives the tokens generated per request "
                                               "(or kind: embeddings for an encoder model)")
            if self.latency_p95_s is not None:
                raise InputError("latency_p95_s", "is for embeddings services; a generate service gives ttft_p95_s and tpot_p95_s")
            return
        for key in ("output_len", "ttft_p95_s", "tpot_p95_s", "tp"):
            if getattr(self, key) is not None:
                raise InputError(key, "an embeddings service generates no tokens and runs one accelerator per replica: "
                                      "give input_len and latency_p95_s only")

    @property
    def generated_len(self) -> int:
        """Tokens generated per request (0 for embeddings)."""
        return self.output_len or 0

    @property
    def served_len(self) -> int:
        """The tokens per request the service's throughput is counted in: generated tokens, or the
        embedded input tokens of an embeddings service."""
        return self.input_len if self.kind == "embeddings" else self.generated_len


@dataclass(frozen=True, kw_only=True)
class HardwareOptionSpec:
    """One hardware option to compare, with optional calibration and price overrides."""

    name: str
    """Catalog accelerator name (`dcplan hardware list`)."""
    stack: str | None = None
    """Serving stack the services run on (`dcplan stacks list`); default: the chip vendor's default."""
    profile: str | None = None
    """Path of a calibration (`dcplan calibrate`) whose efficiencies replace the shipped ones."""
    implementation: str | None = None
    """With ``profile``: which implementation's calibration to plan with, native (default), hf
    (transformers, eager) or graphs (static cache + CUDA graphs), if the profile timed it."""
    price_usd: float | None = None
    """Purchase price per accelerator [USD]."""
    server_usd_per_node: float | None = None
    """Server cost per node without its accelerators [USD] (CPUs, memory, chassis, NICs)."""
    network_usd_per_node: float | None = None
    """Cluster network cost per node [USD] (switches, optics, cables)."""
    cloud_usd_per_hour: float | None = None
    """Rental price per accelerator-hour to compare with owning [USD/h]."""
    accelerators_per_node: int | None = None
    """Accelerators per server (default: the catalog's reference node)."""
    node_overhead_w: float | None = None
    """Node power on top of its accelerators' TDP [W] (default: the catalog's node power)."""
    accelerators_per_rack: int | None = None
    """Space limit per rack for this option [accelerators] (default: rack.accelerators)."""
    currency: str | None = None
    """ISO 4217 code (CNY) of the prices below given in the option's own currency; results stay in USD."""
    price_local: float | None = None
    """Instead of ``price_usd``: purchase price per accelerator in ``currency``."""
    server_local_per_node: float | None = None
    """Instead of ``server_usd_per_node``, in ``currency``."""
    network_local_per_node: float | None = None
    """Instead of ``network_usd_per_node``, in ``currency``."""
    cloud_local_per_hour: float | None = None
    """Instead of ``cloud_usd_per_hour``: rental price per accelerator-hour in ``currency``."""
    usd_per_currency_unit: float | None = None
    """The exchange rate [USD per unit of ``currency``] (default: data/costs/exchange_rates.yaml, with its source and date)."""

    def __post_init__(self) -> None:
        if self.implementation is not None and self.profile is None:
            raise InputError("implementation", "chooses among the implementations a profile calibrates: give profile too")
        _positive(self, "price_usd", "cloud_usd_per_hour", "accelerators_per_node", "accelerators_per_rack")
        _positive(self, "server_usd_per_node", "network_usd_per_node", "node_overhead_w", allow_zero=True)
        _positive(self, "price_local", "cloud_local_per_hour", "usd_per_currency_unit")
        _positive(self, "server_local_per_node", "network_local_per_node", allow_zero=True)
        self._check_currency()

    def _check_currency(self) -> None:
        local = [k for k, _ in LOCAL_PRICES if getattr(self, k) is not None]
        if self.currency is None:
            if local or self.usd_per_currency_unit is not None:
                raise InputError(local[0] if local else "usd_per_currency_unit", "give currency (an ISO 4217 code such as CNY) with prices in another currency")
            return
        if not (isinstance(self.currency, str) and len(self.currency) == 3 and self.currency.isalpha() and self.currency.isupper()):
            raise InputError("currency", f"must be an ISO 4217 code in capitals such as CNY, got {self.currency!r}")
        if not local:
            raise InputError("currency", f"no price in {self.currency} given: add price_local, server_local_per_node, network_local_per_node or cloud_local_per_hour")
        for k, usd_key in LOCAL_PRICES:
            if getattr(self, k) is not None and getattr(self, usd_key) is not None:
                raise InputError(k, f"give the price once: {k} (in {self.currency}) or {usd_key} (in USD), not both")


#: Prices an option may give in its own currency, and the USD field each replaces.
LOCAL_PRICES = (("price_local", "price_usd"), ("server_local_per_node", "server_usd_per_node"),
                ("network_local_per_node", "network_usd_per_node"), ("cloud_local_per_hour", "cloud_usd_per_hour"))


@dataclass(frozen=True, kw_only=True)
class RackSpec:
    """Rack limits of the site."""

    power_kw: float | None = None
    """Power limit per rack [kW]."""
    accelerators: int | None = None
    """Space limit per rack [accelerators]."""

    def __post_init__(self) -> None:
        _positive(self, "power_kw", "accelerators")


@dataclass(frozen=True, kw_only=True)
class SiteSpec:
    """Facility and grid."""

    pue: float | None = None
    """Power usage effectiveness: facility energy / IT energy (>= 1)."""
    usd_per_kwh: float | None = None
    """Electricity price [USD/kWh]."""
    grid_gco2_per_kwh: float | None = None
    """Grid carbon intensity [gCO2e/kWh]."""

    def __post_init__(self) -> None:
        _positive(self, "pue", "usd_per_kwh")
        _positive(self, "grid_gco2_per_kwh", allow_zero=True)
        if self.pue is not None and self.pue < 1:
            raise InputError("pue", f"must be >= 1 (facility energy includes IT energy), got {self.pue}")


@dataclass(frozen=True, kw_only=True)
class FinanceSpec:
    """Build costs, lives, cost of capital, operating costs and the cloud alternative."""

    facility_usd_per_mw: float | None = None
    """Facility build cost per MW of critical IT power [USD/MW] (IT equipment excluded)."""
    server_cost_frac: float | None = None
    """Non-accelerator server cost as a share of accelerator cost (used without server_usd_per_node)."""
    server_usd_per_node: float | None = None
    """Server cost per node without accelerators [USD], for every option without its own."""
    network_cost_frac: float | None = None
    """Network share of total cluster cost, in [0, 1) (used without network_usd_per_node)."""
    network_usd_per_node: float | None = None
    """Network cost per node [USD], for every option without its own."""
    it_life_years: float | None = None
    """Depreciation life of accelerators, servers and network [years]."""
    facility_life_years: float | None = None
    """Depreciation life of the facility [years]."""
    wacc_frac: float | None = None
    """Cost of capital [fraction per year]."""
    maintenance_frac_per_year: float | None = None
    """Maintenance and other non-energy operating cost [share of capex per year]."""
    staff_usd_per_year: float | None = None
    """Staff cost not in the maintenance share [USD/year]."""
    utilization_frac: float | None = None
    """Share of owned accelerator-hours that do paid or planned work, in (0, 1]."""
    cloud_usd_per_accelerator_hour: float | None = None
    """Rental price for every option without its own [USD per accelerator-hour]."""

    def __post_init__(self) -> None:
        _positive(self, "facility_usd_per_mw", "it_life_years", "facility_life_years", "cloud_usd_per_accelerator_hour")
        _positive(self, "server_cost_frac", "server_usd_per_node", "network_usd_per_node", "wacc_frac",
                  "maintenance_frac_per_year", "staff_usd_per_year", allow_zero=True)
        _fraction(self, "utilization_frac")
        if self.network_cost_frac is not None and not (0 <= self.network_cost_frac < 1):
            raise InputError("network_cost_frac", f"must be a share in [0, 1), got {self.network_cost_frac!r}")


@dataclass(frozen=True, kw_only=True)
class WorkloadSpec:
    """A whole workload file."""

    schema_version: int = WORKLOAD_SCHEMA_VERSION
    name: str = "workload"
    description: str = ""
    horizon_years: int | None = None
    """Years planned quarter by quarter (default 3, convention)."""
    start_quarter: str | None = None
    """Label of the first quarter, e.g. 2026Q1 (default: Y1Q1, Y1Q2...)."""
    training: tuple[TrainingJobSpec, ...] = ()
    inference: tuple[InferenceServiceSpec, ...] = ()
    hardware: tuple[HardwareOptionSpec, ...]
    """Options to compare: catalog names, or mappings with overrides."""
    rack: RackSpec = field(default_factory=RackSpec)
    site: SiteSpec = field(default_factory=SiteSpec)
    finance: FinanceSpec = field(default_factory=FinanceSpec)

    def __post_init__(self) -> None:
        if self.schema_version != WORKLOAD_SCHEMA_VERSION:
            raise InputError("schema_version", f"this dcplan reads workload version {WORKLOAD_SCHEMA_VERSION}, got {self.schema_version!r}")
        if not self.training and not self.inference:
            raise InputError("training", "the workload has neither training jobs nor inference services")
        if not self.hardware:
            raise InputError("hardware", "list at least one hardware option (e.g. [h100-sxm, h200, mi300x])")
        _positive(self, "horizon_years")
        if self.horizon_years is not None:
            from dcplan import limits

            limits.check(limits.HORIZON, self.horizon_years, "horizon_years")
        if self.start_quarter is not None and not _QUARTER.match(self.start_quarter):
            raise InputError("start_quarter", f"must look like 2026Q1, got {self.start_quarter!r}")


@dataclass(frozen=True, kw_only=True)
class Origin:
    """Where a workload came from: lets later stages point an error at ``file:line: field``."""

    file: str
    lines: Mapping[Path_, int] = field(default_factory=dict)

    def line(self, path: Path_) -> int | None:
        return Located(data=None, file=self.file, lines=dict(self.lines)).line(path)

    def error(self, path: Path_, message: str, cls: type[InputError] = InputError) -> InputError:
        return cls(dotted(path), message, file=self.file, line=self.line(path))


def quarter_labels(start: str | None, n: int) -> list[str]:
    """``n`` quarter labels from ``start`` (2026Q3 -> 2026Q3, 2026Q4, 2027Q1...) or Y1Q1..."""
    if start is None:
        return [f"Y{q // 4 + 1}Q{q % 4 + 1}" for q in range(n)]
    m = _QUARTER.match(start)
    assert m, start
    year, q0 = int(m.group(1)), int(m.group(2)) - 1
    return [f"{year + (q0 + i) // 4}Q{(q0 + i) % 4 + 1}" for i in range(n)]


def _normalise(data: Any) -> Any:
    """Hardware options may be plain names (``- h200`` is ``- {name: h200}``), and a section whose
    fields are all commented out (``site:`` alone, which YAML reads as null) is an empty one."""
    if not isinstance(data, Mapping):
        return data
    out = dict(data)
    if isinstance(out.get("hardware"), list):
        out["hardware"] = [{"name": h} if isinstance(h, (str, int, float)) and not isinstance(h, bool) else h for h in out["hardware"]]
    for key, empty in (("rack", {}), ("site", {}), ("finance", {}), ("training", []), ("inference", [])):
        if key in out and out[key] is None:
            out[key] = empty
    return out


def parse_workload(doc: Located) -> tuple[WorkloadSpec, Origin]:
    """Build a :class:`WorkloadSpec` from a parsed YAML document, with file:line errors."""
    if doc.data is None:
        raise InputError("", "the workload file is empty (see `dcplan plan --template`)", file=doc.file)
    spec = build(WorkloadSpec, _normalise(doc.data), doc)
    origin = Origin(file=doc.file, lines=dict(doc.lines))
    for key, items in (("training", spec.training), ("inference", spec.inference), ("hardware", spec.hardware)):
        seen: dict[str, int] = {}
        for i, item in enumerate(items):
            if item.name in seen:
                raise origin.error((key, i, "name"), f"duplicate name {item.name!r} (also {key}[{seen[item.name]}])")
            seen[item.name] = i
    _check_limits(spec, origin)
    return spec, origin


def _check_limits(spec: WorkloadSpec, origin: Origin) -> None:
    """Every number of the workload within its limit (dcplan.limits), at its file:line: field."""
    import dataclasses

    from dcplan import limits

    groups: list[tuple[Path_, Any]] = [((), spec), (("rack",), spec.rack), (("site",), spec.site), (("finance",), spec.finance)]
    for i, job in enumerate(spec.training):
        groups += [(("training", i), job)] + ([(("training", i, "layout"), job.layout)] if job.layout else [])
    groups += [(("inference", i), s) for i, s in enumerate(spec.inference)]
    groups += [(("hardware", i), h) for i, h in enumerate(spec.hardware)]
    for path, obj in groups:
        try:
            limits.check_fields({f.name: getattr(obj, f.name) for f in dataclasses.fields(obj)})
        except InputError as exc:
            raise origin.error(path + (exc.field,), exc.message) from None
