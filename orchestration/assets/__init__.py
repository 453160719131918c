"""Assets by layer, one module each: raw, staging, marts, publish (asset groups alike)."""
