"""Raw layer: venue feeds as received, parsed and loaded into the warehouse's raw schema."""
