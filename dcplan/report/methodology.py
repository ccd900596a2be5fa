"""The report's methodology text: the formulas dcplan uses, each with its citation.

Kept as data (title, formula, source) so the HTML/PDF/Markdown/XLSX writers all show the same
list; the code that implements each formula says the same in its docstring.
"""

from __future__ import annotations

FORMULAS: tuple[tuple[str, str, str], ...] = (
    ("Training FLOPs per token",
     "3 x forward matmul FLOPs: attention projections, QK^T and AV halved under the causal mask, FFN x2 (x3 gated), MoE top-k experts, logits; FMA = 2 FLOPs",
     "Megatron-LM training.py num_floating_point_operations; Narayanan et al. 2021 §5.1 (equal to 72BsLh^2(1+s/6h+V/12Lh) without the causal discount)"),
    ("MFU / HFU", "MFU = model FLOPs/s / dense peak (no recomputation); HFU adds recomputed FLOPs", "Chowdhery et al. 2022 (PaLM), Appendix B"),
    ("Comparison conventions", "6ND (Kaplan et al. 2020) and 6N + 12LHQT per token (PaLM) reported beside dcplan's count", "Kaplan et al. 2020 §2.1; PaLM Appendix B"),
    ("Model-state memory", "(2 + 2 + 12) bytes/param mixed-precision Adam; ZeRO-1/2/3 shard optimizer/gradients/weights over data parallelism", "Rajbhandari et al. 2020 (ZeRO) §3, §5"),
    ("Activation memory", "s·b·h·(34 + 5as/h) bytes per layer, 18 + 4f/h for any FFN width, /t with tensor and sequence parallelism; fused attention drops the 5as/h term; full recomputation keeps 2sbh", "Korthikanti et al. 2022, Table 2; Megatron-LM theoretical_memory_usage.py"),
    ("KV cache", "2 · L · n_kv · d_head · bytes per token (MLA: L · (kv_lora_rank + rope dim))", "llm-analysis get_memory_kv_cache_per_layer; DeepSeek-V2 §2.1"),
    ("Compute time", "t = FLOPs / (peak · η_GEMM(x) · η_phase(x)) + t0, η(x) = η_max · x / (x + x_half), x = per-layer GEMM FLOPs", "Calculon (Isaev et al. SC'23) efficiency by op size, continuous form (calculon-ai/calculon)"),
    ("Collectives", "t = steps·α + factor·S/(f·B); all-reduce factor 2(n−1)/n, reduce-scatter/all-gather (n−1)/n", "NCCL-tests PERFORMANCE.md; Thakur, Rabenseifner & Gropp 2005"),
    ("Pipeline bubble", "(p − 1)/(v·m) of the ideal step time with v interleaved stages and m micro-batches", "Narayanan et al. 2021 §2.2"),
    ("Decode step", "t = max(bytes(B)/(BW·f_bw), FLOPs(B)/(peak·η)) + t0, bytes = weights + B · KV bytes/token · context", "jax-ml scaling-book 'inference'; llm-analysis"),
    ("Energy and carbon", "E_IT = accelerator-hours x server power per accelerator x load factor; E_facility = E_IT x PUE; CO2e = E_facility x grid intensity", "Patterson et al. 2021; CodeCarbon methodology; Epoch AI energy.py"),
    ("Annualised capital", "CRF = r(1+r)^n / ((1+r)^n − 1)", "standard capital recovery factor (e.g. Barroso et al., The Datacenter as a Computer, TCO chapter)"),
)
