"""Dagster definitions for liqmap: partitions, resources, assets by layer, checks, automation."""
