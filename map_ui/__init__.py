"""Map pages: folium page builders, their static JS/CSS and the vendored-at-setup assets.

Pages carry no data: layers are fetched from the API by bbox or as tiles.
"""
