"""Tools beside the publishing path: the synthetic data generator and the benchmark."""
