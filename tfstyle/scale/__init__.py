"""Scale-out: a batch over several devices, a whole folder."""
