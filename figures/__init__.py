"""One module per paper with one function per figure; output under ``figures/out/``."""
