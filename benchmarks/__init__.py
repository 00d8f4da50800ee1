"""Side-by-side benchmarks against the anchors of shared docs/performance.md."""
