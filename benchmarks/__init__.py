"""Side-by-side benchmarks of bertcore against the reference implementations (see __main__)."""
