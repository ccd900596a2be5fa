"""The commented example workload ``dcplan plan --template`` prints.

It is a valid workload (a test plans it) in which every optional field appears commented out
with its unit and its default, and each default with its source, taken from
``data/costs/defaults.yaml`` so the text never drifts from the numbers the planner uses.
"""

from __future__ import annotations

from dcplan.capacity.costs import CostDefaults

_HEAD = """\
# dcplan workload: what to train and serve, on which hardware, at what site and cost of money.
# Plan it:  dcplan plan THIS.yaml [--hardware h100-sxm,h200,mi300x] [--json] [--out DIR]
# Numbers accept 70B, 15T, 1.5M, 2e9. Units are in the comments; lines starting with '#' show
# optional fields with their defaults (uncomment to change one). Full reference: docs/plan.md.
schema_version: 1
name: example
description: "an 8B pre-training run and a 70B chat service"
{horizon}
# start_quarter: 2026Q1            # label of the first quarter (default Y1Q1, Y1Q2, ...)

training:                            # jobs; they share one training cluster
  - name: pretrain-8b
    model: llama-3.1-8b              # catalog name (dcplan models list), or params: 8B [+ active_params: for MoE]
    tokens: 1T                       # training tokens
    deadline_days: 30                # days; or accelerators: 256 for a fixed count
    # precision: bf16                # bf16 | fp8 | ...
    # seq_len: 8192                  # tokens (default: model context, at most 8192)
    # global_batch: 16M              # tokens (16M) or sequences (2048) per step (default grows with compute)
    # global_batch_schedule: [{{tokens: 469B, global_batch: 3072}}]  # ramp-up phases before global_batch
    # layout: {{tp: 1, pp: 1}}         # fixed parallel-layout fields; the rest are searched
{runs}

inference:                           # services; each gets its own replicas
  - name: chat
    model: llama-3.1-70b
    precision: fp8
    tokens_per_day: 500M             # input + output tokens per day (daily average); or requests_per_s: 4
    input_len: 1000                  # prompt tokens per request
    output_len: 500                  # generated tokens per request
    peak_to_average: 2.0             # diurnal peak / daily average (>= 1): required, no published default
    ttft_p95_s: 1.0                  # time to first token, p95 [s] (optional)
    tpot_p95_s: 0.05                 # time per output token, p95 [s] (optional)
{growth}
{replicas}
    # tp: 2                          # fixed tensor-parallel size per replica (default: fewest accelerators)
  # - name: search                  # an embeddings service: an encoder-only model, no decode
  #   kind: embeddings
  #   model: bert-base
  #   requests_per_s: 500
  #   input_len: 256                 # tokens embedded per request (no output_len)
  #   peak_to_average: 2.0
  #   latency_p95_s: 0.05            # one batched forward, p95 [s] (optional)

hardware:                            # options to compare: names, or mappings with overrides
  - h100-sxm
  - name: h200
    # profile: calibration.json      # a `dcplan calibrate` result for this accelerator
    # price_usd: 27000               # USD per accelerator (defaults: data/costs/defaults.yaml; required where none is published)
    # server_usd_per_node: 50000     # USD per node without accelerators
    # network_usd_per_node: 20000    # USD per node of cluster network
    # cloud_usd_per_hour: 3.5        # USD per accelerator-hour to compare renting with owning
    # accelerators_per_node: 8       # default: the catalog's reference node
    # node_overhead_w: 4600          # W per node beyond the accelerators' TDP (default: catalog node power)
    # accelerators_per_rack: 32      # space limit for this option
  # - name: ascend-910c              # an option priced in its own currency; results stay in USD
  #   currency: CNY                  # ISO 4217; the rate comes from data/costs/exchange_rates.yaml (sourced, dated)
  #   price_local: 180000            # CNY per accelerator (also server_local_per_node, network_local_per_node, cloud_local_per_hour)
  #   usd_per_currency_unit: 0.1375  # optional: your own rate [USD per CNY]

rack:
{rack}

site:
{site}

finance:
{finance}
  # cloud_usd_per_accelerator_hour: 2.0   # for every option without its own (default: catalog cloud price)
"""


def _line(costs: CostDefaults, key: str, indent: str = "  ", field: str | None = None) -> str:
    d = costs.get(key)
    value = f"{d.value:g}"
    return f"{indent}# {field or key}: {value}    # {d.unit}; default from: {d.source} [{d.quality}]"


def template_text(costs: CostDefaults) -> str:
    """The commented template, with the defaults of ``costs``."""
    return _HEAD.format(
        horizon=_line(costs, "horizon_years", indent=""),
        runs=_line(costs, "runs_per_year", indent="    "),
        growth=_line(costs, "growth_per_year_frac", indent="    "),
        replicas=_line(costs, "min_replicas", indent="    "),
        rack="\n".join([_line(costs, "rack_power_kw", field="power_kw"), _line(costs, "accelerators_per_rack", field="accelerators")]),
        site="\n".join(_line(costs, k) for k in ("pue", "usd_per_kwh", "grid_gco2_per_kwh")),
        finance="\n".join(_line(costs, k) for k in (
            "facility_usd_per_mw", "server_cost_frac", "network_cost_frac", "it_life_years", "facility_life_years",
            "wacc_frac", "maintenance_frac_per_year", "staff_usd_per_year", "utilization_frac")),
    )
