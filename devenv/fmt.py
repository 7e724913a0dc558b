"""Human-readable sizes and durations, one style for every command."""

from __future__ import annotations


def size(n: int) -> str:
    """1536 -> '1.5 KiB'."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} GiB"  # pragma: no cover - the loop always returns


def duration(seconds: float | None) -> str:
    """4.25 -> '4.2s', 125 -> '2m5s', 3h 4m -> '3h4m', 2 days -> '2d'."""
    s = max(float(seconds or 0.0), 0.0)
    if s < 10:
        return f"{s:.1f}s"
    whole = int(s)
    for unit, span, sub, subspan in (("d", 86400, "h", 3600), ("h", 3600, "m", 60), ("m", 60, "s", 1)):
        if whole >= span:
            rest = (whole % span) // subspan
            return f"{whole // span}{unit}" + (f"{rest}{sub}" if rest else "")
    return f"{whole}s"
