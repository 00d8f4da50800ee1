"""GDAL's OAPIF driver as a separate client process (the app's own process disables GDAL's
network access for uploads, see ``gis.io``): ``python gdal_client.py URL TOKEN JSON-REQUEST``.

The request is ``{"op": "layers"}`` or ``{"op": "read", "layer": …, "bbox": […], "where": …,
"crs": …, "columns": […]}``; the answer is JSON on stdout.
"""

from __future__ import annotations

import json
import sys
import tempfile
from typing import Any


def main(url: str, token: str, request: dict[str, Any]) -> dict[str, Any]:
    import pyogrio

    # GDAL_HTTP_HEADER_FILE: the OAPIF driver sets its own Accept header, which replaces
    # GDAL_HTTP_HEADERS in GDAL 3.12; a header file is added to every request
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as f:
        f.write(f"Authorization: Bearer {token}\n")
    pyogrio.set_gdal_config_options({"GDAL_HTTP_HEADER_FILE": f.name, "GDAL_HTTP_TIMEOUT": "120"})
    source = f"OAPIF:{url}"
    if request["op"] == "layers":
        return {"layers": [[str(n), str(g)] for n, g in pyogrio.list_layers(source)]}
    options: dict[str, Any] = {}
    if request.get("crs"):
        options["CRS"] = request["crs"]
    df = pyogrio.read_dataframe(
        source,
        layer=request["layer"],
        bbox=tuple(request["bbox"]) if request.get("bbox") else None,
        where=request.get("where"),
        columns=request.get("columns"),
        **options,
    )
    crs = df.crs
    return {
        "count": len(df),
        "epsg": crs.to_epsg() if crs is not None else None,
        "crs": crs.to_string() if crs is not None else None,
        "bounds": [float(v) for v in df.total_bounds] if len(df) else None,
        "columns": {c: df[c].tolist() for c in request.get("want", []) if c in df.columns},
    }


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2], json.loads(sys.argv[3])), default=str))
