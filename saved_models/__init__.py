"""The fast stylizers shipped with tfstyle (``--model starry_night``), installed as ``tfstyle.saved_models``."""
