"""Creative controls: colour preservation and spatial masks."""
