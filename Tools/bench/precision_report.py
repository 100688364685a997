"""The precision part of run_all.py's report: Glimpse in fp32, bf16 and int8 beside ONNX Runtime
and PyTorch on the same weights, and each precision target (met, or how far off)."""


def precision_report(S, args, b_big, checkpoint_mb, flop, fmt):
    """Markdown lines: throughput per precision and side (share of the measured peak), then the
    precision targets. `flop`: GFLOP of one image; `fmt`: the report's number formatter."""
    g = lambda side, key: S.median(side, key)
    fp32, bf16, int8, ort, ref = "glimpse", "glimpse-bf16", "glimpse-int8", "onnxruntime", "reference"
    peak = args.peak
    ips = lambda ms, b: "–" if not ms else f"{b * 1000 / ms:.1f}" + (f" ({b * flop / (ms / 1000) / peak:.0%})" if peak else "")
    lines = ["", f"Image throughput, images/s (share of the measured fp32 peak, {fmt(peak)} GFLOP/s), same weights, "
                 f"{args.threads} threads:", "",
             "| batch | PyTorch fp32 | ONNX Runtime fp32 | ONNX Runtime int8 | Glimpse fp32 | Glimpse fp32, OPENBLAS_CORETYPE unset | Glimpse bf16 | Glimpse int8 |",
             "|---|---|---|---|---|---|---|---|"]
    for b in [1, b_big]:
        key = ("clip", "image", b)
        lines.append(f"| {b} | {ips(g(ref, key), b)} | {ips(g(ort, key), b)} | {ips(g(ort, ('clip', 'image_int8', b)), b)} | "
                     f"{ips(g(fp32, key), b)} | {ips(g('glimpse-unset', key), b)} | {ips(g(bf16, key), b)} | {ips(g(int8, key), b)} |")
    def ratio(num, den, goal, label):
        value = den / num if num and den else None
        met = "–" if value is None else "yes" if value >= goal else f"no ({value / goal:.0%} of it)"
        return f"| {label} | {fmt(value, 2)}× | ≥ {goal}× | {met} |"
    def bound(value, limit, label, unit):
        met = "–" if value is None else "yes" if value <= limit else f"no ({value / limit:.2f}× the bound)"
        return f"| {label} | {fmt(value)} {unit} | ≤ {fmt(limit)} {unit} | {met} |"
    rows = ["", "| precision target | measured | target | met |", "|---|---|---|---|"]
    for b in [1, b_big]:
        key = ("clip", "image", b)
        rows.append(ratio(g(fp32, key), g(ort, key), 1.15, f"fp32 image, batch {b}, vs ONNX Runtime fp32"))
        if g("glimpse-unset", key):
            rows.append(ratio(g("glimpse-unset", key), g(ort, key), 1.15, f"fp32 image, batch {b}, OPENBLAS_CORETYPE unset, vs ONNX Runtime fp32"))
        rows.append(ratio(g(int8, key), g(ort, ("clip", "image_int8", b)), 1.15, f"int8 image, batch {b}, vs ONNX Runtime int8"))
    rows.append(ratio(g(bf16, ("clip", "image", b_big)), g(fp32, ("clip", "image", b_big)), 1.7, f"bf16 image, batch {b_big}, vs Glimpse fp32"))
    batched = g(fp32, ("clip", "image", b_big))
    share = b_big * flop / (batched / 1000) / peak if batched and peak else None
    rows.append(f"| fp32 batched images, share of fp32 peak | {'–' if share is None else f'{share:.0%}'} | ≥ 80 % | "
                f"{'–' if share is None else 'yes' if share >= 0.8 else 'no'} |")
    rows.append(ratio(g(fp32, ("owlvit", "detect", 4)), g(ref, ("owlvit", "detect", 4)), 2.0, "OWL-ViT B/32 detect, fp32, vs PyTorch"))
    rows.append(ratio(g(fp32, ("blip", "caption_greedy", 1)), g(ref, ("blip", "caption_greedy", 1)), 2.0, "BLIP greedy caption, fp32, vs PyTorch"))
    rows.append(ratio(g(bf16, ("blip", "caption_greedy", 1)), g(ref, ("blip", "caption_greedy", 1)), 2.0, "BLIP greedy caption, bf16, vs PyTorch fp32"))
    rows.append(ratio(g(int8, ("blip", "caption_greedy", 1)), g(ref, ("blip", "caption_greedy", 1)), 2.0, "BLIP greedy caption, int8, vs PyTorch fp32"))
    for side in (bf16, int8):
        rows.append(bound(g(side, ("clip", "short_text", 1)), 3.0, f"one short CLIP text, {side[8:]}", "ms"))
    rss = g(fp32, ("zero_shot", "rss", 0))
    rows.append(bound(rss, checkpoint_mb + 300, "zero-shot peak RSS, fp32 (checkpoint + 300 MB)", "MB"))
    rows.append(bound(g(bf16, ("zero_shot", "rss", 0)), 0.6 * rss if rss else None, "zero-shot peak RSS, bf16 (0.6 × fp32)", "MB")
                if rss else "| zero-shot peak RSS, bf16 | – | – | – |")
    return lines + rows
