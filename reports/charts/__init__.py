"""Vega-Lite chart templates, one module per chart (plus `spec`, the template mechanism)."""
