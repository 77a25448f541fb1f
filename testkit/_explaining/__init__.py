"""Explaining a bug: the causal slice of its failing step, the decisive change that makes the
run pass (searched with the shrinker's lenient replay), and the words for both."""
