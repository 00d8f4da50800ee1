"""Pure geometry and file handling for OfficeMap: no database, no HTTP.

Modules by capability: ``crs`` (CRS choice and reprojection), ``area`` (planar areas and
the GB/T 50353 rules), and the file readers and validators.
"""
